import { generateSync } from 'otplib';
import { expect } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import type { OperatorRole } from '../../src/domain/operator-role.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, uniqueEmail, type TestGatehouse } from './gatehouse.ts';
import { enrolAtSignIn } from './mfa.ts';

/** The console used by tests: its realm is served on this host (supertest's Host header). */
export const CONSOLE_URL = 'https://console.test';
export const CONSOLE_HOST = 'console.test';

export type ConsoleBrowser = ReturnType<typeof browser> & { operatorId: string; email: string; secret: string };

export function consoleRealmOf(gh: TestGatehouse): RealmConfig {
  const realm = gh.realms.byIdOrNull(gh.config.console!.realmId);
  if (!realm) throw new Error('no console realm: start the test Gatehouse with console.publicUrl');
  return realm;
}

/** An operator with a password, and `grants`, made through the services as `operators create` + a setup link would. */
export async function makeOperator(gh: TestGatehouse, grants: Array<{ realmId: string; role: OperatorRole }>, email = uniqueEmail('op')) {
  const realm = consoleRealmOf(gh);
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email, emailVerification: 'verified', password: GOOD_PASSWORD }, CLI_CONTEXT);
  for (const g of grants) await gh.management!.operators.grant(user.id, g.realmId, g.role, CLI_CONTEXT);
  return { id: user.id, email };
}

/**
 * Signs an operator in to the console the way a browser does: /admin/login → the hosted login on the console's
 * host → password → the forced authenticator enrolment (codes from otplib) → the form_post to /admin/callback.
 * Returns the browser (its cookie jar holds gh.console) and the authenticator's secret, for step-up codes.
 */
export async function consoleSignIn(gh: TestGatehouse, operator: { id: string; email: string }): Promise<ConsoleBrowser> {
  const b = browser(gh, CONSOLE_HOST);
  const start = await b.get('/admin/login');
  expect(start.status, start.text).toBe(303);
  const loginUrl = String(start.headers.location);
  const page = await b.get(loginUrl);
  expect(page.status, page.text).toBe(200);
  const password = await b.post(loginUrl, { _csrf: csrfOf(page.text), identifier: operator.email, password: GOOD_PASSWORD });
  expect(password.status, password.text).toBe(303);
  expect(password.headers.location).toBe('/login/mfa');
  const { secret, codes } = await enrolAtSignIn(b);
  const handoff = formPostOf((await b.post('/login/mfa/continue', { _csrf: csrfOf(codes.text) })).text);
  expect(handoff.action).toBe(`${CONSOLE_URL}/admin/callback`);
  const back = await b.post('/admin/callback', { token: handoff.token, state: handoff.state ?? '' });
  expect(back.status, back.text).toBe(303);
  expect(back.headers.location).toBe('/admin');
  return Object.assign(b, { operatorId: operator.id, email: operator.email, secret });
}

/** POSTs a console form (one whose path has no page of its own) with the token of the console's home page. */
export async function postConsoleForm(b: ConsoleBrowser, path: string, form: Record<string, string | string[]> = {}) {
  return b.post(path, { _csrf: csrfOf((await b.get('/admin')).text), ...form });
}

/**
 * Signs an enrolled operator in again in the same browser (after a sign-out): password, then a code from the
 * authenticator at a time step not used before (`step` × 30 s ahead), then the callback. A new console session.
 */
export async function consoleSignInAgain(b: ConsoleBrowser, step = 1): Promise<void> {
  const start = await b.get('/admin/login');
  expect(start.status, start.text).toBe(303);
  const loginUrl = String(start.headers.location);
  const page = await b.get(loginUrl);
  const password = await b.post(loginUrl, { _csrf: csrfOf(page.text), identifier: b.email, password: GOOD_PASSWORD });
  expect(password.headers.location).toBe('/login/mfa');
  const mfa = await b.get('/login/mfa');
  const code = generateSync({ secret: b.secret, epoch: Math.floor(Date.now() / 1000) + 30 * step });
  const second = await b.post('/login/mfa', { _csrf: csrfOf(mfa.text), method: 'otp', code });
  expect(second.status, second.text.slice(0, 2000)).toBe(200);
  const handoff = formPostOf(second.text);
  const back = await b.post('/admin/callback', { token: handoff.token, state: handoff.state ?? '' });
  expect(back.status, back.text).toBe(303);
}

/**
 * In a real browser (playwright): an operator's setup link → a password → sign-in → the authenticator the
 * console realm requires (codes from otplib) → the console's home. Returns the authenticator's secret.
 */
export async function operatorFirstSignIn(page: import('playwright-core').Page, setupLink: string, email: string, lang: string, consoleUrl: string): Promise<string> {
  await page.goto(`${setupLink}&lang=${lang}`);
  await page.locator('input[name="password"]').fill(GOOD_PASSWORD);
  await page.locator('form button[type="submit"]').click();
  await page.locator('a.button').click();
  await page.locator('input[name="identifier"]').fill(email);
  await page.locator('input[name="password"]').fill(GOOD_PASSWORD);
  await page.locator('form button[type="submit"]').first().click();
  // The console realm requires an authenticator: set one up before the console opens.
  await page.waitForURL('**/login/mfa');
  await page.locator('form[action="/login/mfa/enrol"] button').click();
  const secret = (await page.locator('p.mfa-secret code').textContent())!.replace(/ /g, '');
  await page.locator('input[name="code"]').fill(generateSync({ secret }));
  await page.locator('form[action="/login/mfa/confirm"] button').click();
  await page.locator('form[action="/login/mfa/continue"] button').click();
  await page.waitForURL(`${consoleUrl}/admin`);
  return secret;
}

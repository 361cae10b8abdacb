import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

/**
 * The console's realm (docs/design/console.md §1.1), generated from `console.publicUrl` and served on its own
 * host: no sign-up, an authenticator required before any JWT, read-only through the management API. Real
 * HTTP through supertest with the console's Host, real SQLite.
 */
const CONSOLE = 'https://console.test';
const HOST = 'console.test';
const CALLBACK = `${CONSOLE}/admin/callback`;

let gh: TestGatehouse;
let realm: RealmConfig;

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE } } });
  realm = gh.realms.byIdOrNull('console')!;
});
afterAll(() => gh.close());

/** An operator as `operators create` makes one: verified, no password, a reset link that goes on to the console. */
async function operator(): Promise<{ id: string; email: string; link: string }> {
  const email = uniqueEmail('op');
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email, emailVerification: 'verified' }, CLI_CONTEXT);
  const { link } = await gh.management!.access.passwordToken(realm, user.id, false, CLI_CONTEXT, { ret: { clientId: 'console', redirectUri: CALLBACK } });
  return { id: user.id, email, link };
}

async function postFrom(b: ReturnType<typeof browser>, page: string, action: string, form: Record<string, string> = {}) {
  const shown = await b.get(page);
  expect(shown.status, shown.text).toBe(200);
  return b.post(action, { _csrf: csrfOf(shown.text), ...form });
}

describe('the console realm', () => {
  it('is served on the console’s host, and only there', async () => {
    expect(realm).toMatchObject({ id: 'console', publicUrl: CONSOLE, signup: { policy: 'disabled' }, mfa: { policy: 'required' } });
    const page = await request(gh.app).get('/login').set('Host', HOST);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Gatehouse console');
    // The sign-in page shows no sign-up link, and the other hosts keep their realms.
    expect(page.text).not.toContain('href="/signup');
    const alpha = await request(gh.app).get('/login').set('Host', 'alpha.test');
    expect(alpha.text).not.toContain('Gatehouse console');
    expect(alpha.text).toContain('Alpha');
  });

  it('refuses sign-up (403), whatever is posted', async () => {
    const b = browser(gh, HOST);
    expect((await b.get('/signup')).status).toBe(403);
    const posted = await b.post('/signup', { _csrf: csrfOf((await b.get('/login')).text), email: uniqueEmail('intruder'), password: GOOD_PASSWORD });
    expect(posted.status).toBe(403);
    expect(await gh.management!.users.count(realm, {})).toBe(0);
  });

  it('a setup link: password, then authenticator enrolment forced at sign-in, then the JWT for the console app', async () => {
    const op = await operator();
    const b = browser(gh, HOST);
    const opened = await b.get(op.link.replace(CONSOLE, ''));
    expect(opened.status).toBe(303);
    const form = await b.get(String(opened.headers.location));
    const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: GOOD_PASSWORD });
    expect(done.status, done.text).toBe(200);
    const loginHref = /<a class="button" href="([^"]+)"/.exec(done.text)![1]!.replace(/&amp;/g, '&');
    expect(new URL(loginHref, CONSOLE).searchParams.get('redirect_uri')).toBe(CALLBACK);

    const signIn = await b.get(loginHref);
    const password = await b.post(loginHref, { _csrf: csrfOf(signIn.text), identifier: op.email, password: GOOD_PASSWORD });
    // No JWT before an authenticator: the sign-in goes on to enrolment.
    expect(password.status, password.text).toBe(303);
    expect(password.headers.location).toBe('/login/mfa');
    expect((await b.get('/login/mfa')).text).toContain('Gatehouse console requires a second step at sign-in');
    expect((await postFrom(b, '/login/mfa', '/login/mfa/enrol')).status).toBe(303);
    const sheet = await b.get('/login/mfa');
    const secret = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(sheet.text)![1]!.replace(/ /g, '');
    const confirmed = await postFrom(b, '/login/mfa', '/login/mfa/confirm', { code: generateSync({ secret }) });
    expect(confirmed.status, confirmed.text).toBe(303);
    const handoff = formPostOf((await postFrom(b, '/login/mfa', '/login/mfa/continue')).text);
    expect(handoff.action).toBe(CALLBACK);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', HOST).expect(200)).body as JSONWebKeySet;
    const { payload } = await jwtVerify(handoff.token, createLocalJWKSet(jwks), { issuer: CONSOLE, audience: 'console' });
    expect(payload).toMatchObject({ sub: op.id, rid: 'console', amr: ['pwd', 'otp'] });
  });

  it('is read-only through the management API (409 provisioned); its users, the operators, are listed', async () => {
    const api = apiClient(gh, await managementKey(gh, null, 'write'));
    const got = await api.get('/realms/console');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 'console', source: 'file' });
    const patched = await api.patch('/realms/console', { name: 'Mine now' });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ code: 'provisioned' });
    expect((await api.patch('/realms/console', { signup: { policy: 'open' } })).status).toBe(409);
    expect((await api.delete('/realms/console')).status).toBe(409);
    expect((await api.post('/realms/console/apps', { clientId: 'sneaky', name: 'Sneaky', redirectUris: ['https://evil.example/cb'] })).status).toBe(409);
    expect((await api.get('/realms/console/users')).status).toBe(200);
  });
});

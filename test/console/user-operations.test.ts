import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

/**
 * The user page's operations in the console (issue 13): reset link, sign-in methods, API key (regenerate, reveal
 * under encrypt), sessions (one, all), delete, the user's events and sign-in history, "Sign in as this user".
 * Real HTTP, SQLite and SMTP; the user's own browser on the realm's host; the API checks keys.
 */
let gh: TestGatehouse;
let smtp: TestSmtp;
let alpha: RealmConfig;
let vault: RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;
let offset = 0;
const now = () => Date.now() + offset;

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FILE = {
  ...TEST_CONFIG,
  console: { publicUrl: CONSOLE_URL },
  realms: [...TEST_CONFIG.realms, { id: 'vault', name: 'Vault', publicUrl: 'http://vault.test', signup: { policy: 'disabled' }, fields: { apiKeys: { policy: 'encrypt', prefix: 'vlt_' } }, apps: [] }],
};

beforeAll(async () => {
  smtp = await startSmtp();
  gh = await testGatehouse({ smtpUrl: smtp.url, file: FILE, clock: () => new Date(now()), tuning: { outbox: { pollMs: 50 } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  vault = gh.realms.byIdOrNull('vault')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }, { realmId: 'vault', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
});
afterAll(async () => {
  await gh.close();
  await smtp.close();
});

const pageOf = (realm: RealmConfig, id: string) => `/admin/realms/${realm.id}/users/${id}`;
const secretOf = (html: string) => /<p class="secret-once" translate="no">([^<]+)<\/p>/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;

async function human(realm: RealmConfig = alpha, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail('person');
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email, password: GOOD_PASSWORD, emailVerification: 'verified', ...extra }, CLI_CONTEXT);
  return user;
}

/** The user's own browser, signed in on alpha.test (through app1 when `viaApp`, with Chrome's user agent). */
async function signedIn(email: string, viaApp = false) {
  const b = browser(gh);
  const url = viaApp ? `/login?${new URLSearchParams({ redirect_uri: 'https://app.example.com/cb', state: 's' })}` : '/login';
  const page = await b.agent.get(url).set('Host', 'alpha.test').set('User-Agent', CHROME);
  const res = await b.agent.post(url).set('Host', 'alpha.test').set('User-Agent', CHROME).type('form').send({ _csrf: csrfOf(page.text), identifier: email, password: GOOD_PASSWORD });
  expect(res.status, res.text).toBeLessThan(400);
  return b;
}

/** POSTs a console form of `page` (its CSRF token) to `path`. */
async function post(b: ConsoleBrowser, path: string, form: Record<string, string> = {}) {
  const page = await b.get('/admin');
  return b.post(path, { _csrf: csrfOf(page.text), ...form });
}

/** "Confirm it's you" with the password and a time step not used before, coming back to `next`. */
let step = 1;
async function reauth(b: ConsoleBrowser, next: string) {
  const page = await b.get(`/admin/reauth?next=${encodeURIComponent(next)}`);
  const code = generateSync({ secret: b.secret, epoch: Math.floor(now() / 1000) + 30 * step++ });
  const ok = await b.post('/admin/reauth', { _csrf: csrfOf(page.text), password: GOOD_PASSWORD, code, next });
  expect(ok.status, ok.text).toBe(303);
  expect(ok.headers.location).toBe(next);
}

describe('console: a user’s operations', () => {
  it('a reset link is shown once (no-store) and works; mailed when asked', async () => {
    const user = await human();
    const shown = await post(admin, `${pageOf(alpha, user.id)}/password-token`);
    expect(shown.status).toBe(200);
    expect(shown.headers['cache-control']).toBe('no-store');
    const link = secretOf(shown.text);
    expect(link).toMatch(/^http:\/\/alpha\.test\/reset-password\?token=/);
    const b = browser(gh);
    const opened = await b.get(link!.replace('http://alpha.test', ''));
    expect(opened.status).toBe(303);
    const form = await b.get(String(opened.headers.location));
    expect(form.text).toContain('name="password"');
    const set = await b.post(String(opened.headers.location), { _csrf: csrfOf(form.text), password: 'chosen-by-the-user-99' });
    expect(set.status, set.text).toBeLessThan(400);
    expect((await browser(gh).submit('/login', { identifier: user.email!, password: 'chosen-by-the-user-99' })).headers.location).toBe('/account');
    // Not on the user's page afterwards: shown this once.
    expect((await admin.get(pageOf(alpha, user.id))).text).not.toContain('reset-password?token=');
    const mailed = await post(admin, `${pageOf(alpha, user.id)}/password-token`, { send: 'true' });
    expect(mailed.text).toContain('was mailed');
    // (The first mail said the password was changed; the next one carries the link.)
    const mail = await smtp.waitFor(user.email!, (m) => m.links.some((l) => l.startsWith('http://alpha.test/reset-password?token=')));
    expect(mail.subject).toBeTruthy();
  });

  it('sessions are listed; one ends, then all ("force offline"): each browser is signed out on its next page', async () => {
    const user = await human();
    const browsers = [await signedIn(user.email!), await signedIn(user.email!), await signedIn(user.email!)];
    const page = await admin.get(pageOf(alpha, user.id));
    const sids = [...page.text.matchAll(/action="[^"]+\/sessions\/([\w-]+)\/delete"/g)].map((m) => m[1]!);
    expect(sids).toHaveLength(3);
    expect(page.text).toContain('Chrome 131');
    const one = await post(admin, `${pageOf(alpha, user.id)}/sessions/${sids[0]}/delete`);
    expect(one.status).toBe(303);
    const statuses = await Promise.all(browsers.map(async (b) => (await b.get('/account')).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    const all = await post(admin, `${pageOf(alpha, user.id)}/sessions/delete`);
    expect(all.status).toBe(303);
    expect((await admin.get(pageOf(alpha, user.id))).text).toContain('2 sessions have ended.');
    for (const b of browsers) expect((await b.get('/account')).status).toBe(303);
    const audit = await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 5 });
    expect(audit.map((e) => e.operation)).toContain('user.sessions.delete');
  });

  it('another user’s or another realm’s session id is 404 under this user, and stays live', async () => {
    const user = await human();
    const other = await human();
    const b = await signedIn(other.email!);
    const [sid] = (await gh.store.listLoginSessions('alpha', other.id)).filter((s) => !s.endedAt).map((s) => s.id);
    const wrong = await post(admin, `${pageOf(alpha, user.id)}/sessions/${sid}/delete`);
    expect(wrong.status).toBe(404);
    expect((await b.get('/account')).status).toBe(200);
    // The same sid under the right user, but another realm's path: 404 too (the operator has a role on vault).
    expect((await post(admin, `${pageOf(vault, other.id)}/sessions/${sid}/delete`)).status).toBe(404);
    expect((await b.get('/account')).status).toBe(200);
    expect((await post(admin, `${pageOf(alpha, other.id)}/sessions/${sid}/delete`)).status).toBe(303);
    expect((await b.get('/account')).status).toBe(303);
  });

  it('"delete the old device": the authenticator goes, the user signs in with the password alone', async () => {
    const user = await human();
    await gh.store.beginTotp('alpha', user.id, 'old-device-secret', new Date());
    await gh.store.confirmTotp('alpha', user.id, 1, new Date());
    expect((await browser(gh).submit('/login', { identifier: user.email!, password: GOOD_PASSWORD })).headers.location).toBe('/login/mfa');
    const page = await admin.get(pageOf(alpha, user.id));
    expect(page.text).toContain('Authenticator app');
    expect(page.text).toContain('Delete the old device');
    const gone = await post(admin, `${pageOf(alpha, user.id)}/credentials/totp/delete`);
    expect(gone.status).toBe(303);
    expect((await admin.get(pageOf(alpha, user.id))).text).not.toContain('Delete the old device');
    expect((await browser(gh).submit('/login', { identifier: user.email!, password: GOOD_PASSWORD })).headers.location).toBe('/account');
    // Again: nothing to delete. The password is not removable here. A made-up id: not found.
    expect((await post(admin, `${pageOf(alpha, user.id)}/credentials/totp/delete`)).status).toBe(404);
    expect((await post(admin, `${pageOf(alpha, user.id)}/credentials/password/delete`)).status).toBe(422);
    expect((await post(admin, `${pageOf(alpha, user.id)}/credentials/${encodeURIComponent('../x')}/delete`)).status).toBe(404);
    const [entry] = await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 1 });
    expect(entry).toMatchObject({ operation: 'user.credential.delete', actor: { type: 'operator', id: admin.operatorId } });
  });

  it('regenerating an API key: confirmed, shown once; the old key fails authenticate-key and the new one works', async () => {
    const { user, apiKey: old } = await gh.management!.users.create(alpha, { userType: 'api', name: 'Robot' }, CLI_CONTEXT);
    const api = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
    expect((await api.post('/realms/alpha/users/authenticate-key', { apiKey: old })).status).toBe(200);
    const path = `${pageOf(alpha, user.id)}/api-key`;
    const confirm = await admin.get(path);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('the old one stops working at once');
    const made = await admin.post(path, { _csrf: csrfOf(confirm.text) });
    expect(made.status).toBe(200);
    expect(made.headers['cache-control']).toBe('no-store');
    const fresh = secretOf(made.text)!;
    expect(fresh).not.toBe(old);
    expect((await api.post('/realms/alpha/users/authenticate-key', { apiKey: old })).status).toBe(401);
    const ok = await api.post('/realms/alpha/users/authenticate-key', { apiKey: fresh });
    expect(ok.status).toBe(200);
    expect(ok.body.id).toBe(user.id);
    // This realm hashes keys: no "show" button, and the service's 409 if asked anyway.
    expect((await admin.get(pageOf(alpha, user.id))).text).not.toContain('/api-key/reveal');
    const hashed = await post(admin, `${path}/reveal`);
    expect(hashed.status).toBe(409);
    expect(hashed.text).toContain('stores API keys as hashes');
  });

  it('under the encrypt policy the key is shown again (audited); a stale sign-in confirms it’s you first', async () => {
    const { user, apiKey } = await gh.management!.users.create(vault, { userType: 'api', name: 'Vault robot' }, CLI_CONTEXT);
    const path = `${pageOf(vault, user.id)}/api-key/reveal`;
    expect((await admin.get(pageOf(vault, user.id))).text).toContain(`href="${path}"`);
    const confirm = await admin.get(path);
    const shown = await admin.post(path, { _csrf: csrfOf(confirm.text) });
    expect(shown.status).toBe(200);
    expect(secretOf(shown.text)).toBe(apiKey);
    const [entry] = await gh.management!.audit.query({ realmId: 'vault', targetId: user.id, limit: 1 });
    expect(entry!.operation).toBe('user.api_key.reveal');
    // Later, the step-up POST goes to "confirm it's you" and comes back to its confirmation page.
    offset += 6 * 60_000;
    const stale = await admin.post(path, { _csrf: csrfOf(confirm.text) });
    expect(stale.status).toBe(303);
    expect(stale.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(path)}`);
    await reauth(admin, path);
    const again = await admin.get(path);
    expect(secretOf((await admin.post(path, { _csrf: csrfOf(again.text) })).text)).toBe(apiKey);
  });

  it('the user’s sign-in history shows time, app, IP, success and browser; the events page lists the log', async () => {
    const user = await human();
    await signedIn(user.email!, true);
    await browser(gh).submit('/login', { identifier: user.email!, password: 'wrong-password-here' });
    const history = await admin.get(`${pageOf(alpha, user.id)}/history`);
    expect(history.status).toBe(200);
    expect(history.text).toContain('App One');
    expect(history.text).toContain('Chrome 131');
    expect(history.text).toContain('badge-ok');
    expect(history.text).toContain('badge-fail');
    expect(history.text).toMatch(/<time datetime="\d{4}-/);
    expect(history.text).toMatch(/class="mono">[\d.:a-f]+</);
    const events = await admin.get(`${pageOf(alpha, user.id)}/events`);
    expect(events.status).toBe(200);
    expect(events.text).toContain('user.created');
    expect(events.text).toContain('user.login.succeeded');
    expect((await admin.get(`${pageOf(alpha, user.id)}/events?after=garbage`)).status).toBe(400);
    expect((await admin.get(`${pageOf(alpha, user.id)}/history?after=a&after=b`)).status).toBe(400);
    // A viewer reads them too.
    expect((await viewer.get(`${pageOf(alpha, user.id)}/history`)).status).toBe(200);
  });

  it('"Sign in as this user" asks for a reason, then sends the browser to the user’s realm; audited', async () => {
    const user = await human();
    const path = `${pageOf(alpha, user.id)}/impersonate`;
    const page = await admin.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="reason"');
    // The form's answer redirects to alpha.test: a browser follows it only if form-action allows that origin.
    expect(page.headers['content-security-policy']).toMatch(/form-action 'self' http:\/\/alpha\.test(;|$)/);
    const short = await admin.post(path, { _csrf: csrfOf(page.text), reason: 'no' });
    expect(short.status).toBe(422);
    expect(short.headers['content-security-policy']).toMatch(/form-action 'self' http:\/\/alpha\.test(;|$)/);
    expect(short.text).toContain('3 to 200 characters');
    const go = await admin.post(path, { _csrf: csrfOf(page.text), reason: 'Ticket 4711: invoices page empty' });
    expect(go.status).toBe(303);
    const url = new URL(String(go.headers.location));
    expect(`${url.origin}${url.pathname}`).toBe('http://alpha.test/impersonate');
    expect(url.searchParams.get('token')).toBeTruthy();
    const [entry] = await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 1 });
    expect(entry).toMatchObject({ operation: 'user.impersonate', actor: { type: 'operator', id: admin.operatorId }, after: { reason: 'Ticket 4711: invoices page empty' } });
    // The link signs the operator's browser in as the user on alpha.test.
    const b = browser(gh);
    expect((await b.get(`${url.pathname}${url.search}`)).headers.location).toBe('/impersonate');
    const accept = await b.get('/impersonate');
    expect((await b.post('/impersonate', { _csrf: csrfOf(accept.text) })).headers.location).toBe('/account');
    const [session] = (await gh.store.listLoginSessions('alpha', user.id)).filter((s) => !s.endedAt);
    expect(session!.act).toMatchObject({ sub: admin.operatorId, iss: CONSOLE_URL, realmId: 'console', reason: 'Ticket 4711: invoices page empty' });
    expect((await admin.get(pageOf(alpha, user.id))).text).toContain('badge badge-warn">Operator<');
    // Not for a deactivated user or an API user: the service's 409.
    const inactive = await human(alpha, { state: 'inactive' });
    expect((await admin.post(`${pageOf(alpha, inactive.id)}/impersonate`, { _csrf: csrfOf(page.text), reason: 'Ticket 4712' })).status).toBe(409);
    const { user: bot } = await gh.management!.users.create(alpha, { userType: 'api', name: 'Bot' }, CLI_CONTEXT);
    expect((await admin.post(`${pageOf(alpha, bot.id)}/impersonate`, { _csrf: csrfOf(page.text), reason: 'Ticket 4713' })).status).toBe(409);
  });

  it('deleting a user: confirmed, then gone, back to the list; audited', async () => {
    const user = await human();
    const path = `${pageOf(alpha, user.id)}/delete`;
    const confirm = await admin.get(path);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('cannot be undone');
    const gone = await admin.post(path, { _csrf: csrfOf(confirm.text) });
    expect(gone.status).toBe(303);
    expect(gone.headers.location).toBe('/admin/realms/alpha/users');
    expect((await admin.get(pageOf(alpha, user.id))).status).toBe(404);
    const [entry] = await gh.management!.audit.query({ realmId: 'alpha', targetId: user.id, limit: 1 });
    expect(entry!.operation).toBe('user.delete');
  });

  it('a viewer is refused every write (403) and nothing changes', async () => {
    const user = await human();
    const { user: bot, apiKey } = await gh.management!.users.create(alpha, { userType: 'api', name: 'Bot' }, CLI_CONTEXT);
    await signedIn(user.email!);
    const [sid] = (await gh.store.listLoginSessions('alpha', user.id)).map((s) => s.id);
    const base = pageOf(alpha, user.id);
    const paths = [
      base,
      `${base}/password-token`,
      `${base}/credentials/totp/delete`,
      `${pageOf(alpha, bot.id)}/api-key`,
      `${pageOf(alpha, bot.id)}/api-key/reveal`,
      `${base}/sessions/${sid}/delete`,
      `${base}/sessions/delete`,
      `${base}/impersonate`,
      `${base}/delete`,
    ];
    const before = (await gh.management!.audit.query({ realmId: 'alpha', limit: 1000 })).length;
    for (const p of paths) expect((await post(viewer, p, { reason: 'Ticket 1', firstName: 'X' })).status, p).toBe(403);
    // The confirmation pages of heavy actions are the action's too.
    for (const p of paths.slice(3, 5).concat([`${base}/impersonate`, `${base}/delete`])) expect((await viewer.get(p)).status, p).toBe(403);
    expect((await gh.management!.audit.query({ realmId: 'alpha', limit: 1000 })).length).toBe(before);
    expect((await gh.management!.users.get(alpha, user.id)).firstName).toBeNull();
    expect((await gh.management!.access.listSessions(alpha, user.id)).length).toBe(1);
    expect(await gh.management!.access.authenticateKey(alpha, apiKey!)).not.toBeNull();
    // Its page has none of the write buttons.
    const page = await viewer.get(base);
    for (const label of ['Create a reset link', 'Force offline everywhere', 'Sign in as this user', 'Delete user']) expect(page.text, label).not.toContain(label);
  });
});

import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleRealmOf, consoleSignIn, CONSOLE_HOST, CONSOLE_URL, makeOperator } from '../helpers/console-login.ts';
import { browser, csrfOf, formPostOf, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * Signing in to the console (docs/design/console.md §1.5–1.6) through the hosted login of the console realm,
 * real HTTP (supertest with the console's Host), real SQLite: the JWT is verified, the state binds the
 * callback to the browser, two factors are required, a role is required, the console's cookie is its own.
 * ASVS 5.0: V7.2.4 (new session id at sign-in and step-up), V7.4.1 (logout ends the session), V8.2.1 (role per realm), V3.5.1 (CSRF).
 */
let gh: TestGatehouse;

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
});
afterAll(() => gh.close());

describe('console sign-in', () => {
  it('an operator with a role signs in through the hosted login and sees their realms; the cookie is gh.console, not gh.sid', async () => {
    const op = await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]);
    const b = await consoleSignIn(gh, op);
    const home = await b.get('/admin');
    expect(home.status, home.text).toBe(200);
    expect(home.text).toContain(op.email);
    expect(home.text).toContain('href="/admin/realms/alpha"');
    // Beta: no role, not listed.
    expect(home.text).not.toContain('href="/admin/realms/beta"');
    const cookies = (await request(gh.app).get('/admin/login').set('Host', CONSOLE_HOST)).headers['set-cookie'] as unknown as string[];
    expect(cookies.some((c) => c.startsWith('gh.console='))).toBe(true);
    expect(cookies.some((c) => /SameSite=Strict/i.test(c) && /HttpOnly/i.test(c))).toBe(true);
    expect(cookies.some((c) => c.startsWith('gh.sid='))).toBe(false);
  });

  it('without a console session a page sends to sign-in, a form is refused (CSRF), and /admin elsewhere points at the console host', async () => {
    const anon = await request(gh.app).get('/admin/realms/alpha/users').set('Host', CONSOLE_HOST);
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toBe('/admin/login?next=%2Fadmin%2Frealms%2Falpha%2Fusers');
    const form = await request(gh.app).post('/admin/logout').set('Host', CONSOLE_HOST).type('form').send({});
    expect(form.status).toBe(403);
    const elsewhere = await request(gh.app).get('/admin').set('Host', 'alpha.test');
    expect(elsewhere.status).toBe(302);
    expect(elsewhere.headers.location).toBe(`${CONSOLE_URL}/admin`);
  });

  it('refuses a callback with another browser’s state, a replayed state, or a token for another app', async () => {
    const op = await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]);
    const signedIn = await consoleSignIn(gh, op);
    // A fresh browser's sign-in, given another state: refused, nothing signed in.
    const other = browser(gh, CONSOLE_HOST);
    await other.get('/admin/login');
    const bad = await other.post('/admin/callback', { token: 'x'.repeat(40), state: 'y'.repeat(43) });
    expect(bad.status).toBe(400);
    expect((await other.get('/admin')).status).toBe(303);
    // The state is spent once used: replaying the same post finds no sign-in under way.
    const again = await signedIn.post('/admin/callback', { token: 'x'.repeat(40), state: 'y'.repeat(43) });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/admin/login');
    // A JWT of the alpha realm (another issuer and audience) with this browser's own state.
    const alphaUser = await gh.management!.users.create(gh.realms.byIdOrNull('alpha')!, { userType: 'human', email: 'x-' + op.email, password: 'violet-harbor-lantern-42', emailVerification: 'verified' }, CLI_CONTEXT);
    const alpha = browser(gh, 'alpha.test');
    const page = await alpha.get('/login?client_id=app1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb');
    const handoff = await alpha.post('/login?client_id=app1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb', { _csrf: csrfOf(page.text), identifier: alphaUser.user.email!, password: 'violet-harbor-lantern-42' });
    const alphaToken = formPostOf(handoff.text).token;
    const third = browser(gh, CONSOLE_HOST);
    const start = await third.get('/admin/login');
    const state = new URL(String(start.headers.location), CONSOLE_URL).searchParams.get('state')!;
    const wrong = await third.post('/admin/callback', { token: alphaToken, state });
    expect(wrong.status).toBe(400);
    expect((await third.get('/admin')).status).toBe(303);
  });

  it('an operator without any role is not let in (403), and a revoked role bites on the next click', async () => {
    const op = await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]);
    const b = await consoleSignIn(gh, op);
    expect((await b.get('/admin/realms/alpha/users')).status).toBe(200);
    await gh.management!.operators.revoke(op.id, 'alpha', CLI_CONTEXT);
    const after = await b.get('/admin/realms/alpha/users');
    expect(after.status).toBe(303);
    expect(after.headers.location).toContain('/admin/login');
  });

  it('another realm’s pages answer 404, a viewer’s writes 403', async () => {
    const op = await makeOperator(gh, [{ realmId: 'beta', role: 'viewer' }]);
    const b = await consoleSignIn(gh, op);
    const alpha = await b.get('/admin/realms/alpha/users');
    expect(alpha.status).toBe(404);
    expect(alpha.text).not.toContain('Alpha');
    expect((await b.get('/admin/realms/console/users')).status).toBe(404);
    expect((await b.get('/admin/realms/no-such/users')).status).toBe(404);
    expect((await b.get('/admin/realms/beta/users')).status).toBe(200);
  });

  it('sign-out ends the operator’s login session: the console cookie no longer opens a page', async () => {
    const op = await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]);
    const b = await consoleSignIn(gh, op);
    const home = await b.get('/admin');
    const out = await b.post('/admin/logout', { _csrf: csrfOf(home.text) });
    expect(out.status).toBe(200);
    expect((await b.get('/admin')).status).toBe(303);
    const live = await gh.store.listLoginSessions('console', op.id);
    expect(live.every((s) => s.endedAt !== null)).toBe(true);
  });

  it('"confirm it’s you" takes the password and a current code, then renews the cookie', async () => {
    const op = await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]);
    const b = await consoleSignIn(gh, op);
    const page = await b.get('/admin/reauth?next=%2Fadmin%2Frealms%2Falpha%2Fusers');
    expect(page.status).toBe(200);
    const wrong = await b.post('/admin/reauth', { _csrf: csrfOf(page.text), password: 'not-the-password', code: '000000', next: '/admin/realms/alpha/users' });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(wrong.status).toBeLessThan(500);
    const again = await b.get('/admin/reauth?next=%2Fadmin%2Frealms%2Falpha%2Fusers');
    // A code from the next time step: the one used at enrolment cannot be replayed.
    const code = generateSync({ secret: b.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const ok = await b.post('/admin/reauth', { _csrf: csrfOf(again.text), password: 'violet-harbor-lantern-42', code, next: '//evil.example/admin' });
    expect(ok.status, ok.text).toBe(303);
    // An off-site "next" is never followed.
    expect(ok.headers.location).toBe('/admin');
    expect(consoleRealmOf(gh).account.recentAuthMinutes).toBeGreaterThan(0);
  });
});

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { partAvailable } from '../helpers/parts.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

const redisUrl = inject('redisUrl');
const backends = [
  { name: 'embedded store', redisUrl: undefined },
  ...(partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL') ? [{ name: 'Redis', redisUrl }] : []),
];

const APP = 'https://app.example.com/cb';
const loginUrl = (params: Record<string, string> = { redirect_uri: APP, state: 'st-1' }) => `/login?${new URLSearchParams(params)}`;
const signupUrl = (params: Record<string, string> = { redirect_uri: APP, state: 'st-1' }) => `/signup?${new URLSearchParams(params)}`;

async function jwksOf(gh: TestGatehouse, host = 'alpha.test'): Promise<JSONWebKeySet> {
  const res = await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200);
  return res.body as JSONWebKeySet;
}

async function verify(gh: TestGatehouse, token: string, host = 'alpha.test', audience = 'app1') {
  const { payload } = await jwtVerify(token, createLocalJWKSet(await jwksOf(gh, host)), { issuer: `http://${host}`, audience });
  return payload;
}

/** Signs a new user up in `host`'s realm and returns the browser (logged in) and the hand-off response. */
async function signUp(gh: TestGatehouse, email = uniqueEmail(), host = 'alpha.test', extra: Record<string, string> = {}, redirectUri = APP) {
  const b = browser(gh, host);
  const res = await b.submit(signupUrl({ redirect_uri: redirectUri, state: 'st-1' }), { email, password: GOOD_PASSWORD, firstName: 'Ada', lastName: 'Lovelace', ...extra });
  return { b, res, email };
}

describe.each(backends)('hosted login on the $name', ({ redisUrl }) => {
  let gh: TestGatehouse;
  let now = Date.now();
  beforeAll(async () => {
    gh = await testGatehouse({ redisUrl, env: { TRUST_PROXY: 'true' }, clock: () => new Date(now) });
  });
  afterAll(async () => {
    await gh.close();
  });

  describe('signup', () => {
    it('creates the user and hands a verifiable JWT to the app by form_post, echoing state', async () => {
      const { res, email } = await signUp(gh);
      expect(res.status).toBe(200);
      const handoff = formPostOf(res.text);
      expect(handoff.action).toBe(APP);
      expect(handoff.state).toBe('st-1');
      const claims = await verify(gh, handoff.token);
      expect(claims).toMatchObject({ email, preferred_username: email, given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace', rid: 'alpha', amr: ['pwd'], email_verified: false });
      expect(typeof claims.sub).toBe('string');
      expect(typeof claims.sid).toBe('string');
      expect(claims.exp! - claims.iat!).toBe(600);
      expect(decodeProtectedHeader(handoff.token)).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    });

    it('lets the hand-off page submit only to the app origin and sends no referrer (ASVS 3.4.5)', async () => {
      const { res } = await signUp(gh);
      expect(res.headers['content-security-policy']).toContain("form-action 'self' https://app.example.com");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('refuses a common password with a message and keeps the other fields (ASVS 6.2.4)', async () => {
      const b = browser(gh);
      const email = uniqueEmail();
      const res = await b.submit(signupUrl(), { email, password: 'password123', firstName: 'Kept' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('too common');
      expect(res.text).toContain(`value="${email}"`);
      expect(res.text).toContain('value="Kept"');
      expect(res.text).toContain('aria-invalid="true"');
    });

    it('refuses a short password (ASVS 6.2.1)', async () => {
      const res = await browser(gh).submit(signupUrl(), { email: uniqueEmail(), password: 'abc123' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('at least 8 characters');
    });

    it('refuses an email that is taken in the same realm', async () => {
      const { email } = await signUp(gh);
      const res = await browser(gh).submit(signupUrl(), { email, password: GOOD_PASSWORD });
      expect(res.status).toBe(409);
      expect(res.text).toContain('already exists');
    });

    it('creates exactly one user for 50 concurrent signups of one email', async () => {
      const email = uniqueEmail('race');
      const clients = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const b = browser(gh);
          const page = await b.get('/signup');
          return { b, csrf: csrfOf(page.text) };
        }),
      );
      const results = await Promise.all(clients.map(({ b, csrf }) => b.post('/signup', { _csrf: csrf, email: email.toUpperCase(), password: GOOD_PASSWORD })));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 303)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    });

    it('asks for a username in a realm with separate usernames and logs in with it', async () => {
      const email = uniqueEmail();
      const username = `u_${Math.random().toString(36).slice(2, 8)}`;
      const b = browser(gh, 'beta.test');
      const missing = await b.submit(`/signup?redirect_uri=${encodeURIComponent('https://beta-app.example.com/cb')}`, { email, password: GOOD_PASSWORD });
      expect(missing.status).toBe(400);
      expect(missing.text).toContain('name="username"');
      const ok = await b.submit(`/signup?redirect_uri=${encodeURIComponent('https://beta-app.example.com/cb')}`, { email, username, password: GOOD_PASSWORD });
      expect(ok.status).toBe(200);
      const claims = await verify(gh, formPostOf(ok.text).token, 'beta.test', 'app1');
      expect(claims.preferred_username).toBe(username);
      expect(decodeProtectedHeader(formPostOf(ok.text).token).alg).toBe('RS256');

      const again = await browser(gh, 'beta.test').submit(`/login?redirect_uri=${encodeURIComponent('https://beta-app.example.com/cb')}`, { identifier: username.toUpperCase(), password: GOOD_PASSWORD });
      expect(again.status).toBe(200);
      expect(formPostOf(again.text).action).toBe('https://beta-app.example.com/cb');
    });
  });

  describe('login', () => {
    let email: string;
    beforeAll(async () => {
      ({ email } = await signUp(gh));
    });

    it('logs in by email, case-insensitively, and delivers the JWT', async () => {
      const res = await browser(gh).submit(loginUrl(), { identifier: email.toUpperCase(), password: GOOD_PASSWORD });
      expect(res.status).toBe(200);
      expect((await verify(gh, formPostOf(res.text).token)).email).toBe(email);
    });

    it('delivers by fragment for an app that asks for it', async () => {
      const res = await browser(gh).submit(loginUrl({ redirect_uri: 'https://spa.example.com/cb', state: 'a b&c' }), { identifier: email, password: GOOD_PASSWORD });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.location!);
      expect(`${location.origin}${location.pathname}`).toBe('https://spa.example.com/cb');
      const fragment = new URLSearchParams(location.hash.slice(1));
      expect(fragment.get('state')).toBe('a b&c');
      expect((await verify(gh, fragment.get('token')!, 'alpha.test', 'spa')).email).toBe(email);
    });

    it('delivers by query for a LoginRocket-style app, keeping a registered query', async () => {
      const res = await browser(gh).submit(loginUrl({ redirect_uri: 'https://legacy.example.com/cb', state: 'xyz' }), { identifier: email, password: GOOD_PASSWORD });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.location!);
      expect(location.searchParams.get('state')).toBe('xyz');
      expect((await verify(gh, location.searchParams.get('token')!, 'alpha.test', 'legacy')).sub).toBeTruthy();

      const withQuery = await browser(gh).submit(loginUrl({ redirect_uri: 'https://app.example.com/cb2?x=1' }), { identifier: email, password: GOOD_PASSWORD });
      expect(formPostOf(withQuery.text).action).toBe('https://app.example.com/cb2?x=1');
    });

    it('sends a browser with a live session straight back to the app without a form', async () => {
      const b = browser(gh);
      const first = await b.submit(loginUrl(), { identifier: email, password: GOOD_PASSWORD });
      const firstClaims = await verify(gh, formPostOf(first.text).token);
      const again = await b.get(loginUrl({ redirect_uri: APP, state: 'second' }));
      expect(again.status).toBe(200);
      const handoff = formPostOf(again.text);
      expect(handoff.state).toBe('second');
      const claims = await verify(gh, handoff.token);
      expect(claims.sid).toBe(firstClaims.sid);
      expect(claims.jti).not.toBe(firstClaims.jti);
    });

    it('lands in the personal center without a redirect_uri', async () => {
      const b = browser(gh);
      const res = await b.submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account');
      const account = await b.get('/account').expect(200);
      expect(account.text).toContain(email);
      expect(account.headers['cache-control']).toBe('no-store');
    });

    it('answers an unknown user and a wrong password identically (ASVS 6.3.8)', async () => {
      const strip = (html: string) => html.replace(/value="[0-9a-f]{20,}\.[0-9a-f]+"/g, 'value="csrf"');
      const wrong = await browser(gh).submit('/login', { identifier: email, password: 'not-the-password-1' });
      const unknown = await browser(gh).submit('/login', { identifier: 'x', password: 'not-the-password-1' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(strip(wrong.text).replace(email, 'x')).toBe(strip(unknown.text));
    });

    it('refuses an inactive user with the same message as a wrong password', async () => {
      const { email: inactive } = await signUp(gh);
      (gh.store as SqliteStore).db.prepare("UPDATE users SET state = 'inactive' WHERE email = ?").run(inactive);
      const res = await browser(gh).submit('/login', { identifier: inactive, password: GOOD_PASSWORD });
      expect(res.status).toBe(401);
      expect(res.text).toContain('not right');
    });

    it('issues a new session id at login and forgets the one the browser had (ASVS 7.2.4)', async () => {
      const jarCookie = (b: ReturnType<typeof browser>) =>
        b.agent.jar.getCookie('gh.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false })?.value;
      const { b } = await signUp(gh);
      const planted = jarCookie(b);
      const page = await b.get('/logout');
      const res = await b.post('/login', { _csrf: csrfOf(page.text), identifier: email, password: GOOD_PASSWORD });
      expect(res.status).toBe(303);
      const fresh = jarCookie(b);
      expect(planted).toBeTruthy();
      expect(fresh).toBeTruthy();
      expect(fresh).not.toBe(planted);
      const replay = await request(gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', `gh.sid=${planted}`);
      expect(replay.status).toBe(303);
      expect(replay.headers.location).toBe('/login');
      const account = await b.get('/account').expect(200);
      expect(account.text).toContain(email);
    });

    it('sets the session cookie HttpOnly and SameSite=Lax (ASVS 3.3.2, 3.3.4)', async () => {
      const b = browser(gh);
      const page = await b.get('/login');
      const res = await b.post('/login', { _csrf: csrfOf(page.text), identifier: email, password: GOOD_PASSWORD });
      const cookie = res.headers['set-cookie'] as unknown as string[];
      const sid = cookie.find((c) => c.startsWith('gh.sid='))!;
      expect(sid).toMatch(/HttpOnly/);
      expect(sid).toMatch(/SameSite=Lax/);
      // 128 bits or more of randomness in the id (ASVS 7.2.3).
      expect(decodeURIComponent(sid.split(';')[0]!.slice('gh.sid='.length)).split('.')[0]!.length).toBeGreaterThanOrEqual(24);
    });

    it('ends an idle login session after the realm idle lifetime (ASVS 7.3.1)', async () => {
      const b = browser(gh);
      await b.submit('/login', { identifier: email, password: GOOD_PASSWORD });
      await b.get('/account').expect(200);
      now += 3 * 24 * 3600 * 1000 + 1000;
      try {
        const res = await b.get('/account');
        expect(res.status).toBe(303);
      } finally {
        now = Date.now();
      }
    });
  });

  describe('brute force (ASVS 6.3.1)', () => {
    it('answers 429 with Retry-After after 5 failures for one identifier from one IP, in the user language', async () => {
      const { email } = await signUp(gh);
      const ip = `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      for (let i = 0; i < 5; i++) {
        const b = browser(gh);
        const page = await b.get('/login');
        const res = await b.post('/login', { _csrf: csrfOf(page.text), identifier: email, password: `wrong-${i}-password` }).set('X-Forwarded-For', ip);
        expect(res.status).toBe(401);
      }
      const b = browser(gh);
      const page = await b.get('/login?lang=zh-CN');
      const limited = await b.post('/login?lang=zh-CN', { _csrf: csrfOf(page.text), identifier: email, password: GOOD_PASSWORD }).set('X-Forwarded-For', ip);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.text).toContain('尝试次数过多');

      // The same user from another IP is not locked out.
      const elsewhere = browser(gh);
      const page2 = await elsewhere.get('/login');
      const ok = await elsewhere.post('/login', { _csrf: csrfOf(page2.text), identifier: email, password: GOOD_PASSWORD }).set('X-Forwarded-For', '10.200.0.1');
      expect(ok.status).toBe(303);
    });
  });

  describe('CSRF (ASVS 3.5.1)', () => {
    it('refuses a POST without a token', async () => {
      const res = await browser(gh).post('/login', { identifier: 'a', password: 'b' });
      expect(res.status).toBe(403);
      expect(res.text).toContain('expired');
    });

    it('refuses a token that belongs to another browser', async () => {
      const other = await browser(gh).get('/login');
      const b = browser(gh);
      await b.get('/login');
      const res = await b.post('/login', { _csrf: csrfOf(other.text), identifier: 'a', password: 'b' });
      expect(res.status).toBe(403);
    });

    it('gives every visitor of a stored login page a token of their own, which works only for them', async () => {
      const email = (await signUp(gh)).email;
      const first = browser(gh);
      const second = browser(gh);
      const a = await first.get(loginUrl({ state: 'same-url', redirect_uri: APP }));
      const b = await second.get(loginUrl({ state: 'same-url', redirect_uri: APP }));
      expect(csrfOf(a.text)).not.toBe(csrfOf(b.text));
      // Same page otherwise: the stored rendering, not a per-visitor one.
      expect(a.text.replace(csrfOf(a.text), '')).toBe(b.text.replace(csrfOf(b.text), ''));
      expect((await second.post('/login', { _csrf: csrfOf(a.text), identifier: email, password: GOOD_PASSWORD })).status).toBe(403);
      const ok = await second.post(loginUrl({ state: 'same-url', redirect_uri: APP }), { _csrf: csrfOf(b.text), identifier: email, password: GOOD_PASSWORD });
      expect(ok.status).toBe(200);
      expect(formPostOf(ok.text).state).toBe('same-url');
    });

    it('refuses a cross-site logout without a token', async () => {
      const { b } = await signUp(gh);
      const res = await b.post('/logout', {});
      expect(res.status).toBe(403);
      await b.get('/account').expect(200);
    });
  });

  describe('logout', () => {
    it('asks before ending the session on a plain GET', async () => {
      const { b } = await signUp(gh);
      const confirm = await b.get('/logout?redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=s9');
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('Sign out?');
      await b.get('/account').expect(200);

      const done = await b.post('/logout?redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=s9', { _csrf: csrfOf(confirm.text) });
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('https://app.example.com/bye?state=s9');
      const after = await b.get('/account');
      expect(after.status).toBe(303);
    });

    it('ends the session server-side so the old cookie is useless (ASVS 7.4.1)', async () => {
      const { b, res } = await signUp(gh);
      const sid = (await verify(gh, formPostOf(res.text).token)).sid as string;
      const cookie = b.agent.jar.getCookie('gh.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false })!.value;
      const page = await b.get('/logout');
      await b.post('/logout', { _csrf: csrfOf(page.text) }).expect(200);
      const session = await gh.store.findLoginSession('alpha', sid);
      expect(session?.endedAt).toBeInstanceOf(Date);
      const replay = await request(gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', `gh.sid=${cookie}`);
      expect(replay.status).toBe(303);
    });

    it('ends the session on GET when token_hint names the current session', async () => {
      const { b, res } = await signUp(gh);
      const token = formPostOf(res.text).token;
      const out = await b.get(`/logout?${new URLSearchParams({ redirect_uri: 'https://app.example.com/bye', token_hint: token })}`);
      expect(out.status).toBe(303);
      expect(out.headers.location).toBe('https://app.example.com/bye');
      expect((await b.get('/account')).status).toBe(303);
    });

    it('ignores a token_hint for another session and asks instead', async () => {
      const { res: other } = await signUp(gh);
      const { b } = await signUp(gh);
      const out = await b.get(`/logout?${new URLSearchParams({ token_hint: formPostOf(other.text).token })}`);
      expect(out.status).toBe(200);
      expect(out.text).toContain('Sign out?');
      await b.get('/account').expect(200);
    });

    it('refuses an unregistered logout redirect with a page, not a redirect', async () => {
      const { b } = await signUp(gh);
      const res = await b.get('/logout?redirect_uri=https%3A%2F%2Fevil.example%2F');
      expect(res.status).toBe(400);
      expect(res.headers.location).toBeUndefined();
    });
  });

  describe('redirect_uri: no open redirect (ASVS 3.7.2)', () => {
    for (const bad of ['https://evil.example/cb', '//evil.example', 'https://app.example.com.evil.example/cb', 'https://app.example.com/cb/../x', 'javascript:alert(1)']) {
      it(`shows an error page and never redirects for ${bad}`, async () => {
        const res = await browser(gh).get(loginUrl({ redirect_uri: bad }));
        expect(res.status).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(res.text).toContain('has not registered');
      });
    }

    it('refuses a redirect_uri registered for another app when client_id is given', async () => {
      const res = await browser(gh).get(loginUrl({ redirect_uri: 'https://spa.example.com/cb', client_id: 'app1' }));
      expect(res.status).toBe(400);
    });

    it('refuses a redirect_uri of another realm', async () => {
      const res = await browser(gh).get(loginUrl({ redirect_uri: 'https://beta-app.example.com/cb' }));
      expect(res.status).toBe(400);
    });

    it('shows the error page in Chinese for a zh-CN browser', async () => {
      const res = await browser(gh).get(loginUrl({ redirect_uri: 'https://evil.example/' })).set('Accept-Language', 'zh-CN,zh;q=0.9');
      expect(res.status).toBe(400);
      expect(res.text).toContain('已被拦截');
    });
  });

  describe('bad input never causes a 500 (ASVS 2.2.1)', () => {
    it('answers 400 to arrays where strings are expected', async () => {
      const b = browser(gh);
      const page = await b.get('/login');
      const res = await b.agent.post('/login').set('Host', 'alpha.test').type('form').send(`_csrf=${csrfOf(page.text)}&identifier=a&identifier=b&password=x`);
      expect(res.status).toBe(400);
      const arr = await b.get('/login?redirect_uri=a&redirect_uri=b');
      expect(arr.status).toBe(400);
    });

    it('answers 413 to an oversized body', async () => {
      const b = browser(gh);
      const page = await b.get('/login');
      const res = await b.post('/login', { _csrf: csrfOf(page.text), identifier: 'a'.repeat(20_000), password: 'x' });
      expect(res.status).toBe(413);
      expect(res.text).toContain('too large');
    });

    it('answers 400 to bad UTF-8 and to CRLF in an email', async () => {
      const b = browser(gh);
      const page = await b.get('/signup');
      const utf = await b.agent.post('/signup').set('Host', 'alpha.test').type('form').send(`_csrf=${csrfOf(page.text)}&email=%FF%FE%40x.com&password=${GOOD_PASSWORD}`);
      expect(utf.status).toBe(400);
      const crlf = await b.post('/signup', { _csrf: csrfOf(page.text), email: 'a@example.com\r\nBcc: victim@example.com', password: GOOD_PASSWORD });
      expect(crlf.status).toBe(400);
      const badPath = await b.get('/login/%E0%A4%A');
      expect(badPath.status).toBeLessThan(500);
    });

    it('answers 400 to a malformed query string state', async () => {
      const res = await browser(gh).get(`/login?redirect_uri=${encodeURIComponent(APP)}&state=${'x'.repeat(2000)}`);
      expect(res.status).toBe(400);
    });
  });

  describe('realms', () => {
    it('keeps users apart: an alpha user cannot log in to beta, and the same email may sign up in both', async () => {
      const { email } = await signUp(gh);
      const res = await browser(gh, 'beta.test').submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(res.status).toBe(401);
      const beta = await signUp(gh, email, 'beta.test', { username: `b_${Math.random().toString(36).slice(2, 8)}` }, 'https://beta-app.example.com/cb');
      expect(beta.res.status).toBe(200);
      expect((await verify(gh, formPostOf(beta.res.text).token, 'beta.test')).email).toBe(email);
    });

    it('serves a realm on its custom domain and unknown hosts on the default realm', async () => {
      const custom = await browser(gh, 'login.beta.example').get('/login').expect(200);
      expect(custom.text).toContain('Beta');
      const unknown = await browser(gh, 'nobody.example').get('/login').expect(200);
      expect(unknown.text).toContain('Alpha');
    });

    it('publishes each realm its own keys with a cache header', async () => {
      const alpha = await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test').expect(200);
      const beta = await jwksOf(gh, 'beta.test');
      expect(alpha.headers['cache-control']).toMatch(/max-age=\d+/);
      expect(alpha.headers.etag).toMatch(/^"[\w-]+"$/);
      await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test').set('If-None-Match', alpha.headers.etag!).expect(304);
      const alphaKids = (alpha.body as JSONWebKeySet).keys.map((k) => k.kid);
      expect(alphaKids.length).toBeGreaterThan(0);
      expect(beta.keys.map((k) => k.kid).some((k) => alphaKids.includes(k))).toBe(false);
      expect(beta.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect((alpha.body as JSONWebKeySet).keys[0]).not.toHaveProperty('d');
    });
  });

  describe('pages and headers', () => {
    it('sends a strict CSP without inline script and forbids framing (ASVS 3.4.3, 3.4.6)', async () => {
      const res = await browser(gh).get('/login').expect(200);
      const csp = res.headers['content-security-policy']!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    });

    it('switches language by ?lang=, remembers it in a cookie, and offers a switcher', async () => {
      const b = browser(gh);
      const zh = await b.get('/login?lang=zh-CN').expect(200);
      expect(zh.text).toContain('<html lang="zh-CN">');
      expect(zh.text).toContain('登录');
      const again = await b.get('/signup').expect(200);
      expect(again.text).toContain('创建账号');
      expect(again.text).toContain('href="/signup?lang=en"');
    });

    it('answers /healthz and /readyz', async () => {
      await request(gh.app).get('/healthz').expect(200, { status: 'ok' });
      const ready = await request(gh.app).get('/readyz').expect(200);
      expect(ready.body.checks.store).toBe('ok');
      if (redisUrl) expect(ready.body.checks.redis).toBe('ok');
    });

    it('answers an unknown page with a translated 404', async () => {
      const res = await browser(gh).get('/nope?lang=zh-CN');
      expect(res.status).toBe(404);
      expect(res.text).toContain('页面不存在');
    });
  });
});

describe('secure cookies', () => {
  it('uses __Host- cookies with Secure when served over https (ASVS 3.3.1)', async () => {
    const gh = await testGatehouse({ env: { COOKIE_SECURE: 'true' } });
    try {
      const res = await request(gh.app).get('/login').set('Host', 'alpha.test').expect(200);
      const cookies = res.headers['set-cookie'] as unknown as string[];
      const csrf = cookies.find((c) => c.startsWith('__Host-gh.csrf='));
      expect(csrf).toMatch(/Secure/);
      expect(csrf).toMatch(/Path=\//);
      expect(csrf).not.toMatch(/Domain=/);
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    } finally {
      await gh.close();
    }
  });
});

describe('signup limits', () => {
  it('answers 429 after the per-IP signup limit (ASVS 6.3.1)', async () => {
    const file = structuredClone(TEST_CONFIG) as typeof TEST_CONFIG;
    (file.realms[0] as Record<string, unknown>).rateLimits = { signupPerIp: { points: 2, durationSeconds: 600 } };
    const gh = await testGatehouse({ file });
    try {
      for (let i = 0; i < 2; i++) expect((await browser(gh).submit('/signup', { email: uniqueEmail(), password: GOOD_PASSWORD })).status).toBe(303);
      const limited = await browser(gh).submit('/signup', { email: uniqueEmail(), password: GOOD_PASSWORD });
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBeDefined();
    } finally {
      await gh.close();
    }
  });
});

describe('session lifetime', () => {
  it('ends an active login session after the absolute lifetime (ASVS 7.3.2)', async () => {
    const file = structuredClone(TEST_CONFIG) as typeof TEST_CONFIG;
    (file.realms[0] as Record<string, unknown>).sessions = { idleMinutes: 600, absoluteHours: 1 };
    let now = Date.now();
    const gh = await testGatehouse({ file, clock: () => new Date(now) });
    try {
      const b = browser(gh);
      expect((await b.submit('/signup', { email: uniqueEmail(), password: GOOD_PASSWORD })).status).toBe(303);
      for (let minutes = 0; minutes < 60; minutes += 20) {
        now += 20 * 60 * 1000 - 1000;
        await b.get('/account').expect(200);
      }
      now += 5 * 60 * 1000;
      expect((await b.get('/account')).status).toBe(303);
    } finally {
      await gh.close();
    }
  });
});

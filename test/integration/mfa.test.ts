/**
 * Two-factor authentication (issue 4, item 5): enrolment in the personal
 * center, recovery codes, the sign-in step, the realm policy that requires
 * it, and "confirm it's you". Codes are computed with otplib from the secret
 * the page shows, at the app's injected clock; everything else is real
 * (store, sessions, rate limits, SMTP for the verification mails).
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PasswordHasher } from '../../src/identity/password.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';
import { listEvents } from '../helpers/events.ts';

type Browser = ReturnType<typeof browser>;

/** The session id cookie a browser holds now. */
const sessionCookieOf = (b: Browser) => b.agent.jar.getCookie('gh.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false })?.value;
/** The session id cookie a response sets, if it sets one. */
const setCookieSid = (res: request.Response) =>
  ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('gh.sid='))?.split(';')[0]!.slice('gh.sid='.length);

const APP = 'https://app.example.com/cb';
const ALPHA = TEST_CONFIG.realms[0]!;
const loginUrl = (params: Record<string, string> = { redirect_uri: APP, state: 'st-mfa' }) => `/login?${new URLSearchParams(params)}`;

/** alpha (MFA optional), gamma (MFA required) and delta (email verification required), each with alpha's apps. */
const CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    ALPHA,
    { ...ALPHA, id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test', mfa: { policy: 'required' } },
    { ...ALPHA, id: 'delta', name: 'Delta', publicUrl: 'http://delta.test', emailVerification: { policy: 'required' } },
  ],
};

/** The secret as the enrolment page shows it (groups of four), without the spaces. */
function secretOf(html: string): string {
  const grouped = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(html)?.[1];
  if (!grouped) throw new Error('no TOTP secret on the page');
  return grouped.replace(/ /g, '');
}

/** A recovery code as pages and files show it: 4 groups of 6 (24 characters of Crockford's base32). */
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{6}(-[0-9a-hjkmnp-tv-z]{6}){3}$/;

/** The recovery codes a page lists. */
function recoveryCodesOf(html: string): string[] {
  const codes = [...html.matchAll(/<li><code translate="no">([^<]*)<\/code><\/li>/g)].map((m) => m[1]!);
  for (const code of codes) expect(code).toMatch(RECOVERY_CODE);
  return codes;
}

describe('two-factor authentication (TOTP)', () => {
  let gh: TestGatehouse;
  let smtp: TestSmtp;
  /** The app's clock: the middle of a 30-second step, so ±1 step is unambiguous. It only moves forward. */
  let now = (Math.floor(Date.now() / 30_000) + 1) * 30_000 + 15_000;
  const advance = (ms: number) => {
    now += ms;
  };
  const nextStep = () => advance(30_000);
  /** The code of the step `offset` steps away from the app's clock. */
  const codeAt = (secret: string, offset = 0) => generateSync({ secret, epoch: Math.floor(now / 1000) + offset * 30 });

  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({ file: CONFIG, smtpUrl: smtp.url, clock: () => new Date(now), tuning: { outbox: { pollMs: 100 } } });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  async function claimsOf(token: string, host = 'alpha.test') {
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200)).body as JSONWebKeySet;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: `http://${host}`, audience: 'app1' });
    return payload;
  }

  const userOf = async (email: string, realm = 'alpha') => (await gh.store.findUsersByEmail(realm, email))[0]!.user;
  const eventsOf = async (email: string, type: string, realm = 'alpha') =>
    (await listEvents(gh.store, realm, (await userOf(email, realm)).id, 200)).filter((e) => e.type === type);

  /** POSTs `form` to `action` with the CSRF token of `page`. */
  async function postFrom(b: Browser, page: string, action: string, form: Record<string, string> = {}) {
    const shown = await b.get(page);
    expect(shown.status, shown.text).toBe(200);
    return b.post(action, { _csrf: csrfOf(shown.text), ...form });
  }

  async function signUp(host = 'alpha.test') {
    const email = uniqueEmail('mfa');
    const b = browser(gh, host);
    const res = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(303);
    return { b, email };
  }

  /** Starts enrolment in the personal center and returns the secret the page shows. */
  async function startEnrolment(b: Browser): Promise<string> {
    const started = await postFrom(b, '/account/mfa', '/account/mfa/enrol');
    expect(started.status).toBe(303);
    expect(started.headers.location).toBe('/account/mfa');
    const page = await b.get('/account/mfa');
    expect(page.status).toBe(200);
    return secretOf(page.text);
  }

  /** A signed-up user with TOTP on; the clock has moved on a step (the confirming code is spent). */
  async function enrolledUser() {
    const { b, email } = await signUp();
    const secret = await startEnrolment(b);
    const confirmed = await postFrom(b, '/account/mfa', '/account/mfa/confirm', { code: codeAt(secret) });
    expect(confirmed.status, confirmed.text).toBe(303);
    const codes = recoveryCodesOf((await b.get('/account/mfa')).text);
    expect(codes).toHaveLength(10);
    expect((await postFrom(b, '/account/mfa', '/account/mfa/recovery-codes/saved')).status).toBe(303);
    nextStep();
    return { b, email, secret, codes };
  }

  /** Password login in a fresh browser: it must stop at the second factor. */
  async function passwordStep(email: string, url = loginUrl(), host = 'alpha.test') {
    const b = browser(gh, host);
    const res = await b.submit(url, { identifier: email, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/login/mfa');
    return b;
  }

  const submitCode = (b: Browser, code: string) => b.submit('/login/mfa', { method: 'otp', code });
  const submitRecovery = (b: Browser, code: string) => b.submit('/login/mfa?method=recovery', { method: 'recovery_code', code });

  describe('enrolment in the personal center', () => {
    it('shows a QR code image and the secret in groups of four, and stays off after a wrong code', async () => {
      const { b, email } = await signUp();
      const off = await b.get('/account/mfa');
      expect(off.status).toBe(200);
      expect(off.headers['cache-control']).toBe('no-store');
      expect(off.text).toContain('Set up an authenticator app');

      const secret = await startEnrolment(b);
      const page = await b.get('/account/mfa');
      expect(page.text).toMatch(/<img class="mfa-qr" src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="240" height="240" alt="QR code that adds your Alpha account/);
      expect(page.text).toMatch(/<p class="mfa-secret"><code translate="no">([A-Z2-7]{4} )+[A-Z2-7]{1,4}<\/code>/);
      expect(page.text).toContain('autocomplete="one-time-code"');
      expect(page.text).toContain('inputmode="numeric"');
      expect(page.text).not.toMatch(/<script(?![^>]*src=)/);

      const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
      const refused = await postFrom(b, '/account/mfa', '/account/mfa/confirm', { code: wrong });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('That code is not right');
      expect(refused.text).toContain('aria-invalid="true"');
      const user = await userOf(email);
      expect((await gh.store.getTotp('alpha', user.id))?.confirmedAt).toBeNull();
      expect(await eventsOf(email, 'user.mfa.enrollment_failed')).toHaveLength(1);
      // Still off: the password alone signs in.
      const login = await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(login.headers.location).toBe('/account');
    });

    it('stores the TOTP secret encrypted, v1 AES-GCM (ASVS 11.3.2), and the 120-bit recovery codes only as HMACs (ASVS 6.5.2)', async () => {
      const { email, secret, codes } = await enrolledUser();
      const user = await userOf(email);
      const stored = await gh.store.getTotp('alpha', user.id);
      expect(stored!.secret).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
      expect(stored!.secret).not.toContain(secret);
      const rows = (gh.store as unknown as { db: import('better-sqlite3').Database }).db
        .prepare('SELECT code_hash FROM recovery_codes WHERE realm_id = ? AND user_id = ?')
        .all('alpha', user.id) as Array<{ code_hash: string }>;
      expect(rows).toHaveLength(10);
      // A fast keyed hash is enough only for lookup secrets of 112 bits or more: 24 characters of 5 bits are 120.
      for (const code of codes) expect(code.replace(/-/g, '')).toHaveLength(24);
      for (const code of codes) {
        for (const row of rows) {
          expect(row.code_hash).toMatch(/^[\w-]{43}$/);
          expect(row.code_hash).not.toContain(code.replace(/-/g, ''));
          for (const group of code.split('-')) expect(row.code_hash).not.toContain(group);
        }
      }
      expect(await eventsOf(email, 'user.mfa.enrolled')).toHaveLength(1);
    });

    it('shows the recovery codes until they are saved, downloadable only meanwhile, and never in another browser', async () => {
      const { b, email } = await signUp();
      const secret = await startEnrolment(b);
      const confirmed = await postFrom(b, '/account/mfa', '/account/mfa/confirm', { code: codeAt(secret) });
      expect(confirmed.status).toBe(303);
      const shown = await b.get('/account/mfa');
      expect(shown.text).toContain('Two-factor authentication is on.');
      const codes = recoveryCodesOf(shown.text);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect(shown.text).toContain('data-print hidden');
      expect(shown.text).toContain('<script src="/static/js/print.js" defer></script>');

      const file = await b.get('/account/mfa/recovery-codes.txt');
      expect(file.status).toBe(200);
      expect(file.headers['content-type']).toMatch(/^text\/plain/);
      expect(file.headers['content-disposition']).toBe('attachment; filename="alpha-recovery-codes.txt"');
      expect(file.headers['cache-control']).toBe('no-store');
      // One code a line, as the page shows it.
      expect(file.text.split('\r\n').filter((line) => RECOVERY_CODE.test(line))).toEqual(codes);
      expect(file.text).toContain(email);

      // Another browser of the same user sees the status page, not the codes.
      const other = browser(gh);
      await other.submit('/login', { identifier: email, password: GOOD_PASSWORD });
      nextStep();
      await submitCode(other, codeAt(secret));
      const elsewhere = await other.get('/account/mfa');
      expect(elsewhere.status).toBe(200);
      expect(recoveryCodesOf(elsewhere.text)).toEqual([]);
      expect((await other.get('/account/mfa/recovery-codes.txt')).status).toBe(404);

      const saved = await postFrom(b, '/account/mfa', '/account/mfa/recovery-codes/saved');
      expect(saved.status).toBe(303);
      const after = await b.get('/account/mfa');
      expect(recoveryCodesOf(after.text)).toEqual([]);
      expect(after.text).toContain('On since');
      expect(after.text).toContain('10 of 10');
      expect((await b.get('/account/mfa/recovery-codes.txt')).status).toBe(404);
    });

    it('cancelling an enrolment leaves two-factor off', async () => {
      const { b, email } = await signUp();
      await startEnrolment(b);
      const cancelled = await postFrom(b, '/account/mfa', '/account/mfa/cancel');
      expect(cancelled.status).toBe(303);
      const page = await b.get('/account/mfa');
      expect(page.text).toContain('Setup cancelled');
      expect(page.text).toContain('Set up an authenticator app');
      expect(await gh.store.getTotp('alpha', (await userOf(email)).id)).toBeNull();
      expect((await eventsOf(email, 'user.mfa.enrollment_started')).length).toBe(1);
      expect((await eventsOf(email, 'user.mfa.enrollment_cancelled')).length).toBe(1);
    });

    it('refuses every change without the CSRF token (ASVS 3.5.1)', async () => {
      const { b, email } = await signUp();
      for (const action of ['/account/mfa/enrol', '/account/mfa/confirm', '/account/mfa/remove', '/account/mfa/recovery-codes']) {
        const res = await b.post(action, { code: '123456' });
        expect(res.status, action).toBe(403);
        expect(res.text).toContain('This form has expired');
      }
      expect(await gh.store.getTotp('alpha', (await userOf(email)).id)).toBeNull();
    });

    it('answers a malformed code (array, letters, too long) with a 400 page, never a 500', async () => {
      const { b } = await signUp();
      await startEnrolment(b);
      const page = await b.get('/account/mfa');
      for (const code of [['123456', '654321'], 'abcdef', '1'.repeat(50), '12\r\n3456']) {
        const res = await b.post('/account/mfa/confirm', { _csrf: csrfOf(page.text), code });
        expect(res.status, String(code)).toBe(400);
      }
    });
  });

  describe('signing in with the second factor', () => {
    it('asks for the code after the password, with no login session before it (ASVS 6.3.3)', async () => {
      const { email, secret } = await enrolledUser();
      const user = await userOf(email);
      const sessionsBefore = (await gh.store.listLoginSessions('alpha', user.id)).length;
      const b = await passwordStep(email);
      expect((await gh.store.listLoginSessions('alpha', user.id)).length).toBe(sessionsBefore);
      expect((await b.get('/account')).status).toBe(303);
      expect((await b.get(loginUrl())).text).toContain('name="password"');
      const page = await b.get('/login/mfa');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Enter your code');
      expect(page.text).toContain('to continue to App One');
      expect(page.text).toContain('autocomplete="one-time-code"');
      expect(page.text).toContain('href="/login/mfa?method=recovery"');
      expect(page.text).not.toContain('account-nav');

      const ok = await submitCode(b, codeAt(secret));
      expect(ok.status, ok.text).toBe(200);
      const handoff = formPostOf(ok.text);
      expect(handoff.action).toBe(APP);
      expect(handoff.state).toBe('st-mfa');
      const claims = await claimsOf(handoff.token);
      expect(claims.amr).toEqual(['pwd', 'otp']);
      expect(claims.sub).toBe(user.id);
      const session = await gh.store.findLoginSession('alpha', claims.sid as string);
      expect(session).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });
      expect((await b.get('/account')).status).toBe(200);
      const succeeded = await eventsOf(email, 'user.login.succeeded');
      expect(succeeded.at(0)?.data).toMatchObject({ method: 'otp', sid: claims.sid });
    });

    it('refuses a wrong code with 401, a translated message and a login.failed event', async () => {
      const { email, secret } = await enrolledUser();
      const b = await passwordStep(email);
      const wrong = String((Number(codeAt(secret)) + 7) % 1_000_000).padStart(6, '0');
      const res = await submitCode(b, wrong);
      expect(res.status).toBe(401);
      expect(res.text).toContain('That code is not right or has already been used');
      const zh = await b.submit('/login/mfa?lang=zh-CN', { method: 'otp', code: wrong });
      expect(zh.status).toBe(401);
      expect(zh.text).toContain('验证码不正确或已被使用');
      const failed = await eventsOf(email, 'user.login.failed');
      expect(failed).toHaveLength(2);
      expect(failed[0]!.data).toMatchObject({ method: 'otp' });
      expect(failed[0]!.request.clientId).toBe('app1');
    });

    it('accepts each code once: the same code again is refused (ASVS 6.5.1)', async () => {
      const { email, secret } = await enrolledUser();
      const code = codeAt(secret);
      expect((await submitCode(await passwordStep(email), code)).status).toBe(200);
      const replay = await submitCode(await passwordStep(email), code);
      expect(replay.status).toBe(401);
      expect(replay.text).toContain('already been used');
      // The code that confirmed the enrolment was spent too.
      const { email: other, secret: otherSecret } = await enrolledUser();
      const enrolCode = generateSync({ secret: otherSecret, epoch: Math.floor(now / 1000) - 30 });
      expect((await submitCode(await passwordStep(other), enrolCode)).status).toBe(401);
    });

    it('lets exactly one of two parallel sign-ins with the same fresh code through (ASVS 6.5.1)', async () => {
      const { email, secret } = await enrolledUser();
      const [one, two] = [await passwordStep(email), await passwordStep(email)];
      const [p1, p2] = [await one.get('/login/mfa'), await two.get('/login/mfa')];
      const code = codeAt(secret);
      const results = await Promise.all([
        one.post('/login/mfa', { _csrf: csrfOf(p1.text), method: 'otp', code }),
        two.post('/login/mfa', { _csrf: csrfOf(p2.text), method: 'otp', code }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
      expect((await eventsOf(email, 'user.login.succeeded')).filter((e) => (e.data as { method?: string }).method === 'otp')).toHaveLength(1);
    });

    it('accepts a code one step early or late and refuses two steps off, by the server clock (ASVS 6.5.5, 6.5.8)', async () => {
      const { email, secret } = await enrolledUser();
      advance(10 * 30_000);
      const b = await passwordStep(email);
      expect((await submitCode(b, codeAt(secret, -2))).status).toBe(401);
      expect((await submitCode(b, codeAt(secret, 2))).status).toBe(401);
      expect((await submitCode(b, codeAt(secret, -1))).status).toBe(200);
      expect((await submitCode(await passwordStep(email), codeAt(secret, 1))).status).toBe(200);
    });

    it('lets a recovery code sign in once, whatever its case and dashes, then refuses it (ASVS 6.5.1)', async () => {
      const { email, codes } = await enrolledUser();
      const b = await passwordStep(email);
      const page = await b.get('/login/mfa?method=recovery');
      expect(page.text).toContain('Use a recovery code');
      expect(page.text).toContain('name="method" value="recovery_code"');
      expect(page.text).toContain('pattern="[0-9A-Za-z\\- ]{24,40}"');
      expect(page.text).toContain('4 groups of 6 letters and digits, like k7q2m9-xh4tpz-3nf8wd-c6vbry.');
      const typed = ` ${codes[3]!.toUpperCase().replace(/-/g, ' ')} `;
      const ok = await submitRecovery(b, typed);
      expect(ok.status, ok.text).toBe(200);
      expect((await claimsOf(formPostOf(ok.text).token)).amr).toEqual(['pwd', 'otp']);
      expect((await eventsOf(email, 'user.login.succeeded')).at(0)?.data).toMatchObject({ method: 'recovery_code' });

      const again = await submitRecovery(await passwordStep(email), codes[3]!);
      expect(again.status).toBe(401);
      expect(again.text).toContain('That recovery code is not right or has already been used');
      expect(await gh.store.countRecoveryCodes('alpha', (await userOf(email)).id)).toBe(9);
    });

    it('keeps the personal-center page the sign-in started from', async () => {
      const { email, secret } = await enrolledUser();
      const b = await passwordStep(email, '/login?next=%2Faccount%2Fmfa');
      const ok = await submitCode(b, codeAt(secret));
      expect(ok.status).toBe(303);
      expect(ok.headers.location).toBe('/account/mfa');
    });

    it('ends the pending sign-in after 5 wrong codes, and counts wrong codes per user across restarts (ASVS 6.3.1)', async () => {
      const { email, secret } = await enrolledUser();
      const wrong = String((Number(codeAt(secret)) + 3) % 1_000_000).padStart(6, '0');
      const b = await passwordStep(email);
      for (let i = 1; i < 5; i++) {
        const res = await submitCode(b, wrong);
        expect(res.status).toBe(401);
        expect(res.text).toContain('name="code"');
      }
      const fifth = await submitCode(b, wrong);
      expect(fifth.status).toBe(401);
      expect(fifth.text).toContain('Too many wrong codes');
      expect(fifth.text).not.toContain('name="code"');
      expect(fifth.text).toContain(`href="/login?redirect_uri=${encodeURIComponent(APP)}`);
      // The right code no longer helps this pending sign-in.
      const late = await b.post('/login/mfa', { _csrf: csrfOf((await b.get('/login')).text), method: 'otp', code: codeAt(secret) });
      expect(late.status).toBe(400);
      expect(late.text).toContain('This sign-in has expired');

      // Starting over gives 5 more tries, but the per-user rule (10 per 15 minutes) then holds even the right code.
      const again = await passwordStep(email);
      for (let i = 0; i < 5; i++) expect((await submitCode(again, wrong)).status).toBe(401);
      const third = await passwordStep(email);
      const limited = await submitCode(third, codeAt(secret));
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      expect(limited.text).toContain('Too many attempts');
    });

    it('refuses a pending sign-in older than 5 minutes (injected clock)', async () => {
      const { email, secret } = await enrolledUser();
      const b = await passwordStep(email);
      const page = await b.get('/login/mfa');
      advance(5 * 60_000 + 1000);
      const late = await b.post('/login/mfa', { _csrf: csrfOf(page.text), method: 'otp', code: codeAt(secret) });
      expect(late.status).toBe(400);
      expect(late.text).toContain('This sign-in has expired. Sign in again.');
      expect((await b.get('/login/mfa')).status).toBe(400);
      expect((await b.get('/account')).status).toBe(303);
    });

    it('ends a pending sign-in when the password is reset meanwhile: the right code gets "sign in again", no session (ASVS 7.4.3)', async () => {
      const { email, secret } = await enrolledUser();
      const user = await userOf(email);
      const sessionsBefore = (await gh.store.listLoginSessions('alpha', user.id)).length;
      const b = await passwordStep(email);
      const page = await b.get('/login/mfa');
      expect(page.status).toBe(200);
      // The owner resets the password (the old one leaked) while the holder of the old one waits at the code step.
      await gh.store.setPasswordHash('alpha', user.id, await new PasswordHasher().hash('a-brand-new-passphrase-77'), new Date(now));

      const refused = await b.post('/login/mfa', { _csrf: csrfOf(page.text), method: 'otp', code: codeAt(secret) });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('This sign-in has expired. Sign in again.');
      expect(refused.text).not.toContain('name="code"');
      expect(refused.text).toContain(`href="/login?redirect_uri=${encodeURIComponent(APP)}`);
      expect(formPostOf.bind(null, refused.text)).toThrow();
      expect((await b.get('/account')).status).toBe(303);
      expect((await b.get('/login/mfa')).status).toBe(400);
      expect((await gh.store.listLoginSessions('alpha', user.id)).length).toBe(sessionsBefore);
      expect((await eventsOf(email, 'user.login.succeeded')).filter((e) => (e.data as { method?: string }).method === 'otp')).toHaveLength(0);
      // The code was never checked: the new password and the same code still sign in.
      const fresh = browser(gh);
      expect((await fresh.submit(loginUrl(), { identifier: email, password: 'a-brand-new-passphrase-77' })).headers.location).toBe('/login/mfa');
      expect((await submitCode(fresh, codeAt(secret))).status).toBe(200);
    });

    it('answers a code with 401, never a 500, while the server clock is behind the step last used (it stepped back)', async () => {
      const { b: signedIn, email, secret } = await enrolledUser();
      expect((await submitCode(await passwordStep(email), codeAt(secret))).status).toBe(200);
      const ahead = now;
      // NTP sets the clock back 3 steps (or the next request lands on an instance that far behind).
      now -= 3 * 30_000;
      try {
        const res = await submitCode(await passwordStep(email), codeAt(secret));
        expect(res.status, res.text).toBe(401);
        expect(res.text).toContain('That code is not right or has already been used');
        const remove = await postFrom(signedIn, '/account/mfa', '/account/mfa/remove', { code: codeAt(secret) });
        expect(remove.status, remove.text).toBe(401);
      } finally {
        now = ahead;
      }
      // Once the clock is past the spent step again, the next code works.
      nextStep();
      expect((await submitCode(await passwordStep(email), codeAt(secret))).status).toBe(200);
    });

    it('gives the browser a new session id at the password step and again when the code completes it; the pre-code id is never signed in (ASVS 7.2.4)', async () => {
      const { email, secret } = await enrolledUser();
      // A browser that already holds a session id (someone else's sign-in: an id an attacker could have planted).
      const { b } = await signUp();
      const planted = sessionCookieOf(b);
      expect(planted).toBeTruthy();

      // Signed in, /login would hand over at once: the form's token comes from another page of the site.
      const anyPage = await b.get('/logout');
      const pwd = await b.post(loginUrl(), { _csrf: csrfOf(anyPage.text), identifier: email, password: GOOD_PASSWORD });
      expect(pwd.status).toBe(303);
      expect(pwd.headers.location).toBe('/login/mfa');
      const pending = setCookieSid(pwd);
      expect(pending).toBeTruthy();
      expect(pending).not.toBe(planted);
      expect(sessionCookieOf(b)).toBe(pending);
      // Neither the planted id nor the pending one is a signed-in session.
      for (const sid of [planted, pending]) {
        const res = await request(gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', `gh.sid=${sid}`);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/login');
      }

      const page = await b.get('/login/mfa');
      const done = await b.post('/login/mfa', { _csrf: csrfOf(page.text), method: 'otp', code: codeAt(secret) });
      expect(done.status, done.text).toBe(200);
      const signedIn = setCookieSid(done);
      expect(signedIn).toBeTruthy();
      expect(signedIn).not.toBe(pending);
      expect(signedIn).not.toBe(planted);
      expect((await b.get('/account')).status).toBe(200);
      // Whoever kept the pre-code id (fixation) is still nobody.
      for (const sid of [planted, pending]) {
        const res = await request(gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', `gh.sid=${sid}`);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/login');
        expect((await request(gh.app).get('/login/mfa').set('Host', 'alpha.test').set('Cookie', `gh.sid=${sid}`)).status).toBe(400);
      }
    });

    it('answers /login/mfa without a pending sign-in, and a malformed code, with a 400 page', async () => {
      const lone = browser(gh);
      expect((await lone.get('/login/mfa')).status).toBe(400);
      const { email } = await enrolledUser();
      const b = await passwordStep(email);
      for (const code of ['12345', 'abcdef', '1234567']) {
        const res = await submitCode(b, code);
        expect(res.status, code).toBe(400);
        expect(res.text).toContain('Enter the 6 digits from your authenticator app');
      }
      const page = await b.get('/login/mfa');
      const array = await b.post('/login/mfa', { _csrf: csrfOf(page.text), method: 'otp', code: ['123456', '123456'] });
      expect(array.status).toBe(400);
    });

    it('refuses the code without the CSRF token (ASVS 3.5.1)', async () => {
      const { email, secret } = await enrolledUser();
      const b = await passwordStep(email);
      const res = await b.post('/login/mfa', { method: 'otp', code: codeAt(secret) });
      expect(res.status).toBe(403);
      // …and the code was not spent.
      expect((await submitCode(b, codeAt(secret))).status).toBe(200);
    });
  });

  describe('managing two-factor', () => {
    it('regenerating recovery codes ends the old ones (ASVS 6.5.6)', async () => {
      const { b, email, codes } = await enrolledUser();
      const made = await postFrom(b, '/account/mfa', '/account/mfa/recovery-codes');
      expect(made.status).toBe(303);
      const page = await b.get('/account/mfa');
      expect(page.text).toContain('New recovery codes are ready');
      const fresh = recoveryCodesOf(page.text);
      expect(fresh).toHaveLength(10);
      expect(fresh.some((c) => codes.includes(c))).toBe(false);
      expect(await eventsOf(email, 'user.mfa.recovery_codes_regenerated')).toHaveLength(1);

      expect((await submitRecovery(await passwordStep(email), codes[0]!)).status).toBe(401);
      expect((await submitRecovery(await passwordStep(email), fresh[0]!)).status).toBe(200);
    });

    it('removes two-factor only with a valid code, and then the password alone signs in (ASVS 6.5.6)', async () => {
      const { b, email, secret } = await enrolledUser();
      const wrong = String((Number(codeAt(secret)) + 5) % 1_000_000).padStart(6, '0');
      const refused = await postFrom(b, '/account/mfa', '/account/mfa/remove', { code: wrong });
      expect(refused.status).toBe(401);
      expect(refused.text).toContain('That code is not right, or it has already been used');
      const noCode = await postFrom(b, '/account/mfa', '/account/mfa/remove', { code: '' });
      expect(noCode.status).toBe(400);
      expect((await gh.store.getTotp('alpha', (await userOf(email)).id))?.confirmedAt).toBeInstanceOf(Date);

      const removed = await postFrom(b, '/account/mfa', '/account/mfa/remove', { code: codeAt(secret) });
      expect(removed.status).toBe(303);
      const page = await b.get('/account/mfa');
      expect(page.text).toContain('Two-factor authentication is off.');
      expect(page.text).toContain('Set up an authenticator app');
      const user = await userOf(email);
      expect(await gh.store.getTotp('alpha', user.id)).toBeNull();
      expect(await gh.store.countRecoveryCodes('alpha', user.id)).toBe(0);
      expect(await eventsOf(email, 'user.mfa.removed')).toHaveLength(1);
      const login = await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(login.headers.location).toBe('/account');
    });

    it('records a wrong code at removal as mfa.remove_failed and keeps two-factor on (ASVS 16.3.1)', async () => {
      const { b, email, secret } = await enrolledUser();
      const wrong = String((Number(codeAt(secret)) + 5) % 1_000_000).padStart(6, '0');
      expect((await postFrom(b, '/account/mfa', '/account/mfa/remove', { code: wrong })).status).toBe(401);
      const failed = await eventsOf(email, 'user.mfa.removal_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.data).toEqual({ method: 'otp' });
      expect(await eventsOf(email, 'user.mfa.removed')).toHaveLength(0);
      expect((await gh.store.getTotp('alpha', (await userOf(email)).id))?.confirmedAt).toBeInstanceOf(Date);
    });

    it('removes two-factor with a recovery code', async () => {
      const { b, email, codes } = await enrolledUser();
      expect((await postFrom(b, '/account/mfa', '/account/mfa/remove', { code: codes[9]! })).status).toBe(303);
      expect(await gh.store.getTotp('alpha', (await userOf(email)).id)).toBeNull();
    });

    it('needs a recent authentication, and "confirm it\'s you" then asks for the code too (ASVS 7.5.1)', async () => {
      const { b, secret } = await enrolledUser();
      advance(11 * 60_000);
      const detour = await b.get('/account/mfa');
      expect(detour.status).toBe(303);
      expect(detour.headers.location).toBe('/account/reauth?next=%2Faccount%2Fmfa');
      const post = await b.post('/account/mfa/recovery-codes', { _csrf: csrfOf((await b.get('/account/reauth')).text) });
      expect(post.status).toBe(303);
      expect(post.headers.location).toMatch(/^\/account\/reauth/);

      const form = await b.get(detour.headers.location!);
      expect(form.text).toContain('name="code"');
      expect(form.text).toContain('a code from your authenticator app');
      const passwordOnly = await b.submit(detour.headers.location!, { password: GOOD_PASSWORD });
      expect(passwordOnly.status).toBe(400);
      expect(passwordOnly.text).toContain('Enter the code from your authenticator app, or a recovery code');
      const wrong = String((Number(codeAt(secret)) + 9) % 1_000_000).padStart(6, '0');
      const wrongCode = await b.submit(detour.headers.location!, { password: GOOD_PASSWORD, code: wrong });
      expect(wrongCode.status).toBe(401);
      const ok = await b.submit(detour.headers.location!, { password: GOOD_PASSWORD, code: codeAt(secret) });
      expect(ok.status).toBe(303);
      expect(ok.headers.location).toBe('/account/mfa');
      expect((await b.get('/account/mfa')).status).toBe(200);
    });

    it('asks a user without an authenticator only for the password at "confirm it\'s you"', async () => {
      const { b } = await signUp();
      advance(11 * 60_000);
      const form = await b.get('/account/reauth?next=%2Faccount%2Fmfa');
      expect(form.status).toBe(200);
      expect(form.text).not.toContain('name="code"');
      const ok = await b.submit('/account/reauth?next=%2Faccount%2Fmfa', { password: GOOD_PASSWORD });
      expect(ok.headers.location).toBe('/account/mfa');
    });
  });

  describe('a realm that requires MFA', () => {
    it('has a new user set up an authenticator at sign-up, before any JWT, then hands over amr pwd+otp (ASVS 6.3.3)', async () => {
      const email = uniqueEmail('req');
      const b = browser(gh, 'gamma.test');
      const signup = await b.submit(`/signup?${new URLSearchParams({ redirect_uri: APP, state: 'st-g' })}`, { email, password: GOOD_PASSWORD });
      expect(signup.status).toBe(303);
      expect(signup.headers.location).toBe('/login/mfa');
      await enrolDuringLogin(b, email, 'st-g');
    });

    it('does not let whoever proved a password that was reset meanwhile set up their own authenticator (ASVS 7.4.3)', async () => {
      const email = uniqueEmail('req');
      const owner = browser(gh, 'gamma.test');
      expect((await owner.submit('/signup', { email, password: GOOD_PASSWORD })).headers.location).toBe('/login/mfa');
      const user = await userOf(email, 'gamma');
      // Before the secret is shown…
      const early = await passwordStep(email, loginUrl(), 'gamma.test');
      const intro = await early.get('/login/mfa');
      // …and after it is shown, before the code confirms it.
      const late = await passwordStep(email, loginUrl(), 'gamma.test');
      expect((await postFrom(late, '/login/mfa', '/login/mfa/enrol')).status).toBe(303);
      const sheet = await late.get('/login/mfa');
      const secret = secretOf(sheet.text);
      await gh.store.setPasswordHash('gamma', user.id, await new PasswordHasher().hash('a-brand-new-passphrase-78'), new Date(now));

      const started = await early.post('/login/mfa/enrol', { _csrf: csrfOf(intro.text) });
      expect(started.status).toBe(400);
      expect(started.text).toContain('This sign-in has expired. Sign in again.');
      const confirmed = await late.post('/login/mfa/confirm', { _csrf: csrfOf(sheet.text), code: codeAt(secret) });
      expect(confirmed.status).toBe(400);
      expect(confirmed.text).toContain('This sign-in has expired. Sign in again.');
      expect((await gh.store.getTotp('gamma', user.id))?.confirmedAt ?? null).toBeNull();
      expect(await gh.store.countRecoveryCodes('gamma', user.id)).toBe(0);
      for (const b of [early, late]) expect((await b.get('/account')).status).toBe(303);
      expect(await eventsOf(email, 'user.mfa.enrolled', 'gamma')).toHaveLength(0);
    });

    it('has a user without an authenticator set one up at the next sign-in, with a fresh secret', async () => {
      const email = uniqueEmail('req');
      const first = browser(gh, 'gamma.test');
      expect((await first.submit('/signup', { email, password: GOOD_PASSWORD })).headers.location).toBe('/login/mfa');
      // Started, then abandoned: the next sign-in gets its own secret, never this one.
      expect((await postFrom(first, '/login/mfa', '/login/mfa/enrol')).status).toBe(303);
      const abandoned = secretOf((await first.get('/login/mfa')).text);

      const b = await passwordStep(email, loginUrl({ redirect_uri: APP, state: 'st-g' }), 'gamma.test');
      const secret = await enrolDuringLogin(b, email, 'st-g', async () => {
        // Once this sign-in has started its own enrolment, the abandoned browser neither sees its secret nor confirms it.
        const stale = await first.get('/login/mfa');
        expect(stale.status).toBe(200);
        expect(stale.text).not.toContain('mfa-secret');
        const code = generateSync({ secret: abandoned, epoch: Math.floor(now / 1000) });
        const refused = await first.post('/login/mfa/confirm', { _csrf: csrfOf(stale.text), code });
        expect(refused.status).toBe(409);
        expect(refused.text).toContain('This setup was cancelled or has already finished');
      });
      expect(secret).not.toBe(abandoned);
      // The abandoned secret's codes open nothing.
      nextStep();
      const later = await passwordStep(email, loginUrl(), 'gamma.test');
      expect((await submitCode(later, generateSync({ secret: abandoned, epoch: Math.floor(now / 1000) }))).status).toBe(401);
    });

    async function enrolDuringLogin(b: Browser, email: string, state: string, meanwhile?: () => Promise<void>): Promise<string> {
      const intro = await b.get('/login/mfa');
      expect(intro.status).toBe(200);
      expect(intro.text).toContain('Gamma requires a second step at sign-in');
      expect(intro.text).not.toContain('mfa-qr');
      expect((await postFrom(b, '/login/mfa', '/login/mfa/enrol')).status).toBe(303);
      const sheet = await b.get('/login/mfa');
      const secret = secretOf(sheet.text);
      expect(sheet.text).toContain('alt="QR code that adds your Gamma account');
      await meanwhile?.();

      const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
      const refused = await postFrom(b, '/login/mfa', '/login/mfa/confirm', { code: wrong });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('That code is not right');
      expect((await b.get('/account')).status).toBe(303);

      expect((await postFrom(b, '/login/mfa', '/login/mfa/confirm', { code: codeAt(secret) })).status).toBe(303);
      const codesPage = await b.get('/login/mfa');
      const codes = recoveryCodesOf(codesPage.text);
      expect(codes).toHaveLength(10);
      expect(codesPage.text).toContain('continue to App One');
      const file = await b.get('/login/mfa/recovery-codes.txt');
      expect(file.status).toBe(200);
      expect(file.headers['content-disposition']).toBe('attachment; filename="gamma-recovery-codes.txt"');
      expect(file.text).toContain(codes[0]);
      // Not signed in yet: no JWT and no session until the codes were seen.
      expect((await b.get('/account')).status).toBe(303);

      const done = await postFrom(b, '/login/mfa', '/login/mfa/continue');
      expect(done.status, done.text).toBe(200);
      const handoff = formPostOf(done.text);
      expect(handoff.state).toBe(state);
      expect((await claimsOf(handoff.token, 'gamma.test')).amr).toEqual(['pwd', 'otp']);
      expect((await b.get('/login/mfa/recovery-codes.txt')).status).toBe(404);
      expect((await eventsOf(email, 'user.mfa.enrolled', 'gamma'))[0]!.request.clientId).toBe('app1');

      // From now on the sign-in asks for a code.
      nextStep();
      const next = await passwordStep(email, loginUrl(), 'gamma.test');
      expect((await next.get('/login/mfa')).text).toContain('Enter your code');
      expect((await submitCode(next, codeAt(secret))).status).toBe(200);
      return secret;
    }
  });

  describe('paths that must not skip the second factor', () => {
    it('the login after email verification asks for the code of a user with an authenticator (ASVS 6.3.3)', async () => {
      // A verified user of delta enrols, then the address goes back to "requested" (e.g. an administrator reset it).
      const email = uniqueEmail('ver');
      const b = browser(gh, 'delta.test');
      expect((await b.submit('/signup', { email, password: GOOD_PASSWORD })).headers.location).toBe('/verify-email');
      const first = await smtp.waitFor(email, (m) => m.code !== null);
      const page = await b.get('/verify-email');
      const ok = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: first.code! });
      expect(ok.status, ok.text).toBe(303);
      expect(ok.headers.location).toBe('/account');
      const secret = await startEnrolment(b);
      expect((await postFrom(b, '/account/mfa', '/account/mfa/confirm', { code: codeAt(secret) })).status).toBe(303);
      const user = await userOf(email, 'delta');
      await gh.store.setEmailVerification('delta', user.id, 'requested', new Date(now));
      nextStep();

      const c = browser(gh, 'delta.test');
      const pwd = await c.submit(loginUrl(), { identifier: email, password: GOOD_PASSWORD });
      expect(pwd.headers.location).toBe('/verify-email');
      const check = await c.get('/verify-email');
      expect((await c.post('/verify-email/resend', { _csrf: csrfOf(check.text) })).status).toBe(200);
      const second = await smtp.waitFor(email, (m) => m.code !== null && m.code !== first.code);
      const afterVerify = await c.post('/verify-email/code', { _csrf: csrfOf(check.text), code: second.code! });
      expect(afterVerify.status).toBe(303);
      expect(afterVerify.headers.location).toBe('/login/mfa');
      expect((await c.get('/account')).status).toBe(303);

      const done = await submitCode(c, codeAt(secret));
      expect(done.status, done.text).toBe(200);
      const handoff = formPostOf(done.text);
      expect(handoff.state).toBe('st-mfa');
      expect((await claimsOf(handoff.token, 'delta.test')).amr).toEqual(['pwd', 'otp']);
      expect((await eventsOf(email, 'user.login.succeeded', 'delta')).at(0)?.data).toMatchObject({ method: 'otp', after: 'user.email.verified' });
    });

    it('an existing login session is not asked again', async () => {
      const { email, secret } = await enrolledUser();
      const b = await passwordStep(email);
      expect((await submitCode(b, codeAt(secret))).status).toBe(200);
      const again = await b.get(loginUrl());
      expect(again.status).toBe(200);
      expect((await claimsOf(formPostOf(again.text).token)).amr).toEqual(['pwd', 'otp']);
    });
  });
});

const redisUrl = inject('redisUrl');
const hasRedis = partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL');

describe.skipIf(!hasRedis)('second-factor guesses in parallel, on the shared Redis counters', () => {
  /** A small per-user rule with a short window, so the test can wait it out. */
  const MFA_PER_USER = { points: 5, durationSeconds: 5 };
  const SIGN_INS = 12;
  const GUESSES_EACH = 5;
  let gh: TestGatehouse;
  const now = (Math.floor(Date.now() / 30_000) + 1) * 30_000 + 15_000;
  const codeAt = (secret: string, offset = 0) => generateSync({ secret, epoch: Math.floor(now / 1000) + offset * 30 });

  beforeAll(async () => {
    const realm = { ...ALPHA, rateLimits: { ...ALPHA.rateLimits, loginPerIdentifierAndIp: { points: 1000, durationSeconds: 60 }, mfaPerUser: MFA_PER_USER } };
    gh = await testGatehouse({ redisUrl, file: { defaultRealm: 'alpha', realms: [realm] }, clock: () => new Date(now) });
  });
  afterAll(async () => {
    await gh?.close();
  });

  it('checks no more codes than rateLimits.mfaPerUser allows when 12 pending sign-ins send 5 wrong codes each at once, and then holds the right one (ASVS 6.3.1)', async () => {
    const email = uniqueEmail('mfa-burst');
    const owner = browser(gh);
    expect((await owner.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    const enrol = await owner.get('/account/mfa');
    expect((await owner.post('/account/mfa/enrol', { _csrf: csrfOf(enrol.text) })).status).toBe(303);
    const sheet = await owner.get('/account/mfa');
    const secret = secretOf(sheet.text);
    // The confirming code spends the step before the clock's: the current step's code stays right for the end.
    const confirming = generateSync({ secret, epoch: Math.floor(now / 1000) - 30 });
    expect((await owner.post('/account/mfa/confirm', { _csrf: csrfOf(sheet.text), code: confirming })).status).toBe(303);
    const user = (await gh.store.findUsersByEmail('alpha', email))[0]!.user;
    const right = codeAt(secret);
    const near = new Set([codeAt(secret, -1), right, codeAt(secret, 1)]);
    const wrong = Array.from({ length: 100 }, (_, i) => String((Number(right) + 1000 + i * 7919) % 1_000_000).padStart(6, '0')).filter((c) => !near.has(c));

    // Many browsers, each with its own pending sign-in of the same user, each with its form loaded.
    const attackers = await Promise.all(
      Array.from({ length: SIGN_INS }, async () => {
        const b = browser(gh);
        const res = await b.submit('/login', { identifier: email, password: GOOD_PASSWORD });
        expect(res.headers.location).toBe('/login/mfa');
        return { b, csrf: csrfOf((await b.get('/login/mfa')).text) };
      }),
    );
    // …and every guess at the same moment.
    const answers = await Promise.all(
      attackers.flatMap(({ b, csrf }, i) =>
        Array.from({ length: GUESSES_EACH }, (_, j) => b.post('/login/mfa', { _csrf: csrf, method: 'otp', code: wrong[i * GUESSES_EACH + j]! })),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    const checked = (await listEvents(gh.store, 'alpha', user.id, 500)).filter((e) => e.type === 'user.login.failed' && (e.data as { method?: string }).method === 'otp');
    expect(checked.length).toBeLessThanOrEqual(MFA_PER_USER.points);
    expect(statuses.filter((s) => s === 401)).toHaveLength(checked.length);
    expect(statuses.filter((s) => s === 429)).toHaveLength(SIGN_INS * GUESSES_EACH - checked.length);

    // The right code waits too, in a new sign-in, until the window has passed.
    const b = browser(gh);
    expect((await b.submit(loginUrl(), { identifier: email, password: GOOD_PASSWORD })).headers.location).toBe('/login/mfa');
    const held = await submitIn(b, right);
    expect(held.status).toBe(429);
    const retryAfter = Number(held.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(MFA_PER_USER.durationSeconds);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 250));
    const ok = await submitIn(b, right);
    expect(ok.status, ok.text).toBe(200);
    expect(formPostOf(ok.text).action).toBe(APP);
  }, 30_000);

  async function submitIn(b: Browser, code: string) {
    const page = await b.get('/login/mfa');
    return b.post('/login/mfa', { _csrf: csrfOf(page.text), method: 'otp', code });
  }
});

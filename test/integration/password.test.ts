/**
 * The password page (issue 4): change with the current password, or set a
 * first one; the policy; other sessions ended, this one kept or not; the
 * notice mail (real SMTP server); recent authentication; the rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.ts';
import { listEvents } from '../helpers/events.ts';

type Browser = ReturnType<typeof browser>;

const NEW_PASSWORD = 'amber-quarry-whistle-77';
const CHANGED = /password was changed/;
const WRONG_TRIES = 3;

/** TEST_CONFIG with few wrong current passwords allowed, and room for the many /forgot requests. */
function passwordConfig() {
  const config = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  for (const realm of config.realms) {
    realm.rateLimits = {
      ...(realm.rateLimits as object),
      loginPerIdentifierAndIp: { points: WRONG_TRIES, durationSeconds: 900 },
      recoveryPerIp: { points: 10_000, durationSeconds: 3600 },
    };
  }
  return config;
}

describe('password page', () => {
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  /** The injected clock runs `offset` ahead of real time; it only ever moves forward. */
  let offset = 0;

  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({ smtpUrl: smtp.url, file: passwordConfig(), clock: () => new Date(Date.now() + offset), tuning: { outbox: { pollMs: 100 } } });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  /** A new user, signed in in the returned browser. */
  async function signUp() {
    const email = uniqueEmail('pw');
    const b = browser(gh);
    const res = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(303);
    const user = async () => (await gh.store.findUserByLogin('alpha', email))!.user;
    return { b, email, user };
  }

  async function logIn(email: string, password: string): Promise<Browser | null> {
    const b = browser(gh);
    const res = await b.submit('/login', { identifier: email, password });
    if (res.status === 303) return b;
    expect(res.status).toBe(401);
    return null;
  }

  async function signedIn(b: Browser): Promise<boolean> {
    const res = await b.get('/account');
    if (res.status === 200) return true;
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login');
    return false;
  }

  const change = (b: Browser, form: Record<string, string | string[]>) => b.submit('/account/password', form);

  async function noticeTo(email: string): Promise<ReceivedMail> {
    return smtp.waitFor(email, (m) => CHANGED.test(m.subject));
  }

  describe('access', () => {
    it('sends a visitor who is not signed in to the login page and back', async () => {
      const res = await browser(gh).get('/account/password');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount%2Fpassword');
    });

    it('refuses a change without the CSRF token (ASVS 3.5.1)', async () => {
      const { b, email } = await signUp();
      expect((await b.get('/account/password')).status).toBe(200);
      const res = await b.post('/account/password', { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' });
      expect(res.status).toBe(403);
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();
    });

    it('asks for the password again after the recent-auth window, then comes back (ASVS 7.5.1)', async () => {
      const { b, email } = await signUp();
      const form = await b.get('/account/password');
      expect(form.status).toBe(200);
      offset += (gh.config.realms[0]!.account.recentAuthMinutes + 1) * 60_000;

      const page = await b.get('/account/password');
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/account/reauth?next=%2Faccount%2Fpassword');
      // A form posted after the window changes nothing and detours the same way.
      const late = await b.post('/account/password', { _csrf: csrfOf(form.text), currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' });
      expect(late.status).toBe(303);
      expect(late.headers.location).toBe('/account/reauth?next=%2Faccount%2Fpassword');
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();

      const confirmed = await b.submit(page.headers.location!, { password: GOOD_PASSWORD });
      expect(confirmed.status).toBe(303);
      expect(confirmed.headers.location).toBe('/account/password');
      expect((await b.get('/account/password')).status).toBe(200);
      expect((await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' })).status).toBe(303);
    });

    it('shows the form with the right autocomplete hints and no script, never cached', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/password');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).toMatch(/name="currentPassword" type="password" autocomplete="current-password"/);
      expect(page.text).toMatch(/name="password" type="password" autocomplete="new-password"/);
      expect(page.text).toMatch(/name="keepSession" value="true"[^>]*checked/);
      expect(page.text).not.toMatch(/<script/);
      const zh = await b.get('/account/password?lang=zh-CN');
      expect(zh.text).toContain('在此设备上保持登录');
    });
  });

  describe('refusals', () => {
    it('refuses a wrong current password with a field error and counts it (ASVS 6.2.3)', async () => {
      const { b, email, user } = await signUp();
      const res = await change(b, { currentPassword: 'not-my-password-1', password: NEW_PASSWORD, keepSession: 'true' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Your current password is not right. Try again.');
      expect(res.text).toMatch(/id="currentPassword"[^>]*aria-invalid="true"/s);
      // Passwords are never echoed back into the page.
      expect(res.text).not.toContain(NEW_PASSWORD);
      const missing = await change(b, { password: NEW_PASSWORD, keepSession: 'true' });
      expect(missing.status).toBe(400);
      expect(missing.text).toContain('Fill in this field.');
      const events = await listEvents(gh.store, 'alpha', (await user()).id, 20);
      expect(events.filter((e) => e.type === 'user.password.update_failed')).toHaveLength(1);
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();
      expect(await logIn(email, NEW_PASSWORD)).toBeNull();
    });

    it('applies the password policy: too short, too common, the email itself (ASVS 6.2.1, 6.2.4)', async () => {
      const { b, email } = await signUp();
      const short = await change(b, { currentPassword: GOOD_PASSWORD, password: 'abc1', keepSession: 'true' });
      expect(short.status).toBe(400);
      expect(short.text).toContain('Use at least 8 characters.');
      expect(short.text).toMatch(/id="password"[^>]*aria-invalid="true"/s);
      const common = await change(b, { currentPassword: GOOD_PASSWORD, password: 'password123', keepSession: 'true' });
      expect(common.status).toBe(400);
      expect(common.text).toContain('too common');
      const own = await change(b, { currentPassword: GOOD_PASSWORD, password: email, keepSession: 'true' });
      expect(own.status).toBe(400);
      expect(own.text).toContain('must not be your email or username');
      const long = await change(b, { currentPassword: GOOD_PASSWORD, password: 'x'.repeat(257), keepSession: 'true' });
      expect(long.status).toBe(400);
      expect(long.text).toContain('Use at most 256 characters.');
      // The checkbox stays as the user left it.
      const unticked = await change(b, { currentPassword: GOOD_PASSWORD, password: 'abc1' });
      expect(unticked.text).not.toMatch(/name="keepSession" value="true"[^>]*checked/);
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();
    });

    it('answers arrays instead of strings with a 400 page, changing nothing', async () => {
      const { b, email } = await signUp();
      const bads: Array<Record<string, string | string[]>> = [
        { currentPassword: [GOOD_PASSWORD, GOOD_PASSWORD], password: NEW_PASSWORD },
        { currentPassword: GOOD_PASSWORD, password: [NEW_PASSWORD, NEW_PASSWORD] },
        { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: ['true', 'true'] },
        { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'yes' },
      ];
      for (const bad of bads) {
        const res = await change(b, bad);
        expect(res.status, JSON.stringify(bad)).toBe(400);
      }
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();
    });

    it(`answers 429 with Retry-After after ${WRONG_TRIES} wrong current passwords, even for the right one (ASVS 6.3.1)`, async () => {
      const { b, email } = await signUp();
      for (let i = 0; i < WRONG_TRIES; i++) {
        expect((await change(b, { currentPassword: `wrong-guess-${i}-x`, password: NEW_PASSWORD, keepSession: 'true' })).status).toBe(400);
      }
      const limited = await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(900);
      expect(limited.text).toContain('Too many attempts. Try again in 15 minute(s).');
      expect(await logIn(email, GOOD_PASSWORD)).not.toBeNull();
    });
  });

  describe('a successful change', () => {
    it('keeps this device, signs every other one out at once, records the event and mails a notice (ASVS 7.4.3, 6.2.2)', async () => {
      const { b, email, user } = await signUp();
      const other = (await logIn(email, GOOD_PASSWORD))!;
      expect(await signedIn(other)).toBe(true);

      const res = await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' });
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe('/account/password');
      const page = await b.get('/account/password');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Password changed. Other devices were signed out.');

      expect(await signedIn(b)).toBe(true);
      expect(await signedIn(other)).toBe(false);
      expect(await logIn(email, GOOD_PASSWORD)).toBeNull();
      expect(await logIn(email, NEW_PASSWORD)).not.toBeNull();

      const events = await listEvents(gh.store, 'alpha', (await user()).id, 50);
      const changed = events.find((e) => e.type === 'user.password.updated');
      expect(changed?.data).toEqual({ reason: 'password_changed', endedSessions: 1, keptThisSession: true, firstPassword: false });

      const notice = await noticeTo(email);
      expect(notice.subject).toBe('Your Alpha password was changed');
      expect(notice.text).toContain('Every other device that was signed in has been signed out. The device the change was made on stays signed in.');
      expect(notice.html).toContain('The device the change was made on stays signed in.');
      expect(notice.links.some((l) => l.startsWith('http://alpha.test/forgot'))).toBe(true);
    });

    it('signs this device out too when "Stay signed in" is unticked, with a notice on the login page', async () => {
      const { b, email, user } = await signUp();
      const other = (await logIn(email, GOOD_PASSWORD))!;

      const res = await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login');
      const login = await b.get('/login');
      expect(login.status).toBe(200);
      expect(login.text).toContain('Your password was changed and you were signed out everywhere. Sign in with your new password.');
      expect(login.text).toContain('name="identifier"');
      // The notice is this browser's, once: a fresh visitor (and the next visit) sees the plain page.
      expect((await b.get('/login')).text).not.toContain('you were signed out everywhere');
      expect((await browser(gh).get('/login')).text).not.toContain('you were signed out everywhere');

      expect(await signedIn(b)).toBe(false);
      expect(await signedIn(other)).toBe(false);
      const events = await listEvents(gh.store, 'alpha', (await user()).id, 50);
      expect(events.find((e) => e.type === 'user.password.updated')?.data).toEqual({ reason: 'password_changed', endedSessions: 2, keptThisSession: false, firstPassword: false });
      const notice = await noticeTo(email);
      expect(notice.text).toContain('Every device that was signed in has been signed out.');
      expect(await logIn(email, NEW_PASSWORD)).not.toBeNull();
    });

    it('records the sessions it ended as one session.ended event with reason password_changed (ASVS 7.4.3)', async () => {
      const { b, email, user } = await signUp();
      const others = [(await logIn(email, GOOD_PASSWORD))!, (await logIn(email, GOOD_PASSWORD))!];
      const id = (await user()).id;
      const live = (await gh.store.listLoginSessions('alpha', id)).filter((s) => !s.endedAt).map((s) => s.id);
      expect(live).toHaveLength(3);

      expect((await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' })).status).toBe(303);
      for (const other of others) expect(await signedIn(other)).toBe(false);
      const still = (await gh.store.listLoginSessions('alpha', id)).filter((s) => !s.endedAt).map((s) => s.id);
      expect(still).toHaveLength(1);
      const ended = (await listEvents(gh.store, 'alpha', id, 50)).filter((e) => e.type === 'session.deleted');
      expect(ended).toHaveLength(1);
      expect(ended[0]?.data?.reason).toBe('password_changed');
      expect([...(ended[0]?.data?.sids as string[])].sort()).toEqual(live.filter((sid) => sid !== still[0]).sort());
    });

    it('shows the signed-out notice in the user\'s language', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/password?lang=zh-CN');
      const res = await b.post('/account/password', { _csrf: csrfOf(page.text), currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD });
      expect(res.status).toBe(303);
      const login = await b.get('/login');
      expect(login.text).toContain('你的密码已修改，你已在所有设备上退出登录。');
    });

    it('ends the reset links mailed before the change (ASVS 6.4.3)', async () => {
      const { b, email } = await signUp();
      const asked = await browser(gh).submit('/forgot', { identifier: email });
      expect(asked.status).toBe(200);
      const mail = await smtp.waitFor(email, (m) => /^Reset your/.test(m.subject));
      const link = new URL(mail.links.find((l) => new URL(l).pathname === '/reset-password')!);
      expect((await change(b, { currentPassword: GOOD_PASSWORD, password: NEW_PASSWORD, keepSession: 'true' })).status).toBe(303);
      const opened = await browser(gh).get(`${link.pathname}${link.search}`);
      expect(opened.status).toBe(400);
      expect(opened.text).toContain('This reset link has expired or has already been used');
    });
  });

  describe('an account without a password (social sign-up)', () => {
    it('offers to set a first password without asking for a current one', async () => {
      const { b, email, user } = await signUp();
      const id = (await user()).id;
      (gh.store as SqliteStore).db.prepare('UPDATE users SET password_hash = NULL WHERE realm_id = ? AND id = ?').run('alpha', id);

      const page = await b.get('/account/password');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Set a password');
      expect(page.text).not.toContain('name="currentPassword"');
      const weak = await change(b, { password: 'password' });
      expect(weak.status).toBe(400);
      expect(weak.text).toContain('too common');

      // A current password sent along is not needed and changes nothing.
      const res = await change(b, { currentPassword: 'anything', password: NEW_PASSWORD, keepSession: 'true' });
      expect(res.status, res.text).toBe(303);
      expect((await b.get('/account/password')).text).toContain('Password set. Other devices were signed out.');
      expect(await logIn(email, NEW_PASSWORD)).not.toBeNull();
      const events = await listEvents(gh.store, 'alpha', id, 50);
      expect(events.find((e) => e.type === 'user.password.updated')?.data).toMatchObject({ firstPassword: true, keptThisSession: true });
      // From now on the page asks for the current password.
      expect((await b.get('/account/password')).text).toContain('name="currentPassword"');
    });
  });
});

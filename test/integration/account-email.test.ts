/**
 * The email page of the personal center (issue 4): change or bind the
 * address with a code (or a link) sent to the new address, a notice to the
 * old one, the username following where emails are usernames, verifying the
 * current address, recent authentication, CSRF, bad input. Real store, real
 * mail worker, a real SMTP server in the test; an injected clock for expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../src/identity/password.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.ts';
import { listEvents } from '../helpers/events.ts';

type Browser = ReturnType<typeof browser>;

const BIND = /^Confirm your new email address/;
const CHANGED = /email address of your .* account was changed/;
const VERIFY = /^Verify your email/;
const MAILS_PER_USER = 4;
const CODE_ATTEMPTS = 3;
/** Long enough that the code-expiry tests stay inside it; the re-auth test goes past it. */
const RECENT_AUTH_MINUTES = 30;

/** TEST_CONFIG with a small per-user mail limit, few code tries and a longer recent-auth window. */
function emailConfig() {
  const config = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  for (const realm of config.realms) {
    realm.rateLimits = { ...(realm.rateLimits as object), emailChangePerUser: { points: MAILS_PER_USER, durationSeconds: 3600 } };
    realm.emailVerification = { codeAttempts: CODE_ATTEMPTS };
    realm.account = { recentAuthMinutes: RECENT_AUTH_MINUTES };
  }
  return config;
}

/** The code stands alone after a space; a 6-digit run inside the link's token does not count. */
function codeOf(mail: ReceivedMail): string {
  const code = /(?<=\s)(\d{6})(?=\s|$)/m.exec(mail.text)?.[1];
  if (!code) throw new Error(`no code in "${mail.subject}": ${mail.text}`);
  return code;
}

/** The path and query of a mailed link, and the host it was built for. */
function linkOf(mail: ReceivedMail, path = '/account/email/confirm'): { host: string; url: string } {
  const link = mail.links.find((l) => new URL(l).pathname === path);
  if (!link) throw new Error(`no ${path} link in "${mail.subject}": ${mail.text}`);
  const url = new URL(link);
  return { host: url.host, url: `${url.pathname}${url.search}` };
}

/** A 6-digit code that is not `code`. */
const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
/** Gives the mail worker time to send anything it was going to send. */
const settle = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

describe('email page', () => {
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  /** The injected clock runs `offset` ahead of real time; it only ever moves forward. */
  let offset = 0;
  const advance = (minutes: number) => {
    offset += minutes * 60_000;
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({ smtpUrl: smtp.url, file: emailConfig(), clock: () => new Date(Date.now() + offset), tuning: { outbox: { pollMs: 100 } } });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  /** A new user of `host`'s realm, signed in in the returned browser. */
  async function signUp(host = 'alpha.test') {
    const email = uniqueEmail('em');
    const username = `u${Math.random().toString(36).slice(2, 10)}`;
    const b = browser(gh, host);
    const res = await b.submit('/signup', host === 'alpha.test' ? { email, password: GOOD_PASSWORD } : { email, username, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(303);
    const realm = host === 'alpha.test' ? 'alpha' : 'beta';
    const id = (await gh.store.findUsersByEmail(realm, email))[0]!.user.id;
    const user = async () => (await gh.store.findUserById(realm, id))!;
    return { b, email, username, id, user };
  }

  /** The `n`-th (1-based) mail whose subject matches, to `address`. */
  async function nthMail(address: string, subject: RegExp, n = 1): Promise<ReceivedMail> {
    const matching = () => smtp.to(address).filter((m) => subject.test(m.subject));
    await smtp.waitFor(address, () => matching().length >= n);
    return matching()[n - 1]!;
  }

  /** Asks for a change to `to` and returns the mail that carries its code and link. */
  async function requestChange(b: Browser, to: string): Promise<ReceivedMail> {
    const before = smtp.to(to).filter((m) => BIND.test(m.subject)).length;
    const res = await b.submit('/account/email', { email: to });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/account/email/verify');
    return nthMail(to, BIND, before + 1);
  }

  const typeCode = (b: Browser, code: string) => b.submit('/account/email/verify', { code });

  async function eventsOf(realm: string, userId: string, type: string) {
    return (await listEvents(gh.store, realm, userId, 100)).filter((e) => e.type === type);
  }

  describe('the page', () => {
    it('sends a visitor who is not signed in to the login page and back', async () => {
      const res = await browser(gh).get('/account/email');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount%2Femail');
    });

    it('shows the current address as not verified, a way to verify it, and the change form, never cached', async () => {
      const { b, email } = await signUp();
      const page = await b.get('/account/email');
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).toContain(email);
      expect(page.text).toContain('Not verified');
      expect(page.text).toContain('action="/account/email/verification/code"');
      expect(page.text).toContain('action="/account/email/verification"');
      expect(page.text).toMatch(/name="email" type="email" autocomplete="email"/);
      expect(page.text).toMatch(/name="code" type="text" autocomplete="one-time-code"/);
      expect(page.text).toContain('You will then sign in with the new address.');
      expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    });

    it('is in Chinese with ?lang=zh-CN', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/email?lang=zh-CN');
      expect(page.status).toBe(200);
      expect(page.text).toContain('邮箱地址');
      expect(page.text).toContain('更换邮箱');
      expect(page.text).toContain('未验证');
    });
  });

  describe('changing the address with the code', () => {
    it('mails a code and a link to the new address only, switches after the code, verified, and tells the old address (ASVS 7.5.1, 6.3.6)', async () => {
      const { b, email, id, user } = await signUp();
      const next = uniqueEmail('next');
      const mail = await requestChange(b, next);
      expect(mail.envelopeTo).toEqual([next]);
      expect(linkOf(mail).host).toBe('alpha.test');
      // Nothing changed yet, and the old address got no code.
      expect(await user()).toMatchObject({ email, username: email });
      expect(smtp.to(email).filter((m) => BIND.test(m.subject))).toHaveLength(0);
      const waiting = await b.get('/account/email/verify');
      expect(waiting.status).toBe(200);
      expect(waiting.text).toContain(next);

      const res = await typeCode(b, codeOf(mail));
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe('/account/email');
      const page = await b.get('/account/email');
      expect(page.text).toContain(`Your email address is now ${next}.`);
      expect(page.text).toContain('Verified');
      // Emails are usernames in realm alpha: the username follows, and signing in uses the new address.
      expect(await user()).toMatchObject({ email: next, username: next, emailVerification: 'verified' });
      expect((await browser(gh).submit('/login', { identifier: next, password: GOOD_PASSWORD })).status).toBe(303);
      expect((await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(401);

      const notice = await nthMail(email, CHANGED);
      expect(notice.text).toContain(`was changed to ${next}`);
      expect(notice.text).toContain(`You now sign in with ${next}`);
      expect(notice.links).toContain('http://alpha.test/login?next=%2Faccount%2Femail');
      expect(notice.links).toContain('http://alpha.test/forgot');
      expect(await eventsOf('alpha', id, 'user.email.update_requested')).toHaveLength(1);
      const [changed] = await eventsOf('alpha', id, 'user.email.updated');
      expect(changed?.data).toEqual({ from: email, to: next });
    });

    it('keeps a separate username in a realm with separate usernames', async () => {
      const { b, username, user } = await signUp('beta.test');
      const next = uniqueEmail('beta-next');
      const mail = await requestChange(b, next);
      expect(linkOf(mail).host).toBe('beta.test');
      expect((await typeCode(b, codeOf(mail))).status).toBe(303);
      expect(await user()).toMatchObject({ email: next, username, emailVerification: 'verified' });
      const page = await b.get('/account/email');
      expect(page.text).not.toContain('You will then sign in with the new address.');
    });

    it('refuses a wrong code and keeps the address; the right code still works (ASVS 6.6.3)', async () => {
      const { b, email, user } = await signUp();
      const next = uniqueEmail('wrong');
      const mail = await requestChange(b, next);
      const res = await typeCode(b, otherCode(codeOf(mail)));
      expect(res.status).toBe(400);
      expect(res.text).toContain('That code is not right.');
      expect(res.text).toContain(next);
      expect((await user()).email).toBe(email);
      expect((await typeCode(b, codeOf(mail))).status).toBe(303);
      expect((await user()).email).toBe(next);
    });

    it('records a wrong code as email.change_failed, and no change (ASVS 16.3.1)', async () => {
      const { b, id } = await signUp();
      const mail = await requestChange(b, uniqueEmail('failed'));
      expect((await typeCode(b, otherCode(codeOf(mail)))).status).toBe(400);
      expect(await eventsOf('alpha', id, 'user.email.update_failed')).toHaveLength(1);
      expect(await eventsOf('alpha', id, 'user.email.updated')).toHaveLength(0);
    });

    it(`ends a code after ${CODE_ATTEMPTS} wrong tries: then even the right one fails (ASVS 6.6.3)`, async () => {
      const { b, email, user } = await signUp();
      const mail = await requestChange(b, uniqueEmail('tries'));
      for (let i = 1; i < CODE_ATTEMPTS; i++) expect((await typeCode(b, otherCode(codeOf(mail)))).text).toContain('That code is not right.');
      expect((await typeCode(b, otherCode(codeOf(mail)))).text).toContain('This code has expired or was tried too many times.');
      const late = await typeCode(b, codeOf(mail));
      expect(late.status).toBe(400);
      expect(late.text).toContain('This code has expired or was tried too many times.');
      expect((await user()).email).toBe(email);
    });

    it('refuses an expired code (ASVS 6.5.5)', async () => {
      const { b, email, user } = await signUp();
      const mail = await requestChange(b, uniqueEmail('expired'));
      advance(gh.config.realms[0]!.emailVerification.codeTtlMinutes + 1);
      const res = await typeCode(b, codeOf(mail));
      expect(res.status).toBe(400);
      expect(res.text).toContain('This code has expired');
      expect((await user()).email).toBe(email);
    });

    it('accepts a code once: used again for a later change it is wrong (ASVS 6.5.1)', async () => {
      const { b, user } = await signUp();
      const first = uniqueEmail('first');
      const mail = await requestChange(b, first);
      expect((await typeCode(b, codeOf(mail))).status).toBe(303);
      // Nothing is waiting any more: the code page sends the user back.
      const page = await b.get('/account/email');
      const again = await b.post('/account/email/verify', { _csrf: csrfOf(page.text), code: codeOf(mail) });
      expect(again.status).toBe(303);
      expect(again.headers.location).toBe('/account/email');
      await requestChange(b, uniqueEmail('second'));
      const reused = await typeCode(b, codeOf(mail));
      expect(reused.status).toBe(400);
      expect((await user()).email).toBe(first);
    });

    it('ends the older code and link when a newer change is asked for (ASVS 6.6.2)', async () => {
      const { b, user } = await signUp();
      const older = await requestChange(b, uniqueEmail('older'));
      const newerAddress = uniqueEmail('newer');
      const newer = await requestChange(b, newerAddress);
      expect((await typeCode(b, codeOf(older))).status).toBe(400);
      const link = linkOf(older);
      expect((await browser(gh, link.host).get(link.url)).status).toBe(400);
      expect((await typeCode(b, codeOf(newer))).status).toBe(303);
      expect((await user()).email).toBe(newerAddress);
    });

    it('sends the code again to the same address from the code page; only the newest works', async () => {
      const { b, user } = await signUp();
      const next = uniqueEmail('again');
      const first = await requestChange(b, next);
      const page = await b.get('/account/email/verify');
      const resent = await b.post('/account/email/verify/resend', { _csrf: csrfOf(page.text) });
      expect(resent.status).toBe(303);
      expect(resent.headers.location).toBe('/account/email/verify');
      expect((await b.get('/account/email/verify')).text).toContain(`We sent a new code and link to ${next}.`);
      const second = await nthMail(next, BIND, 2);
      expect((await typeCode(b, codeOf(first))).status).toBe(400);
      expect((await typeCode(b, codeOf(second))).status).toBe(303);
      expect((await user()).email).toBe(next);
    });

    it('refuses its own address', async () => {
      const { b, email } = await signUp();
      const res = await b.submit('/account/email', { email: email.toUpperCase() });
      expect(res.status).toBe(400);
      expect(res.text).toContain('This is already your address. Verify it above instead.');
    });

    it(`limits the mails per user to ${MAILS_PER_USER}: then 429 with Retry-After (ASVS 6.3.1)`, async () => {
      const { b } = await signUp();
      for (let i = 0; i < MAILS_PER_USER; i++) expect((await b.submit('/account/email', { email: uniqueEmail('flood') })).status).toBe(303);
      const res = await b.submit('/account/email', { email: uniqueEmail('flood') });
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.text).toContain('Too many attempts.');
    });
  });

  describe('the link', () => {
    it('changes nothing when opened; one POST in any browser switches the address, once (ASVS 6.5.1)', async () => {
      const { b, email, user } = await signUp();
      const next = uniqueEmail('link');
      const mail = await requestChange(b, next);
      const link = linkOf(mail);

      // Another browser, nobody signed in: the token leaves the URL, the page asks.
      const other = browser(gh, link.host);
      const opened = await other.get(link.url);
      expect(opened.status).toBe(303);
      expect(opened.headers.location).toBe('/account/email/confirm');
      expect(opened.headers['referrer-policy']).toBe('no-referrer');
      const page = await other.get('/account/email/confirm');
      expect(page.status).toBe(200);
      expect(page.text).toContain(next);
      expect(page.text).not.toContain(email);
      expect((await user()).email).toBe(email);

      const done = await other.post('/account/email/confirm', { _csrf: csrfOf(page.text) });
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/account/email/confirmed');
      expect((await other.get('/account/email/confirmed')).text).toContain('Address changed');
      expect(await user()).toMatchObject({ email: next, emailVerification: 'verified' });
      await nthMail(email, CHANGED);

      // Once: the link again (anywhere), and the code of the same mail, are dead.
      expect((await browser(gh, link.host).get(link.url)).status).toBe(400);
      expect((await other.post('/account/email/confirm', { _csrf: csrfOf(page.text) })).status).toBe(400);
      expect((await typeCode(b, codeOf(mail))).status).toBe(400);
    });

    it('says "address changed" on a page of its own: a refresh there re-posts nothing and never says "invalid link"', async () => {
      const { b, user } = await signUp();
      const next = uniqueEmail('refresh');
      const link = linkOf(await requestChange(b, next));
      const other = browser(gh, link.host);
      expect((await other.get(link.url)).status).toBe(303);
      const done = await other.submit('/account/email/confirm', {});
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/account/email/confirmed');
      const shown = await other.get('/account/email/confirmed');
      expect(shown.status).toBe(200);
      expect(shown.text).toContain('Address changed');
      expect(shown.text).toContain(next);

      // The refresh: the page was shown once; what is left is the way to sign in, not an error.
      const refreshed = await other.get('/account/email/confirmed');
      expect(refreshed.status).toBe(303);
      expect(refreshed.headers.location).toBe('/login?next=%2Faccount%2Femail');
      const landed = await other.get(refreshed.headers.location!);
      expect(landed.status).toBe(200);
      expect(landed.text).not.toContain('This link no longer works');
      expect(await user()).toMatchObject({ email: next, emailVerification: 'verified' });

      // Signed in, the same address leads to the email page.
      const signedIn = await b.get('/account/email/confirmed');
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.location).toBe('/account/email');
    });

    it('in the browser that asked, confirms and goes back to the email page with a message', async () => {
      const { b, user } = await signUp();
      const next = uniqueEmail('same-browser');
      const link = linkOf(await requestChange(b, next));
      expect((await b.get(link.url)).status).toBe(303);
      const res = await b.submit('/account/email/confirm', {});
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account/email');
      expect((await b.get('/account/email')).text).toContain(`Your email address is now ${next}.`);
      expect((await user()).email).toBe(next);
    });

    it('dies with the login session that asked: after signing out there, the link works nowhere', async () => {
      const { b, email, user } = await signUp();
      const link = linkOf(await requestChange(b, uniqueEmail('signed-out')));
      const account = await b.get('/account/email');
      expect((await b.post('/logout', { _csrf: csrfOf(account.text) })).status).toBeLessThan(400);
      expect((await b.get('/account/email')).status).toBe(303);
      const res = await browser(gh, link.host).get(link.url);
      expect(res.status).toBe(400);
      expect(res.text).toContain('This link no longer works');
      expect((await user()).email).toBe(email);
    });

    it('refuses a forged or malformed token with a 400 page, never a 500', async () => {
      const b = browser(gh);
      for (const url of ['/account/email/confirm?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '/account/email/confirm?token=%0d%0a', '/account/email/confirm?token=a&token=b', '/account/email/confirm']) {
        const res = await b.get(url);
        expect(res.status, url).toBe(400);
        expect(res.text).toContain('This link no longer works');
      }
    });
  });

  describe('an address another account has', () => {
    it('is refused when the code comes back, with a clear 409, and nothing changes (ASVS 6.3.8)', async () => {
      const owner = await signUp();
      const { b, email, user } = await signUp();
      // Asking answers as for any address (no probing which ones have accounts); the code goes to that mailbox.
      const mail = await requestChange(b, owner.email.toUpperCase());
      const res = await typeCode(b, codeOf(mail));
      expect(res.status).toBe(409);
      expect(res.text).toContain('already belongs to another account');
      expect((await user()).email).toBe(email);
      expect((await owner.user()).email).toBe(owner.email);
      await settle();
      expect(smtp.to(email).filter((m) => CHANGED.test(m.subject))).toHaveLength(0);
    });

    it('is refused by the link with a 409 page, never a 500, when it was taken after the request', async () => {
      const { b, email, user } = await signUp();
      const wanted = uniqueEmail('race');
      const mail = await requestChange(b, wanted);
      // Someone signs up with it in the meantime: the database's unique index decides at the switch.
      expect((await browser(gh).submit('/signup', { email: wanted, password: GOOD_PASSWORD })).status).toBe(303);
      const link = linkOf(mail);
      const other = browser(gh, link.host);
      await other.get(link.url);
      const res = await other.submit('/account/email/confirm', {});
      expect(res.status).toBe(409);
      expect(res.text).toContain('already belongs to another account');
      expect((await user()).email).toBe(email);
    });
  });

  describe('bad input', () => {
    it('refuses CR/LF in the address with a 400 form error and sends nothing (ASVS 2.2.1)', async () => {
      const { b, email } = await signUp();
      for (const value of [`evil@example.com\r\nBcc: victim@example.com`, 'evil@example.com\nX: y', 'not-an-address', '']) {
        const res = await b.submit('/account/email', { email: value });
        expect(res.status, JSON.stringify(value)).toBe(400);
        expect(res.text).toContain('id="form-error"');
        expect(res.text).toMatch(/name="email"[^>]*aria-invalid="true"/);
      }
      await settle();
      expect(smtp.mails.filter((m) => m.envelopeTo.some((r) => r.includes('evil') || r.includes('victim')))).toHaveLength(0);
      expect((await b.get('/account/email')).text).toContain(email);
    });

    it('refuses arrays and over-long values with a 400 page (ASVS 2.2.1)', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/email');
      const csrf = csrfOf(page.text);
      for (const form of [{ email: [uniqueEmail(), uniqueEmail()] }, { email: `${'a'.repeat(300)}@example.com` }]) {
        const res = await b.post('/account/email', { _csrf: csrf, ...form });
        expect(res.status).toBe(400);
        expect(res.text).toContain('id="form-error"');
      }
      await b.submit('/account/email', { email: uniqueEmail('arr') });
      const verify = await b.get('/account/email/verify');
      const res = await b.post('/account/email/verify', { _csrf: csrfOf(verify.text), code: ['123456', '654321'] });
      expect(res.status).toBe(400);
      expect(res.text).toContain('id="form-error"');
    });

    it('refuses a POST without the CSRF token (ASVS 3.5.1)', async () => {
      const { b, email, user } = await signUp();
      expect((await b.get('/account/email')).status).toBe(200);
      const to = uniqueEmail('csrf');
      expect((await b.post('/account/email', { email: to })).status).toBe(403);
      await settle();
      expect(smtp.to(to)).toHaveLength(0);
      expect((await user()).email).toBe(email);
    });
  });

  describe('recent authentication', () => {
    it('asks for the password again after the window, then comes back and sends (ASVS 7.5.1)', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/email');
      advance(RECENT_AUTH_MINUTES + 1);
      // Looking is fine; changing is not.
      expect((await b.get('/account/email')).status).toBe(200);
      const to = uniqueEmail('late');
      const late = await b.post('/account/email', { _csrf: csrfOf(page.text), email: to });
      expect(late.status).toBe(303);
      expect(late.headers.location).toBe('/account/reauth?next=%2Faccount%2Femail');
      const code = await b.get('/account/email/verify');
      expect(code.headers.location).toBe('/account/reauth?next=%2Faccount%2Femail%2Fverify');
      await settle();
      expect(smtp.to(to)).toHaveLength(0);

      const confirmed = await b.submit(late.headers.location!, { password: GOOD_PASSWORD });
      expect(confirmed.status).toBe(303);
      expect(confirmed.headers.location).toBe('/account/email');
      await requestChange(b, to);
    });
  });

  describe('the current address', () => {
    it('is verified with the code of the verification mail, and "send a new one" mails a fresh one', async () => {
      const { b, email, user } = await signUp();
      const signupMail = await nthMail(email, VERIFY, 1);
      const page = await b.get('/account/email');
      const resent = await b.post('/account/email/verification', { _csrf: csrfOf(page.text) });
      expect(resent.status).toBe(303);
      expect((await b.get('/account/email')).text).toContain(`We sent a new verification email to ${email}.`);
      const fresh = await nthMail(email, VERIFY, 2);
      // The signup mail's code was replaced by the fresh one.
      const form = await b.get('/account/email');
      const old = await b.post('/account/email/verification/code', { _csrf: csrfOf(form.text), code: codeOf(signupMail) });
      expect(old.status).toBe(400);
      expect(old.text).toContain('id="form-error"');
      expect((await user()).emailVerification).toBe('requested');
      const ok = await b.post('/account/email/verification/code', { _csrf: csrfOf(form.text), code: codeOf(fresh) });
      expect(ok.status).toBe(303);
      expect((await b.get('/account/email')).text).toContain(`${email} is verified.`);
      expect((await user()).emailVerification).toBe('verified');
    });
  });

  describe('an account without an address', () => {
    it('shows the empty state and binds one; no notice goes anywhere', async () => {
      const username = `noemail${Math.random().toString(36).slice(2, 8)}`;
      const hash = await new PasswordHasher().hash(GOOD_PASSWORD);
      const created = await gh.store.createUser(
        { realmId: 'beta', userType: 'human', username, email: null, emailUnique: true, emailVerification: 'none', firstName: null, lastName: null, locale: 'en', passwordHash: hash },
        new Date(Date.now() + offset),
      );
      const b = browser(gh, 'beta.test');
      expect((await b.submit('/login', { identifier: username, password: GOOD_PASSWORD })).status).toBe(303);
      const page = await b.get('/account/email');
      expect(page.status).toBe(200);
      expect(page.text).toContain('No email address yet');
      expect(page.text).toContain('Add an email address');
      const next = uniqueEmail('bind');
      const mail = await requestChange(b, next);
      expect((await typeCode(b, codeOf(mail))).status).toBe(303);
      expect(await gh.store.findUserById('beta', created.id)).toMatchObject({ email: next, username, emailVerification: 'verified' });
      await settle();
      expect(smtp.mails.filter((m) => CHANGED.test(m.subject) && m.text.includes(next))).toHaveLength(0);
    });
  });
});

/**
 * Password recovery (issue 3): /forgot → mail (real SMTP server) → link or
 * 6-digit code → /reset-password. Everything real: store, mail worker, SMTP.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.ts';
import { listEvents } from '../helpers/events.ts';

type Browser = ReturnType<typeof browser>;

const APP = 'https://app.example.com/cb';
const RESET = /^Reset your/;
const CHANGED = /password was changed/;
const CODE_ATTEMPTS = 3;
const NEW_PASSWORD = 'amber-quarry-whistle-77';

/** TEST_CONFIG with room for the many /forgot requests this file makes from 127.0.0.1, and fewer code tries. */
function recoveryConfig(rateLimits: Record<string, unknown> = { recoveryPerIp: { points: 10_000, durationSeconds: 3600 } }) {
  const config = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  for (const realm of config.realms) {
    realm.rateLimits = { ...(realm.rateLimits as object), ...rateLimits };
    realm.recovery = { codeAttempts: CODE_ATTEMPTS };
  }
  return config;
}

/** The page without its CSRF tokens (they differ per browser by design). */
const stripCsrf = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');

/** The path and query of a mailed link, and the host it was built for. */
function linkOf(mail: ReceivedMail, path = '/reset-password'): { host: string; url: string } {
  const link = mail.links.find((l) => new URL(l).pathname === path);
  if (!link) throw new Error(`no ${path} link in "${mail.subject}": ${mail.text}`);
  const url = new URL(link);
  return { host: url.host, url: `${url.pathname}${url.search}` };
}

/** The code stands alone on its line; a 6-digit run inside the link's token does not count. */
function codeOf(mail: ReceivedMail): string {
  const code = /(?<=\s)(\d{6})(?=\s|$)/m.exec(mail.text)?.[1];
  if (!code) throw new Error(`no code in "${mail.subject}": ${mail.text}`);
  return code;
}

/** Waits until `address` has received `count` mails whose subject matches, and returns them all. */
async function mailsTo(smtp: TestSmtp, address: string, subject: RegExp, count = 1): Promise<ReceivedMail[]> {
  const matching = () => smtp.to(address).filter((m) => subject.test(m.subject));
  await smtp.waitFor(address, () => matching().length >= count);
  return matching();
}

/** Gives the mail worker time to send anything it was going to send. */
const settle = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

describe('password recovery', () => {
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  /** The injected clock runs `offset` ahead of real time; it only ever moves forward. */
  let offset = 0;
  const advance = (minutes: number) => {
    offset += minutes * 60_000;
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({
      smtpUrl: smtp.url,
      file: recoveryConfig(),
      env: { TRUST_PROXY: 'true' },
      clock: () => new Date(Date.now() + offset),
      tuning: { outbox: { pollMs: 100 } },
    });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  /** A new user in `host`'s realm; the returned browser is logged in. */
  async function signUp(host = 'alpha.test', extra: Record<string, string> = {}) {
    const email = uniqueEmail('rec');
    const b = browser(gh, host);
    const res = await b.submit('/signup', { email, password: GOOD_PASSWORD, ...extra });
    expect(res.status, res.text).toBe(303);
    return { b, email };
  }

  /** POST /forgot from a fresh browser (or `b`). */
  async function forgot(identifier: string, opts: { host?: string; url?: string; b?: Browser } = {}) {
    const b = opts.b ?? browser(gh, opts.host ?? 'alpha.test');
    const res = await b.submit(opts.url ?? '/forgot', { identifier });
    return { b, res };
  }

  /** Asks for a reset and returns the newest reset mail of `email`. */
  async function resetMail(email: string, identifier = email, host = 'alpha.test'): Promise<{ mail: ReceivedMail; b: Browser; res: request.Response }> {
    const before = smtp.to(email).filter((m) => RESET.test(m.subject)).length;
    const { b, res } = await forgot(identifier, { host });
    expect(res.status).toBe(200);
    const mails = await mailsTo(smtp, email, RESET, before + 1);
    return { mail: mails[before]!, b, res };
  }

  /** Opens a mailed reset link in `b` (a fresh browser by default) and returns the form page. */
  async function openLink(mail: ReceivedMail, b: Browser = browser(gh, linkOf(mail).host)) {
    const opened = await b.get(linkOf(mail).url);
    expect(opened.status, opened.text).toBe(303);
    const form = await b.get('/reset-password');
    expect(form.status, form.text).toBe(200);
    return { b, form };
  }

  async function canLogIn(identifier: string, password: string, host = 'alpha.test'): Promise<boolean> {
    const res = await browser(gh, host).submit('/login', { identifier, password });
    if (res.status === 303) return true;
    expect(res.status).toBe(401);
    return false;
  }

  describe('asking for a reset', () => {
    it('answers an existing and an unknown account identically and mails only the existing one (ASVS 6.3.8)', async () => {
      const { email } = await signUp();
      const unknown = uniqueEmail('nobody');
      const forUnknown = await forgot(unknown);
      const forKnown = await forgot(email);
      expect(forKnown.res.status).toBe(200);
      expect(forUnknown.res.status).toBe(forKnown.res.status);
      expect(forKnown.res.headers['content-type']).toBe(forUnknown.res.headers['content-type']);
      expect(forKnown.res.headers['cache-control']).toBe(forUnknown.res.headers['cache-control']);
      expect(stripCsrf(forKnown.res.text)).toBe(stripCsrf(forUnknown.res.text));
      expect(forKnown.res.text).toContain('If an account matches');
      expect(forKnown.res.text).not.toContain(email);

      const [mail] = await mailsTo(smtp, email, RESET);
      expect(mail!.envelopeTo).toEqual([email]);
      expect(mail!.subject).toBe('Reset your Alpha password');
      expect(linkOf(mail!).host).toBe('alpha.test');
      await settle();
      expect(smtp.to(unknown)).toHaveLength(0);
    });

    it('finds the account by email whatever the case typed', async () => {
      const { email } = await signUp();
      const { mail } = await resetMail(email, email.toUpperCase());
      expect(mail.envelopeTo).toEqual([email]);
    });

    it('finds the account by username in a realm with separate usernames', async () => {
      const username = `rec_${Math.random().toString(36).slice(2, 8)}`;
      const { email } = await signUp('beta.test', { username });
      const { mail } = await resetMail(email, username, 'beta.test');
      expect(mail.subject).toBe('Reset your Beta password');
      expect(mail.text).toContain(username);
      const link = linkOf(mail);
      expect(link.host).toBe('beta.test');
      const { b } = await openLink(mail);
      const done = await b.submit('/reset-password', { password: NEW_PASSWORD });
      expect(done.status).toBe(200);
      expect(await canLogIn(username, NEW_PASSWORD, 'beta.test')).toBe(true);
    });

    it('refuses an empty identifier with the form kept', async () => {
      const { res } = await forgot('   ');
      expect(res.status).toBe(400);
      expect(res.text).toContain('Fill in this field');
      expect(res.text).toContain('name="identifier"');
    });
  });

  describe('the reset link', () => {
    it('moves the token off the URL with no referrer, and sets a new password once (ASVS 6.4.3, 3.4.5)', async () => {
      const { email } = await signUp();
      const { mail } = await resetMail(email);
      expect(linkOf(mail).url).toMatch(/^\/reset-password\?token=[\w-]{43}$/);
      const b = browser(gh);
      const opened = await b.get(linkOf(mail).url);
      expect(opened.status).toBe(303);
      expect(opened.headers.location).toBe('/reset-password');
      expect(opened.headers['referrer-policy']).toBe('no-referrer');

      const form = await b.get('/reset-password');
      expect(form.status).toBe(200);
      expect(form.headers['referrer-policy']).toBe('no-referrer');
      expect(form.text).toContain('name="password"');
      expect(form.text).not.toContain(linkOf(mail).url.split('=')[1]);

      const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(done.status).toBe(200);
      expect(done.headers['referrer-policy']).toBe('no-referrer');
      expect(done.text).toContain('Your password is changed');

      // Spent: the same link, in this browser or another one, and the same form again.
      const again = await browser(gh).get(linkOf(mail).url);
      expect(again.status).toBe(400);
      expect(again.text).toContain('This reset link has expired or has already been used');
      const resubmit = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: 'another-fine-password-9' });
      expect(resubmit.status).toBe(400);
      expect(await canLogIn(email, NEW_PASSWORD)).toBe(true);
      expect(await canLogIn(email, 'another-fine-password-9')).toBe(false);
    });

    it('marks the address verified once a password is reset through the mail, and not before', async () => {
      const { email } = await signUp();
      const userOf = async () => (await gh.store.findUserByLogin('alpha', email))!.user;
      expect((await userOf()).emailVerification).not.toBe('verified');
      const { mail } = await resetMail(email);
      const { b, form } = await openLink(mail);
      // Anyone may ask for a reset: only a reset done through the mailed link proves the mailbox.
      expect((await userOf()).emailVerification).not.toBe('verified');
      const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(done.status).toBe(200);
      expect((await userOf()).emailVerification).toBe('verified');
    });

    it('works for the configured hour and not after it (injected clock)', async () => {
      const { email } = await signUp();
      const { mail } = await resetMail(email);
      advance(59);
      const { b, form } = await openLink(mail);
      advance(2);
      const late = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(late.status).toBe(400);
      expect(late.text).toContain('This reset link has expired');
      const reopened = await browser(gh).get(linkOf(mail).url);
      expect(reopened.status).toBe(400);
      expect(reopened.text).toContain('This reset link has expired');
      expect(await canLogIn(email, GOOD_PASSWORD)).toBe(true);
    });

    it('is invalidated by a newer request', async () => {
      const { email } = await signUp();
      const { mail: first } = await resetMail(email);
      const { b: stale } = await openLink(first);
      const { mail: second } = await resetMail(email);
      expect(linkOf(second).url).not.toBe(linkOf(first).url);
      expect(codeOf(second)).toMatch(/^\d{6}$/);

      expect((await browser(gh).get(linkOf(first).url)).status).toBe(400);
      // A browser that had already opened the older link cannot use it either.
      const form = await stale.get('/reset-password');
      expect(form.status).toBe(400);
      expect(form.text).toContain('This reset link has expired');
      const { b } = await openLink(second);
      expect((await b.submit('/reset-password', { password: NEW_PASSWORD })).status).toBe(200);
    });

    it('is invalidated by a password change (here: the code from the same mail)', async () => {
      const { email } = await signUp();
      const { mail, b: asker, res } = await resetMail(email);
      const { b: linkBrowser, form } = await openLink(mail);

      const accepted = await asker.post('/forgot/code', { _csrf: csrfOf(res.text), code: codeOf(mail) });
      expect(accepted.status).toBe(303);
      expect((await asker.submit('/reset-password', { password: NEW_PASSWORD })).status).toBe(200);

      const viaLink = await linkBrowser.post('/reset-password', { _csrf: csrfOf(form.text), password: 'a-different-password-8' });
      expect(viaLink.status).toBe(400);
      expect(viaLink.text).toContain('This reset link has expired or has already been used');
      expect((await browser(gh).get(linkOf(mail).url)).status).toBe(400);
      expect(await canLogIn(email, NEW_PASSWORD)).toBe(true);
    });

    it('answers a malformed, unknown or repeated token with a 400 page, never a 500', async () => {
      const valid = `/reset-password?token=${'A'.repeat(43)}`;
      for (const url of [
        '/reset-password?token=',
        '/reset-password?token=short',
        `/reset-password?token=${'x'.repeat(43)}%00`,
        `/reset-password?token=${'%3Cscript%3E'.repeat(5)}`,
        valid,
        `${valid}&token=${'B'.repeat(43)}`,
        `/reset-password?token[a]=${'A'.repeat(43)}`,
        '/reset-password',
      ]) {
        const res = await browser(gh).get(url);
        expect(res.status, url).toBe(400);
        expect(res.text, url).toContain('This reset link has expired or has already been used');
      }
      // A POST without any link or code behind it.
      const b = browser(gh);
      const page = await b.get('/forgot');
      const res = await b.post('/reset-password', { _csrf: csrfOf(page.text), password: NEW_PASSWORD });
      expect(res.status).toBe(400);
    });

    it('lets exactly one of 20 parallel submissions of one link through (ASVS 6.5.1)', async () => {
      const { email } = await signUp();
      const { mail } = await resetMail(email);
      const browsers = await Promise.all(Array.from({ length: 20 }, async () => openLink(mail)));
      const results = await Promise.all(
        browsers.map(({ b, form }, i) => b.post('/reset-password', { _csrf: csrfOf(form.text), password: `${NEW_PASSWORD}-${i}` })),
      );
      const winners = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status === 400)).toHaveLength(19);

      const user = (await gh.store.findUserByLogin('alpha', email))!.user;
      const resets = (await listEvents(gh.store, 'alpha', user.id, 100)).filter((e) => e.type === 'user.password.updated');
      expect(resets).toHaveLength(1);
      expect(await canLogIn(email, `${NEW_PASSWORD}-${winners[0]}`)).toBe(true);
      expect(await canLogIn(email, `${NEW_PASSWORD}-${(winners[0]! + 1) % 20}`)).toBe(false);
      await mailsTo(smtp, email, CHANGED);
      await settle();
      expect(smtp.to(email).filter((m) => CHANGED.test(m.subject))).toHaveLength(1);
    });
  });

  describe('the 6-digit code', () => {
    it('leads from /forgot to a new password in the browser that asked, keeping redirect_uri and state', async () => {
      const { email } = await signUp();
      const b = browser(gh);
      const url = `/forgot?${new URLSearchParams({ redirect_uri: APP, state: 'code-st' })}`;
      const { mail, res } = await (async () => {
        const r = await forgot(email, { b, url });
        const [m] = await mailsTo(smtp, email, RESET);
        return { mail: m!, res: r.res };
      })();
      const accepted = await b.post('/forgot/code', { _csrf: csrfOf(res.text), code: codeOf(mail) });
      expect(accepted.status).toBe(303);
      expect(accepted.headers.location).toBe('/reset-password');
      const form = await b.get('/reset-password');
      expect(form.status).toBe(200);
      const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(done.status).toBe(200);
      const loginHref = /href="(\/login\?[^"]+)"/.exec(done.text)![1]!.replace(/&amp;/g, '&');
      const params = new URL(loginHref, 'http://alpha.test').searchParams;
      expect(params.get('redirect_uri')).toBe(APP);
      expect(params.get('state')).toBe('code-st');
      expect(await canLogIn(email, NEW_PASSWORD)).toBe(true);
    });

    it(`counts wrong codes and ends the code after ${CODE_ATTEMPTS} (ASVS 6.3.1)`, async () => {
      const { email } = await signUp();
      const { mail, b, res } = await resetMail(email);
      const right = codeOf(mail);
      const wrong = (n: number) => String((Number(right) + n) % 1_000_000).padStart(6, '0');
      const csrf = csrfOf(res.text);
      for (let i = 1; i < CODE_ATTEMPTS; i++) {
        const attempt = await b.post('/forgot/code', { _csrf: csrf, code: wrong(i) });
        expect(attempt.status).toBe(400);
        expect(attempt.text).toContain('That code is not right');
      }
      const last = await b.post('/forgot/code', { _csrf: csrf, code: wrong(CODE_ATTEMPTS) });
      expect(last.status).toBe(400);
      const afterwards = await b.post('/forgot/code', { _csrf: csrf, code: right });
      expect(afterwards.status).toBe(400);
      expect(afterwards.text).toContain('This code has expired or was tried too often');
      expect((await b.get('/reset-password')).status).toBe(400);
      expect(await canLogIn(email, GOOD_PASSWORD)).toBe(true);
    });

    it('ends an accepted code when the password changes another way before it is used', async () => {
      const { email } = await signUp();
      const { mail, b: asker, res } = await resetMail(email);
      expect((await asker.post('/forgot/code', { _csrf: csrfOf(res.text), code: codeOf(mail) })).status).toBe(303);
      const form = await asker.get('/reset-password');
      expect(form.status).toBe(200);

      // Meanwhile a newer request is made and its link sets the password.
      const { mail: newer } = await resetMail(email);
      const { b } = await openLink(newer);
      expect((await b.submit('/reset-password', { password: NEW_PASSWORD })).status).toBe(200);

      const stale = await asker.post('/reset-password', { _csrf: csrfOf(form.text), password: 'a-different-password-8' });
      expect(stale.status).toBe(400);
      expect(await canLogIn(email, NEW_PASSWORD)).toBe(true);
    });

    it('gives an accepted code 10 minutes to choose the password (injected clock)', async () => {
      const { email } = await signUp();
      const { mail, b, res } = await resetMail(email);
      expect((await b.post('/forgot/code', { _csrf: csrfOf(res.text), code: codeOf(mail) })).status).toBe(303);
      const form = await b.get('/reset-password');
      expect(form.status).toBe(200);
      advance(11);
      const late = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(late.status).toBe(400);
      expect(late.text).toContain('This reset link has expired');
      expect(await canLogIn(email, GOOD_PASSWORD)).toBe(true);
    });

    it('ends an accepted code when a newer reset is requested', async () => {
      const { email } = await signUp();
      const { mail, b: asker, res } = await resetMail(email);
      expect((await asker.post('/forgot/code', { _csrf: csrfOf(res.text), code: codeOf(mail) })).status).toBe(303);
      const form = await asker.get('/reset-password');
      expect(form.status).toBe(200);
      await resetMail(email);
      const stale = await asker.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(stale.status).toBe(400);
      expect(await canLogIn(email, GOOD_PASSWORD)).toBe(true);
    });

    it('refuses a code that is not 6 digits with the form kept', async () => {
      const { b, res } = await forgot(uniqueEmail('nobody'));
      const bad = await b.post('/forgot/code', { _csrf: csrfOf(res.text), code: '12ab' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('Enter the 6 digits from the email');
      expect(bad.text).toContain('name="code"');
    });

    it("answers an unknown account's code page exactly like a wrong code", async () => {
      const { email } = await signUp();
      const known = await resetMail(email);
      const wrongCode = String((Number(codeOf(known.mail)) + 1) % 1_000_000).padStart(6, '0');
      const unknown = await forgot(uniqueEmail('nobody'));
      const forKnown = await known.b.post('/forgot/code', { _csrf: csrfOf(known.res.text), code: wrongCode });
      const forUnknown = await unknown.b.post('/forgot/code', { _csrf: csrfOf(unknown.res.text), code: wrongCode });
      expect(forKnown.status).toBe(400);
      expect(forUnknown.status).toBe(400);
      expect(stripCsrf(forUnknown.text)).toBe(stripCsrf(forKnown.text));
      expect(forUnknown.text).toContain('That code is not right');
    });

    it('answers a code posted without a request in this browser with a clear page', async () => {
      const b = browser(gh);
      const page = await b.get('/forgot');
      const res = await b.post('/forgot/code', { _csrf: csrfOf(page.text), code: '123456' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('This page has expired');
    });
  });

  describe('after the reset', () => {
    it('applies the password policy, ends every session, records an event, sends a notice and logs nobody in (ASVS 6.2.4, 7.4.3)', async () => {
      const { b: signedUp, email } = await signUp();
      const other = browser(gh);
      expect((await other.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
      expect((await signedUp.get('/account')).status).toBe(200);
      expect((await other.get('/account')).status).toBe(200);

      const { mail } = await resetMail(email);
      const { b, form } = await openLink(mail);
      const common = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: 'password123' });
      expect(common.status).toBe(400);
      expect(common.text).toContain('too common');
      expect(common.text).toContain('name="password"');
      expect(common.headers['referrer-policy']).toBe('no-referrer');
      const short = await b.post('/reset-password', { _csrf: csrfOf(common.text), password: 'abc1' });
      expect(short.status).toBe(400);
      expect(short.text).toContain('at least 8 characters');
      // Refusals do not spend the link.
      const done = await b.post('/reset-password', { _csrf: csrfOf(short.text), password: NEW_PASSWORD });
      expect(done.status).toBe(200);

      expect(await canLogIn(email, GOOD_PASSWORD)).toBe(false);
      expect(await canLogIn(email, NEW_PASSWORD)).toBe(true);
      for (const before of [signedUp, other]) {
        const account = await before.get('/account');
        expect(account.status).toBe(303);
        expect(account.headers.location).toBe('/login');
      }
      // Not logged in by the reset itself.
      const mine = await b.get('/account');
      expect(mine.status).toBe(303);
      expect(mine.headers.location).toBe('/login');

      const user = (await gh.store.findUserByLogin('alpha', email))!.user;
      const events = await listEvents(gh.store, 'alpha', user.id, 100);
      const reset = events.find((e) => e.type === 'user.password.updated');
      expect(reset).toBeDefined();
      expect(reset!.data).toMatchObject({ reason: 'password_reset', endedSessions: 2 });
      expect(events.some((e) => e.type === 'user.password_token.created')).toBe(true);
      expect(events.some((e) => e.type === 'user.password_token.consumed')).toBe(true);

      const [notice] = await mailsTo(smtp, email, CHANGED);
      expect(notice!.subject).toBe('Your Alpha password was changed');
      expect(notice!.envelopeTo).toEqual([email]);
      expect(notice!.links.some((l) => l.startsWith('http://alpha.test/forgot'))).toBe(true);
    });

    it('keeps redirect_uri and state through the mail, also in another browser, and hands the JWT over at login', async () => {
      const { email } = await signUp();
      const asked = await forgot(email, { url: `/forgot?redirect_uri=${encodeURIComponent(APP)}&state=xyz` });
      expect(asked.res.status).toBe(200);
      const [mail] = await mailsTo(smtp, email, RESET);
      const { b, form } = await openLink(mail!);
      const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: NEW_PASSWORD });
      expect(done.status).toBe(200);
      const loginHref = /href="(\/login\?[^"]+)"/.exec(done.text)?.[1]?.replace(/&amp;/g, '&');
      expect(loginHref).toBeDefined();
      const params = new URL(loginHref!, 'http://alpha.test').searchParams;
      expect(params.get('redirect_uri')).toBe(APP);
      expect(params.get('state')).toBe('xyz');

      const login = await b.submit(loginHref!, { identifier: email, password: NEW_PASSWORD });
      expect(login.status).toBe(200);
      const handoff = formPostOf(login.text);
      expect(handoff.action).toBe(APP);
      expect(handoff.state).toBe('xyz');
      const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test').expect(200)).body as JSONWebKeySet;
      const { payload } = await jwtVerify(handoff.token, createLocalJWKSet(jwks), { issuer: 'http://alpha.test', audience: 'app1' });
      expect(payload.email).toBe(email);
    });
  });
});

describe('password recovery rate limits', () => {
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({
      smtpUrl: smtp.url,
      file: recoveryConfig({ recoveryPerIdentifier: { points: 2, durationSeconds: 3600 }, recoveryPerIp: { points: 4, durationSeconds: 600 } }),
      env: { TRUST_PROXY: 'true' },
    });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  async function ask(identifier: string, ip: string, lang = '') {
    const b = browser(gh);
    const url = lang ? `/forgot?lang=${lang}` : '/forgot';
    const page = await b.get(url);
    return b.post(url, { _csrf: csrfOf(page.text), identifier }).set('X-Forwarded-For', ip);
  }

  it('limits requests per identifier whoever asks, with Retry-After and a translated page (ASVS 6.3.1)', async () => {
    const email = uniqueEmail('limited');
    const b = browser(gh);
    expect((await b.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    expect((await ask(email, '10.1.0.1')).status).toBe(200);
    expect((await ask(email.toUpperCase(), '10.1.0.2')).status).toBe(200);

    const limited = await ask(email, '10.1.0.3');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3500);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
    expect(limited.text).toContain('Too many attempts. Try again in 60 minute(s).');
    expect(limited.text).toContain(`value="${email}"`);
    const zh = await ask(email, '10.1.0.4', 'zh-CN');
    expect(zh.status).toBe(429);
    expect(zh.text).toContain('尝试次数过多');

    await mailsTo(smtp, email, RESET, 2);
    await settle();
    expect(smtp.to(email).filter((m) => RESET.test(m.subject))).toHaveLength(2);
  });

  it('limits an unknown identifier the same way (no enumeration through the limit)', async () => {
    const unknown = uniqueEmail('nobody');
    expect((await ask(unknown, '10.2.0.1')).status).toBe(200);
    expect((await ask(unknown, '10.2.0.2')).status).toBe(200);
    const limited = await ask(unknown, '10.2.0.3');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('limits requests per IP across identifiers, without blocking other IPs', async () => {
    for (let i = 0; i < 4; i++) expect((await ask(uniqueEmail('ip'), '10.3.0.1')).status).toBe(200);
    const limited = await ask(uniqueEmail('ip'), '10.3.0.1');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect((await ask(uniqueEmail('ip'), '10.3.0.2')).status).toBe(200);
  });
});

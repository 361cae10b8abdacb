/**
 * Email verification with real mail delivery: a real SMTP server in the test
 * (smtp-server, mails parsed by mailparser), the real store, the real outbox
 * worker. Mails are read from the SMTP server, never from Gatehouse.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.ts';

const APP = 'https://app.example.com/cb';
const ALPHA = TEST_CONFIG.realms[0]!;
const signupUrl = (params: Record<string, string> = { redirect_uri: APP, state: 'st-1' }) => `/signup?${new URLSearchParams(params)}`;
const loginUrl = (params: Record<string, string> = { redirect_uri: APP, state: 'st-1' }) => `/login?${new URLSearchParams(params)}`;

/** TEST_CONFIG's realm alpha alone, with other email verification settings and limits. */
function alphaWith(overrides: { emailVerification?: Record<string, unknown>; rateLimits?: Record<string, unknown> }) {
  return {
    defaultRealm: 'alpha',
    realms: [{ ...ALPHA, emailVerification: overrides.emailVerification, rateLimits: { ...ALPHA.rateLimits, ...overrides.rateLimits } }],
  };
}

async function claimsOf(gh: TestGatehouse, token: string) {
  const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test').expect(200)).body as JSONWebKeySet;
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'http://alpha.test', audience: 'app1' });
  return payload;
}

/** A token in a mailed link, as the query parameter the link carries. */
const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
/** The path and query of a mailed link, to open it against the test app. */
const pathOf = (link: string) => {
  const u = new URL(link);
  return `${u.pathname}${u.search}`;
};
/** The verification link of a mail (the first link of its text part). */
function verifyLinkOf(mail: ReceivedMail): string {
  const link = mail.links.find((l) => l.includes('/verify-email?token='));
  if (!link) throw new Error(`no verification link in: ${mail.text}`);
  return link;
}
/** A 6-digit code that is not `code`. */
const otherCode = (code: string, step = 1) => String((Number(code) + step) % 1_000_000).padStart(6, '0');
/** The href of the page's "Sign in" button, unescaped. */
function loginHrefOf(html: string): string {
  const href = /<a class="button[^"]*" href="(\/login[^"]*)"/.exec(html)?.[1];
  if (!href) throw new Error('no login link on the page');
  return href.replace(/&amp;/g, '&');
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function userByEmail(gh: TestGatehouse, email: string) {
  const users = await gh.store.findUsersByEmail('alpha', email);
  return users[0]?.user ?? null;
}

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

describe('email verification, policy optional (the default)', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await testGatehouse({ smtpUrl: smtp.url, env: { TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await gh.close();
  });

  it('hands a JWT with email_verified false at signup and mails a link and a code in an HTML and a text part', async () => {
    const email = uniqueEmail('opt');
    const b = browser(gh);
    const res = await b.submit(signupUrl(), { email, password: GOOD_PASSWORD, firstName: 'Ada', lastName: 'Lovelace' });
    expect(res.status).toBe(200);
    const claims = await claimsOf(gh, formPostOf(res.text).token);
    expect(claims).toMatchObject({ email, email_verified: false });
    expect((await userByEmail(gh, email))?.emailVerification).toBe('requested');

    const mail = await smtp.waitFor(email);
    expect(mail.subject).toContain('Alpha');
    expect(mail.to).toContain('Ada Lovelace');
    const link = verifyLinkOf(mail);
    expect(link).toMatch(/^http:\/\/alpha\.test\/verify-email\?token=[\w-]{40,}$/);
    expect(mail.code).toMatch(/^\d{6}$/);
    // Both parts carry the realm, the link and the code.
    expect(mail.text).toContain('Alpha');
    expect(mail.text).toContain(mail.code!);
    expect(mail.html).toContain('Alpha');
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.html).toContain(mail.code!);
    expect(mail.parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
  });

  it('continues a logged-in browser to the app with email_verified true when it opens the link', async () => {
    const email = uniqueEmail('opt');
    const b = browser(gh);
    await b.submit(signupUrl({ redirect_uri: APP, state: 'keep me' }), { email, password: GOOD_PASSWORD });
    const mail = await smtp.waitFor(email);

    const res = await b.get(pathOf(verifyLinkOf(mail)));
    expect(res.status).toBe(200);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const handoff = formPostOf(res.text);
    expect(handoff.action).toBe(APP);
    expect(handoff.state).toBe('keep me');
    expect(await claimsOf(gh, handoff.token)).toMatchObject({ email, email_verified: true });
    expect((await userByEmail(gh, email))?.emailVerification).toBe('verified');
  });

  it('accepts a verification link once only: a second use gets a 400 page with a clear message (ASVS 6.5.1)', async () => {
    const email = uniqueEmail('once');
    const b = browser(gh);
    await b.submit(signupUrl(), { email, password: GOOD_PASSWORD });
    const link = pathOf(verifyLinkOf(await smtp.waitFor(email)));
    expect((await b.get(link)).status).toBe(200);

    for (const again of [b, browser(gh)]) {
      const res = await again.get(link);
      expect(res.status).toBe(400);
      expect(res.text).toContain('This verification link has expired or has already been used.');
      expect(res.text).not.toContain('name="token"');
    }
  });

  it('refuses a forged or malformed verification token with a 400 page, never a 500 (ASVS 2.2.1)', async () => {
    for (const token of ['A'.repeat(43), 'short', '<script>', '']) {
      const res = await browser(gh).get(`/verify-email?token=${encodeURIComponent(token)}`);
      expect(res.status, token).toBe(400);
      expect(res.text).toContain('This verification link has expired or has already been used.');
    }
    const array = await browser(gh).get('/verify-email?token=a&token=b');
    expect(array.status).toBe(400);
  });

  it('mails the address as it was typed: the envelope recipient equals the stored address', async () => {
    const email = `Mixed.Case-${Math.random().toString(36).slice(2, 8)}@Example.COM`;
    const res = await browser(gh).submit(signupUrl(), { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    const stored = await userByEmail(gh, email.toLowerCase());
    expect(stored?.email).toBe(email);
    const mail = await smtp.waitFor(email);
    expect(mail.envelopeTo).toHaveLength(1);
    // The local part is case-sensitive (RFC 5321) and goes out as typed; nodemailer folds
    // the (case-insensitive) domain to lower case, as it punycodes it.
    const [local, domain] = mail.envelopeTo[0]!.split('@');
    expect(local).toBe(email.split('@')[0]);
    expect(domain).toBe(email.split('@')[1]!.toLowerCase());
  });

  it('mails a user who signs up in Chinese in Chinese', async () => {
    const email = uniqueEmail('zh');
    const res = await browser(gh).submit(signupUrl({ redirect_uri: APP, lang: 'zh-CN' }), { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe('验证你在 Alpha 的邮箱');
    expect(mail.text).toContain('请确认此邮箱属于你');
    expect(mail.html).toContain('验证邮箱');
    expect(mail.html).toContain('lang="zh-CN"');
    expect(verifyLinkOf(mail)).toMatch(/^http:\/\/alpha\.test\/verify-email\?token=/);
  });

  describe('Host-header poisoning (ASVS 4.1.3)', () => {
    // Unknown hosts go to the default realm (alpha); its publicUrl must build the link, whatever the request says.
    const poisoned: Array<[string, string, Record<string, string>]> = [
      ['Host', 'evil.example', {}],
      ['X-Forwarded-Host', 'alpha.test', { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' }],
      ['Forwarded', 'alpha.test', { Forwarded: 'for=203.0.113.9;host=evil.example;proto=https' }],
    ];
    it.each(poisoned)('builds the link from the realm publicUrl despite a poisoned %s header', async (_name, host, headers) => {
      const email = uniqueEmail('poison');
      const agent = request.agent(gh.app);
      const page = await agent.get('/signup').set('Host', host).set(headers);
      expect(page.status).toBe(200);
      const res = await agent.post('/signup').set('Host', host).set(headers).type('form').send({ _csrf: csrfOf(page.text), email, password: GOOD_PASSWORD });
      expect(res.status).toBe(303);
      const mail = await smtp.waitFor(email);
      expect(mail.links.length).toBeGreaterThan(0);
      for (const l of mail.links) expect(new URL(l).origin).toBe('http://alpha.test');
      expect(mail.text).not.toContain('evil.example');
      expect(mail.html).not.toContain('evil.example');
    });
  });

  describe('mail header injection (ASVS 1.3.11, 2.2.1)', () => {
    const injected: Array<[string, (email: string) => Record<string, string>, (email: string) => string]> = [
      ['the email', (email) => ({ email: `${email}\r\nBcc: victim@evil.example` }), (email) => email],
      ['the email (LF only)', (email) => ({ email: `${email}\nBcc: victim@evil.example` }), (email) => email],
      ['firstName', (email) => ({ email, firstName: 'Ada\r\nBcc: victim@evil.example' }), (email) => email],
      ['lastName', (email) => ({ email, lastName: 'Lovelace\r\nSubject: you won' }), (email) => email],
    ];
    it.each(injected)('refuses CRLF in %s at signup with a 400 page: no user, no mail', async (_name, form, address) => {
      const email = uniqueEmail('crlf');
      const res = await browser(gh).submit(signupUrl(), { password: GOOD_PASSWORD, ...form(email) });
      expect(res.status).toBe(400);
      expect(res.text).toContain('aria-invalid="true"');
      expect(res.text).not.toContain('name="token"');
      expect(await userByEmail(gh, address(email))).toBeNull();
      const queued = await gh.store.listMail(1000);
      expect(queued.filter((m) => m.to.address.toLowerCase() === address(email).toLowerCase())).toEqual([]);
      await sleep(200);
      expect(smtp.to(address(email))).toEqual([]);
      expect(smtp.to('victim@evil.example')).toEqual([]);
    });

    it('never lets a display name add a recipient: a name with an address in angle brackets is left out of the mail, never a 500', async () => {
      const email = uniqueEmail('angle');
      const res = await browser(gh).submit(signupUrl(), { email, password: GOOD_PASSWORD, firstName: 'Eve <victim@evil.example>', lastName: 'x' });
      expect(res.status).toBe(200);
      expect(formPostOf(res.text).action).toBe(APP);
      const mail = await smtp.waitFor(email);
      expect(mail.envelopeTo).toEqual([email]);
      expect(mail.to).not.toContain('evil.example');
      expect(smtp.to('victim@evil.example')).toEqual([]);
    });
  });
});

describe('email verification, policy required', () => {
  let gh: TestGatehouse;
  let now = Date.now();
  const CODE_ATTEMPTS = 3;
  beforeAll(async () => {
    gh = await testGatehouse({
      smtpUrl: smtp.url,
      clock: () => new Date(now),
      file: alphaWith({
        emailVerification: { policy: 'required', codeAttempts: CODE_ATTEMPTS, codeTtlMinutes: 10, linkTtlHours: 24 },
        rateLimits: { verificationResendPerUser: { points: 2, durationSeconds: 3600 } },
      }),
    });
  });
  afterAll(async () => {
    await gh.close();
  });

  /** Signs up; returns the browser (holding the pending verification), the "check your inbox" page and the mail. */
  async function signUpPending(state = 'st-1', email = uniqueEmail('req')) {
    const b = browser(gh);
    const res = await b.submit(signupUrl({ redirect_uri: APP, state }), { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/verify-email');
    const page = await b.get('/verify-email');
    const mail = await smtp.waitFor(email);
    return { b, email, page, mail };
  }

  it('gives no JWT at signup but the page that says where the mail went', async () => {
    const b = browser(gh);
    const email = uniqueEmail('req');
    const res = await b.submit(signupUrl(), { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/verify-email');
    expect(res.text).not.toContain('name="token"');
    const page = await b.get('/verify-email');
    expect(page.status).toBe(200);
    expect(page.text).toContain(email);
    expect(page.text).toContain('You need to verify your email address before you can continue.');
    expect(page.text).toContain('action="/verify-email/code"');
    expect(page.text).toContain('action="/verify-email/resend"');
    expect(page.text).not.toContain('name="token"');
    await smtp.waitFor(email);
  });

  it('verifies with the code and continues to the app with redirect_uri and state intact', async () => {
    const state = 'a b&c=d/~?#';
    const { b, email, page, mail } = await signUpPending(state);
    const res = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: mail.code! });
    expect(res.status).toBe(200);
    const handoff = formPostOf(res.text);
    expect(handoff.action).toBe(APP);
    expect(handoff.state).toBe(state);
    expect(await claimsOf(gh, handoff.token)).toMatchObject({ email, email_verified: true });
    // Logged in now: back to the app without a page.
    const again = await b.get(loginUrl({ redirect_uri: APP, state: 'later' }));
    expect(formPostOf(again.text).state).toBe('later');
  });

  it('verifies with the link opened in another browser and offers a login that keeps redirect_uri and state', async () => {
    const state = 'other browser';
    const { email, mail } = await signUpPending(state);
    const other = browser(gh);
    const res = await other.get(pathOf(verifyLinkOf(mail)));
    expect(res.status).toBe(200);
    expect(res.text).toContain('Your email is verified');
    expect(res.text).not.toContain('name="token"');
    const href = loginHrefOf(res.text);
    const params = new URL(href, 'http://alpha.test').searchParams;
    expect(params.get('redirect_uri')).toBe(APP);
    expect(params.get('state')).toBe(state);

    const login = await other.submit(href, { identifier: email, password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    const handoff = formPostOf(login.text);
    expect(handoff.action).toBe(APP);
    expect(handoff.state).toBe(state);
    expect(await claimsOf(gh, handoff.token)).toMatchObject({ email, email_verified: true });
  });

  it('gives no JWT to the right password before the address is verified, but the verify page', async () => {
    const { email } = await signUpPending();
    const b = browser(gh);
    const res = await b.submit(loginUrl(), { identifier: email, password: GOOD_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/verify-email');
    expect(res.text).not.toContain('name="token"');
    const page = await b.get('/verify-email');
    expect(page.text).toContain(email);
    expect(page.text).toContain('action="/verify-email/code"');
    // Nobody is logged in: the app still gets no token.
    const app = await b.get(loginUrl());
    expect(app.text).not.toContain('name="token"');
    expect(app.text).toContain('name="password"');

    const wrong = await browser(gh).submit(loginUrl(), { identifier: email, password: 'not-the-password-1' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.location).toBeUndefined();
  });

  it('counts wrong codes: after codeAttempts wrong codes even the right code fails (ASVS 6.6.3)', async () => {
    const { b, email, page, mail } = await signUpPending();
    const csrf = csrfOf(page.text);
    for (let i = 1; i < CODE_ATTEMPTS; i++) {
      const wrong = await b.post('/verify-email/code', { _csrf: csrf, code: otherCode(mail.code!, i) });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain('That code is not right.');
    }
    // The last try spent: the page says so at once.
    const last = await b.post('/verify-email/code', { _csrf: csrf, code: otherCode(mail.code!, CODE_ATTEMPTS) });
    expect(last.status).toBe(400);
    expect(last.text).toContain('This code has expired or was tried too often.');
    const right = await b.post('/verify-email/code', { _csrf: csrf, code: mail.code! });
    expect(right.status).toBe(400);
    expect(right.text).toContain('This code has expired or was tried too often.');
    expect(right.text).not.toContain('name="token"');
    expect((await userByEmail(gh, email))?.emailVerification).toBe('requested');
  });

  it('refuses a code that is not six digits with a 400 and spends no try', async () => {
    const { b, page, mail } = await signUpPending();
    const csrf = csrfOf(page.text);
    for (const code of ['12345', 'abcdef', '1234567', '']) {
      const res = await b.post('/verify-email/code', { _csrf: csrf, code });
      expect(res.status, code).toBe(400);
    }
    const right = await b.post('/verify-email/code', { _csrf: csrf, code: mail.code! });
    expect(right.status).toBe(200);
    expect(formPostOf(right.text).action).toBe(APP);
  });

  it('refuses a code without a pending verification in the browser', async () => {
    const b = browser(gh);
    const page = await b.get('/verify-email');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('action="/verify-email/code"');
    const res = await b.post('/verify-email/code', { _csrf: csrfOf((await b.get('/login')).text), code: '123456' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('This page has expired.');
  });

  it('refuses the code once it has expired, with a clear message (ASVS 6.5.5)', async () => {
    const { b, email, page, mail } = await signUpPending();
    now += 10 * 60_000 + 1000;
    const res = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: mail.code! });
    expect(res.status).toBe(400);
    expect(res.text).toContain('This code has expired or was tried too often.');
    expect((await userByEmail(gh, email))?.emailVerification).toBe('requested');
  });

  it('accepts the link until linkTtlHours and refuses it after, with a clear page (ASVS 6.5.5)', async () => {
    const early = await signUpPending();
    const late = await signUpPending();
    now += 23 * 3600_000;
    const ok = await browser(gh).get(pathOf(verifyLinkOf(early.mail)));
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('Your email is verified');
    now += 2 * 3600_000;
    const expired = await browser(gh).get(pathOf(verifyLinkOf(late.mail)));
    expect(expired.status).toBe(400);
    expect(expired.text).toContain('This verification link has expired or has already been used.');
    expect((await userByEmail(gh, late.email))?.emailVerification).toBe('requested');
  });

  it('sends a new mail on resend, and the older link and code stop working (ASVS 6.6.2)', async () => {
    const { b, email, page, mail: first } = await signUpPending();
    const res = await b.post('/verify-email/resend', { _csrf: csrfOf(page.text) });
    expect(res.status).toBe(200);
    expect(res.text).toContain('We sent a new email. The older link and code no longer work.');
    const second = await smtp.waitFor(email, (m) => m.messageId !== first.messageId);
    expect(verifyLinkOf(second)).not.toBe(verifyLinkOf(first));
    expect(second.envelopeTo).toEqual([email]);

    const oldLink = await browser(gh).get(pathOf(verifyLinkOf(first)));
    expect(oldLink.status).toBe(400);
    if (first.code !== second.code) {
      const oldCode = await b.post('/verify-email/code', { _csrf: csrfOf(res.text), code: first.code! });
      expect(oldCode.status).toBe(400);
    }
    const newCode = await b.post('/verify-email/code', { _csrf: csrfOf(res.text), code: second.code! });
    expect(newCode.status).toBe(200);
    expect(await claimsOf(gh, formPostOf(newCode.text).token)).toMatchObject({ email, email_verified: true });
  });

  it('limits resends per user: 429 with Retry-After and no further mail (ASVS 2.4.1)', async () => {
    const { b, email, page } = await signUpPending();
    const csrf = csrfOf(page.text);
    for (let i = 0; i < 2; i++) expect((await b.post('/verify-email/resend', { _csrf: csrf })).status).toBe(200);
    const limited = await b.post('/verify-email/resend', { _csrf: csrf });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await smtp.waitFor(email, () => smtp.to(email).length === 3);
    await sleep(300);
    expect(smtp.to(email)).toHaveLength(3);
  });
});

describe('email verification, policy off', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await testGatehouse({ smtpUrl: smtp.url, file: alphaWith({ emailVerification: { policy: 'off' } }) });
  });
  afterAll(async () => {
    await gh.close();
  });

  it('sends no mail at signup and hands a JWT with email_verified false', async () => {
    const email = uniqueEmail('off');
    const res = await browser(gh).submit(signupUrl(), { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    expect(await claimsOf(gh, formPostOf(res.text).token)).toMatchObject({ email, email_verified: false });
    expect((await userByEmail(gh, email))?.emailVerification).toBe('none');
    expect(await gh.store.listMail(1000)).toEqual([]);
    await sleep(300);
    expect(smtp.to(email)).toEqual([]);
  });
});

/**
 * The phone page of the personal center (issue 4): bind, change and remove a
 * number, confirmed by a 6-digit code sent by SMS. The SMS goes through the
 * production transport, the signed webhook, to a real HTTP server in the test
 * that checks every signature and timestamp; the development outbox is tested
 * at the end. Real store, real rate limits, an injected clock for expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmsWebhook, type ReceivedSms, type TestSmsWebhook } from '../helpers/sms-webhook.ts';
import { listEvents } from '../helpers/events.ts';

type Browser = ReturnType<typeof browser>;

const PER_NUMBER = 3;
const PER_USER = 5;
const RECENT_AUTH_MINUTES = 30;

/** TEST_CONFIG with small SMS limits; alpha reads national numbers as US numbers, beta wants +<country code>. */
function phoneConfig() {
  const config = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  for (const realm of config.realms) {
    realm.rateLimits = {
      ...(realm.rateLimits as object),
      phoneCodePerNumber: { points: PER_NUMBER, durationSeconds: 3600 },
      phoneCodePerUser: { points: PER_USER, durationSeconds: 3600 },
    };
    realm.account = { recentAuthMinutes: RECENT_AUTH_MINUTES, ...(realm.id === 'alpha' ? { defaultPhoneCountry: 'us' } : {}) };
  }
  return config;
}

/** A valid US number no other test uses, as E.164. */
let numbers = 0;
const freshNumber = () => `+1415555${String(1000 + ++numbers).padStart(4, '0')}`;
/** "+14155551001" → "+1 415 555 1001", as the pages show it. */
const shown = (e164: string) => `${e164.slice(0, 2)} ${e164.slice(2, 5)} ${e164.slice(5, 8)} ${e164.slice(8)}`;
const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('phone page', () => {
  let webhook: TestSmsWebhook;
  let gh: TestGatehouse;
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const advance = (minutes: number) => {
    offset += minutes * 60_000;
  };

  beforeAll(async () => {
    // The receiver shares the injected clock, as a real one shares the real time with Gatehouse.
    webhook = await startSmsWebhook({ clock });
    gh = await testGatehouse({ file: phoneConfig(), clock, env: { SMS_WEBHOOK_URL: webhook.url, SMS_WEBHOOK_SECRET: webhook.secret } });
  });
  afterAll(async () => {
    await gh?.close();
    await webhook?.close();
  });

  /** A new user of `host`'s realm, signed in in the returned browser. */
  async function signUp(host = 'alpha.test', lang?: string) {
    const email = uniqueEmail('ph');
    const b = browser(gh, host);
    const form: Record<string, string> = host === 'alpha.test' ? { email, password: GOOD_PASSWORD } : { email, username: `p${Math.random().toString(36).slice(2, 10)}`, password: GOOD_PASSWORD };
    const res = await b.submit(lang ? `/signup?lang=${lang}` : '/signup', form);
    expect(res.status, res.text).toBe(303);
    const realm = host === 'alpha.test' ? 'alpha' : 'beta';
    const id = (await gh.store.findUsersByEmail(realm, email))[0]!.user.id;
    const user = async () => (await gh.store.findUserById(realm, id))!;
    return { b, email, id, user };
  }

  /** Asks for a code for `typed` and returns the SMS the webhook received for `e164`. */
  async function requestCode(b: Browser, typed: string, e164 = typed): Promise<ReceivedSms> {
    const before = webhook.to(e164).length;
    const res = await b.submit('/account/phone', { phone: typed });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/account/phone/verify');
    const sms = webhook.to(e164)[before];
    expect(sms, 'the webhook received the SMS').toBeDefined();
    return sms!;
  }

  /** Types `code` on the code page (for the number this browser asked a code for); `extra` adds fields to the form. */
  async function typeCode(b: Browser, code: string, extra: Record<string, string> = {}) {
    const page = await b.get('/account/phone/verify');
    const csrf = csrfOf(page.status === 200 ? page.text : (await b.get('/account/phone')).text);
    return b.post('/account/phone/verify', { _csrf: csrf, ...extra, code });
  }

  async function eventsOf(userId: string, type: string) {
    return (await listEvents(gh.store, 'alpha', userId, 100)).filter((e) => e.type === type);
  }

  describe('the page', () => {
    it('sends a visitor who is not signed in to the login page and back', async () => {
      const res = await browser(gh).get('/account/phone');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount%2Fphone');
    });

    it('shows the empty state and a tel field, with the realm\'s default country, never cached', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/phone');
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).toContain('No phone number yet');
      expect(page.text).toMatch(/name="phone" type="tel" autocomplete="tel"/);
      expect(page.text).toContain('read as United States numbers');
      const zh = await b.get('/account/phone?lang=zh-CN');
      expect(zh.text).toContain('尚未绑定手机号');
      expect(zh.text).toContain('按美国的号码处理');
    });
  });

  describe('binding a number', () => {
    it('texts a signed code through the webhook and binds the number, verified, only after the code', async () => {
      const { b, id, user } = await signUp();
      const phone = freshNumber();
      const national = `(415) 555-${phone.slice(-4)}`;
      const sms = await requestCode(b, national, phone);
      expect(sms).toMatchObject({ to: phone, realm: 'alpha', kind: 'bind-phone' });
      expect(sms.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(sms.text).toContain('Alpha');
      expect(sms.text).toContain('10 minutes');
      expect(sms.code).toMatch(/^\d{6}$/);
      expect(webhook.refused).toEqual([]);
      expect((await user()).phone).toBeNull();
      const page = await b.get('/account/phone/verify');
      expect(page.text).toContain(shown(phone));
      expect(page.text).toMatch(/name="code" type="text" autocomplete="one-time-code"/);

      const res = await typeCode(b, sms.code!);
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe('/account/phone');
      const after = await b.get('/account/phone');
      expect(after.text).toContain(`${shown(phone)} is now your phone number.`);
      expect(after.text).toContain('Verified');
      expect(await user()).toMatchObject({ phone, phoneVerified: true });
      expect((await eventsOf(id, 'user.phone.code_sent'))[0]?.data).toEqual({ phone });
      expect((await eventsOf(id, 'user.phone.bound'))[0]?.data).toEqual({ phone, previous: null });
    });

    it('changes a bound number to another one the same way', async () => {
      const { b, id, user } = await signUp();
      const first = freshNumber();
      await typeCode(b, (await requestCode(b, first)).code!);
      const second = freshNumber();
      const sms = await requestCode(b, shown(second), second);
      expect((await user()).phone).toBe(first);
      expect((await typeCode(b, sms.code!)).status).toBe(303);
      expect(await user()).toMatchObject({ phone: second, phoneVerified: true });
      expect((await eventsOf(id, 'user.phone.bound'))[0]?.data).toEqual({ phone: second, previous: first });
    });

    it('writes the SMS in the user\'s language', async () => {
      const { b } = await signUp('alpha.test', 'zh-CN');
      const sms = await requestCode(b, freshNumber());
      expect(sms.text).toContain('【Alpha】');
      expect(sms.text).toContain('10 分钟内有效');
    });

    it('refuses a wrong code and binds nothing; the right code still works (ASVS 6.6.3)', async () => {
      const { b, user } = await signUp();
      const sms = await requestCode(b, freshNumber());
      const res = await typeCode(b, otherCode(sms.code!));
      expect(res.status).toBe(400);
      expect(res.text).toContain('That code is not right.');
      expect((await user()).phone).toBeNull();
      expect((await typeCode(b, sms.code!)).status).toBe(303);
    });

    it('records a wrong code as phone.bind_failed, for the number it was typed for (ASVS 16.3.1)', async () => {
      const { b, id } = await signUp();
      const phone = freshNumber();
      const sms = await requestCode(b, phone);
      expect((await typeCode(b, otherCode(sms.code!))).status).toBe(400);
      const failed = await eventsOf(id, 'user.phone.bind_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.data).toEqual({ phone });
      expect(await eventsOf(id, 'user.phone.bound')).toHaveLength(0);
    });

    it('refuses an expired code (ASVS 6.5.5)', async () => {
      const { b, user } = await signUp();
      const sms = await requestCode(b, freshNumber());
      advance(11);
      const res = await typeCode(b, sms.code!);
      expect(res.status).toBe(400);
      expect(res.text).toContain('This code has expired');
      expect((await user()).phone).toBeNull();
    });

    it('accepts a code once: typed again, or for the next number, it fails (ASVS 6.5.1)', async () => {
      const { b, id, user } = await signUp();
      const first = freshNumber();
      const sms = await requestCode(b, first);
      expect((await typeCode(b, sms.code!)).status).toBe(303);
      // Typed again, nothing waits for a code any more: back to the phone page, nothing bound twice.
      const again = await typeCode(b, sms.code!);
      expect(again.status).toBe(303);
      expect(again.headers.location).toBe('/account/phone');
      expect(await eventsOf(id, 'user.phone.bound')).toHaveLength(1);
      const second = freshNumber();
      await requestCode(b, second);
      expect((await typeCode(b, sms.code!)).status).toBe(400);
      expect((await user()).phone).toBe(first);
    });

    it('ends a code after 5 wrong tries: then even the right one fails (ASVS 6.6.3)', async () => {
      const { b, user } = await signUp();
      const sms = await requestCode(b, freshNumber());
      for (let i = 1; i < 5; i++) expect((await typeCode(b, otherCode(sms.code!))).text).toContain('That code is not right.');
      expect((await typeCode(b, otherCode(sms.code!))).text).toContain('tried too many times');
      const late = await typeCode(b, sms.code!);
      expect(late.status).toBe(400);
      expect(late.text).toContain('tried too many times');
      expect((await user()).phone).toBeNull();
    });

    it('binds the number the code was texted to, never one the form names (ASVS 6.6.2)', async () => {
      const { b, id, user } = await signUp();
      const texted = freshNumber();
      const other = freshNumber();
      const sms = await requestCode(b, texted);
      expect((await b.get('/account/phone/verify')).text).not.toContain('name="phone"');
      // A form that names another number (a forged field): the number is the one this browser asked a code for.
      const res = await typeCode(b, sms.code!, { phone: other });
      expect(res.status).toBe(303);
      expect((await user()).phone).toBe(texted);
      expect((await eventsOf(id, 'user.phone.bound'))[0]?.data).toMatchObject({ phone: texted });
      expect(webhook.to(other)).toHaveLength(0);
    });

    it('ends the older code when a newer one is sent (ASVS 6.6.2)', async () => {
      const { b, user } = await signUp();
      const phone = freshNumber();
      const older = await requestCode(b, phone);
      const page = await b.get('/account/phone/verify');
      const resent = await b.post('/account/phone/verify/resend', { _csrf: csrfOf(page.text) });
      expect(resent.status).toBe(303);
      expect((await b.get('/account/phone/verify')).text).toContain(`We sent a new code to ${shown(phone)}.`);
      const newer = webhook.to(phone)[1]!;
      if (newer.code !== older.code) expect((await typeCode(b, older.code!)).status).toBe(400);
      expect((await typeCode(b, newer.code!)).status).toBe(303);
      expect((await user()).phone).toBe(phone);
    });

    it('refuses the number it already has, verified', async () => {
      const { b } = await signUp();
      const phone = freshNumber();
      await typeCode(b, (await requestCode(b, phone)).code!);
      const res = await b.submit('/account/phone', { phone });
      expect(res.status).toBe(400);
      expect(res.text).toContain('already yours');
    });

    it("refuses a number another user has with a clear 409, when the code comes back (ASVS 6.3.8)", async () => {
      const owner = await signUp();
      const phone = freshNumber();
      await typeCode(owner.b, (await requestCode(owner.b, phone)).code!);
      const { b, user } = await signUp();
      const sms = await requestCode(b, phone);
      const res = await typeCode(b, sms.code!);
      expect(res.status).toBe(409);
      expect(res.text).toContain('This number belongs to another account.');
      expect((await user()).phone).toBeNull();
      expect((await owner.user()).phone).toBe(phone);
    });
  });

  describe('rate limits', () => {
    it(`sends at most ${PER_NUMBER} codes to one number, whoever asks: then 429 with Retry-After (ASVS 6.3.1)`, async () => {
      const phone = freshNumber();
      for (let i = 0; i < PER_NUMBER; i++) await requestCode((await signUp()).b, phone);
      const { b } = await signUp();
      const res = await b.submit('/account/phone', { phone });
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.text).toContain('Too many attempts.');
      expect(webhook.to(phone)).toHaveLength(PER_NUMBER);
    });

    it(`sends at most ${PER_USER} codes for one user, whatever the numbers: then 429 with Retry-After (ASVS 6.3.1)`, async () => {
      const { b } = await signUp();
      for (let i = 0; i < PER_USER; i++) await requestCode(b, freshNumber());
      const phone = freshNumber();
      const res = await b.submit('/account/phone', { phone });
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(webhook.to(phone)).toHaveLength(0);
    });
  });

  describe('removing the number', () => {
    it('unbinds it with a POST, and records it', async () => {
      const { b, id, user } = await signUp();
      const phone = freshNumber();
      await typeCode(b, (await requestCode(b, phone)).code!);
      const page = await b.get('/account/phone');
      expect(page.text).toContain('action="/account/phone/remove"');
      const res = await b.post('/account/phone/remove', { _csrf: csrfOf(page.text) });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account/phone');
      expect((await b.get('/account/phone')).text).toContain(`${shown(phone)} was removed from your account.`);
      expect(await user()).toMatchObject({ phone: null, phoneVerified: false });
      expect((await eventsOf(id, 'user.phone.removed'))[0]?.data).toEqual({ phone });
    });

    it('refuses a removal without the CSRF token (ASVS 3.5.1)', async () => {
      const { b, user } = await signUp();
      const phone = freshNumber();
      await typeCode(b, (await requestCode(b, phone)).code!);
      expect((await b.post('/account/phone/remove', {})).status).toBe(403);
      expect((await user()).phone).toBe(phone);
    });

    it('asks for the password again after the window, for removing and for sending (ASVS 7.5.1)', async () => {
      const { b, user } = await signUp();
      const phone = freshNumber();
      await typeCode(b, (await requestCode(b, phone)).code!);
      const page = await b.get('/account/phone');
      advance(RECENT_AUTH_MINUTES + 1);
      const late = await b.post('/account/phone/remove', { _csrf: csrfOf(page.text) });
      expect(late.status).toBe(303);
      expect(late.headers.location).toBe('/account/reauth?next=%2Faccount%2Fphone');
      const send = await b.post('/account/phone', { _csrf: csrfOf(page.text), phone: freshNumber() });
      expect(send.headers.location).toBe('/account/reauth?next=%2Faccount%2Fphone');
      expect((await user()).phone).toBe(phone);
      expect((await b.submit('/account/reauth?next=%2Faccount%2Fphone', { password: GOOD_PASSWORD })).headers.location).toBe('/account/phone');
      const again = await b.get('/account/phone');
      expect((await b.post('/account/phone/remove', { _csrf: csrfOf(again.text) })).status).toBe(303);
      expect((await user()).phone).toBeNull();
    });
  });

  describe('bad input', () => {
    it('refuses what is not a phone number with a 400 and a translated message (ASVS 2.2.1)', async () => {
      const { b, user } = await signUp();
      const page = await b.get('/account/phone');
      const csrf = csrfOf(page.text);
      const cases: Array<string | string[]> = ['abc', '12', '+1 41', '+1 415 555 0100 ext. 5', '+999 1234567', '+1 415 555 0100\r\n', ['+14155550100', '+14155550101'], 'x'.repeat(41)];
      for (const phone of cases) {
        const res = await b.post('/account/phone', { _csrf: csrf, phone });
        expect(res.status, JSON.stringify(phone)).toBe(400);
        expect(res.text).toContain('id="form-error"');
        expect(res.text).toMatch(/name="phone"[^>]*aria-invalid="true"/);
      }
      expect((await b.post('/account/phone', { _csrf: csrf, phone: 'abc' })).text).toContain('Enter a valid phone number');
      expect((await b.post('/account/phone?lang=zh-CN', { _csrf: csrf, phone: 'abc' })).text).toContain('请输入有效的手机号');
      expect((await user()).phone).toBeNull();
    });

    it('asks for the country code where the realm has no default country', async () => {
      const { b } = await signUp('beta.test');
      const res = await b.submit('/account/phone', { phone: '415 555 0100' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('with its country code');
    });

    it('refuses a code that is not 6 digits, or arrives as an array, with a 400', async () => {
      const { b } = await signUp();
      await requestCode(b, freshNumber());
      for (const code of ['12345', 'abcdef', ['123456', '654321']]) {
        const page = await b.get('/account/phone/verify');
        const res = await b.post('/account/phone/verify', { _csrf: csrfOf(page.text), code });
        expect(res.status, JSON.stringify(code)).toBe(400);
        expect(res.text).toContain('Enter the 6 digits from the text message.');
      }
    });
  });

  describe('an SMS provider outage', () => {
    it('answers 503 "try again later" when the webhook fails, keeps running, and works once it is back', async () => {
      const { b, user } = await signUp();
      const phone = freshNumber();
      webhook.answerWith(500);
      try {
        const res = await b.submit('/account/phone', { phone });
        expect(res.status).toBe(503);
        expect(res.text).toContain('We could not send the code. Try again later.');
        expect(res.text).toContain('id="form-error"');
      } finally {
        webhook.answerWith(200);
      }
      expect((await browser(gh).get('/healthz')).status).toBe(200);
      const sms = await requestCode(b, phone);
      expect((await typeCode(b, sms.code!)).status).toBe(303);
      expect((await user()).phone).toBe(phone);
    });
  });
});

describe('the development SMS outbox', () => {
  it('keeps the SMS and shows it on /dev/mail in development', async () => {
    const gh = await testGatehouse({ env: { NODE_ENV: 'development' } });
    try {
      const b = browser(gh);
      expect((await b.submit('/signup', { email: uniqueEmail('dev'), password: GOOD_PASSWORD })).status).toBe(303);
      const phone = '+14155550188';
      expect((await b.submit('/account/phone', { phone })).status).toBe(303);
      const outbox = await browser(gh).get('/dev/mail');
      expect(outbox.status).toBe(200);
      expect(outbox.text).toContain('Text messages');
      expect(outbox.text).toContain(phone);
      const code = /(\d{6}) is your Alpha code/.exec(outbox.text)?.[1];
      expect(code).toBeDefined();
      const page = await b.get('/account/phone/verify');
      expect((await b.post('/account/phone/verify', { _csrf: csrfOf(page.text), phone, code: code! })).status).toBe(303);
      const [kept] = await gh.store.listSms(1);
      expect(kept).toMatchObject({ to: phone, kind: 'bind-phone', realmId: 'alpha' });
      expect(await gh.store.findUserById('alpha', kept!.userId!)).toMatchObject({ phone, phoneVerified: true });
    } finally {
      await gh.close();
    }
  });

  it('has no /dev/mail outside development', async () => {
    const gh = await testGatehouse({ env: { NODE_ENV: 'production' } });
    try {
      expect((await browser(gh).get('/dev/mail')).status).toBe(404);
    } finally {
      await gh.close();
    }
  });
});

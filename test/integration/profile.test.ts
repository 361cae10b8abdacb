/**
 * The profile page (issue 4): names, nickname, photo, language, the realm's
 * typed custom attributes, and the username where the realm allows it.
 * Real store, real sessions, real templates.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { listEvents } from '../helpers/events.ts';

const APP = 'https://app.example.com/cb';
const ROOMY = { signupPerIp: { points: 100_000, durationSeconds: 60 } };
const ATTRIBUTES = [
  { key: 'plan', type: 'enum', labels: { en: 'Plan', 'zh-CN': '套餐' }, options: [{ value: 'basic', labels: { en: 'Basic', 'zh-CN': '基础版' } }, { value: 'pro', labels: { en: 'Pro' } }] },
  { key: 'bio', type: 'string', labels: { en: 'Short bio' }, maxLength: 20 },
  { key: 'seats', type: 'number', labels: { en: 'Seats' } },
  { key: 'newsletter', type: 'boolean', labels: { en: 'Send me the newsletter', 'zh-CN': '订阅新闻邮件' } },
  { key: 'birthday', type: 'date', labels: { en: 'Birthday' } },
  { key: 'company', type: 'string', labels: { en: 'Company' }, required: true },
  { key: 'Tier', type: 'string', labels: { en: 'Support tier', 'zh-CN': '支持等级' }, editable: false },
];

function realm(id: string, extra: Record<string, unknown>) {
  return { id, name: id[0]!.toUpperCase() + id.slice(1), publicUrl: `http://${id}.test`, rateLimits: ROOMY, apps: [{ clientId: 'app1', name: 'App', redirectUris: [APP] }], ...extra };
}

const CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    // Emails as usernames: the username is the email (usernameEditable is refused there by the config).
    realm('alpha', { account: { attributes: ATTRIBUTES } }),
    realm('beta', { fields: { usernames: 'separate', lowercaseUsernames: true }, account: { usernameEditable: true } }),
    realm('gamma', { fields: { usernames: 'separate' } }),
  ],
};

const uniqueName = (prefix = 'u') => `${prefix}_${Math.random().toString(36).slice(2, 8)}`;

describe('profile page', () => {
  let gh: TestGatehouse;
  /** The injected clock runs `offset` ahead of real time; it only ever moves forward. */
  let offset = 0;

  beforeAll(async () => {
    gh = await testGatehouse({ file: CONFIG, clock: () => new Date(Date.now() + offset) });
  });
  afterAll(async () => {
    await gh?.close();
  });

  /** A new user, signed in in the returned browser. */
  async function signUp(host = 'alpha.test', extra: Record<string, string> = {}) {
    const email = uniqueEmail('prof');
    const b = browser(gh, host);
    const res = await b.submit('/signup', { email, password: GOOD_PASSWORD, ...extra });
    expect(res.status, res.text).toBe(303);
    const realmId = host.split('.')[0]!;
    const user = async () => (await gh.store.findUserByLogin(realmId, extra.username ?? email))!.user;
    return { b, email, user, realmId };
  }

  /** The profile form as the page would post it, with `changes` on top. */
  function fullForm(changes: Record<string, string | string[]> = {}) {
    return { firstName: '', lastName: '', nickname: '', photo: '', locale: 'en', attr_company: 'Acme', ...changes };
  }

  async function save(b: ReturnType<typeof browser>, form: Record<string, string | string[]>) {
    return b.submit('/account/profile', form);
  }

  describe('access', () => {
    it('sends a visitor who is not signed in to the login page and back (ASVS 8.3.1)', async () => {
      const res = await browser(gh).get('/account/profile');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount%2Fprofile');
      const post = await browser(gh).post('/account/profile', { firstName: 'x' });
      expect(post.status).toBe(403);
    });

    it('refuses a save without the CSRF token and changes nothing (ASVS 3.5.1)', async () => {
      const { b, user } = await signUp();
      const res = await b.post('/account/profile', fullForm({ firstName: 'Mallory' }));
      expect(res.status).toBe(403);
      expect(res.text).toContain('This form has expired');
      expect((await user()).firstName).toBeNull();
    });

    it('is never cached and works without JavaScript', async () => {
      const { b } = await signUp();
      const page = await b.get('/account/profile');
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).not.toMatch(/<script/);
      expect(page.text).toContain('href="/account/profile" aria-current="page"');
      // The footer's language switcher is not shadowed by the page's language select.
      expect(page.text).toContain('<a href="/account/profile?lang=zh-CN" lang="zh-CN" hreflang="zh-CN">');
    });
  });

  describe('names, nickname and photo', () => {
    it('saves each field, shows it again, records which fields changed and says so', async () => {
      const { b, user, realmId } = await signUp();
      const photo = 'https://cdn.example.com/u/ada.png?size=128';
      const res = await save(b, fullForm({ firstName: ' Ada ', lastName: 'Lovelace', nickname: 'Countess', photo }));
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe('/account/profile');

      const saved = await user();
      expect(saved).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', nickname: 'Countess', photo });
      const page = await b.get('/account/profile');
      expect(page.text).toContain('Profile saved.');
      expect(page.text).toContain('value="Ada"');
      expect(page.text).toContain('value="Lovelace"');
      expect(page.text).toContain('value="Countess"');
      expect(page.text).toContain(`<img class="avatar avatar-photo" src="${photo.replace('&', '&amp;')}"`);
      expect(page.text).toContain('autocomplete="given-name"');
      expect(page.text).toContain('autocomplete="nickname"');
      // The message is shown once.
      expect((await b.get('/account/profile')).text).not.toContain('Profile saved.');

      const events = (await listEvents(gh.store, realmId, saved.id, 20)).filter((e) => e.type === 'user.updated');
      expect(events).toHaveLength(1);
      // attr_company was new too.
      expect(events[0]!.data).toEqual({ fields: ['firstName', 'lastName', 'nickname', 'photo', 'attributes.company'] });
    });

    it('clears a field left empty, and records nothing when nothing changed', async () => {
      const { b, user, realmId } = await signUp();
      expect((await save(b, fullForm({ nickname: 'Nick', photo: 'https://cdn.example.com/a.png' }))).status).toBe(303);
      expect((await save(b, fullForm({ nickname: '', photo: '' }))).status).toBe(303);
      expect(await user()).toMatchObject({ nickname: null, photo: null });
      const page = await b.get('/account/profile');
      expect(page.text).toContain('<span class="avatar" aria-hidden="true">');
      const before = (await listEvents(gh.store, realmId, (await user()).id, 50)).length;
      expect((await save(b, fullForm())).status).toBe(303);
      expect((await listEvents(gh.store, realmId, (await user()).id, 50)).length).toBe(before);
    });

    it('refuses a photo that is not an absolute https URL (javascript:, data:, http:, credentials, too long) (ASVS 1.2.2)', async () => {
      const { b, user } = await signUp();
      for (const photo of [
        'javascript:alert(1)',
        'data:image/png;base64,iVBORw0KGgo=',
        'http://cdn.example.com/a.png',
        '//cdn.example.com/a.png',
        '/static/img/favicon.svg',
        'https://user:secret@cdn.example.com/a.png',
        'ftp://cdn.example.com/a.png',
        `https://cdn.example.com/${'a'.repeat(2048)}`,
      ]) {
        const res = await save(b, fullForm({ firstName: 'Kept', photo }));
        expect(res.status, photo).toBe(400);
        expect(res.text, photo).toMatch(/Enter the full address of a picture, starting with https:\/\/|This value is too long/);
        expect(res.text, photo).toContain('aria-invalid="true"');
        expect(res.text).not.toContain('<img class="avatar');
      }
      expect(await user()).toMatchObject({ firstName: null, photo: null });
    });

    it('answers arrays, control characters and over-long values with a 400 page and keeps what was stored (ASVS 2.2.1)', async () => {
      const { b, user } = await signUp();
      expect((await save(b, fullForm({ firstName: 'Grace', attr_bio: 'hello' }))).status).toBe(303);
      const bads: Array<Record<string, string | string[]>> = [
        { firstName: ['A', 'B'] },
        { locale: ['en', 'zh-CN'] },
        { photo: ['https://a.example/x.png', 'https://b.example/y.png'] },
        { attr_bio: ['one', 'two'] },
        { attr_newsletter: ['true', 'true'] },
        { attr_plan: ['basic', 'pro'] },
        { nickname: 'line\r\nbreak' },
        { attr_bio: 'tab\there' },
        { lastName: 'x'.repeat(101) },
        { locale: 'fr' },
      ];
      for (const bad of bads) {
        const res = await save(b, fullForm({ firstName: 'Changed', ...bad }));
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(res.text).toContain('role="alert"');
      }
      expect(await user()).toMatchObject({ firstName: 'Grace', customAttributes: { bio: 'hello', company: 'Acme' } });
    });
  });

  describe('language', () => {
    it('saves the language, switches the pages and remembers it in the language cookie', async () => {
      const { b, user } = await signUp();
      const res = await save(b, fullForm({ locale: 'zh-CN' }));
      expect(res.status).toBe(303);
      const cookie = [res.headers['set-cookie'] ?? []].flat().find((c: string) => c.startsWith('gh_lang='));
      expect(cookie).toMatch(/^gh_lang=zh-CN;/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect((await user()).locale).toBe('zh-CN');

      const page = await b.get('/account/profile').set('Accept-Language', 'en');
      expect(page.headers['content-language']).toBe('zh-CN');
      expect(page.text).toContain('个人资料已保存。');
      expect(page.text).toContain('<option value="zh-CN" selected');
      expect(page.text).toContain('套餐');

      // "The browser's language": the cookie goes, Accept-Language decides again.
      const back = await save(b, fullForm({ locale: '' }));
      expect(back.status).toBe(303);
      const cleared = [back.headers['set-cookie'] ?? []].flat().find((c: string) => c.startsWith('gh_lang='));
      expect(cleared).toMatch(/^gh_lang=;.*Expires=Thu, 01 Jan 1970/);
      expect((await user()).locale).toBeNull();
      const english = await b.get('/account/profile').set('Accept-Language', 'en-GB,en;q=0.8');
      expect(english.headers['content-language']).toBe('en');
      expect(english.text).toContain('<option value="" selected');
    });
  });

  describe('custom attributes', () => {
    it('renders each type with its input, labels in the page language, and the read-only ones as text', async () => {
      const { b, user } = await signUp();
      const u = await user();
      await gh.store.updateProfile('alpha', u.id, { customAttributes: { Tier: 'gold' } }, new Date());
      const page = await b.get('/account/profile');
      expect(page.text).toMatch(/<select id="attr_plan" name="attr_plan"/);
      expect(page.text).toContain('<option value="pro">Pro</option>');
      expect(page.text).toMatch(/id="attr_bio" name="attr_bio" type="text"[^>]*maxlength="20"/s);
      expect(page.text).toMatch(/id="attr_seats" name="attr_seats" type="number"/);
      expect(page.text).toMatch(/type="checkbox" id="attr_newsletter" name="attr_newsletter" value="true"/);
      expect(page.text).toMatch(/id="attr_birthday" name="attr_birthday" type="date"/);
      expect(page.text).toMatch(/id="attr_company"[^>]*required/s);
      expect(page.text).not.toContain('name="attr_Tier"');
      expect(page.text).toMatch(/<dt>Support tier<\/dt>\s*<dd>\s*gold/);
      const zh = await b.get('/account/profile?lang=zh-CN');
      expect(zh.text).toContain('订阅新闻邮件');
      expect(zh.text).toContain('基础版');
      // No zh-CN label given: the English one.
      expect(zh.text).toContain('Short bio');
    });

    it('saves valid values of every type, typed, and shows them again', async () => {
      const { b, user } = await signUp();
      const res = await save(b, fullForm({ attr_plan: 'pro', attr_bio: ' Loves maths ', attr_seats: '-12.5', attr_newsletter: 'true', attr_birthday: '2024-02-29', attr_company: '李氏公司' }));
      expect(res.status, res.text).toBe(303);
      expect((await user()).customAttributes).toEqual({ plan: 'pro', bio: 'Loves maths', seats: -12.5, newsletter: true, birthday: '2024-02-29', company: '李氏公司' });
      const page = await b.get('/account/profile');
      expect(page.text).toContain('<option value="pro" selected>Pro</option>');
      expect(page.text).toContain('value="Loves maths"');
      expect(page.text).toContain('value="-12.5"');
      expect(page.text).toMatch(/name="attr_newsletter" value="true" checked/);
      expect(page.text).toContain('value="2024-02-29"');

      // An unticked checkbox posts nothing: false. An optional value left empty is removed.
      expect((await save(b, fullForm({ attr_plan: '', attr_bio: '', attr_seats: '0', attr_birthday: '' }))).status).toBe(303);
      expect((await user()).customAttributes).toEqual({ seats: 0, newsletter: false, company: 'Acme' });
    });

    it('refuses a value that does not fit its type, with the field marked and nothing saved', async () => {
      const { b, user } = await signUp();
      expect((await save(b, fullForm({ attr_seats: '3' }))).status).toBe(303);
      const cases: Array<[Record<string, string>, string, string]> = [
        [{ attr_seats: 'three' }, 'attr_seats', 'Enter a number'],
        [{ attr_seats: 'Infinity' }, 'attr_seats', 'Enter a number'],
        [{ attr_seats: '1e999' }, 'attr_seats', 'Enter a number'],
        [{ attr_seats: '0x10' }, 'attr_seats', 'Enter a number'],
        [{ attr_birthday: '2023-02-29' }, 'attr_birthday', 'Enter a real date'],
        [{ attr_birthday: '2024-13-01' }, 'attr_birthday', 'Enter a real date'],
        [{ attr_birthday: '29/02/2024' }, 'attr_birthday', 'Enter a real date'],
        [{ attr_plan: 'gold' }, 'attr_plan', 'Choose one of the options'],
        [{ attr_plan: 'PRO' }, 'attr_plan', 'Choose one of the options'],
        [{ attr_newsletter: 'yes' }, 'attr_newsletter', 'This value is not valid'],
        [{ attr_bio: 'x'.repeat(21) }, 'attr_bio', 'Use at most 20 characters'],
        [{ attr_company: '   ' }, 'attr_company', 'Fill in this field'],
      ];
      for (const [bad, field, message] of cases) {
        const res = await save(b, fullForm({ firstName: 'Changed', attr_seats: '4', ...bad }));
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(res.text, JSON.stringify(bad)).toContain(message);
        expect(res.text, JSON.stringify(bad)).toMatch(new RegExp(`id="${field}" name="${field}"[^>]*aria-invalid="true"|id="${field}"[^>]*\\n?[^>]*aria-invalid="true"`));
        // What the user typed is kept in the form.
        if (bad[field] && field !== 'attr_newsletter' && field !== 'attr_plan') expect(res.text).toContain(`value="${bad[field]!.replace(/"/g, '&#34;')}"`);
      }
      expect(await user()).toMatchObject({ firstName: null, customAttributes: { seats: 3, company: 'Acme' } });
    });

    it('ignores a forged change of a read-only attribute and keys the realm does not list', async () => {
      const { b, user } = await signUp();
      const u = await user();
      await gh.store.updateProfile('alpha', u.id, { customAttributes: { Tier: 'gold', crmId: 'c-1' } }, new Date());
      const res = await save(b, fullForm({ attr_Tier: 'platinum', attr_tier: 'platinum', attr_crmId: 'c-2', attr_isAdmin: 'true', isAdmin: 'true', username: 'root' }));
      expect(res.status).toBe(303);
      const after = await user();
      expect(after.customAttributes).toEqual({ Tier: 'gold', crmId: 'c-1', company: 'Acme' });
      expect(after.username).toBe(u.username);
    });
  });

  describe('username', () => {
    it('lets the user change it where the realm allows, under the realm rules, and sign in with it', async () => {
      const username = uniqueName('old');
      const { b, email, realmId } = await signUp('beta.test', { username });
      const page = await b.get('/account/profile');
      expect(page.text).toContain('action="/account/profile/username"');
      const wanted = uniqueName('New');
      const res = await b.submit('/account/profile/username', { username: wanted });
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe('/account/profile');
      // The realm folds usernames to lower case.
      const found = await gh.store.findUserByLogin(realmId, wanted);
      expect(found?.user.username).toBe(wanted.toLowerCase());
      expect(found?.user.email).toBe(email);
      expect((await b.get('/account/profile')).text).toContain('Username changed.');
      const events = (await listEvents(gh.store, realmId, found!.user.id, 20)).filter((e) => e.type === 'user.updated');
      expect(events.map((e) => e.data)).toEqual([{ fields: ['username'] }]);

      const login = await browser(gh, 'beta.test').submit('/login', { identifier: wanted, password: GOOD_PASSWORD });
      expect(login.status).toBe(303);
      const old = await browser(gh, 'beta.test').submit('/login', { identifier: username, password: GOOD_PASSWORD });
      expect(old.status).toBe(401);
    });

    it('refuses a username another account has, and one that breaks the rules', async () => {
      const taken = uniqueName('taken');
      await signUp('beta.test', { username: taken });
      const mine = uniqueName('mine');
      const { b, realmId } = await signUp('beta.test', { username: mine });
      const res = await b.submit('/account/profile/username', { username: taken.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.text).toContain('This username is taken. Choose another one.');
      expect(res.text).toMatch(/id="username"[^>]*aria-invalid="true"/s);
      for (const bad of ['a', 'has space', 'x'.repeat(65), 'semi;colon', 'at@sign']) {
        const r = await b.submit('/account/profile/username', { username: bad });
        expect(r.status, bad).toBe(400);
      }
      const array = await b.submit('/account/profile/username', { username: ['one1', 'two2'] });
      expect(array.status).toBe(400);
      expect((await gh.store.findUserByLogin(realmId, mine))?.user.username).toBe(mine);
    });

    it('shows the username read-only and refuses a change where the realm does not allow it', async () => {
      const username = uniqueName('fixed');
      const { b, realmId } = await signUp('gamma.test', { username });
      const page = await b.get('/account/profile');
      expect(page.text).not.toContain('action="/account/profile/username"');
      expect(page.text).toContain(`<dd>${username}</dd>`);
      const page2 = await b.get('/account/profile');
      const res = await b.post('/account/profile/username', { _csrf: csrfOf(page2.text), username: uniqueName('other') });
      expect(res.status).toBe(403);
      expect(res.text).toContain('Usernames cannot be changed here.');
      expect((await gh.store.findUserByLogin(realmId, username))?.user.username).toBe(username);
      expect((await b.get('/account/profile/username')).headers.location).toBe('/account/profile');
    });

    it('never lets the username drift from the email where emails are usernames', async () => {
      const { b, email, user } = await signUp('alpha.test');
      const page = await b.get('/account/profile');
      expect(page.text).not.toContain('name="username" type="text"');
      const res = await b.post('/account/profile/username', { _csrf: csrfOf(page.text), username: 'someone' });
      expect(res.status).toBe(403);
      expect((await user()).username).toBe(email);
    });

    it('asks for the password again before a username change after the recent-auth window, not for the other fields (ASVS 7.5.1)', async () => {
      const username = uniqueName('slow');
      const { b, realmId } = await signUp('beta.test', { username });
      const form = await b.get('/account/profile');
      offset += 11 * 60_000;
      const wanted = uniqueName('later');
      const late = await b.post('/account/profile/username', { _csrf: csrfOf(form.text), username: wanted });
      expect(late.status).toBe(303);
      expect(late.headers.location).toBe('/account/reauth?next=%2Faccount%2Fprofile');
      expect((await gh.store.findUserByLogin(realmId, username))?.user.username).toBe(username);

      // Names need no fresh password.
      expect((await b.submit('/account/profile', { firstName: 'Still', lastName: '', nickname: '', photo: '', locale: 'en' })).status).toBe(303);

      const confirmed = await b.submit(late.headers.location!, { password: GOOD_PASSWORD });
      expect(confirmed.status).toBe(303);
      expect(confirmed.headers.location).toBe('/account/profile');
      const back = await b.get(confirmed.headers.location!);
      expect(back.status).toBe(200);
      expect((await b.post('/account/profile/username', { _csrf: csrfOf(back.text), username: wanted })).status).toBe(303);
      expect((await gh.store.findUserByLogin(realmId, wanted))?.user.username).toBe(wanted.toLowerCase());
    });
  });

  it('hands the nickname and the photo to apps as the nickname and picture claims', async () => {
    const { b } = await signUp();
    const photo = 'https://cdn.example.com/p.png';
    expect((await save(b, fullForm({ nickname: 'Nick', photo }))).status).toBe(303);
    const login = await b.get(`/login?redirect_uri=${encodeURIComponent(APP)}&state=s`);
    expect(login.status).toBe(200);
    const { token } = formPostOf(login.text);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test').expect(200)).body as JSONWebKeySet;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'http://alpha.test', audience: 'app1' });
    expect(payload).toMatchObject({ nickname: 'Nick', picture: photo, cs: { company: 'Acme' } });
  });
});

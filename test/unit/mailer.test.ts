import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFileConfig, type RealmConfig } from '../../src/config/index.ts';
import { createI18n } from '../../src/http/i18n.ts';
import { ejsMailRenderer } from '../../src/infra/mail/templates.ts';
import { MailAddressError } from '../../src/mail/address.ts';
import { Mailer, realmLink, type MailKind, type MailRequest } from '../../src/mail/mailer.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const i18n = createI18n(path.join(ROOT, 'locales'), false);
const render = ejsMailRenderer(path.join(ROOT, 'views'), i18n.t, true);
const DEFAULT_FROM = 'Gatehouse <no-reply@gatehouse.example>';
const T0 = new Date('2025-03-01T12:00:00.000Z');

/** Realms parsed through the real config schema, so defaults are filled in as in production. */
function realms(): RealmConfig[] {
  return parseFileConfig({
    defaultRealm: 'alpha',
    realms: [
      { id: 'alpha', name: 'Alpha & Co', publicUrl: 'https://login.alpha.example', mail: { from: 'Alpha <no-reply@alpha.example>' } },
      { id: 'beta', name: 'Beta', publicUrl: 'https://beta.example:8443' },
    ],
  }).realms;
}
const [ALPHA, BETA] = realms() as [RealmConfig, RealmConfig];

/** A link with a query that HTML would escape. */
const LINK = 'https://login.alpha.example/verify-email?token=Tok_en-123&lang=zh-CN';
const CODE = '042917';

const MODELS: Record<MailKind, Record<string, unknown>> = {
  'verify-email': { code: CODE, linkHours: 24, codeMinutes: 10 },
  'reset-password': { code: CODE, minutes: 60, username: 'alice@example.com' },
  'password-changed': { username: 'alice@example.com' },
  'account-exists': { loginLink: 'https://login.alpha.example/login?a=1&b=2' },
  'bind-email': { code: CODE, codeMinutes: 10, linkHours: 24 },
  'email-changed': { newEmail: 'new-alice@example.com', username: 'alice@example.com', usernameChanged: true, forgotLink: 'https://login.alpha.example/forgot' },
  'social-code': { code: CODE, codeMinutes: 10 },
  'org-invitation': { inviter: 'Grace Hopper', org: 'Acme Labs', hours: 168 },
  welcome: { newAccount: true, login: 'alice@example.com', loginUrl: 'https://login.alpha.example/login', org: 'Acme Labs', hours: 72 },
};

/** What each kind must say, per locale: subject, and phrases of the body (text and HTML alike). */
const EXPECTED: Record<MailKind, Record<'en' | 'zh-CN', { subject: string; phrases: string[]; code: boolean; noLink?: true }>> = {
  'verify-email': {
    en: { subject: 'Verify your email for Alpha & Co', phrases: ['Verify your email address', 'valid for 10 minutes', 'for 24 hours'], code: true },
    'zh-CN': { subject: '验证你在 Alpha & Co 的邮箱', phrases: ['验证你的邮箱地址', '10 分钟内有效', '24 小时内有效'], code: true },
  },
  'reset-password': {
    en: { subject: 'Reset your Alpha & Co password', phrases: ['Reset your password', 'work once, for 60 minutes'], code: true },
    'zh-CN': { subject: '重置你的 Alpha & Co 密码', phrases: ['重置密码', '60 分钟内有效'], code: true },
  },
  'password-changed': {
    en: { subject: 'Your Alpha & Co password was changed', phrases: ['Your password was changed', 'has been signed out'], code: false },
    'zh-CN': { subject: '你的 Alpha & Co 密码已修改', phrases: ['你的密码已修改', '均已退出登录'], code: false },
  },
  'account-exists': {
    en: { subject: 'An account already exists for this address at Alpha & Co', phrases: ['You already have an account', 'Sign in', 'nothing has changed'], code: false },
    'zh-CN': { subject: '你已经有 Alpha & Co 账号了', phrases: ['你已经有账号了', '登录', '没有任何变化'], code: false },
  },
  'bind-email': {
    en: { subject: 'Confirm your new email address for Alpha & Co', phrases: ['Confirm your new email address', 'valid for 10 minutes', 'for 24 hours'], code: true },
    'zh-CN': { subject: '确认你在 Alpha & Co 的新邮箱', phrases: ['确认你的新邮箱', '10 分钟内有效', '24 小时内有效'], code: true },
  },
  'email-changed': {
    en: { subject: 'The email address of your Alpha & Co account was changed', phrases: ['was changed to new-alice@example.com', 'You now sign in with alice@example.com', 'https://login.alpha.example/forgot'], code: false },
    'zh-CN': { subject: '你的 Alpha & Co 账号邮箱已更换', phrases: ['已更换为 new-alice@example.com', '今后请使用 alice@example.com 登录', 'https://login.alpha.example/forgot'], code: false },
  },
  'social-code': {
    // No link: the code must be typed in the browser that started the sign-in.
    en: { subject: 'Your Alpha & Co sign-in code', phrases: ['Confirm your email address', 'valid for 10 minutes', 'nothing will use this address'], code: true, noLink: true },
    'zh-CN': { subject: '你的 Alpha & Co 登录验证码', phrases: ['确认你的邮箱地址', '10 分钟内有效', '此地址不会被使用'], code: true, noLink: true },
  },
  'org-invitation': {
    en: { subject: 'Grace Hopper invited you to Acme Labs on Alpha & Co', phrases: ['Join Acme Labs', 'Grace Hopper invited you to join Acme Labs on', 'for 168 hours'], code: false },
    'zh-CN': { subject: 'Grace Hopper 邀请你加入 Alpha & Co 上的 Acme Labs', phrases: ['加入 Acme Labs', '168 小时内有效'], code: false },
  },
  welcome: {
    en: { subject: 'Welcome to Alpha & Co', phrases: ['join Acme Labs on', 'Your account:', 'alice@example.com', 'for 72 hours', 'never send passwords'], code: false },
    'zh-CN': { subject: '欢迎加入 Alpha & Co', phrases: ['的申请已获批准', '你的账号：', '72 小时内有效', '绝不会通过邮件发送密码'], code: false },
  },
};

describe('Mailer with the EJS templates', () => {
  let store: SqliteStore;
  let queued: number;
  let mailer: Mailer;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    queued = 0;
    mailer = new Mailer(store, render, DEFAULT_FROM, () => T0, () => queued++);
  });
  afterEach(async () => {
    await store.close();
  });

  const request = (overrides: Partial<MailRequest> = {}): MailRequest => ({
    realm: ALPHA,
    kind: 'verify-email',
    to: { address: 'alice@example.com', name: 'Alice Liddell' },
    userId: 'user-1',
    locale: 'en',
    link: LINK,
    model: MODELS['verify-email'],
    ...overrides,
  });

  for (const kind of Object.keys(MODELS) as MailKind[]) {
    for (const locale of ['en', 'zh-CN'] as const) {
      it(`renders ${kind} in ${locale}: subject, text and HTML with the realm name${EXPECTED[kind][locale].noLink ? '' : ', the link'}${EXPECTED[kind][locale].code ? ' and the code' : ''}`, async () => {
        const expected = EXPECTED[kind][locale];
        const id = await mailer.send(request({ kind, locale, model: MODELS[kind] }));
        const mail = await store.getMail(id);
        expect(mail).not.toBeNull();
        expect(mail!.kind).toBe(kind);
        expect(mail!.subject).toBe(expected.subject);

        // Text: plain, nothing escaped.
        expect(mail!.text).toContain('Alpha & Co');
        if (expected.noLink) expect(mail!.text).not.toContain('http');
        else expect(mail!.text).toContain(LINK);
        expect(mail!.text).not.toContain('&amp;');
        expect(mail!.text).not.toMatch(/<[a-z/]/i);
        expect(mail!.text.endsWith('\n')).toBe(true);
        for (const phrase of expected.phrases) expect(mail!.text).toContain(phrase);

        // HTML: in the layout, escaped, in the mail's language.
        expect(mail!.html).toMatch(/^<!doctype html>/i);
        expect(mail!.html).toContain(`<html lang="${locale}">`);
        expect(mail!.html).toContain('Alpha &amp; Co');
        expect(mail!.html).not.toContain('Alpha & Co');
        if (expected.noLink) expect(mail!.html).not.toContain(LINK.replaceAll('&', '&amp;'));
        else expect(mail!.html).toContain(`href="${LINK.replaceAll('&', '&amp;')}"`);
        expect(mail!.html).toContain(`<title>${expected.subject.replaceAll('&', '&amp;')}</title>`);
        for (const phrase of expected.phrases) expect(mail!.html).toContain(phrase);

        if (expected.code) {
          expect(mail!.text).toContain(CODE);
          expect(mail!.html).toContain(CODE);
        }
        if (typeof MODELS[kind].username === 'string') {
          expect(mail!.text).toContain('alice@example.com');
          expect(mail!.html).toContain('alice@example.com');
        }
        if (typeof MODELS[kind].loginLink === 'string') {
          expect(mail!.text).toContain('https://login.alpha.example/login?a=1&b=2');
          expect(mail!.html).toContain('href="https://login.alpha.example/login?a=1&amp;b=2"');
        }
      });
    }
  }

  it('greets the recipient by name, escaped in HTML', async () => {
    const id = await mailer.send(request({ to: { address: 'alice@example.com', name: 'Alice "Ali" O\'Brien & Co' } }));
    const mail = (await store.getMail(id))!;
    expect(mail.text).toContain('Hello Alice "Ali" O\'Brien & Co,');
    expect(mail.html).toContain('Hello Alice &#34;Ali&#34; O&#39;Brien &amp; Co,');
    expect(mail.to).toEqual({ address: 'alice@example.com', name: 'Alice "Ali" O\'Brien & Co' });
  });

  it('escapes markup a model value carries in the HTML part', async () => {
    const id = await mailer.send(request({ kind: 'reset-password', model: { ...MODELS['reset-password'], username: '<script>alert(1)</script>' } }));
    const mail = (await store.getMail(id))!;
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('falls back to English for a locale it does not have', async () => {
    const id = await mailer.send(request({ locale: 'fr' }));
    expect((await store.getMail(id))?.subject).toBe('Verify your email for Alpha & Co');
  });

  it("stores the outbox row with the realm's From, the trimmed recipient, the link and the user, queued now", async () => {
    const id = await mailer.send(request({ to: { address: '  alice@example.com ', name: ' Alice Liddell ' } }));
    expect(await store.getMail(id)).toMatchObject({
      id,
      realmId: 'alpha',
      kind: 'verify-email',
      userId: 'user-1',
      to: { address: 'alice@example.com', name: 'Alice Liddell' },
      from: 'Alpha <no-reply@alpha.example>',
      link: LINK,
      status: 'queued',
      attempts: 0,
      createdAt: T0,
      nextAttemptAt: T0,
    });
    expect(queued).toBe(1);
  });

  it('stores the default From for a realm without one, and a null link when the mail has none', async () => {
    const id = await mailer.send(request({ realm: BETA, kind: 'password-changed', link: undefined, model: MODELS['password-changed'], userId: null }));
    expect(await store.getMail(id)).toMatchObject({ realmId: 'beta', from: DEFAULT_FROM, link: null, userId: null });
  });

  it('refuses a realm From with CR or LF and writes nothing (ASVS 1.3.11)', async () => {
    // The config schema refuses this too; the Mailer does not rely on it.
    const bad: RealmConfig = { ...ALPHA, mail: { from: 'Alpha <no-reply@alpha.example>\r\nBcc: victim@example.net' } };
    await expect(mailer.send(request({ realm: bad }))).rejects.toThrow(MailAddressError);
    await expect(mailer.send(request({ realm: bad }))).rejects.toThrow('From contains control characters');
    expect(await store.listMail(10)).toEqual([]);
    expect(queued).toBe(0);
  });

  it('refuses a default From with a line break', async () => {
    const bad = new Mailer(store, render, 'Gatehouse <no-reply@gatehouse.example>\nBcc: victim@example.net', () => T0);
    await expect(bad.send(request({ realm: BETA }))).rejects.toThrow('From contains control characters');
    expect(await store.listMail(10)).toEqual([]);
  });

  it('refuses a subject with CR or LF, as a realm name could make it, and writes nothing (ASVS 1.3.11)', async () => {
    const bad: RealmConfig = { ...ALPHA, name: 'Alpha\r\nBcc: victim@example.net' };
    await expect(mailer.send(request({ realm: bad }))).rejects.toThrow('Subject contains control characters');
    expect(await store.listMail(10)).toEqual([]);
    expect(queued).toBe(0);
  });

  it('refuses an undeliverable recipient before rendering or writing anything (ASVS 1.3.11)', async () => {
    await expect(mailer.send(request({ to: { address: 'alice@example.com\r\nBcc: victim@example.net', name: null } }))).rejects.toThrow(MailAddressError);
    await expect(mailer.send(request({ to: { address: 'not an address', name: null } }))).rejects.toThrow(MailAddressError);
    expect(await store.listMail(10)).toEqual([]);
  });
});

describe('realmLink', () => {
  it("builds a link on the realm's publicUrl, with the parameters encoded", () => {
    expect(realmLink(ALPHA, '/verify-email', { token: 'abc_-123' })).toBe('https://login.alpha.example/verify-email?token=abc_-123');
    expect(realmLink(BETA, '/reset-password', { token: 'a b&c=d', lang: 'zh-CN' })).toBe('https://beta.example:8443/reset-password?token=a+b%26c%3Dd&lang=zh-CN');
    expect(realmLink(ALPHA, '/forgot')).toBe('https://login.alpha.example/forgot');
  });

  it('puts each realm on its own origin', () => {
    expect(new URL(realmLink(ALPHA, '/x')).origin).toBe('https://login.alpha.example');
    expect(new URL(realmLink(BETA, '/x')).origin).toBe('https://beta.example:8443');
  });

  it('refuses a path that would lead off the publicUrl', () => {
    for (const pathname of ['//evil.example/x', 'https://evil.example/x', '/\\evil.example', '\\\\evil.example/x']) {
      expect(() => realmLink(ALPHA, pathname), pathname).toThrow("not a path on the realm's publicUrl");
    }
  });
});

/**
 * `npx tsx scripts/screenshots.ts`: starts Gatehouse and the demo app on
 * loopback, walks the hosted pages in Debian's Chromium and saves PNGs to
 * docs/screenshots/ (desktop 1280×800 and phone 390×844, English and
 * Simplified Chinese). Run it after changing views/ or public/css/.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startSmtp, type TestSmtp } from '../test/helpers/smtp.ts';
import { hasChromium, launchChromium, startStack, type Stack } from '../test/helpers/stack.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
type Device = keyof typeof VIEWPORTS;
type Locale = 'en' | 'zh-CN';

type Shot =
  | 'login'
  | 'login-error'
  | 'signup'
  | 'signup-error'
  | 'demo-signed-in'
  | 'account'
  | 'logout-confirm'
  | 'signed-out'
  | 'error-400';

/** Pages of the mail flows, shot against a realm that requires a verified email, its mails caught by a test SMTP server. */
type MailShot =
  | 'verify-email'
  | 'verify-code-error'
  | 'verify-resent'
  | 'email-verify'
  | 'verified'
  | 'forgot'
  | 'forgot-sent'
  | 'email-reset'
  | 'reset'
  | 'reset-error'
  | 'reset-done';

const ALL: Shot[] = ['login', 'login-error', 'signup', 'signup-error', 'demo-signed-in', 'account', 'logout-confirm', 'signed-out', 'error-400'];
const ALL_MAIL: MailShot[] = [
  'verify-email',
  'verify-code-error',
  'verify-resent',
  'email-verify',
  'verified',
  'forgot',
  'forgot-sent',
  'email-reset',
  'reset',
  'reset-error',
  'reset-done',
];

/** Which pages to keep for each language and width: everything once, the rest where it shows something new. */
const PLAN: Array<{ locale: Locale; device: Device; shots: Shot[]; mail: MailShot[] }> = [
  { locale: 'en', device: 'desktop', shots: ALL, mail: ALL_MAIL },
  { locale: 'en', device: 'phone', shots: ['login', 'signup-error', 'account'], mail: ['verify-email', 'email-verify', 'forgot-sent', 'reset'] },
  { locale: 'zh-CN', device: 'desktop', shots: ['login', 'signup-error'], mail: ['verify-email', 'forgot-sent', 'email-verify'] },
  { locale: 'zh-CN', device: 'phone', shots: ['signup'], mail: ALL_MAIL },
];

const PEOPLE: Record<Locale, { first: string; last: string }> = {
  en: { first: 'Ada', last: 'Lovelace' },
  'zh-CN': { first: '晓明', last: '李' },
};

const LABELS: Record<Locale, { email: string; password: string; first: string; last: string; login: string; signup: string; createAccount: string; logout: string }> = {
  en: { email: 'Email', password: 'Password', first: 'First name', last: 'Last name', login: 'Sign in', signup: 'Create an account', createAccount: 'Create account', logout: 'Sign out' },
  'zh-CN': { email: '邮箱', password: '密码', first: '名字', last: '姓氏', login: '登录', signup: '注册', createAccount: '创建账号', logout: '退出登录' },
};

async function walk(browser: Browser, stack: Stack, locale: Locale, device: Device, wanted: Shot[], n: number): Promise<string[]> {
  const context = await browser.newContext({
    viewport: VIEWPORTS[device],
    deviceScaleFactor: 1,
    locale,
    isMobile: device === 'phone',
    hasTouch: device === 'phone',
  });
  const page = await context.newPage();
  const saved: string[] = [];
  const shoot = async (shot: Shot, p: Page = page) => {
    if (!wanted.includes(shot)) return;
    // Web fonts and CJK fallbacks loaded (evaluated in the page: the scripts compile without DOM types).
    await p.evaluate('document.fonts.ready.then(() => true)');
    // The focused input's ring is part of the design; the blinking caret is not.
    const file = path.join(OUT, `${shot}-${locale}-${device}.png`);
    await p.screenshot({ path: file, fullPage: true, caret: 'hide', animations: 'disabled' });
    saved.push(path.basename(file));
  };
  const L = LABELS[locale];
  const person = PEOPLE[locale];
  const email = `${person.first === 'Ada' ? 'ada' : 'xiaoming'}.${n}@example.com`;

  await page.goto(stack.demoUrl);
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
  await shoot('login');

  await page.getByLabel(L.email).fill(email);
  await page.getByLabel(L.password).fill('not-the-password');
  await page.getByRole('button', { name: L.login, exact: true }).click();
  await page.getByRole('alert').waitFor();
  await shoot('login-error');

  await page.getByRole('link', { name: L.signup }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/signup?**`);
  await shoot('signup');

  await page.getByLabel(L.email).fill(email);
  await page.getByLabel(L.first).fill(person.first);
  await page.getByLabel(L.last).fill(person.last);
  await page.getByLabel(L.password).fill('password123');
  await page.getByRole('button', { name: L.createAccount }).click();
  await page.getByRole('alert').waitFor();
  await shoot('signup-error');

  await page.getByLabel(L.password).fill('violet-harbor-lantern-42');
  await page.getByRole('button', { name: L.createAccount }).click();
  await page.waitForURL(`${stack.demoUrl}/callback`);
  await page.locator('#signed-in').waitFor();
  await shoot('demo-signed-in');

  await page.goto(`${stack.gatehouseUrl}/account`);
  await shoot('account');

  await page.goto(`${stack.gatehouseUrl}/logout?${new URLSearchParams({ redirect_uri: `${stack.demoUrl}/` })}`);
  await shoot('logout-confirm');
  await page.getByRole('button', { name: L.logout }).click();
  await page.waitForURL(`${stack.demoUrl}/`);

  // Signed out already: /logout without an app to return to says so.
  await page.goto(`${stack.gatehouseUrl}/logout`);
  await shoot('signed-out');

  await page.goto(`${stack.gatehouseUrl}/login?${new URLSearchParams({ redirect_uri: 'https://evil.example/cb', state: 'x' })}`);
  await shoot('error-400');

  await context.close();
  return saved;
}

/** A string from locales/<locale>.json by its dotted key, so the walk finds buttons and fields by their real labels. */
const MESSAGES: Record<Locale, Record<string, unknown>> = {
  en: JSON.parse(readFileSync(path.join(ROOT, 'locales', 'en.json'), 'utf8')),
  'zh-CN': JSON.parse(readFileSync(path.join(ROOT, 'locales', 'zh-CN.json'), 'utf8')),
};
function msg(locale: Locale, key: string): string {
  const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], MESSAGES[locale]);
  if (typeof value !== 'string') throw new Error(`no string ${key} in locales/${locale}.json`);
  return value;
}

/** Verification and recovery: check your inbox (code field), the mails, verified, forgot, sent, reset, done. */
async function walkMail(browser: Browser, stack: Stack, smtp: TestSmtp, locale: Locale, device: Device, wanted: MailShot[], n: number): Promise<string[]> {
  const contextOptions = { viewport: VIEWPORTS[device], deviceScaleFactor: 1, locale, isMobile: device === 'phone', hasTouch: device === 'phone' };
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const saved: string[] = [];
  const shoot = async (shot: MailShot, p: Page = page) => {
    if (!wanted.includes(shot)) return;
    await p.evaluate('document.fonts.ready.then(() => true)');
    const file = path.join(OUT, `${shot}-${locale}-${device}.png`);
    await p.screenshot({ path: file, fullPage: true, caret: 'hide', animations: 'disabled' });
    saved.push(path.basename(file));
  };
  /** A mail's HTML part as a mail client shows it, at this width. */
  const shootMail = async (shot: MailShot, html: string) => {
    if (!wanted.includes(shot)) return;
    const viewer = await context.newPage();
    await viewer.setContent(html, { waitUntil: 'load' });
    await shoot(shot, viewer);
    await viewer.close();
  };
  const person = PEOPLE[locale];
  const email = `${person.first === 'Ada' ? 'ada' : 'xiaoming'}.mail${n}@example.com`;
  const mailCount = () => smtp.to(email).length;

  await page.goto(stack.demoUrl);
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/signup?**`);
  await page.getByLabel(msg(locale, 'fields.email')).fill(email);
  await page.getByLabel(msg(locale, 'fields.firstName')).fill(person.first);
  await page.getByLabel(msg(locale, 'fields.lastName')).fill(person.last);
  await page.getByLabel(msg(locale, 'fields.password')).fill('violet-harbor-lantern-42');
  await page.getByRole('button', { name: msg(locale, 'signup.submit') }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/verify-email`);
  const first = await smtp.waitFor(email);
  // The code typed in, as the user sees it before pressing Verify.
  await page.getByLabel(msg(locale, 'fields.code')).fill(first.code ?? '');
  await shoot('verify-email');

  await page.getByLabel(msg(locale, 'fields.code')).fill(first.code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: msg(locale, 'verify.submitCode'), exact: true }).click();
  await page.getByRole('alert').waitFor();
  await shoot('verify-code-error');

  const before = mailCount();
  await page.getByRole('button', { name: msg(locale, 'verify.resend') }).click();
  await page.getByRole('status').waitFor();
  await shoot('verify-resent');
  await smtp.waitFor(email, () => mailCount() > before);
  const latest = smtp.to(email).at(-1)!;
  await shootMail('email-verify', latest.html);

  // The link opened in another browser: verified, and an offer to log in.
  const elsewhere = await browser.newContext(contextOptions);
  const other = await elsewhere.newPage();
  await other.goto(latest.links.find((l) => l.includes('/verify-email?token='))!);
  await shoot('verified', other);
  await elsewhere.close();

  // Forgot the password: from the login page of the demo app.
  await page.goto(stack.demoUrl);
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
  await page.getByRole('link', { name: msg(locale, 'login.forgot') }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/forgot?**`);
  await shoot('forgot');
  await page.getByLabel(msg(locale, 'fields.email')).fill(email);
  const sentBefore = mailCount();
  await page.getByRole('button', { name: msg(locale, 'recovery.submit') }).click();
  await page.getByLabel(msg(locale, 'fields.code')).waitFor();
  await shoot('forgot-sent');
  await smtp.waitFor(email, () => mailCount() > sentBefore);
  const reset = smtp.to(email).at(-1)!;
  await shootMail('email-reset', reset.html);

  await page.goto(reset.links.find((l) => l.includes('/reset-password?token='))!);
  await page.waitForURL(`${stack.gatehouseUrl}/reset-password`);
  await shoot('reset');
  await page.getByLabel(msg(locale, 'fields.newPassword')).fill('password123');
  await page.getByRole('button', { name: msg(locale, 'recovery.resetSubmit') }).click();
  await page.getByRole('alert').waitFor();
  await shoot('reset-error');
  await page.getByLabel(msg(locale, 'fields.newPassword')).fill('copper-meadow-violin-73');
  await page.getByRole('button', { name: msg(locale, 'recovery.resetSubmit') }).click();
  await page.getByRole('heading', { name: msg(locale, 'recovery.doneHeading') }).waitFor();
  await shoot('reset-done');

  await context.close();
  return saved;
}

if (!hasChromium()) {
  console.error('Chromium is not installed at /usr/bin/chromium: apt-get install -y chromium');
  process.exit(1);
}

mkdirSync(OUT, { recursive: true });
for (const old of readdirSync(OUT)) if (old.endsWith('.png')) rmSync(path.join(OUT, old));

const stack = await startStack();
const smtp = await startSmtp();
const mailStack = await startStack({ smtpUrl: smtp.url, realm: { emailVerification: { policy: 'required' } } });
const browser = await launchChromium();
try {
  let n = 0;
  for (const { locale, device, shots, mail } of PLAN) {
    const saved = [
      ...(await walk(browser, stack, locale, device, shots, ++n)),
      ...(await walkMail(browser, mailStack, smtp, locale, device, mail, n)),
    ];
    for (const file of saved) console.log(`  docs/screenshots/${file}`);
  }
} finally {
  await browser.close();
  await mailStack.stop();
  await stack.stop();
  await smtp.close();
}

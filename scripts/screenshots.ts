/**
 * `npx tsx scripts/screenshots.ts`: starts Gatehouse and the demo app on
 * loopback, walks the hosted pages in Debian's Chromium and saves PNGs to
 * docs/screenshots/ (desktop 1280×800 and phone 390×844, English and
 * Simplified Chinese). Run it after changing views/ or public/css/.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { hasChromium, launchChromium, startStack, type Stack } from '../test/helpers/stack.ts';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');

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

const ALL: Shot[] = ['login', 'login-error', 'signup', 'signup-error', 'demo-signed-in', 'account', 'logout-confirm', 'signed-out', 'error-400'];

/** Which pages to keep for each language and width: everything once, the rest where it shows something new. */
const PLAN: Array<{ locale: Locale; device: Device; shots: Shot[] }> = [
  { locale: 'en', device: 'desktop', shots: ALL },
  { locale: 'en', device: 'phone', shots: ['login', 'signup-error', 'account'] },
  { locale: 'zh-CN', device: 'desktop', shots: ['login', 'signup-error'] },
  { locale: 'zh-CN', device: 'phone', shots: ['signup'] },
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

if (!hasChromium()) {
  console.error('Chromium is not installed at /usr/bin/chromium: apt-get install -y chromium');
  process.exit(1);
}

mkdirSync(OUT, { recursive: true });
for (const old of readdirSync(OUT)) if (old.endsWith('.png')) rmSync(path.join(OUT, old));

const stack = await startStack();
const browser = await launchChromium();
try {
  let n = 0;
  for (const { locale, device, shots } of PLAN) {
    const saved = await walk(browser, stack, locale, device, shots, ++n);
    for (const file of saved) console.log(`  docs/screenshots/${file}`);
  }
} finally {
  await browser.close();
  await stack.stop();
}

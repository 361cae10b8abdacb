/**
 * `npx tsx scripts/shoot-social.ts [--docs]`: the social-login pages in
 * Chromium, against the loopback GitHub/Google of test/helpers/providers.ts,
 * at desktop (1280 wide) and phone (390 wide) sizes, in English and Chinese:
 * the sign-in page with provider buttons, the completion page, the address
 * code, "you already have an account", a cancelled sign-in, and connected accounts. To
 * /tmp/gatehouse-shots/ (or docs/screenshots/social-*.png with --docs).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startFakeOAuth, type FakeOAuth } from '../test/helpers/providers.ts';
import { launchChromium, startStack, type RealmSettings, type Stack } from '../test/helpers/stack.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = process.argv.includes('--docs') ? path.join(ROOT, 'docs', 'screenshots') : '/tmp/gatehouse-shots';
mkdirSync(OUT, { recursive: true });

const DEVICES = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } } as const;
const CLIENT = { clientId: 'gatehouse-shots', clientSecret: 'shots-client-secret' };
const PASSWORD = 'violet-harbor-lantern-42';

function providers(fake: FakeOAuth): RealmSettings['social'] {
  const common = { clientId: CLIENT.clientId, secretEnv: 'SHOTS_SOCIAL_SECRET', enabled: true };
  return {
    providers: [
      { ...common, id: 'github', type: 'github', scopes: ['read:user', 'user:email'], endpoints: { authorization: fake.github.authorizationURL, token: fake.github.tokenURL, user: fake.github.userProfileURL, emails: fake.github.userEmailURL } },
      { ...common, id: 'google', type: 'google', scopes: ['openid', 'email', 'profile'], endpoints: { authorization: fake.google.authorizationURL, token: fake.google.tokenURL, userinfo: fake.google.userProfileURL } },
    ],
  };
}

async function shoot(page: Page, name: string, device: string, lang: string): Promise<void> {
  const file = path.join(OUT, `social-${name}-${lang}-${device}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(path.relative(ROOT, file));
}

let n = 0;
async function walk(browser: Browser, fake: FakeOAuth, stack: Stack, separate: Stack, device: keyof typeof DEVICES, lang: string): Promise<void> {
  n += 1;
  const context = await browser.newContext({ viewport: DEVICES[device], locale: lang === 'zh-CN' ? 'zh-CN' : 'en-US' });
  const page = await context.newPage();
  const go = (base: string, p: string) => page.goto(`${base}${p}${p.includes('?') ? '&' : '?'}lang=${lang}`);
  const email = `mona.${n}@example.com`;

  await go(stack.gatehouseUrl, `/login?redirect_uri=${encodeURIComponent(`${stack.demoUrl}/callback`)}&client_id=demo`);
  await shoot(page, 'login', device, lang);

  // A cancelled consent at the provider.
  fake.setAccount('github', { id: `${100 + n}`, login: `mona${n}`, name: 'Mona Lisa Octocat', emails: [{ email, primary: true, verified: true }] });
  fake.failNext('github', 'cancel');
  await go(stack.gatehouseUrl, '/login');
  await page.locator('button[data-provider="github"]').click();
  await page.waitForURL(`${stack.gatehouseUrl}/social/github/callback**`);
  await shoot(page, 'cancelled', device, lang);

  // Signed up through GitHub, then Google linked: connected accounts with two identities.
  await go(stack.gatehouseUrl, '/login');
  await page.locator('button[data-provider="github"]').click();
  await page.waitForURL(`${stack.gatehouseUrl}/account`);
  fake.setAccount('google', { id: `g-${n}`, name: 'Mona Lisa', givenName: 'Mona', familyName: 'Lisa', emails: [{ email: `mona.lisa.${n}@gmail.example`, primary: true, verified: true }] });
  await go(stack.gatehouseUrl, '/account/connected');
  await page.locator('button[data-provider="google"]').click();
  await page.waitForURL(`${stack.gatehouseUrl}/account/connected`);
  await shoot(page, 'connected', device, lang);
  await context.clearCookies();

  // An address GitHub did not verify: a code to it first.
  fake.setAccount('github', { id: `${700 + n}`, login: `lin${n}`, name: 'Lin Wei', emails: [{ email: `lin.${n}@example.com`, primary: true, verified: false }] });
  await go(stack.gatehouseUrl, '/login');
  await page.locator('button[data-provider="github"]').click();
  await page.waitForURL(`${stack.gatehouseUrl}/social/confirm`);
  await go(stack.gatehouseUrl, '/social/confirm');
  await shoot(page, 'confirm', device, lang);
  await context.clearCookies();

  // An account with a password has the address (this realm does not link by email): prove it.
  const local = `ada.${n}@example.com`;
  await go(stack.gatehouseUrl, '/signup');
  await page.locator('input[name="email"]').fill(local);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('input[name="password"]').press('Enter');
  await page.waitForURL(`${stack.gatehouseUrl}/account`);
  await context.clearCookies();
  fake.setAccount('github', { id: `${500 + n}`, login: `ada${n}`, name: 'Ada Lovelace', emails: [{ email: local, primary: true, verified: true }] });
  await go(stack.gatehouseUrl, '/login');
  await page.locator('button[data-provider="github"]').click();
  await page.waitForURL(`${stack.gatehouseUrl}/social/link`);
  await go(stack.gatehouseUrl, '/social/link');
  await shoot(page, 'prove', device, lang);
  await context.clearCookies();

  // A realm with separate usernames: the completion page asks for one (suggested from the GitHub login).
  fake.setAccount('github', { id: `${900 + n}`, login: `grace${n}`, name: 'Grace Hopper', emails: [{ email: `grace.${n}@example.com`, primary: true, verified: true }] });
  await go(separate.gatehouseUrl, '/login');
  await page.locator('button[data-provider="github"]').click();
  await page.waitForURL(`${separate.gatehouseUrl}/social/complete`);
  await go(separate.gatehouseUrl, '/social/complete');
  await shoot(page, 'complete', device, lang);
  await context.close();
}

const fake = await startFakeOAuth(CLIENT);
const env = { SHOTS_SOCIAL_SECRET: CLIENT.clientSecret };
const stack = await startStack({ realm: { social: { ...providers(fake), linkByEmail: false } }, env });
const separate = await startStack({ realm: { social: providers(fake), fields: { usernames: 'separate' } }, env });
const browser = await launchChromium();
try {
  for (const lang of ['en', 'zh-CN']) {
    for (const device of Object.keys(DEVICES) as (keyof typeof DEVICES)[]) await walk(browser, fake, stack, separate, device, lang);
  }
} finally {
  await browser.close();
  await Promise.all([stack.stop(), separate.stop(), fake.close()]);
}

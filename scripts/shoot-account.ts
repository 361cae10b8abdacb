/**
 * `npx tsx scripts/shoot-account.ts [--docs] [path ...]`: signs a user up in
 * Chromium and screenshots personal-center pages at desktop (1280 wide) and
 * phone (390 wide) sizes, in English and Chinese.
 *
 * - With paths: just those pages, to /tmp/gatehouse-shots/ (a quick look while working on views).
 * - With --docs: every page of the menu plus the states between them (two-factor setup, recovery
 *   codes, the sign-in code step, confirm-it's-you, the email and phone code pages), to
 *   docs/screenshots/account-*.png. Run it after changing views/account or the CSS.
 * - With --orgs (and --docs or not): only the organizations pages (the list, the invite form, "Leave …?").
 *
 * Every new account is a member of two orgs (one where it may invite: the realm's invitations.memberPermission).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { ACCOUNT_NAV } from '../src/http/account.ts';
import { CLI_CONTEXT } from '../src/services/context.ts';
import { launchChromium, startStack, type Stack } from '../test/helpers/stack.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const docs = args.includes('--docs');
const orgsOnly = args.includes('--orgs');
const paths = args.filter((a) => !a.startsWith('--'));
const OUT = docs ? path.join(ROOT, 'docs', 'screenshots') : '/tmp/gatehouse-shots';
mkdirSync(OUT, { recursive: true });

const DEVICES = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } } as const;
const PASSWORD = 'violet-harbor-lantern-42';

async function shoot(page: Page, name: string, device: string, lang: string): Promise<void> {
  const file = path.join(OUT, `${name}-${lang}-${device}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(path.relative(ROOT, file));
}

/** A new account, signed in, in a fresh browser of `device` size. */
async function signedIn(stack: Stack, device: keyof typeof DEVICES, email: string) {
  const context = await browserInstance.newContext({ viewport: DEVICES[device], locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${stack.gatehouseUrl}/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${stack.gatehouseUrl}/account`);
  await joinOrgs(stack, email);
  return { context, page };
}

/** Two orgs for the pictures, made once: the user may invite to the first. */
const ORGS = [
  { name: 'Acme Corp', permissions: ['members:invite', 'billing:read', 'reports:*'] },
  { name: 'Northwind Labs', permissions: ['docs:read'] },
];
const orgIds: string[] = [];
async function joinOrgs(stack: Stack, email: string): Promise<void> {
  const gh = stack.gatehouse.gatehouse;
  const realm = gh.realms.byIdOrNull('main')!;
  if (orgIds.length === 0) for (const o of ORGS) orgIds.push((await gh.management!.orgs.create(realm, { name: o.name }, CLI_CONTEXT)).id);
  const [user] = (await gh.management!.users.list(realm, { q: email }, { key: 'createdAt', direction: 'desc' } as never, null, 1)).users;
  for (const [i, o] of ORGS.entries()) await gh.management!.memberships.create(realm, { userId: user!.id, orgId: orgIds[i]!, permissions: o.permissions }, CLI_CONTEXT);
}

/** The organizations pages: the list, the invite form (a permission checked), "Leave …?". */
async function shootOrgs(page: Page, go: (p: string) => Promise<unknown>, device: string, lang: string): Promise<void> {
  await go('/account/orgs');
  await shoot(page, 'account-orgs', device, lang);
  await go(`/account/orgs/${orgIds[0]}/invitations`);
  await page.locator('input[name="permissions"][value="billing:read"]').check();
  await shoot(page, 'account-orgs-invite', device, lang);
  await go(`/account/orgs/${orgIds[1]}/leave`);
  await shoot(page, 'account-orgs-leave', device, lang);
}

/** Every state worth a picture, in `lang`: the menu's pages, then the flows' steps. */
async function walkDocs(stack: Stack, device: keyof typeof DEVICES, lang: string, n: number): Promise<void> {
  const email = `ada.${device}.${lang.toLowerCase()}.${n}@example.com`;
  const { context, page } = await signedIn(stack, device, email);
  const go = (p: string) => page.goto(`${stack.gatehouseUrl}${p}${p.includes('?') ? '&' : '?'}lang=${lang}`);
  // A little history and a second device first, so those pages have something to show.
  const other = await browserInstance.newContext({ viewport: DEVICES.phone, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' });
  const phonePage = await other.newPage();
  await phonePage.goto(`${stack.gatehouseUrl}/login`);
  await phonePage.getByLabel('Email').fill(email);
  await phonePage.getByLabel('Password').fill('wrong-password-1');
  await phonePage.getByRole('button', { name: 'Sign in' }).click();
  await phonePage.getByLabel('Password').fill(PASSWORD);
  await phonePage.getByRole('button', { name: 'Sign in' }).click();
  await phonePage.waitForURL(`${stack.gatehouseUrl}/account`);

  for (const item of ACCOUNT_NAV) {
    await go(item.href);
    await shoot(page, item.href === '/account' ? 'account' : `account-${item.href.split('/')[2]}`, device, lang);
  }
  await shootOrgs(page, go, device, lang);
  // Email: a change waiting for its code.
  await go('/account/email');
  await page.locator('input[name="email"]').fill(`ada.new.${n}@example.com`);
  await page.locator('input[name="email"]').press('Enter');
  await page.waitForURL(`${stack.gatehouseUrl}/account/email/verify**`);
  await shoot(page, 'account-email-verify', device, lang);
  // Phone: a code sent (development outbox).
  await go('/account/phone');
  await page.locator('input[name="phone"]').fill('+1 415 555 0100');
  await page.locator('input[name="phone"]').press('Enter');
  await page.waitForURL(`${stack.gatehouseUrl}/account/phone/verify**`);
  await shoot(page, 'account-phone-verify', device, lang);
  // Two-factor: setup, the recovery codes, the page once it is on.
  await go('/account/mfa');
  await page.locator('form[action="/account/mfa/enrol"] button').click();
  await page.waitForSelector('.mfa-secret code');
  await shoot(page, 'account-mfa-setup', device, lang);
  const secret = ((await page.locator('.mfa-secret code').textContent()) ?? '').replace(/\s+/g, '');
  await page.locator('input[name="code"]').fill(await generate({ secret }));
  await page.locator('input[name="code"]').press('Enter');
  await page.waitForSelector('.recovery-codes');
  await shoot(page, 'account-mfa-codes', device, lang);
  await page.locator('.recovery-done button').click();
  await page.waitForURL(`${stack.gatehouseUrl}/account/mfa**`);
  await shoot(page, 'account-mfa-on', device, lang);
  // Confirm it's you (with the code field, now that two-factor is on).
  await go('/account/reauth?next=%2Faccount%2Fpassword');
  await shoot(page, 'account-reauth', device, lang);
  // The sign-in code step.
  await go('/account');
  await page.locator('.brand-user button').click();
  await page.waitForURL(`${stack.gatehouseUrl}/logout**`);
  await go('/login');
  await page.locator('input[name="identifier"]').fill(email);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('input[name="password"]').press('Enter');
  await page.waitForURL(`${stack.gatehouseUrl}/login/mfa**`);
  await shoot(page, 'login-mfa', device, lang);
  await other.close();
  await context.close();
}

const stack = await startStack({ nodeEnv: 'development', realm: { invitations: { memberPermission: 'members:invite' } } as never });
const browserInstance = await launchChromium();
try {
  if (orgsOnly) {
    let n = 0;
    for (const device of ['desktop', 'phone'] as const) {
      for (const lang of ['en', 'zh-CN']) {
        const { context, page } = await signedIn(stack, device, `orgs.${device}.${lang.toLowerCase()}.${n++}@example.com`);
        await shootOrgs(page, (p) => page.goto(`${stack.gatehouseUrl}${p}${p.includes('?') ? '&' : '?'}lang=${lang}`), device, lang);
        await context.close();
      }
    }
  } else if (docs) {
    let n = 0;
    for (const device of ['desktop', 'phone'] as const) for (const lang of ['en', 'zh-CN']) await walkDocs(stack, device, lang, n++);
  } else {
    for (const device of ['desktop', 'phone'] as const) {
      const { context, page } = await signedIn(stack, device, `shot-${device}@example.com`);
      for (const lang of ['en', 'zh-CN']) {
        for (const p of paths.length ? paths : ACCOUNT_NAV.map((i) => i.href)) {
          await page.goto(`${stack.gatehouseUrl}${p}${p.includes('?') ? '&' : '?'}lang=${lang}`);
          await shoot(page, p.replace(/^\//, '').replace(/[/?=&%]/g, '-'), device, lang);
        }
      }
      await context.close();
    }
  }
} finally {
  await browserInstance.close();
  await stack.stop();
}

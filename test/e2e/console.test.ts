/**
 * The operator console in a real browser (Debian's Chromium), English on a desktop and Simplified Chinese on a
 * phone: an operator's setup link → password → the authenticator the console realm requires → the console;
 * the users list filtered (the Filter button pressed and highlighted), sorted by a header and reversed by a
 * second click, paged. No CSP violation on any page.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { operatorFirstSignIn } from '../helpers/console-login.ts';
import { partAvailable } from '../helpers/parts.ts';
import { CHROMIUM_PATH, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

const VIEWS = [
  { name: 'en, desktop', locale: 'en-US', lang: 'en', viewport: { width: 1280, height: 860 }, isMobile: false },
  { name: 'zh-CN, phone', locale: 'zh-CN', lang: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

describe.skipIf(!has)('operator console journeys in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const tag = Math.random().toString(36).slice(2, 7);
  const emails = Array.from({ length: 60 }, (_, i) => `${tag}-${String(i).padStart(2, '0')}@example.com`);

  beforeAll(async () => {
    stack = await startStack({ console: true });
    browser = await launchChromium();
    const main = stack.gatehouse.gatehouse.realms.byIdOrNull('main')!;
    const users = stack.gatehouse.gatehouse.management!.users;
    for (const [i, email] of emails.entries()) {
      await users.create(main, { userType: 'human', email, firstName: `F${i}`, lastName: `L${i}`, state: i % 4 === 0 ? 'inactive' : 'active', emailVerification: 'verified' }, CLI_CONTEXT);
    }
  }, 60_000);
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  for (const view of VIEWS) {
    it(`${view.name}: setup link → authenticator → users list, filter, sort twice, next page`, async () => {
      const context = await browser.newContext({ locale: view.locale, viewport: view.viewport, isMobile: view.isMobile, hasTouch: view.isMobile });
      contexts.push(context);
      const page: Page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const csp = watchCsp(page);
      const t = view.lang === 'en'
        ? { apply: 'Apply', email: 'Email' }
        : { apply: '应用', email: '邮箱' };

      const email = `operator-${view.lang}-${tag}@example.com`;
      const { setupLink } = await stack.gatehouse.gatehouse.management!.operators.create({ email, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
      await operatorFirstSignIn(page, setupLink, email, view.lang, stack.consoleUrl!);
      await expect.poll(() => page.locator('h1').textContent()).toBeTruthy();

      // The users list of the main realm.
      await page.goto(`${stack.consoleUrl}/admin/realms/main/users`);
      const usernames = () => page.locator('tbody tr td:nth-child(2) a').allTextContents();
      expect(await usernames()).toHaveLength(50);
      const filter = page.locator('summary.button');
      expect(await filter.getAttribute('aria-pressed')).toBe('false');
      await filter.click();
      await page.locator('#state').selectOption('inactive');
      await page.getByRole('button', { name: t.apply }).click();
      await page.waitForURL('**/users?*state=inactive*');
      expect(await page.locator('summary.button').getAttribute('aria-pressed')).toBe('true');
      // Highlighted green (the seed's words): the button's computed colour.
      expect(await page.evaluate("getComputedStyle(document.querySelector('summary.button')).backgroundColor")).toBe('rgb(6, 118, 71)');
      const inactive = emails.filter((_, i) => i % 4 === 0);
      expect((await usernames()).sort()).toEqual([...inactive].sort());

      // Sort by email; a second click on the same header reverses it.
      await page.locator('th a.sort-link', { hasText: t.email }).click();
      await page.waitForURL('**sort=email&direction=asc*');
      expect(await usernames()).toEqual([...inactive].sort());
      await page.locator('th a.sort-link', { hasText: t.email }).click();
      await page.waitForURL('**sort=email&direction=desc*');
      expect(await usernames()).toEqual([...inactive].sort().reverse());

      // Paging: 60 users, 50 a page; the keyboard reaches the next-page link.
      await page.goto(`${stack.consoleUrl}/admin/realms/main/users?sort=email&direction=asc`);
      const first = await usernames();
      await page.locator('a[rel="next"]').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL('**after=*');
      const second = await usernames();
      expect(second).toHaveLength(10);
      expect([...first, ...second].filter((u) => u.startsWith(tag))).toEqual([...emails].sort());
      expect(csp).toEqual([]);
    }, 60_000);
  }
});

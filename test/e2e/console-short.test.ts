/**
 * The operator console in a real browser (Debian's Chromium), in the two views console.test.ts and
 * console-operations.test.ts leave out: Simplified Chinese on a desktop and English on a phone, each a short
 * journey — setup link → authenticator → users list narrowed by a search → a user's page (first name changed,
 * saved, the flash shown once, the service has it) → "Sign in as this user" with a reason → the impersonation
 * banner in the personal center. Then the operators pages: an owner of '*' invites an admin (en, desktop) whose
 * setup link is opened in a second browser; their role is lowered and then removed while they click around, each
 * change biting on their next request; and a new realm made on /admin/realms/new (zh-CN, phone), its id refused
 * at the field first. Strings come from the locale files; outcomes are read from Gatehouse's services; no CSP
 * violation on any page.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { operatorFirstSignIn } from '../helpers/console-login.ts';
import { GOOD_PASSWORD } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { CHROMIUM_PATH, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';
import { tr } from '../helpers/locale-strings.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
/** The two views the other console journeys do not run. */
const VIEWS = [
  { name: 'zh-CN, desktop', locale: 'zh-CN', lang: 'zh-CN', viewport: DESKTOP, isMobile: false },
  { name: 'en, phone', locale: 'en-US', lang: 'en', viewport: PHONE, isMobile: true },
] as const;
const EN_DESKTOP = { name: 'en, desktop', locale: 'en-US', lang: 'en', viewport: DESKTOP, isMobile: false } as const;
const ZH_PHONE = { name: 'zh-CN, phone', locale: 'zh-CN', lang: 'zh-CN', viewport: PHONE, isMobile: true } as const;
type View = (typeof VIEWS)[number] | typeof EN_DESKTOP | typeof ZH_PHONE;

const pathOf = (page: Page) => new URL(page.url()).pathname;

describe.skipIf(!has)('operator console, the short journeys and the operators pages, in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let managementKey: string;
  const contexts: BrowserContext[] = [];
  const pagesCsp: string[][] = [];
  const allCsp = () => pagesCsp.flat();

  beforeAll(async () => {
    stack = await startStack({ console: true });
    browser = await launchChromium();
    ({ secret: managementKey } = await stack.gatehouse.gatehouse.management!.keys.create({ realmId: null, access: 'write', name: 'e2e console short' }, CLI_CONTEXT));
  }, 60_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
  });

  const mainRealm = () => stack.gatehouse.gatehouse.realms.byIdOrNull('main')!;
  const users = () => stack.gatehouse.gatehouse.management!.users;
  const operators = () => stack.gatehouse.gatehouse.management!.operators;
  const port = () => new URL(stack.gatehouseUrl).port;

  const newPage = async (view: View) => {
    const c = await browser.newContext({ locale: view.locale, viewport: view.viewport, isMobile: view.isMobile, hasTouch: view.isMobile });
    contexts.push(c);
    const p = await c.newPage();
    p.setDefaultTimeout(10_000);
    pagesCsp.push(watchCsp(p));
    return p;
  };

  /** Clicks `target` and returns the answer of the page it navigates to. */
  const clickFor = async (page: Page, target: ReturnType<Page['locator']>): Promise<Response> => {
    const [answer] = await Promise.all([page.waitForNavigation(), target.click()]);
    return answer!;
  };

  /** The page's document width does not exceed the viewport (no sideways scrolling on a phone). */
  const noOverflow = async (page: Page) => expect(await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);

  for (const view of VIEWS) {
    it(`${view.name}: setup link → authenticator → search → user page saved → sign in as the user, banner in ${view.lang}`, async () => {
      const lang = view.lang;
      const t = (key: string, params?: Record<string, string | number>) => tr(lang, key, params);
      const tag = `${lang === 'en' ? 'en' : 'zh'}${Math.random().toString(36).slice(2, 7)}`;
      const page = await newPage(view);

      // Users of the main realm: three of this view's, among others the search must leave out.
      const mine = [];
      for (let i = 0; i < 3; i++) {
        mine.push((await users().create(mainRealm(), { userType: 'human', email: `${tag}-u${i}@example.com`, firstName: `Before${i}`, lastName: 'Short', emailVerification: 'verified', password: GOOD_PASSWORD }, CLI_CONTEXT)).user);
      }
      for (let i = 0; i < 4; i++) await users().create(mainRealm(), { userType: 'human', email: `other-${tag}-${i}@example.com`, emailVerification: 'verified' }, CLI_CONTEXT);

      // An admin of the main realm, from the setup link through the authenticator to the console.
      const opEmail = `operator-${tag}@example.com`;
      const { setupLink } = await operators().create({ email: opEmail, grants: [{ realmId: 'main', role: 'admin' }] }, CLI_CONTEXT);
      await operatorFirstSignIn(page, setupLink, opEmail, lang, stack.consoleUrl!);
      expect(await page.locator('h1').textContent()).toBe(t('console.home.title'));
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      expect(await page.locator('.realm-card-name').allTextContents()).toEqual([mainRealm().name]);

      // The users list, narrowed by a search.
      await page.goto(`${stack.consoleUrl}/admin/realms/main/users`);
      const usernames = () => page.locator('tbody tr td:nth-child(2) a').allTextContents();
      expect((await usernames()).length).toBeGreaterThan(3);
      await page.locator('#q').fill(`${tag}-u`);
      await page.getByRole('button', { name: t('console.users.searchButton') }).click();
      await page.waitForURL(`**/admin/realms/main/users?*q=${tag}-u*`);
      expect((await usernames()).sort()).toEqual(mine.map((u) => u.username).sort());
      if (view.isMobile) await noOverflow(page);

      // A user's page: the fields as stored; the first name changed and saved.
      const user = mine[1]!;
      const path = `/admin/realms/main/users/${encodeURIComponent(user.id)}`;
      await page.locator('tbody tr td:nth-child(2) a', { hasText: user.username }).click();
      await page.waitForURL(`**${path}`);
      expect(await page.locator('#firstName').inputValue()).toBe('Before1');
      expect(await page.locator('#lastName').inputValue()).toBe('Short');
      expect(await page.locator('#email').inputValue()).toBe(user.email);
      expect(await page.locator('label[for="firstName"]').textContent()).toContain(t('console.userPage.firstName'));
      await page.locator('#firstName').fill(`After ${tag}`);
      await page.getByRole('button', { name: t('console.userPage.save') }).click();
      await page.waitForURL(`**${path}`);
      expect(await page.locator('.alert-ok').allTextContents()).toEqual([expect.stringContaining(t('console.userPage.saved'))]);
      expect(await page.locator('#firstName').inputValue()).toBe(`After ${tag}`);
      expect((await users().get(mainRealm(), user.id)).firstName).toBe(`After ${tag}`);
      // The flash is said once: the same page loaded again has none.
      await page.reload();
      expect(await page.locator('.alert-ok').count()).toBe(0);
      expect(await page.locator('#firstName').inputValue()).toBe(`After ${tag}`);

      // "Sign in as this user", with a reason: the personal center on the main realm's host, the banner in this language.
      const reason = `${tag}: ${lang === 'en' ? 'checking the profile' : '检查个人资料'}`;
      await page.getByRole('link', { name: t('console.userPage.impersonate') }).click();
      await page.waitForURL(`**${path}/impersonate`);
      await page.locator('#reason').fill(reason);
      await page.getByRole('button', { name: t('console.userPage.impersonateSubmit') }).click();
      await page.waitForURL(`${stack.gatehouseUrl}/impersonate`);
      const name = `After ${tag} Short`;
      expect(await page.locator('h1').textContent()).toBe(t('impersonation.heading', { name }));
      await page.getByRole('button', { name: t('impersonation.continue', { name }) }).click();
      await page.waitForURL(`${stack.gatehouseUrl}/account`);
      const banner = page.locator('.impersonation-banner');
      expect(await banner.textContent()).toContain(t('impersonation.banner.by', { operator: opEmail }));
      expect(await banner.textContent()).toContain(t('impersonation.banner.reason', { reason }));
      expect(await banner.getByRole('button', { name: t('impersonation.banner.end') }).count()).toBe(1);
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      // The personal center is the user's: their new first name.
      expect(await page.content()).toContain(`After ${tag}`);
      if (view.isMobile) await noOverflow(page);
      expect(allCsp()).toEqual([]);
    }, 90_000);
  }

  it(`${EN_DESKTOP.name}: an owner of '*' invites an admin, lowers them to viewer, then removes them; each bites at their next click`, async () => {
    const t = (key: string, params?: Record<string, string | number>) => tr('en', key, params);
    const tag = `inv${Math.random().toString(36).slice(2, 7)}`;
    // A realm the invited operator gets no role on.
    const elsewhere = `else-${tag}`;
    const made = await fetch(`${stack.gatehouseUrl}/api/v1/realms`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${managementKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: elsewhere, name: `Elsewhere ${tag}`, publicUrl: `http://${elsewhere}.localhost:${port()}` }),
    });
    expect(made.status).toBe(201);

    const owner = await newPage(EN_DESKTOP);
    const ownerEmail = `owner-${tag}@example.com`;
    const { setupLink: ownerLink } = await operators().create({ email: ownerEmail, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
    await operatorFirstSignIn(owner, ownerLink, ownerEmail, 'en', stack.consoleUrl!);

    // The realm's Operators page → Invite: an admin.
    const ops = `/admin/realms/main/operators`;
    await owner.goto(`${stack.consoleUrl}${ops}`);
    expect(await owner.locator('h1').textContent()).toBe(t('console.operators.title'));
    await owner.getByRole('link', { name: t('console.operators.invite') }).click();
    await owner.waitForURL(`**${ops}/new`);
    const invitedEmail = `invited-${tag}@example.com`;
    await owner.getByLabel(t('console.operators.field.email')).fill(invitedEmail);
    await owner.getByRole('radio', { name: t('console.roles.admin') }).check();
    const invited = await clickFor(owner, owner.getByRole('button', { name: t('console.operators.inviteSubmit') }));
    expect(invited.status()).toBe(201);
    expect(await owner.locator('h1').textContent()).toBe(t('console.operators.linkTitle'));
    expect(await owner.locator('p.lead').textContent()).toBe(t('console.operators.linkLeadNew', { email: invitedEmail, role: t('console.roles.admin') }));
    const link = await owner.getByLabel(t('console.operators.linkLabel')).inputValue();
    expect(link.startsWith(`${stack.consoleUrl}/`)).toBe(true);
    const invitedOp = await operators().byEmail(invitedEmail);
    expect(await operators().grantsOf(invitedOp.id)).toEqual([expect.objectContaining({ realmId: 'main', role: 'admin' })]);

    // Shown once: the list and the operator's page never show it again.
    await owner.getByRole('link', { name: t('console.operators.back') }).click();
    await owner.waitForURL(`**${ops}`);
    const row = owner.locator('tr', { hasText: invitedEmail });
    expect(await row.locator('td').nth(1).textContent()).toBe(t('console.roles.admin'));
    await row.getByRole('link', { name: t('console.operators.manageNamed', { email: invitedEmail }) }).click();
    await owner.waitForURL(`**${ops}/${encodeURIComponent(invitedOp.id)}`);
    expect(await owner.locator('.badge-warn').textContent()).toBe(t('console.operators.pending'));
    expect(await owner.content()).not.toContain(new URL(link).search.slice(1));

    // The invited person, in a browser of their own: password, authenticator, the console with that realm only.
    const them = await newPage(EN_DESKTOP);
    await operatorFirstSignIn(them, link, invitedEmail, 'en', stack.consoleUrl!);
    expect(await them.locator('h1').textContent()).toBe(t('console.home.title'));
    expect(await them.locator('.realm-card-name').allTextContents()).toEqual([mainRealm().name]);
    expect(await them.locator('.realm-card .badge').allTextContents()).toEqual([t('console.roles.admin')]);
    const other = await them.goto(`${stack.consoleUrl}/admin/realms/${elsewhere}/users`);
    expect(other!.status()).toBe(404);
    expect(await them.locator('h1').textContent()).toBe(t('console.errors.notFoundTitle'));
    // Operators is for owners: an admin of the realm is refused.
    expect((await them.goto(`${stack.consoleUrl}${ops}`))!.status()).toBe(403);
    // As an admin they see the users list with its Add human button.
    await them.goto(`${stack.consoleUrl}/admin/realms/main/users`);
    const addHuman = them.getByRole('link', { name: t('console.users.addHuman') });
    expect(await addHuman.count()).toBe(1);

    // The owner lowers them to viewer on their page.
    await owner.reload();
    expect(await owner.locator('.badge-warn').count()).toBe(0); // a password is chosen now
    await owner.getByRole('radio', { name: t('console.roles.viewer') }).check();
    await owner.getByRole('button', { name: t('console.operators.saveRole') }).click();
    await owner.waitForURL(`**${ops}/${encodeURIComponent(invitedOp.id)}`);
    expect(await owner.locator('.alert-ok').textContent()).toContain(t('console.operators.roleChanged', { email: invitedEmail, role: t('console.roles.viewer') }));
    expect(await operators().grantsOf(invitedOp.id)).toEqual([expect.objectContaining({ realmId: 'main', role: 'viewer' })]);

    // Their next click on a write, on the page loaded while they were an admin: refused.
    const refused = await clickFor(them, addHuman);
    expect(refused.status()).toBe(403);
    expect(pathOf(them)).toBe('/admin/realms/main/users/new');
    expect(await them.locator('h1').textContent()).toBe(t('console.errors.forbiddenTitle'));
    await them.goto(`${stack.consoleUrl}/admin/realms/main/users`);
    expect(await them.getByRole('link', { name: t('console.users.addHuman') }).count()).toBe(0);
    expect(await them.locator('tbody tr').count()).toBeGreaterThan(0);

    // The owner removes them from the realm, after a confirmation page.
    await owner.getByRole('link', { name: t('console.operators.revokeEllipsis') }).click();
    await owner.waitForURL(`**${ops}/${encodeURIComponent(invitedOp.id)}/revoke`);
    expect(await owner.locator('h1').textContent()).toBe(t('console.operators.revokeTitle', { email: invitedEmail }));
    expect(await operators().grantsOf(invitedOp.id)).toHaveLength(1);
    await owner.getByRole('button', { name: t('console.operators.revoke'), exact: true }).click();
    await owner.waitForURL(`**${ops}`);
    expect(await owner.locator('.alert-ok').textContent()).toContain(t('console.operators.revoked', { email: invitedEmail, realm: mainRealm().name }));
    expect(await owner.locator('tr', { hasText: invitedEmail }).count()).toBe(0);
    expect(await operators().grantsOf(invitedOp.id)).toEqual([]);

    // Their next page load: no console access (the console sends them to sign in; the hosted login's session
    // answers at once, and the callback finds no role).
    const noAccess = async (load: () => Promise<unknown>) => {
      const callback = them.waitForResponse((r) => r.url() === `${stack.consoleUrl}/admin/callback` && r.request().method() === 'POST');
      await load();
      expect((await callback).status()).toBe(403);
      await them.waitForURL(`${stack.consoleUrl}/admin/callback`);
      expect(await them.locator('h1').textContent()).toBe(t('console.signIn.noAccessTitle'));
      expect(await them.locator('p.lead').textContent()).toBe(t('console.signIn.noAccess'));
      expect(await them.locator('tbody tr').count()).toBe(0);
    };
    await noAccess(() => them.reload());
    await noAccess(() => them.goto(`${stack.consoleUrl}/admin/realms/main/users`));
    expect(allCsp()).toEqual([]);
  }, 120_000);

  it(`${ZH_PHONE.name}: an owner of '*' makes a new realm (its id refused at the field first); the Operators page fits the phone`, async () => {
    const t = (key: string, params?: Record<string, string | number>) => tr('zh-CN', key, params);
    const tag = `nr${Math.random().toString(36).slice(2, 7)}`;
    const page = await newPage(ZH_PHONE);
    const email = `owner-${tag}@example.com`;
    const { setupLink } = await operators().create({ email, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
    await operatorFirstSignIn(page, setupLink, email, 'zh-CN', stack.consoleUrl!);

    await page.getByRole('link', { name: t('console.home.newRealm') }).click();
    await page.waitForURL('**/admin/realms/new');
    expect(await page.locator('h1').textContent()).toBe(t('console.newRealm.title'));
    await noOverflow(page);

    // An id with a character a realm id may not have: the rule at the field, in Chinese, what was typed kept.
    const id = `r-${tag}`;
    const name = `新用户池 ${tag}`;
    const publicUrl = `http://${id}.localhost:${port()}`;
    await page.getByLabel(t('console.newRealm.field.id')).fill(`R_${tag}`);
    await page.getByLabel(t('console.newRealm.field.name')).fill(name);
    await page.getByLabel(t('console.newRealm.field.publicUrl')).fill(publicUrl);
    const refused = await clickFor(page, page.getByRole('button', { name: t('console.newRealm.create') }));
    expect(refused.status()).toBe(422);
    expect(await page.locator('#id-error').textContent()).toBe(t('console.newRealm.issue.id'));
    expect(await page.locator('#id').getAttribute('aria-invalid')).toBe('true');
    expect((await page.locator('#id').getAttribute('aria-describedby'))!.split(' ')).toContain('id-error');
    expect(await page.locator('#form-error').textContent()).toBe(t('console.newRealm.fix'));
    expect(await page.locator('#name').inputValue()).toBe(name);
    expect(await page.locator('#publicUrl').inputValue()).toBe(publicUrl);
    expect(await page.locator('.field-error').count()).toBe(1);
    expect(stack.gatehouse.gatehouse.realms.byIdOrNull(`R_${tag}`)).toBeNull();
    await noOverflow(page);

    // The id corrected: the realm exists and its settings page opens, saying so.
    await page.getByLabel(t('console.newRealm.field.id')).fill(id);
    await page.getByRole('button', { name: t('console.newRealm.create') }).click();
    // Its settings (/settings opens their first page, Fields).
    await page.waitForURL(`**/admin/realms/${id}/settings/fields`);
    expect(await page.locator('h1').textContent()).toBe(t('console.settings.title'));
    expect(await page.locator('.alert-ok').textContent()).toContain(t('console.newRealm.created', { name, id }));
    await expect.poll(() => stack.gatehouse.gatehouse.realms.byIdOrNull(id)?.name).toBe(name);
    expect(stack.gatehouse.gatehouse.realms.byIdOrNull(id)!.publicUrl).toBe(publicUrl);
    // The home page lists it beside the main realm.
    await page.goto(`${stack.consoleUrl}/admin`);
    expect(await page.locator('.realm-card-name').allTextContents()).toContain(name);

    // The main realm's Operators page on the phone: one card per operator, each cell inside its card, the label
    // beside (not run into) the value, even for a long email.
    const longEmail = `a.rather.long.support.lead.${tag}@example.com`;
    await operators().create({ email: longEmail, grants: [{ realmId: 'main', role: 'viewer' }] }, CLI_CONTEXT);
    await page.goto(`${stack.consoleUrl}/admin/realms/main/operators`);
    expect(await page.locator('h1').textContent()).toBe(t('console.operators.title'));
    await noOverflow(page);
    const cells = await page.evaluate<Array<{ within: boolean; apart: boolean }>>(`(() => {
      const tr = [...document.querySelectorAll('tbody tr')].find((row) => row.textContent.includes(${JSON.stringify(longEmail)}));
      const box = tr.getBoundingClientRect();
      return [...tr.querySelectorAll('td')].map((td) => {
        const r = td.getBoundingClientRect();
        const value = td.firstElementChild ? td.firstElementChild.getBoundingClientRect() : null;
        const label = td.hasAttribute('data-label') ? parseFloat(getComputedStyle(td, '::before').width) || 0 : 0;
        return { within: r.left >= box.left && r.right <= box.right + 0.5 && td.scrollWidth <= td.clientWidth, apart: !value || !label || value.left >= r.left + label + 4 || value.top > r.top + 4 };
      });
    })()`);
    expect(cells.length).toBe(4);
    expect(cells).toEqual(cells.map(() => ({ within: true, apart: true })));
    expect(allCsp()).toEqual([]);
  }, 90_000);
});

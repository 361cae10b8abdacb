/**
 * The operator console's operations in a real browser (Debian's Chromium), English on a desktop and Simplified
 * Chinese on a phone (docs/design/console.md §5, journeys 2–8): the export of a filtered and sorted list, bulk
 * delete by ticked rows and by "select all matching", adding a human and an API user, the user page's every
 * field, the reset link and force logout, realm settings' one-way emails rule, the keyboard's way through the
 * list, and impersonation (banner, audit, events, ended with the console session). Every outcome is checked
 * through Gatehouse's own services or a second browser, not only on the page; no CSP violation anywhere.
 * Each view has its own operator, users (a random tag) and realm, so the two views never meet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { generateSync } from 'otplib';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { operatorFirstSignIn } from '../helpers/console-login.ts';
import { GOOD_PASSWORD } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { CHROMIUM_PATH, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';
import { tr } from '../helpers/locale-strings.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

const VIEWS = [
  { name: 'en, desktop', locale: 'en-US', lang: 'en', viewport: { width: 1280, height: 860 }, isMobile: false },
  { name: 'zh-CN, phone', locale: 'zh-CN', lang: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

const pathOf = (page: Page) => new URL(page.url()).pathname;

/** The focused element's focus ring, evaluated in the page (the tests compile without DOM types). */
const FOCUS_RING = `(() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return { visible: el.matches(':focus-visible'), outline: s.outlineStyle === 'none' || s.outlineWidth === '0px' ? 'none' : s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor, shadow: s.boxShadow };
})()`;

describe.skipIf(!has)('operator console operations in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let managementKey: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    stack = await startStack({ console: true });
    browser = await launchChromium();
    ({ secret: managementKey } = await stack.gatehouse.gatehouse.management!.keys.create({ realmId: null, access: 'write', name: 'e2e console operations' }, CLI_CONTEXT));
  }, 60_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
  });

  /** The management API, as an app calls it. */
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.gatehouseUrl}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${managementKey}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  };
  const mainRealm = () => stack.gatehouse.gatehouse.realms.byIdOrNull('main')!;
  const users = () => stack.gatehouse.gatehouse.management!.users;
  const exists = async (realmId: string, id: string) =>
    users().get(stack.gatehouse.gatehouse.realms.byIdOrNull(realmId)!, id).then(
      () => true,
      () => false,
    );

  for (const view of VIEWS) {
    describe(view.name, () => {
      const lang = view.lang;
      const t = (key: string, params?: Record<string, string | number>) => tr(lang, key, params);
      const tag = `${lang === 'en' ? 'en' : 'zh'}${Math.random().toString(36).slice(2, 7)}`;
      const opEmail = `operator-${tag}@example.com`;
      /** A realm of this view, with separate usernames (the user page edits the username; emails may become duplicates). */
      const sepRealm = `sep-${tag}`;
      let context: BrowserContext;
      let page: Page;
      let secret = '';
      let operatorId = '';
      /** The last authenticator time step used: each code is accepted once, so each new one takes a later step. */
      let usedStep = 0;

      /** The CSP violations of every page this view opened. */
      const pagesCsp: string[][] = [];
      const allCsp = () => pagesCsp.flat();

      const newContext = async () => {
        const c = await browser.newContext({ locale: view.locale, viewport: view.viewport, isMobile: view.isMobile, hasTouch: view.isMobile });
        contexts.push(c);
        return c;
      };
      const newPage = async (c: BrowserContext) => {
        const p = await c.newPage();
        p.setDefaultTimeout(10_000);
        pagesCsp.push(watchCsp(p));
        return p;
      };

      /** A code at a time step not used before (waiting for the clock when the next unused one is too far ahead). */
      const nextCode = async () => {
        for (;;) {
          const now = Math.floor(Date.now() / 30_000);
          const step = Math.max(usedStep + 1, now);
          if (step <= now + 1) {
            usedStep = step;
            return generateSync({ secret, epoch: step * 30 });
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      };

      /** "Confirm it's you" when the console asks (password + a fresh code); true when it did. */
      const confirmIfAsked = async (): Promise<boolean> => {
        if (pathOf(page) !== '/admin/reauth') return false;
        await page.locator('#password').fill(GOOD_PASSWORD);
        await page.locator('#code').fill(await nextCode());
        await page.locator('form[action="/admin/reauth"] button[type="submit"]').click();
        await page.waitForURL((u) => u.pathname !== '/admin/reauth');
        return true;
      };

      /** Clicks `target` (a submit) and waits until the browser is at a path `landed` accepts or at "confirm it's you". */
      const submitTo = async (target: Locator, landed: (path: string) => boolean) => {
        await target.click();
        await page.waitForURL((u) => u.pathname === '/admin/reauth' || landed(u.pathname));
      };

      /** Signs a main-realm user in at the hosted login in `p` (the personal center), landing on /account. */
      const signInAtAccount = async (p: Page, identifier: string, password: string) => {
        await p.goto(`${stack.gatehouseUrl}/account`);
        await p.waitForURL(`${stack.gatehouseUrl}/login**`);
        await p.locator('input[name="identifier"]').fill(identifier);
        await p.locator('input[name="password"]').fill(password);
        await p.locator('form button[type="submit"]').last().click();
        await p.waitForURL(`${stack.gatehouseUrl}/account`);
      };
      /** Whether `p`, loaded again, is signed out (the personal center sends it to the login page). */
      const signedOutOnReload = async (p: Page) => {
        await p.goto(`${stack.gatehouseUrl}/account`);
        return new URL(p.url()).pathname === '/login';
      };

      const usernames = () => page.locator('tbody tr td:nth-child(2) a').allTextContents();

      beforeAll(async () => {
        context = await newContext();
        page = await newPage(context);
        const created = await api('POST', '/realms', { id: sepRealm, name: `Separate ${tag}`, publicUrl: `http://${sepRealm}.localhost:${new URL(stack.gatehouseUrl).port}`, fields: { usernames: 'separate' } });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const { setupLink, operator } = await stack.gatehouse.gatehouse.management!.operators.create({ email: opEmail, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
        operatorId = operator.id;
        secret = await operatorFirstSignIn(page, setupLink, opEmail, lang, stack.consoleUrl!);
        usedStep = Math.floor(Date.now() / 30_000);
      }, 60_000);

      it('export: the CSV of a filtered, sorted list has its rows in its order', async () => {
        const prefix = `${tag}-exp`;
        const seeded: string[] = [];
        for (let i = 0; i < 12; i++) {
          const email = `${prefix}-${String(i).padStart(2, '0')}@example.com`;
          seeded.push(email);
          await users().create(mainRealm(), { userType: 'human', email, firstName: `E${i}`, lastName: 'Export', state: i % 3 === 0 ? 'active' : 'inactive', emailVerification: 'verified' }, CLI_CONTEXT);
        }
        const expected = seeded.filter((_, i) => i % 3 !== 0).sort().reverse();

        await page.goto(`${stack.consoleUrl}/admin/realms/main/users`);
        await page.locator('#q').fill(prefix);
        await page.locator('summary.button').click();
        await page.locator('#state').selectOption('inactive');
        await page.getByRole('button', { name: t('console.users.apply') }).click();
        await page.waitForURL('**/users?*state=inactive*');
        // Sorted by email, then reversed by a second click on the same header.
        const emailHeader = () => page.locator('th a.sort-link', { hasText: t('console.users.col.email') });
        await emailHeader().click();
        await page.waitForURL('**sort=email&direction=asc*');
        await emailHeader().click();
        await page.waitForURL('**sort=email&direction=desc*');
        expect(await usernames()).toEqual(expected);

        const download = page.waitForEvent('download');
        await page.getByRole('link', { name: t('console.users.export') }).click();
        const file = await download;
        expect(file.suggestedFilename()).toMatch(/^main-users-\d{4}-\d{2}-\d{2}\.csv$/);
        const rows = parseCsv(readFileSync((await file.path())!, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
        expect(rows.map((r) => r.email)).toEqual(expected);
        expect(rows.every((r) => r.state === 'inactive' && r.realmId === 'main' && r.userType === 'human')).toBe(true);
        expect(rows.map((r) => r.firstName)).toEqual(expected.map((e) => `E${Number(/-(\d\d)@/.exec(e)![1])}`));
        // The columns of `gatehouse users export`, never with a password hash in the console's.
        expect(rows.every((r) => r.passwordHash === '')).toBe(true);
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('bulk delete: two ticked rows, then all N > a page matching a filter', async () => {
        const make = async (email: string) => (await users().create(mainRealm(), { userType: 'human', email, emailVerification: 'verified' }, CLI_CONTEXT)).user;
        const few = [];
        for (let i = 0; i < 4; i++) few.push(await make(`${tag}-bd-${i}@example.com`));
        const many = [];
        for (let i = 0; i < 55; i++) many.push(await make(`${tag}-many-${String(i).padStart(2, '0')}@example.com`));
        const keep = [await make(`${tag}-manx-0@example.com`), await make(`${tag}-keep-0@example.com`)];

        // Two ticked rows.
        const [a, b] = [few[1]!, few[2]!];
        for (let attempt = 0; ; attempt++) {
          await page.goto(`${stack.consoleUrl}/admin/realms/main/users?q=${tag}-bd&sort=email&direction=asc`);
          expect(await usernames()).toEqual(few.map((u) => u.username));
          await page.getByLabel(t('console.users.select', { name: a.username }), { exact: true }).check();
          await page.getByLabel(t('console.users.select', { name: b.username }), { exact: true }).check();
          await submitTo(page.getByRole('button', { name: t('console.users.deleteSelected') }), (p) => p.endsWith('/users/delete'));
          if (!(await confirmIfAsked()) || attempt > 0) break;
        }
        expect(pathOf(page)).toBe('/admin/realms/main/users/delete');
        expect(await page.locator('h1').textContent()).toBe(t('console.bulkDelete.idsHeading', { count: 2, formatted: '2' }));
        expect(await page.locator('ul.delete-list li').allTextContents()).toEqual([a.username, b.username]);
        await submitTo(page.getByRole('button', { name: t('console.bulkDelete.confirm', { count: 2, formatted: '2' }) }), (p) => p.endsWith('/users'));
        expect(await page.locator('.alert-ok').textContent()).toContain(t('console.bulkDelete.deleted', { count: 2, formatted: '2' }));
        expect(await exists('main', a.id)).toBe(false);
        expect(await exists('main', b.id)).toBe(false);
        expect(await exists('main', few[0]!.id)).toBe(true);
        expect(await exists('main', few[3]!.id)).toBe(true);
        expect(await usernames()).toEqual([few[0]!.username, few[3]!.username]);

        // Every user matching the filter, more than a page.
        for (let attempt = 0; ; attempt++) {
          await page.goto(`${stack.consoleUrl}/admin/realms/main/users?q=${tag}-many-`);
          expect(await usernames()).toHaveLength(50);
          await submitTo(page.getByRole('button', { name: t('console.users.selectAllMatching') }), (p) => p.endsWith('/users/delete'));
          if (!(await confirmIfAsked()) || attempt > 0) break;
        }
        expect(await page.locator('h1').textContent()).toBe(t('console.bulkDelete.filterHeading', { count: 55, formatted: '55' }));
        expect(await page.locator('.facts-grid dd').allTextContents()).toEqual([`${tag}-many-`]);
        expect(await page.locator('input[name="expect"]').inputValue()).toBe('55');
        await submitTo(page.getByRole('button', { name: t('console.bulkDelete.confirm', { count: 55, formatted: '55' }) }), (p) => p.endsWith('/users'));
        expect(await page.locator('.alert-ok').textContent()).toContain(t('console.bulkDelete.deleted', { count: 55, formatted: '55' }));
        for (const u of many) expect(await exists('main', u.id)).toBe(false);
        for (const u of [...keep, few[0]!, few[3]!]) expect(await exists('main', u.id)).toBe(true);
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('add a human who then signs in, and an API user whose key (shown once) authenticates', async () => {
        const email = `${tag}-added@example.com`;
        const password = `Operator set ${tag} pass 9`;
        await page.goto(`${stack.consoleUrl}/admin/realms/main/users`);
        await page.getByRole('link', { name: t('console.users.addHuman') }).click();
        await page.waitForURL('**/users/new?type=human');
        await page.locator('#email').fill(email);
        await page.locator('#firstName').fill('Added');
        await page.locator('#lastName').fill('Human');
        await page.locator('#password').fill(password);
        await page.locator('#passwordAgain').fill(password);
        await page.locator('#emailVerification').selectOption('verified');
        await page.getByRole('button', { name: t('console.newUser.submitHuman') }).click();
        await page.waitForURL(/\/admin\/realms\/main\/users\/[^/]+$/);
        expect(await page.locator('.alert-ok').textContent()).toContain(t('console.newUser.created', { username: email }));
        const human = await users().get(mainRealm(), decodeURIComponent(pathOf(page).split('/').pop()!));
        expect(human).toMatchObject({ email, firstName: 'Added', lastName: 'Human', emailVerification: 'verified', userType: 'human' });

        // That user really signs in at the main realm's hosted login, through the demo app.
        const other = await newPage(await newContext());
        await other.goto(stack.demoUrl);
        await other.locator('#login').click();
        await other.waitForURL(`${stack.gatehouseUrl}/login?**`);
        await other.locator('input[name="identifier"]').fill(email);
        await other.locator('input[name="password"]').fill(password);
        await other.locator('form button[type="submit"]').last().click();
        await other.waitForURL(`${stack.demoUrl}/callback`);
        expect(await other.locator('td[data-claim="sub"]').textContent()).toBe(JSON.stringify(human.id));

        // An API user: the key on this answer only.
        await page.goto(`${stack.consoleUrl}/admin/realms/main/users`);
        await page.getByRole('link', { name: t('console.users.addApi') }).click();
        await page.waitForURL('**/users/new?type=api');
        await page.locator('#name').fill(`Robot ${tag}`);
        await page.getByRole('button', { name: t('console.newUser.submitApi') }).click();
        await page.waitForURL('**/users/new?type=api');
        expect(await page.locator('h1').textContent()).toBe(t('console.newUser.apiCreatedTitle'));
        const key = (await page.locator('p.secret-once').textContent())!.trim();
        expect(key.length).toBeGreaterThan(20);
        const ok = await api('POST', '/realms/main/users/authenticate-key', { apiKey: key });
        expect(ok.status, JSON.stringify(ok.body)).toBe(200);
        expect(ok.body).toMatchObject({ userType: 'api', name: `Robot ${tag}` });
        expect((await api('POST', '/realms/main/users/authenticate-key', { apiKey: `${key}x` })).status).toBe(401);
        // Shown once: the user page never shows it again.
        await page.getByRole('link', { name: t('console.newUser.toUserPage') }).click();
        await page.waitForURL(/\/users\/[^/]+$/);
        expect(await page.content()).not.toContain(key);
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('user page: every field edited and saved, typed attributes, a changed email unverified', async () => {
        const realm = stack.gatehouse.gatehouse.realms.byIdOrNull(sepRealm)!;
        const { user } = await users().create(realm, { userType: 'human', username: `${tag}-before`, email: `${tag}-before@example.com`, firstName: 'Before', lastName: 'Edit', reference: 'ref-old', emailVerification: 'verified', custom: { old: 'x' } }, CLI_CONTEXT);
        const path = `/admin/realms/${sepRealm}/users/${encodeURIComponent(user.id)}`;
        const typed = { firstName: 'Grace', lastName: 'Hopper', email: `${tag}-grace@example.com`, username: `${tag}-grace`, reference: 'ref-42' };
        const newPassword = `A new one for ${tag} 7`;
        const attrs: Array<[string, string]> = [['n', '1'], ['s', 'elephant'], ['q', '"1"'], ['arr', '[1,"a"]']];
        for (let attempt = 0; ; attempt++) {
          await page.goto(`${stack.consoleUrl}${path}`);
          for (const [k, v] of Object.entries(typed)) await page.locator(`#${k}`).fill(v);
          await page.locator('#active').uncheck();
          await page.locator('#password').fill(newPassword);
          await page.locator('#passwordAgain').fill(newPassword);
          expect(await page.locator('input[id^="attr."][id$=".key"]').count()).toBeGreaterThanOrEqual(4);
          for (const [i, [k, v]] of attrs.entries()) {
            await page.locator(`[id="attr.${i}.key"]`).fill(k);
            await page.locator(`[id="attr.${i}.value"]`).fill(v);
          }
          await submitTo(page.getByRole('button', { name: t('console.userPage.save') }), (p) => p === path);
          // Deactivating asks to confirm it's you when the sign-in is old; the page comes back, to type again.
          if (!(await confirmIfAsked()) || attempt > 0) break;
        }
        expect(pathOf(page)).toBe(path);
        expect(await page.locator('.alert-ok').textContent()).toContain(t('console.userPage.savedInactive'));
        const stored = await users().get(realm, user.id);
        expect(stored).toMatchObject({ ...typed, state: 'inactive', emailVerification: 'none' });
        expect(stored.customAttributes).toEqual({ n: 1, s: 'elephant', q: '1', arr: [1, 'a'] });
        const credentials = await stack.gatehouse.gatehouse.management!.access.credentials(realm, user.id);
        expect(credentials.map((c) => c.type)).toContain('password');

        // The page shows the saved values again, the attributes as typed.
        for (const [k, v] of Object.entries(typed)) expect(await page.locator(`#${k}`).inputValue()).toBe(v);
        expect(await page.locator('#active').isChecked()).toBe(false);
        expect(await page.locator('#emailVerification').inputValue()).toBe('none');
        expect(await page.locator('#password').inputValue()).toBe('');
        const shown: Record<string, string> = {};
        const keys = page.locator('input[id^="attr."][id$=".key"]');
        for (let i = 0; i < (await keys.count()); i++) {
          const k = await page.locator(`[id="attr.${i}.key"]`).inputValue();
          if (k) shown[k] = await page.locator(`[id="attr.${i}.value"]`).inputValue();
        }
        expect(shown).toEqual(Object.fromEntries(attrs));
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('reset link opened in another browser, then one session ended, then all', async () => {
        const email = `${tag}-reset@example.com`;
        const { user } = await users().create(mainRealm(), { userType: 'human', email, emailVerification: 'verified', password: GOOD_PASSWORD }, CLI_CONTEXT);
        const path = `/admin/realms/main/users/${encodeURIComponent(user.id)}`;
        for (let attempt = 0; ; attempt++) {
          await page.goto(`${stack.consoleUrl}${path}`);
          await submitTo(page.getByRole('button', { name: t('console.userPage.resetSubmit') }), (p) => p === `${path}/password-token`);
          // A reset link asks to confirm it's you when the sign-in is old; the user's page comes back, to click again.
          if (!(await confirmIfAsked()) || attempt > 0) break;
        }
        expect(pathOf(page)).toBe(`${path}/password-token`);
        const link = (await page.locator('p.secret-once').textContent())!.trim();
        expect(link.startsWith(`${stack.gatehouseUrl}/`)).toBe(true);

        const userContext = await newContext();
        const second = await newPage(userContext);
        await second.goto(link);
        const newPassword = `Reset by ${tag} link 5`;
        await second.locator('#password').fill(newPassword);
        await second.locator('form[action="/reset-password"] button[type="submit"]').click();
        await second.locator('.card-status a.button').click();
        await second.waitForURL(`${stack.gatehouseUrl}/login**`);
        await second.locator('input[name="identifier"]').fill(email);
        await second.locator('input[name="password"]').fill(newPassword);
        await second.locator('form button[type="submit"]').last().click();
        await second.waitForURL((u) => u.pathname !== '/login');
        expect(await signedOutOnReload(second)).toBe(false);

        // One session ended from the user page: the second browser is signed out on its next page.
        await page.goto(`${stack.consoleUrl}${path}`);
        const sessionForms = page.locator('form[action*="/sessions/"][action$="/delete"].device-action');
        expect(await sessionForms.count()).toBe(1);
        await submitTo(sessionForms.first().locator('button'), (p) => p === path);
        expect(await confirmIfAsked()).toBe(false);
        expect(await page.locator('form.device-action[action*="/sessions/"]').count()).toBe(0);
        expect(await signedOutOnReload(second)).toBe(true);

        // Two browsers signed in; "force offline everywhere" ends both.
        const third = await newPage(await newContext());
        await signInAtAccount(second, email, newPassword);
        await signInAtAccount(third, email, newPassword);
        await page.goto(`${stack.consoleUrl}${path}`);
        expect(await page.locator('form.device-action[action*="/sessions/"]').count()).toBe(2);
        await submitTo(page.getByRole('button', { name: t('console.userPage.forceOffline') }), (p) => p === path);
        expect(await confirmIfAsked()).toBe(false);
        expect(await page.locator('form.device-action[action*="/sessions/"]').count()).toBe(0);
        expect(await signedOutOnReload(second)).toBe(true);
        expect(await signedOutOnReload(third)).toBe(true);
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('settings → fields: emails may be duplicated (warning, "I understand"), then the way back refused', async () => {
        const path = `/admin/realms/${sepRealm}/settings/fields`;
        const save = () => page.locator('form.settings-form button[type="submit"]');
        const emailsNow = async () => ((await api('GET', `/realms/${sepRealm}`)).body as { settings: { fields: { emails: string } } }).settings.fields.emails;
        // "Confirm it's you" (which Fields asks for once the sign-in is older than the console realm's window) works
        // in the browser: password and a fresh authenticator code, back to the page it was asked for.
        await page.goto(`${stack.consoleUrl}/admin/reauth?next=${encodeURIComponent(path)}`);
        expect(await page.locator('h1').textContent()).toBe(t('console.reauth.title'));
        expect(await confirmIfAsked()).toBe(true);
        expect(pathOf(page)).toBe(path);

        // Without "I understand": refused at the checkbox, nothing saved.
        for (let attempt = 0; ; attempt++) {
          await page.goto(`${stack.consoleUrl}${path}`);
          expect(await page.locator('#confirmDuplicates-warning').textContent()).toBe(t('console.settings.fields.emailsWarning'));
          await page.locator('#emails-duplicates').check();
          await submitTo(save(), (p) => p === path);
          if (!(await confirmIfAsked()) || attempt > 0) break;
        }
        expect(await page.locator('#confirmDuplicates-error').textContent()).toBe(t('console.settings.fields.confirmRequired'));
        expect(await emailsNow()).toBe('unique');

        await page.locator('#emails-duplicates').check();
        await page.getByLabel(t('console.settings.fields.confirmDuplicates')).check();
        await submitTo(save(), (p) => p === path);
        expect(await confirmIfAsked()).toBe(false);
        await page.waitForURL(`**${path}?saved=1`);
        expect(await emailsNow()).toBe('duplicates');
        expect(await page.locator('.settings-warning[role="note"]').textContent()).toBe(t('console.settings.fields.emailsNowDuplicates'));
        expect(await page.locator('#emails-duplicates').isChecked()).toBe(true);

        // Back to "must be unique": the service's one-way refusal, at the input.
        await page.locator('#emails-unique').check();
        await submitTo(save(), (p) => p === path);
        expect(await confirmIfAsked()).toBe(false);
        expect(await page.locator('#emails-error').textContent()).toBe(t('console.settings.issue.oneWay'));
        expect(await emailsNow()).toBe('duplicates');
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('keyboard: Tab reaches the filter, the Delete button, a header (Enter sorts) and a row checkbox (Space ticks it), focus visible', async () => {
        for (let i = 0; i < 3; i++) await users().create(mainRealm(), { userType: 'human', email: `${tag}-kb-${i}@example.com`, emailVerification: 'verified' }, CLI_CONTEXT);
        await page.goto(`${stack.consoleUrl}/admin/realms/main/users?q=${tag}-kb`);
        /** Presses Tab until the focused element matches `selector` (at most 80 times); its focus ring must show. */
        const tabTo = async (selector: string, key = 'Tab') => {
          for (let i = 0; i < 80; i++) {
            await page.keyboard.press(key);
            if (await page.evaluate<boolean>(`document.activeElement ? document.activeElement.matches(${JSON.stringify(selector)}) : false`)) {
              const ring = await page.evaluate<{ visible: boolean; outline: string; shadow: string }>(FOCUS_RING);
              expect(ring.visible, selector).toBe(true);
              // A ring of its own colour: an outline (not the transparent one inputs use) or a box-shadow.
              const outline = ring.outline !== 'none' && !/rgba\(0, 0, 0, 0\)/.test(ring.outline);
              expect(outline || ring.shadow !== 'none', `${selector}: ${JSON.stringify(ring)}`).toBe(true);
              return;
            }
          }
          throw new Error(`Tab never reached ${selector}`);
        };
        await tabTo('summary.button');
        await tabTo('button[name="scope"][value="ids"]');
        await tabTo('th a.sort-link');
        const header = await page.evaluate<string>("document.activeElement.textContent || ''");
        expect(header).toContain(t('console.users.col.username'));
        await page.keyboard.press('Enter');
        await page.waitForURL('**sort=username&direction=asc*');
        expect(await page.locator('th[aria-sort="ascending"]').count()).toBe(1);
        await tabTo('input[name="ids"]');
        await page.keyboard.press('Space');
        expect(await page.locator('input[name="ids"]').first().isChecked()).toBe(true);
        const ticked = await page.locator('input[name="ids"]').first().getAttribute('value');
        await tabTo('button[name="scope"][value="ids"]', 'Shift+Tab');
        await page.keyboard.press('Enter');
        await page.waitForURL((u) => u.pathname === '/admin/reauth' || u.pathname.endsWith('/users/delete'));
        if (pathOf(page) !== '/admin/reauth') {
          expect(await page.locator('h1').textContent()).toBe(t('console.bulkDelete.idsHeading', { count: 1, formatted: '1' }));
          expect(await page.locator('input[name="ids"]').inputValue()).toBe(ticked);
        }
        expect(allCsp()).toEqual([]);
      }, 90_000);

      it('impersonation: banner on the personal center, audit and events, ended by the console sign-out', async () => {
        const email = `${tag}-imp@example.com`;
        const { user } = await users().create(mainRealm(), { userType: 'human', email, firstName: 'Imp', lastName: 'Ersonated', emailVerification: 'verified', password: GOOD_PASSWORD }, CLI_CONTEXT);
        const path = `/admin/realms/main/users/${encodeURIComponent(user.id)}`;
        const reason = `Ticket ${tag}: checking what the user sees`;
        await page.goto(`${stack.consoleUrl}${path}`);
        await page.getByRole('link', { name: t('console.userPage.impersonate') }).click();
        await page.waitForURL((u) => u.pathname === '/admin/reauth' || u.pathname === `${path}/impersonate`);
        await confirmIfAsked();
        expect(pathOf(page)).toBe(`${path}/impersonate`);
        await page.locator('#reason').fill(reason);
        await page.getByRole('button', { name: t('console.userPage.impersonateSubmit') }).click();
        // Off to the user's realm (another origin: the confirmation page's form-action must allow it).
        await page.waitForURL(`${stack.gatehouseUrl}/impersonate`);
        await page.getByRole('button', { name: t('impersonation.continue', { name: 'Imp Ersonated' }) }).click();
        await page.waitForURL(`${stack.gatehouseUrl}/account`);
        const banner = page.locator('.impersonation-banner');
        expect(await banner.textContent()).toContain(t('impersonation.banner.by', { operator: opEmail }));
        expect(await banner.textContent()).toContain(t('impersonation.banner.reason', { reason }));

        // An app the user signs in to in this session gets a JWT about the user that names the operator in `act`.
        const app = await newPage(context);
        await app.goto(stack.demoUrl);
        await app.locator('#login').click();
        await app.waitForURL(`${stack.demoUrl}/callback`);
        expect(JSON.parse((await app.locator('td[data-claim="sub"]').textContent())!)).toBe(user.id);
        expect(JSON.parse((await app.locator('td[data-claim="act"]').textContent())!)).toEqual({ sub: operatorId, iss: stack.consoleUrl });

        // The console's audit lists it; the user's events have the impersonation's start.
        const consolePage = await newPage(context);
        await consolePage.goto(`${stack.consoleUrl}/admin/realms/main/audit`);
        const entry = consolePage.locator('li.audit-entry', { has: consolePage.locator('code[data-operation]', { hasText: /^user\.impersonate$/ }) }).filter({ hasText: user.id });
        expect(await entry.count()).toBe(1);
        await consolePage.goto(`${stack.consoleUrl}${path}/events`);
        expect(await consolePage.locator('td code', { hasText: /^user\.impersonation\.started$/ }).count()).toBe(1);

        // Signing out of the console ends the impersonation: the user's page, loaded again, is signed out.
        await consolePage.locator('form[action="/admin/logout"] button').click();
        await consolePage.waitForURL(`${stack.consoleUrl}/admin/logout`);
        expect(await consolePage.locator('h1').textContent()).toBe(t('console.signOut.title'));
        await page.goto(`${stack.gatehouseUrl}/account`);
        expect(pathOf(page)).toBe('/login');
        expect(await page.locator('.impersonation-banner').count()).toBe(0);
        // And the app's next sign-in asks for the user's own password: nothing of the impersonation is left.
        await app.goto(stack.demoUrl);
        await app.locator('#login').click();
        await app.waitForURL(`${stack.gatehouseUrl}/login?**`);
        expect(await app.locator('input[name="password"]').count()).toBe(1);
        expect(allCsp()).toEqual([]);
      }, 90_000);
    });
  }
});

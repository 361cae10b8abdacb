/**
 * Social login in a real browser (Debian's Chromium), against the loopback
 * GitHub + Google of test/helpers/providers.ts: sign up through GitHub from
 * the demo app with the keyboard, link Google in the personal center, unlink
 * it again. The fake's authorize endpoint approves at once, so a button press
 * runs provider → callback → next page without any provider UI.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { ProviderConfig } from '../../src/config/index.ts';
import type { providerSchema } from '../../src/config/schema.ts';
import { uniqueEmail } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { startFakeOAuth, type FakeAccount, type FakeOAuth } from '../helpers/providers.ts';
import { CHROMIUM_PATH, DEMO_CLIENT_ID, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

const CLIENT_ID = 'gatehouse-e2e-client';
const CLIENT_SECRET = 'provider-client-secret-for-e2e';
const SHOTS = '/tmp/gatehouse-shots';

/** The focused element, by its text (buttons, links) or its name (fields). */
const focusedName = (page: Page) =>
  page.evaluate<string>("(document.activeElement.getAttribute('name') || document.activeElement.textContent.trim().slice(0, 40))");

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(!has)('social login journeys in Chromium', () => {
  let stack: Stack;
  let fake: FakeOAuth;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  // One browser for the whole journey: linking and unlinking act on the account the first step created.
  let page: Page;
  let csp: string[] = [];

  const githubAccount: FakeAccount = {
    id: '583231',
    login: 'octo-ada',
    name: 'Ada Lovelace',
    emails: [
      { email: uniqueEmail('gh'), primary: true, verified: true },
      // A second address GitHub never verified: the primary, verified one is the account's.
      { email: uniqueEmail('gh-unverified'), primary: false, verified: false },
    ],
  };
  const googleAccount: FakeAccount = {
    id: '109876543210',
    name: 'Ada Lovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
    emails: [{ email: uniqueEmail('google'), primary: true, verified: true }],
  };

  const freshPage = async (viewport = DESKTOP) => {
    const context = await browser.newContext({ locale: 'en-US', viewport, deviceScaleFactor: 1, isMobile: viewport === PHONE, hasTouch: viewport === PHONE });
    contexts.push(context);
    const p = await context.newPage();
    // Fail with the step that hangs rather than at the test's timeout.
    p.setDefaultTimeout(10_000);
    return p;
  };

  const shoot = async (p: Page, name: string) => {
    // The fonts (Noto CJK among them) may still be loading right after the page did.
    await p.evaluate('document.fonts.ready.then(() => true)');
    await p.screenshot({ path: `${SHOTS}/social-${name}.png`, fullPage: true, caret: 'hide', animations: 'disabled' });
  };

  /** The claims of the JWT the demo app received and verified. */
  async function claimsAtDemo(p: Page, submit: () => Promise<void>) {
    const delivered = p.waitForRequest((r) => r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`);
    await submit();
    const form = new URLSearchParams((await delivered).postData() ?? '');
    await p.waitForURL(`${stack.demoUrl}/callback`);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    return (await jwtVerify(form.get('token') ?? '', jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID })).payload;
  }

  /** The provider names listed on /account/connected, in page order. */
  const linkedNames = async (p: Page) => (await p.locator('.device-list .device-name').allTextContents()).map((n) => n.trim());

  /** The Gatehouse login page, reached from the demo app's "Log in". */
  async function loginPageFromDemo(p: Page): Promise<void> {
    await p.goto(stack.demoUrl);
    await p.getByRole('link', { name: 'Log in' }).click();
    await p.waitForURL(`${stack.gatehouseUrl}/login?**`);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fake = await startFakeOAuth({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    fake.setAccount('github', githubAccount);
    fake.setAccount('google', googleAccount);
    const common = { clientId: CLIENT_ID, secretEnv: 'SOCIAL_SECRET' };
    const providers: z.input<typeof providerSchema>[] = [
      {
        id: 'github',
        type: 'github',
        ...common,
        endpoints: { authorization: fake.github.authorizationURL, token: fake.github.tokenURL, user: fake.github.userProfileURL, emails: fake.github.userEmailURL },
      },
      { id: 'google', type: 'google', ...common, endpoints: { authorization: fake.google.authorizationURL, token: fake.google.tokenURL, userinfo: fake.google.userProfileURL } },
    ];
    // The config file holds the schema's input: loading it fills in `enabled` and `scopes`.
    stack = await startStack({ realm: { social: { providers: providers as ProviderConfig[] } }, env: { SOCIAL_SECRET: CLIENT_SECRET } });
    browser = await launchChromium();
    page = await freshPage();
    csp = watchCsp(page);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
    await fake?.close();
  });

  it('signs up through GitHub from the demo app with the keyboard, and the app gets a JWT with amr github', async () => {
    await loginPageFromDemo(page);
    const github = page.getByRole('button', { name: 'Continue with GitHub', exact: true });
    await expect.poll(() => github.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Continue with Google', exact: true }).isVisible()).toBe(true);
    await shoot(page, 'login');

    // The email field has autofocus, below the buttons. A keyboard user starting at the top of the page: a click on the empty
    // top corner moves Chromium's sequential focus starting point there (blur() alone would leave it at the email field).
    expect(await page.evaluate<boolean>("document.elementFromPoint(1, 1).matches('a, button, input, select, textarea, [tabindex]')")).toBe(false);
    await page.mouse.click(1, 1);
    const path: string[] = [];
    for (let presses = 0; presses < 6 && path.at(-1) !== 'Continue with GitHub'; presses += 1) {
      await page.keyboard.press('Tab');
      path.push(await focusedName(page));
    }
    // The first stop of the page's content, and only the skip link before it.
    expect(path).toEqual(['Continue with GitHub']);
    await page.keyboard.press('Shift+Tab');
    expect(await focusedName(page)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await focusedName(page)).toBe('Continue with GitHub');

    const claims = await claimsAtDemo(page, () => page.keyboard.press('Enter'));
    expect(claims.amr).toEqual(['github']);
    expect(claims.email).toBe(githubAccount.emails[0]!.email);
    expect(claims.email_verified).toBe(true);
    expect(fake.tokenRequests('github')).toBe(1);
    expect(csp).toEqual([]);
  });

  it('links Google from the personal center right after the sign-in, without asking to confirm it is you', async () => {
    await page.goto(`${stack.gatehouseUrl}/account/connected`);
    expect(new URL(page.url()).pathname).toBe('/account/connected');
    expect(await linkedNames(page)).toEqual(['GitHub']);
    expect(await page.locator('.device-list').getByText(githubAccount.login!).isVisible()).toBe(true);
    // GitHub is the only way in until another is linked.
    expect(await page.getByText('Only way to sign in').count()).toBe(1);

    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(new URL(frame.url()).pathname));
    await page.getByRole('button', { name: 'Link Google', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Google is now linked/);
    // Recent enough (the sign-in was moments ago): no detour through /account/reauth.
    expect(visited).toEqual(['/account/connected']);
    expect(await linkedNames(page)).toEqual(['GitHub', 'Google']);
    expect(await page.locator('.device-list').getByText(googleAccount.emails[0]!.email).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Link Google', exact: true }).count()).toBe(0);
    // Two ways in: both may be unlinked.
    expect(await page.getByText('Only way to sign in').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Unlink GitHub', exact: true }).isVisible()).toBe(true);
    expect(fake.tokenRequests('google')).toBe(1);
    await shoot(page, 'connected');
    expect(csp).toEqual([]);
  });

  it('unlinks Google, and GitHub, now the only way to sign in, keeps a badge instead of an Unlink button', async () => {
    await page.getByRole('button', { name: 'Unlink Google', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Google is unlinked/);
    expect(new URL(page.url()).pathname).toBe('/account/connected');
    expect(await linkedNames(page)).toEqual(['GitHub']);
    expect(await page.locator('.device-list').getByText('Only way to sign in').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /^Unlink/ }).count()).toBe(0);
    // Google can be linked again.
    expect(await page.getByRole('button', { name: 'Link Google', exact: true }).isVisible()).toBe(true);
    await shoot(page, 'connected-one');
    expect(csp).toEqual([]);
  });

  it('shows the provider buttons on a phone-sized login page', async () => {
    const phone = await freshPage(PHONE);
    const phoneCsp = watchCsp(phone);
    await loginPageFromDemo(phone);
    const github = phone.getByRole('button', { name: 'Continue with GitHub', exact: true });
    await expect.poll(() => github.isVisible()).toBe(true);
    // Nothing wider than the screen: the buttons fit without sideways scrolling.
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    const box = await github.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    await shoot(phone, 'login-phone');
    expect(phoneCsp).toEqual([]);
  });
});

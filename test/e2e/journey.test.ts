/**
 * The redirect protocol in a real browser (Debian's Chromium, driven by
 * playwright-core): the demo app sends the user to Gatehouse, Gatehouse sends
 * them back with a JWT the app can verify against the realm's JWKS.
 *
 * The tests in this file run in order and share one user: the first signs up,
 * the second logs in with that account in a fresh browser.
 */
import { existsSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { CHROMIUM_PATH, DEMO_CLIENT_ID, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');


/** The form body of the next POST to the demo app's callback: the JWT hand-off. */
function nextCallback(page: Page, stack: Stack): Promise<URLSearchParams> {
  return page
    .waitForRequest((r) => r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`)
    .then((r) => new URLSearchParams(r.postData() ?? ''));
}

/** The id of the element with the keyboard focus (evaluated in the page: the tests compile without DOM types). */
const focusedId = (page: Page) => page.evaluate<string>("document.activeElement ? document.activeElement.id : ''");

describe.skipIf(!has)('browser journeys through the demo app', { timeout: 60_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const email = uniqueEmail('journey');

  const freshPage = async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    return context.newPage();
  };

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
  });

  it('signs up from the demo app, returns with a JWT the app verifies, and logs out', async () => {
    const page = await freshPage();
    const csp = watchCsp(page);

    await page.goto(stack.demoUrl);
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/signup?**`);

    // A common password first: the form comes back with an alert tied to the field, the focus on it.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByLabel('Password').fill('password123');
    await page.getByRole('button', { name: 'Create account' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/too common/);
    const password = page.getByLabel('Password');
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    expect((await password.getAttribute('aria-describedby'))?.split(' ')).toContain('form-error');
    expect(await focusedId(page)).toBe('password');
    expect(await page.getByLabel('Email').inputValue()).toBe(email);

    const delivered = nextCallback(page, stack);
    await password.fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    const form = await delivered;
    await page.waitForURL(`${stack.demoUrl}/callback`);
    expect(await page.locator('#signed-in').textContent()).toBe(`Signed in as ${email}`);

    const token = form.get('token') ?? '';
    expect(form.get('state')).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID });
    expect(protectedHeader.alg).toBe('ES256');
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({
      email,
      preferred_username: email,
      given_name: 'Ada',
      family_name: 'Lovelace',
      name: 'Ada Lovelace',
      email_verified: false,
      rid: 'main',
      amr: ['pwd'],
    });
    expect(payload.sub).toEqual(expect.any(String));
    expect(payload.sid).toEqual(expect.any(String));
    // The page the user sees shows the same session the token names.
    expect(await page.locator('[data-claim="sid"]').textContent()).toBe(JSON.stringify(payload.sid));

    // The Gatehouse session is alive: the personal center opens without a login.
    await page.goto(`${stack.gatehouseUrl}/account`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Hello, Ada Lovelace');
    await page.goBack();

    // Logging out from the app (token_hint names this session) ends it and returns to the app's home.
    await page.getByRole('link', { name: 'Log out' }).click();
    await page.waitForURL(`${stack.demoUrl}/`);
    expect(await page.getByRole('link', { name: 'Log in' }).isVisible()).toBe(true);

    await page.goto(`${stack.gatehouseUrl}/account`);
    expect(new URL(page.url()).pathname).toBe('/login');

    expect(csp).toEqual([]);
  });

  it('logs in with the keyboard alone in a fresh browser and lands back on the demo app', async () => {
    const page = await freshPage();
    const csp = watchCsp(page);

    await page.goto(stack.demoUrl);
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('login');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);

    // The identifier field has the focus on arrival; Tab moves to the password.
    await expect.poll(() => focusedId(page)).toBe('identifier');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('password');
    await page.keyboard.type('not-my-password');
    await page.keyboard.press('Enter');

    // A wrong password: one message, the identifier kept, the focus back on the password.
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not right/);
    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    await expect.poll(() => focusedId(page)).toBe('password');

    const delivered = nextCallback(page, stack);
    await page.keyboard.type(GOOD_PASSWORD);
    await page.keyboard.press('Enter');
    const form = await delivered;
    await page.waitForURL(`${stack.demoUrl}/callback`);
    expect(await page.locator('#signed-in').textContent()).toBe(`Signed in as ${email}`);

    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    const { payload } = await jwtVerify(form.get('token') ?? '', jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID });
    expect(payload).toMatchObject({ email, amr: ['pwd'] });

    expect(csp).toEqual([]);
  });
});

/**
 * The personal center in a real browser (Debian's Chromium): enrol TOTP with
 * codes computed from the secret the page shows, sign in with password + TOTP
 * and with a recovery code through the demo app, and end another browser's
 * session from the devices page.
 */
import { existsSync } from 'node:fs';
import { generate } from 'otplib';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { CHROMIUM_PATH, DEMO_CLIENT_ID, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

/** A TOTP code for the time step `offset` steps from now (the server accepts ±1). */
const totp = (secret: string, offset = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });


describe.skipIf(!has)('personal center journeys in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const email = uniqueEmail('center');
  let secret = '';
  let recoveryCodes: string[] = [];

  const freshPage = async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    const page = await context.newPage();
    // Fail with the step that hangs rather than at the test's timeout.
    page.setDefaultTimeout(10_000);
    return page;
  };

  /** Starts a login at the demo app and types the password; the browser then waits at the second factor. */
  async function passwordStep(page: Page): Promise<void> {
    await page.goto(stack.demoUrl);
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login/mfa**`);
  }

  /** The claims of the JWT the demo app received and verified. */
  async function claimsAtDemo(page: Page, submit: () => Promise<void>) {
    const delivered = page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`);
    await submit();
    const form = new URLSearchParams((await delivered).postData() ?? '');
    await page.waitForURL(`${stack.demoUrl}/callback`);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    return (await jwtVerify(form.get('token') ?? '', jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID })).payload;
  }

  async function logOutAtDemo(page: Page): Promise<void> {
    await page.getByRole('link', { name: 'Log out' }).click();
    await page.waitForURL(`${stack.demoUrl}/`);
  }

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
  });

  it('enrols an authenticator app, shows the recovery codes once, then signs in with password + TOTP (amr otp)', async () => {
    const page = await freshPage();
    const csp = watchCsp(page);
    await page.goto(stack.demoUrl);
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('First name').fill('Grace');
    await page.getByLabel('Last name').fill('Hopper');
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    const first = await claimsAtDemo(page, () => page.getByRole('button', { name: 'Create account' }).click());
    expect(first.amr).toEqual(['pwd']);

    // The personal center, from the demo app's link: two-factor is off.
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Two-factor' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/account/mfa`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();

    // The QR code is an image with a text alternative; the same secret is on the page for typing.
    const qr = page.getByRole('img', { name: /QR code/ });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    secret = ((await page.locator('.mfa-secret code').textContent()) ?? '').replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    // A wrong code first: an alert, still off.
    await page.getByLabel('Code from the app').fill('000000' === (await totp(secret)) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not right/);
    await page.getByLabel('Code from the app').fill(await totp(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();

    // Ten recovery codes, shown now and only now.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Save your recovery codes');
    recoveryCodes = (await page.locator('.recovery-codes code').allTextContents()).map((c) => c.trim());
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/no longer shown|is on/);
    expect(await page.content()).not.toContain(recoveryCodes[0]!);

    // Sign out here, then sign in again through the demo app: the password is not enough any more.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await passwordStep(page);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Enter your code');
    // The enrolment spent this time step: the next one is the fresh code.
    const claims = await claimsAtDemo(page, async () => {
      await page.getByLabel('6-digit code').fill(await totp(secret, 1));
      await page.getByRole('button', { name: 'Verify' }).click();
    });
    expect(claims.amr).toEqual(['pwd', 'otp']);
    expect(claims.email).toBe(email);
    await logOutAtDemo(page);
    expect(csp).toEqual([]);
  });

  it('signs in once with a recovery code; the same code is refused the second time', async () => {
    const page = await freshPage();
    const csp = watchCsp(page);
    await passwordStep(page);
    await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
    const claims = await claimsAtDemo(page, async () => {
      await page.getByLabel('Recovery code').fill(recoveryCodes[0]!);
      await page.getByRole('button', { name: 'Verify' }).click();
    });
    expect(claims.amr).toContain('otp');
    await logOutAtDemo(page);

    await passwordStep(page);
    await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not right or has already been used/);
    expect(new URL(page.url()).origin).toBe(stack.gatehouseUrl);
    expect(csp).toEqual([]);
  });

  it('ends a second browser’s session from the devices page, and that browser is signed out', async () => {
    const mine = await freshPage();
    const csp = watchCsp(mine);
    await passwordStep(mine);
    await mine.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await claimsAtDemo(mine, async () => {
      await mine.getByLabel('Recovery code').fill(recoveryCodes[1]!);
      await mine.getByRole('button', { name: 'Verify' }).click();
    });

    const other = await freshPage();
    await passwordStep(other);
    await other.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await claimsAtDemo(other, async () => {
      await other.getByLabel('Recovery code').fill(recoveryCodes[2]!);
      await other.getByRole('button', { name: 'Verify' }).click();
    });
    await other.goto(`${stack.gatehouseUrl}/account`);
    await expect.poll(() => other.getByRole('heading', { level: 1 }).textContent()).toBe('Hello, Grace Hopper');

    await mine.goto(`${stack.gatehouseUrl}/account/sessions`);
    const devices = mine.locator('.device');
    expect(await devices.count()).toBe(2);
    expect(await mine.locator('.device-current').count()).toBe(1);
    await mine.locator('.device:not(.device-current)').getByRole('button', { name: /Sign out/ }).click();
    await expect.poll(() => mine.getByRole('status').textContent()).toMatch(/That device is signed out/);
    expect(await mine.locator('.device').count()).toBe(1);

    // The other browser's next request finds its session gone.
    await other.reload();
    expect(new URL(other.url()).pathname).toBe('/login');
    // …and this one is still signed in.
    await mine.goto(`${stack.gatehouseUrl}/account`);
    expect(new URL(mine.url()).pathname).toBe('/account');
    expect(csp).toEqual([]);
  });
});

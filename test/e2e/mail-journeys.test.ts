/**
 * Email verification and password recovery in a real browser (Debian's
 * Chromium, driven by playwright-core), with the mails delivered by Gatehouse's
 * SMTP transport to a real SMTP server inside the test (smtp-server +
 * mailparser). The links are opened the way a user opens them: in the browser.
 *
 * The realm requires a verified email before login, so every account here has
 * to go through the mailbox once.
 */
import { existsSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.ts';
import { CHROMIUM_PATH, DEMO_CLIENT_ID, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

const NEW_PASSWORD = 'copper-meadow-violin-73';


/** Every POST to the demo app's callback this page makes: the JWT hand-offs. */
function watchCallbacks(page: Page, stack: Stack): URLSearchParams[] {
  const forms: URLSearchParams[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`) forms.push(new URLSearchParams(r.postData() ?? ''));
  });
  return forms;
}

/** The form body of the next POST to the demo app's callback. */
function nextCallback(page: Page, stack: Stack): Promise<URLSearchParams> {
  return page
    .waitForRequest((r) => r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`)
    .then((r) => new URLSearchParams(r.postData() ?? ''));
}

/** The id of the element with the keyboard focus (evaluated in the page: the tests compile without DOM types). */
const focusedId = (page: Page) => page.evaluate<string>("document.activeElement ? document.activeElement.id : ''");

/** The one link in the mail's text part that leads to `path` on Gatehouse (and the HTML part carries the same). */
function linkTo(mail: ReceivedMail, stack: Stack, path: string): string {
  const links = mail.links.filter((l) => l.startsWith(`${stack.gatehouseUrl}${path}?token=`));
  expect(links).toHaveLength(1);
  expect(mail.html).toContain(`href="${links[0]!.replace(/&/g, '&amp;')}"`);
  return links[0]!;
}

describe.skipIf(!has)('browser journeys through the mailbox', () => {
  let stack: Stack;
  let smtp: TestSmtp;
  let browser: Browser;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  const contexts: BrowserContext[] = [];

  const freshContext = async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    return context;
  };

  const verifyToken = async (token: string): Promise<JWTPayload> =>
    (await jwtVerify(token, jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID })).payload;

  /** Demo app → Log in → Create an account → the signup form sent; the page then asks to check the inbox. */
  const signUpFromDemo = async (page: Page, email: string, first: string, last: string) => {
    await page.goto(stack.demoUrl);
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/signup?**`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('First name').fill(first);
    await page.getByLabel('Last name').fill(last);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/verify-email`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Check your inbox');
    expect(await page.locator('.lead strong').textContent()).toBe(email);
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    stack = await startStack({ smtpUrl: smtp.url, realm: { emailVerification: { policy: 'required' } } });
    browser = await launchChromium();
    jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
    await smtp?.close();
  });

  it('signs up, gets no JWT until the link in the mail is opened, then lands back at the demo app verified', async () => {
    const email = uniqueEmail('verify-link');
    const page = await (await freshContext()).newPage();
    const csp = watchCsp(page);
    const callbacks = watchCallbacks(page, stack);

    await signUpFromDemo(page, email, 'Grace', 'Hopper');
    // Required verification: the browser is held on the check-your-inbox page, no token went to the app.
    expect(callbacks).toHaveLength(0);
    expect(await page.getByText('You need to verify your email address before you can continue.').isVisible()).toBe(true);
    const code = page.getByLabel('6-digit code');
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');
    await expect.poll(() => focusedId(page)).toBe('code');
    expect(await page.getByRole('button', { name: 'Send it again' }).isVisible()).toBe(true);

    // The account is not logged in yet: the personal center asks for a login.
    const probe = await page.context().newPage();
    await probe.goto(`${stack.gatehouseUrl}/account`);
    expect(new URL(probe.url()).pathname).toBe('/login');
    await probe.close();

    const mail = await smtp.waitFor(email, (m) => /verify/i.test(m.subject));
    expect(mail.envelopeTo).toEqual([email]);
    expect(mail.subject).toBe('Verify your email for Acme');
    expect(mail.code).toMatch(/^\d{6}$/);
    const link = linkTo(mail, stack, '/verify-email');

    // The link, opened in the same page: verified, logged in, and on to the app that sent the user here.
    const delivered = nextCallback(page, stack);
    await page.goto(link);
    const form = await delivered;
    await page.waitForURL(`${stack.demoUrl}/callback`);
    expect(await page.locator('#signed-in').textContent()).toBe(`Signed in as ${email}`);
    expect(await page.locator('[data-claim="email_verified"]').textContent()).toBe('true');
    expect(await page.locator('[data-claim="email"]').textContent()).toBe(JSON.stringify(email));

    expect(form.get('state')).toBeTruthy();
    const payload = await verifyToken(form.get('token') ?? '');
    expect(payload).toMatchObject({ email, preferred_username: email, name: 'Grace Hopper', email_verified: true, rid: 'main', amr: ['pwd'] });
    expect(await page.locator('[data-claim="sid"]').textContent()).toBe(JSON.stringify(payload.sid));
    expect(callbacks).toHaveLength(1);

    // The link works once: opened again it is a clear error, not a second login.
    await page.goto(link);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).not.toBe('Check your inbox');
    expect(await page.locator('main').textContent()).toMatch(/expired or has already been used/);
    expect(callbacks).toHaveLength(1);

    // The Gatehouse session is alive and knows the address is verified.
    await page.goto(`${stack.gatehouseUrl}/account`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Hello, Grace Hopper');
    expect(await page.locator('main').textContent()).toContain('Verified');

    expect(csp).toEqual([]);
  });

  it('resets a forgotten password from the mail, ends the old session, and logs in with the new password', async () => {
    const email = uniqueEmail('reset');

    // An older browser: signs up, verifies with the code from the mail, and is logged in (Gatehouse and the app).
    const old = await (await freshContext()).newPage();
    await signUpFromDemo(old, email, 'Katherine', 'Johnson');
    const welcome = await smtp.waitFor(email, (m) => /verify/i.test(m.subject));
    const oldDelivered = nextCallback(old, stack);
    await old.getByLabel('6-digit code').fill(welcome.code ?? '');
    await old.keyboard.press('Enter');
    const oldPayload = await verifyToken((await oldDelivered).get('token') ?? '');
    expect(oldPayload).toMatchObject({ email, email_verified: true });
    await old.waitForURL(`${stack.demoUrl}/callback`);
    await old.goto(`${stack.gatehouseUrl}/account`);
    await expect.poll(() => old.getByRole('heading', { level: 1 }).textContent()).toBe('Hello, Katherine Johnson');

    // A new browser: demo app → Log in → Forgot your password?
    const page = await (await freshContext()).newPage();
    const csp = watchCsp(page);
    await page.goto(stack.demoUrl);
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/forgot?**`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Forgot your password?');
    const identifier = page.getByLabel('Email');
    expect(await identifier.getAttribute('autocomplete')).toBe('username');
    await expect.poll(() => focusedId(page)).toBe('identifier');
    await identifier.fill(email);
    await page.getByRole('button', { name: 'Send reset email' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Check your inbox');
    expect(await page.getByLabel('6-digit code').getAttribute('autocomplete')).toBe('one-time-code');

    const mail = await smtp.waitFor(email, (m) => /reset/i.test(m.subject));
    expect(mail.subject).toBe('Reset your Acme password');
    expect(mail.envelopeTo).toEqual([email]);
    const link = linkTo(mail, stack, '/reset-password');

    // The link: the token moves into the session and leaves the address bar (and the referrer).
    const response = await page.goto(link);
    expect(response?.headers()['referrer-policy']).toBe('no-referrer');
    expect(page.url()).toBe(`${stack.gatehouseUrl}/reset-password`);
    expect(page.url()).not.toContain('token');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Choose a new password');
    const password = page.getByLabel('New password');
    expect(await password.getAttribute('autocomplete')).toBe('new-password');
    expect(await password.getAttribute('type')).toBe('password');
    await expect.poll(() => focusedId(page)).toBe('password');

    // The policy applies: a common password is refused on the same page, focus back on the field.
    await password.fill('password123');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/too common/);
    expect(await page.getByLabel('New password').getAttribute('aria-invalid')).toBe('true');
    expect(await focusedId(page)).toBe('password');

    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Your password is changed');
    const notice = await smtp.waitFor(email, (m) => /was changed/i.test(m.subject));
    expect(notice.subject).toBe('Your Acme password was changed');

    // Sign in with the new password, on the way back to the demo app.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/login?**`);
    expect(new URL(page.url()).searchParams.get('redirect_uri')).toBe(`${stack.demoUrl}/callback`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not right/);

    const delivered = nextCallback(page, stack);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const form = await delivered;
    await page.waitForURL(`${stack.demoUrl}/callback`);
    expect(await page.locator('#signed-in').textContent()).toBe(`Signed in as ${email}`);
    const payload = await verifyToken(form.get('token') ?? '');
    expect(payload).toMatchObject({ email, email_verified: true, amr: ['pwd'] });
    expect(payload.sid).not.toBe(oldPayload.sid);

    // The spent link is dead.
    const again = await page.context().newPage();
    await again.goto(link);
    expect(await again.locator('main').textContent()).toMatch(/expired or has already been used/);
    await again.close();

    // The browser that was logged in before the reset is logged out.
    await old.goto(`${stack.gatehouseUrl}/account`);
    expect(new URL(old.url()).pathname).toBe('/login');
    await expect.poll(() => old.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');

    expect(csp).toEqual([]);
  });
});

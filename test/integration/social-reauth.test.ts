/**
 * "Confirm it's you" through a provider, for users who signed up through one
 * and have no password (ASVS 7.5.1, 7.2.4): the round trip through the real
 * GitHub strategy, the identity it must come back with, and the
 * authenticator code that goes with the button when the user has one
 * (ASVS 6.3.x: the provider alone is one factor). The app clock is injected;
 * TOTP codes are computed with otplib at that clock.
 */
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, uniqueEmail } from '../helpers/gatehouse.ts';
import { pathOf, signInWith, socialRig, type Browser, type SocialRig } from '../helpers/social.ts';
import type { FakeAccount } from '../helpers/providers.ts';
import { listEvents } from '../helpers/events.ts';

let rig: SocialRig;
/** The middle of a 30-second step, so a code is unambiguous; the clock only moves forward. */
let now = (Math.floor(Date.now() / 30_000) + 1) * 30_000 + 15_000;
beforeAll(async () => {
  rig = await socialRig({ clock: () => new Date(now) });
});
afterAll(async () => {
  await rig?.close();
});

const codeAt = (secret: string) => generateSync({ secret, epoch: Math.floor(now / 1000) });
/** Past the realm's recent-authentication window, and onto a fresh TOTP step. */
const letAuthExpire = () => {
  now += (rig.gh.config.realms[0]!.account.recentAuthMinutes + 1) * 60_000;
};

/** The session id cookie a browser holds now. */
const sessionCookieOf = (b: Browser) => b.agent.jar.getCookie('gh.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false })?.value;
/** The session id cookie a response sets, if it sets one. */
const setCookieSid = (res: request.Response) =>
  ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('gh.sid='))?.split(';')[0]!.slice('gh.sid='.length);

/** Where a redirect goes, without its query. */
const withoutQuery = (url: string) => url.split('?')[0];

let nextId = 7000;
function githubAccount(): FakeAccount {
  nextId += 1;
  return { id: String(nextId), login: `octo${nextId}`, name: 'Mona Lisa', emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }] };
}

/** A new passwordless user, signed up through GitHub as `account` (signed in just now). */
async function signUpWithGithub(account = githubAccount()) {
  rig.fake.setAccount('github', account);
  const b = browser(rig.gh);
  const res = await signInWith(rig, b, 'github');
  expect(res.status, res.text).toBe(303);
  expect(res.headers.location).toBe('/account');
  const userId = (await rig.gh.store.findExternalIdentity('alpha', 'github', account.id))!.userId;
  return { b, account, userId };
}

const eventsOf = async (userId: string, type: string) => (await listEvents(rig.gh.store, 'alpha', userId, 200)).filter((e) => e.type === type);

const NEXT = '/account/password';
const REAUTH_PAGE = `/account/reauth?next=${encodeURIComponent(NEXT)}`;
const REAUTH_GITHUB = `/account/reauth/github?next=${encodeURIComponent(NEXT)}`;

/** Presses "Confirm with GitHub" on the reauth page (with `form` fields, e.g. the otp). */
async function pressConfirm(b: Browser, form: Record<string, string> = {}) {
  const page = await b.get(REAUTH_PAGE);
  expect(page.status).toBe(200);
  return b.post(REAUTH_GITHUB, { _csrf: csrfOf(page.text), ...form });
}

/** Expects `b` to be sent to "confirm it's you" on the way to NEXT. */
async function expectDetour(b: Browser) {
  const res = await b.get(NEXT);
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe(REAUTH_PAGE);
}

/** The secret the enrolment page shows, without its spaces. */
function secretOf(html: string): string {
  const grouped = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(html)?.[1];
  if (!grouped) throw new Error('no TOTP secret on the page');
  return grouped.replace(/ /g, '');
}

/** Turns TOTP on through the personal-center pages (which need the recent authentication the sign-up gave). */
async function enrolTotp(b: Browser): Promise<string> {
  const off = await b.get('/account/mfa');
  expect(off.status).toBe(200);
  expect((await b.post('/account/mfa/enrol', { _csrf: csrfOf(off.text) })).status).toBe(303);
  const sheet = await b.get('/account/mfa');
  const secret = secretOf(sheet.text);
  const confirmed = await b.post('/account/mfa/confirm', { _csrf: csrfOf(sheet.text), code: codeAt(secret) });
  expect(confirmed.status, confirmed.text).toBe(303);
  const codes = await b.get('/account/mfa');
  expect((await b.post('/account/mfa/recovery-codes/saved', { _csrf: csrfOf(codes.text) })).status).toBe(303);
  return secret;
}

describe('confirm it\'s you through a provider', () => {
  it('offers a passwordless user "Confirm with GitHub" instead of a password, renews the session id and lets the page through', async () => {
    const { b, userId } = await signUpWithGithub();
    letAuthExpire();
    await expectDetour(b);
    const page = await b.get(REAUTH_PAGE);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('name="password"');
    expect(page.text).not.toContain('name="otp"');
    expect(page.text).toContain(`action="${REAUTH_GITHUB.replace(/&/g, '&amp;')}"`);
    expect(page.text).toContain('<span>Confirm with GitHub</span>');
    // Only providers with an identity of this user confirm it's them.
    expect(page.text).not.toContain('Confirm with Google');

    const before = sessionCookieOf(b);
    expect(before).toBeTruthy();
    const start = await b.post(REAUTH_GITHUB, { _csrf: csrfOf(page.text) });
    expect(start.status, start.text).toBe(302);
    expect(withoutQuery(start.headers.location as string)).toBe(rig.fake.github.authorizationURL);
    const back = await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
    expect(back.status, back.text).toBe(303);
    expect(back.headers.location).toBe(NEXT);
    const renewed = setCookieSid(back);
    expect(renewed).toBeTruthy();
    expect(renewed).not.toBe(before);

    const protectedPage = await b.get(NEXT);
    expect(protectedPage.status).toBe(200);
    expect((await eventsOf(userId, 'user.reauth.succeeded')).map((e) => e.data)).toEqual([{ method: 'github' }]);
    // Whoever held the old cookie is a stranger now.
    const old = await request(rig.gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', `gh.sid=${before}`);
    expect(old.status).toBe(303);
    expect(old.headers.location).toBe('/login');
  });

  it('refuses a GitHub account other than the linked one, and the user is still not recently authenticated', async () => {
    const someoneElse = (await signUpWithGithub()).account;
    const { b, userId } = await signUpWithGithub();
    letAuthExpire();
    rig.fake.setAccount('github', someoneElse);
    const start = await pressConfirm(b);
    expect(start.status).toBe(302);
    const back = await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
    expect(back.status).toBe(403);
    expect(back.text).toContain('That GitHub account is not the one connected to your account.');
    expect(back.text).toContain(`href="${REAUTH_PAGE.replace(/&/g, '&amp;')}"`);
    await expectDetour(b);
    expect((await eventsOf(userId, 'user.reauth.failed')).map((e) => e.data)).toEqual([{ method: 'github' }]);
    expect(await eventsOf(userId, 'user.reauth.succeeded')).toHaveLength(0);
  });

  it('asks a passwordless user with an authenticator for the code with the button, and checks it before the round trip', async () => {
    const { b, account } = await signUpWithGithub();
    const secret = await enrolTotp(b);
    letAuthExpire();
    await expectDetour(b);
    const page = await b.get(REAUTH_PAGE);
    expect(page.text).not.toContain('name="password"');
    expect(page.text).toMatch(/<form method="post" action="\/account\/reauth\/github[^"]*" class="social-form">[\s\S]*?name="otp"[\s\S]*?<\/form>/);

    rig.fake.setAccount('github', account);
    const tokens = rig.fake.tokenRequests('github');
    const missing = await pressConfirm(b, { otp: '' });
    expect(missing.status).toBe(400);
    expect(missing.headers.location).toBeUndefined();
    expect(missing.text).toContain('Enter the code from your authenticator app, or a recovery code.');

    const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
    const refused = await pressConfirm(b, { otp: wrong });
    expect(refused.status).toBe(401);
    expect(refused.headers.location).toBeUndefined();
    expect(refused.text).toContain('That code is not right');
    expect(rig.fake.tokenRequests('github')).toBe(tokens);
    await expectDetour(b);

    const start = await pressConfirm(b, { otp: codeAt(secret) });
    expect(start.status, start.text).toBe(302);
    const back = await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
    expect(back.status, back.text).toBe(303);
    expect(back.headers.location).toBe(NEXT);
    expect((await b.get(NEXT)).status).toBe(200);
  });
});

describe('which accounts confirm through a provider', () => {
  it('offers a user who has a password no provider button, and refuses one posted anyway', async () => {
    const email = uniqueEmail('pw');
    const b = browser(rig.gh);
    expect((await b.submit('/signup', { email, password: 'violet-harbor-lantern-42' })).status).toBe(303);
    // Linking waits for a verified address (connected-accounts.test.ts); not what this test is about.
    const userId = (await rig.gh.store.findUsersByEmail('alpha', email))[0]!.user.id;
    await rig.gh.store.setEmailVerification('alpha', userId, 'verified', new Date(now));
    // GitHub linked from the personal center (the sign-up is recent).
    const account = githubAccount();
    rig.fake.setAccount('github', account);
    const connected = await b.get('/account/connected');
    const start = await b.post('/account/connected/github', { _csrf: csrfOf(connected.text) });
    expect(start.status).toBe(302);
    expect((await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)))).headers.location).toBe('/account/connected');
    letAuthExpire();
    const page = await b.get(REAUTH_PAGE);
    expect(page.text).toContain('name="password"');
    expect(page.text).not.toContain('/account/reauth/github');
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toMatchObject({ userId });
    const tokens = rig.fake.tokenRequests('github');
    expect((await b.post(REAUTH_GITHUB, { _csrf: csrfOf(page.text) })).status).toBe(404);
    expect(rig.fake.tokenRequests('github')).toBe(tokens);
    await expectDetour(b);
  });

  it('asks an OpenID provider to authenticate the user afresh (prompt=login, max_age=0) and accepts its answer', async () => {
    rig.oidc.setAccount({ sub: `acme-${nextId}`, email: uniqueEmail('acme'), email_verified: true });
    const b = browser(rig.gh);
    expect((await signInWith(rig, b, 'acme')).headers.location).toBe('/account');
    letAuthExpire();
    const page = await b.get(REAUTH_PAGE);
    const start = await b.post(`/account/reauth/acme?next=${encodeURIComponent(NEXT)}`, { _csrf: csrfOf(page.text) });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.location as string);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    expect(authorize.searchParams.get('max_age')).toBe('0');
    const back = await b.get(pathOf(await rig.oidc.authorize(authorize.href)));
    expect(back.status, back.text).toBe(303);
    expect(back.headers.location).toBe(NEXT);
    expect((await b.get(NEXT)).status).toBe(200);
  });
});

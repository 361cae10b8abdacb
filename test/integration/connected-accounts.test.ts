/**
 * Personal center → Connected accounts: the page, linking another provider
 * through its real strategy (against the loopback providers), and unlinking,
 * with the rules that keep a user able to sign in. The app clock is injected
 * so a recent authentication can run out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, uniqueEmail } from '../helpers/gatehouse.ts';
import { pathOf, signInWith, socialRealm, socialRig, type Browser, type SocialRig } from '../helpers/social.ts';
import type { FakeAccount, FakeProvider } from '../helpers/providers.ts';
import { listEvents } from '../helpers/events.ts';

let rig: SocialRig;
/** The app's clock; it only moves forward. */
let now = Date.now();
beforeAll(async () => {
  // alpha verifies addresses (optional policy); never does not ask for verification at all.
  rig = await socialRig({
    clock: () => new Date(now),
    realms: (fake, oidc) => [
      socialRealm(fake, oidc),
      TEST_CONFIG.realms[1],
      socialRealm(fake, oidc, { id: 'never', name: 'Never', publicUrl: 'http://never.test', emailVerification: { policy: 'off' } }),
    ],
  });
});
afterAll(async () => {
  await rig?.close();
});

/** Where a redirect goes, without its query. */
const withoutQuery = (url: string) => url.split('?')[0];

let nextId = 5000;
function githubAccount(): FakeAccount {
  nextId += 1;
  return { id: String(nextId), login: `octo${nextId}`, name: 'Mona Lisa', emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }] };
}
function googleAccount(): FakeAccount {
  nextId += 1;
  const emails = [{ email: uniqueEmail('g'), primary: true, verified: true }];
  return { id: `g-${nextId}`, name: 'Grace Hopper', givenName: 'Grace', familyName: 'Hopper', emails };
}

const identityOf = (provider: string, subject: string) => rig.gh.store.findExternalIdentity('alpha', provider, subject);
const identitiesOf = async (userId: string) => (await rig.gh.store.listExternalIdentities('alpha', userId)).map((i) => `${i.provider}:${i.subject}`).sort();
const eventsOf = async (userId: string, type: string) => (await listEvents(rig.gh.store, 'alpha', userId, 200)).filter((e) => e.type === type);

/** A new passwordless user, signed up (and signed in, just now) through `provider` as `account`. */
async function signUpWith(provider: 'github' | 'google', account: FakeAccount) {
  rig.fake.setAccount(provider, account);
  const b = browser(rig.gh);
  const res = await signInWith(rig, b, provider);
  expect(res.status, res.text).toBe(303);
  expect(res.headers.location).toBe('/account');
  const userId = (await identityOf(provider, account.id))!.userId;
  return { b, userId };
}

/** Presses "Link <provider>" on the connected-accounts page. */
async function pressLink(b: Browser, provider: string) {
  const page = await b.get('/account/connected');
  expect(page.status).toBe(200);
  return b.post(`/account/connected/${provider}`, { _csrf: csrfOf(page.text) });
}

/** Links `provider` as `account` through the provider and returns the callback's response. */
async function link(b: Browser, provider: FakeProvider, account: FakeAccount) {
  rig.fake.setAccount(provider, account);
  const start = await pressLink(b, provider);
  expect(start.status, start.text).toBe(302);
  return b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
}

/** A password user of `host`'s realm, signed up (and signed in, just now) in the returned browser; the address is not verified. */
async function passwordUser(host = 'alpha.test') {
  const email = uniqueEmail('pwd');
  const b = browser(rig.gh, host);
  const signup = await b.submit('/signup', { email, password: GOOD_PASSWORD });
  expect(signup.status, signup.text).toBe(303);
  const user = (await rig.gh.store.findUsersByEmail(host.split('.')[0]!, email))[0]!.user;
  return { b, email, userId: user.id, user };
}

async function pressUnlink(b: Browser, provider: string) {
  const page = await b.get('/account/connected');
  expect(page.status).toBe(200);
  return b.post(`/account/connected/${provider}/unlink`, { _csrf: csrfOf(page.text) });
}

describe('the connected-accounts page', () => {
  it('lists a GitHub sign-up\'s identity with its login and linked date, offers the other providers, and marks it the only way to sign in', async () => {
    const account = githubAccount();
    const { b, userId } = await signUpWith('github', account);
    const page = await b.get('/account/connected');
    expect(page.status).toBe(200);
    const [identity] = await rig.gh.store.listExternalIdentities('alpha', userId);
    expect(page.text).toContain('<p class="device-name">GitHub</p>');
    expect(page.text).toContain(`<span>${account.login}</span>`);
    expect(page.text).toContain(`<time datetime="${identity!.createdAt.toISOString()}"`);
    expect(page.text).toContain('action="/account/connected/google"');
    expect(page.text).toContain('<span>Link Google</span>');
    expect(page.text).toContain('action="/account/connected/acme"');
    expect(page.text).toContain('<span>Link Acme SSO</span>');
    expect(page.text).not.toContain('<span>Link GitHub</span>');
    // No password and one identity: unlinking it would lock the user out, so the page offers no button.
    expect(page.text).not.toContain('/unlink');
    expect(page.text).toContain('Only way to sign in');
    expect(page.text).toContain('This is the only way you can sign in.');
  });
});

describe('linking', () => {
  it('links Google from the page through the provider and says so', async () => {
    const { b, userId } = await signUpWith('github', githubAccount());
    const google = googleAccount();
    rig.fake.setAccount('google', google);
    const start = await pressLink(b, 'google');
    expect(start.status, start.text).toBe(302);
    expect(withoutQuery(start.headers.location as string)).toBe(rig.fake.google.authorizationURL);
    const back = await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
    expect(back.status, back.text).toBe(303);
    expect(back.headers.location).toBe('/account/connected');
    const page = await b.get('/account/connected');
    expect(page.text).toContain('Google is now linked: you can sign in with it.');
    expect(await identityOf('google', google.id)).toMatchObject({ userId });
    expect(await identitiesOf(userId)).toHaveLength(2);
    expect((await eventsOf(userId, 'user.identity.linked')).map((e) => e.data)).toContainEqual(expect.objectContaining({ provider: 'google' }));
    // The flash shows once.
    expect((await b.get('/account/connected')).text).not.toContain('Google is now linked');
  });

  it('sends a login older than account.recentAuthMinutes to "confirm it\'s you" before linking', async () => {
    const { b, userId } = await signUpWith('github', githubAccount());
    const page = await b.get('/account/connected');
    now += (rig.gh.config.realms[0]!.account.recentAuthMinutes + 1) * 60_000;
    const tokens = rig.fake.tokenRequests('google');
    const res = await b.post('/account/connected/google', { _csrf: csrfOf(page.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account/reauth?next=%2Faccount%2Fconnected');
    expect(rig.fake.tokenRequests('google')).toBe(tokens);
    expect(await identitiesOf(userId)).toHaveLength(1);
  });

  it('refuses an identity that belongs to another user, and one already linked to this user, changing nothing', async () => {
    const taken = googleAccount();
    const other = await signUpWith('google', taken);
    const { b, userId } = await signUpWith('github', githubAccount());

    const elsewhere = await link(b, 'google', taken);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.text).toContain('That Google account is linked to another account. Sign in with it there and unlink it first.');
    expect(await identityOf('google', taken.id)).toMatchObject({ userId: other.userId });
    expect(await identitiesOf(userId)).toHaveLength(1);

    const mine = googleAccount();
    expect((await link(b, 'google', mine)).status).toBe(303);
    const before = await identitiesOf(userId);
    const again = await link(b, 'google', mine);
    expect(again.status).toBe(409);
    expect(again.text).toContain('That Google account is already linked to your account.');
    expect(await identitiesOf(userId)).toEqual(before);
    expect(await identitiesOf(other.userId)).toEqual([`google:${taken.id}`]);
    expect(await eventsOf(userId, 'user.identity.linked')).toHaveLength(2);
  });

  // Signing in regenerates the browser's session (ASVS 7.2.4), so the linking flow A started dies there:
  // the callback fails on its state before the "someone else is signed in" check (social.otherUser) is reached.
  it('refuses the linking callback of a user after someone else signed in in that browser, linking nothing', async () => {
    const bob = githubAccount();
    const b2 = await signUpWith('github', bob);
    const alice = await signUpWith('github', githubAccount());
    const b = alice.b;

    const google = googleAccount();
    rig.fake.setAccount('google', google);
    const start = await pressLink(b, 'google');
    expect(start.status).toBe(302);
    const alicesCallback = await rig.fake.authorize(start.headers.location as string);

    // Bob signs in through GitHub in Alice's browser.
    rig.fake.setAccount('github', bob);
    const page = await b.get('/account/connected');
    const bobStart = await b.post('/social/github', { _csrf: csrfOf(page.text) });
    expect(bobStart.status).toBe(302);
    const bobIn = await b.get(pathOf(await rig.fake.authorize(bobStart.headers.location as string)));
    expect(bobIn.status).toBe(303);

    const tokens = rig.fake.tokenRequests('google');
    const res = await b.get(pathOf(alicesCallback));
    expect(res.status).toBe(400);
    expect(res.text).toContain('This sign-in link is not valid any more');
    expect(rig.fake.tokenRequests('google')).toBe(tokens);
    expect(await identityOf('google', google.id)).toBeNull();
    expect(await identitiesOf(alice.userId)).toHaveLength(1);
    expect(await identitiesOf(b2.userId)).toEqual([`github:${bob.id}`]);
    // The browser is Bob's now, and Bob's page is untouched.
    const bobsPage = await b.get('/account/connected');
    expect(bobsPage.text).toContain(`<span>${bob.login}</span>`);
    expect(bobsPage.text).toContain('<span>Link Google</span>');
  });
});

describe('linking before the address is verified', () => {
  it('refuses to link a provider to a password user whose address is not verified, and links it once the mailed link verified it', async () => {
    const { b, email, userId } = await passwordUser();
    const account = githubAccount();
    const refused = await link(b, 'github', account);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Verify your email address first: accounts can be linked once it is confirmed.');
    expect(refused.text).toContain('href="/account/connected"');
    expect(await identityOf('github', account.id)).toBeNull();
    expect(await eventsOf(userId, 'user.identity.linked')).toHaveLength(0);

    // The verification mail of the sign-up, opened in another browser: only the mailbox is needed.
    const mail = (await rig.gh.store.listMail(1000)).find((m) => m.kind === 'verify-email' && m.to.address === email);
    expect(mail?.link).toBeTruthy();
    const url = new URL(mail!.link!);
    expect((await browser(rig.gh).get(url.pathname + url.search)).status).toBe(200);
    expect((await rig.gh.store.findUserById('alpha', userId))?.emailVerification).toBe('verified');

    const linked = await link(b, 'github', account);
    expect(linked.status, linked.text).toBe(303);
    expect(linked.headers.location).toBe('/account/connected');
    expect(await identityOf('github', account.id)).toMatchObject({ userId });
  });

  it('links for an unverified user where the realm does not verify addresses', async () => {
    const { b, userId, user } = await passwordUser('never.test');
    expect(user.emailVerification).not.toBe('verified');
    const account = githubAccount();
    rig.fake.setAccount('github', account);
    const page = await b.get('/account/connected');
    const start = await b.post('/account/connected/github', { _csrf: csrfOf(page.text) });
    expect(start.status, start.text).toBe(302);
    const back = await b.get(pathOf(await rig.fake.authorize(start.headers.location as string)));
    expect(back.status, back.text).toBe(303);
    expect(back.headers.location).toBe('/account/connected');
    expect(await rig.gh.store.findExternalIdentity('never', 'github', account.id)).toMatchObject({ userId });
  });
});

describe('unlinking', () => {
  it('unlinks GitHub from a user who also has a password, and records it', async () => {
    const { b, email, userId } = await passwordUser();
    // Linking waits for a verified address ('linking' above); not what this test is about.
    await rig.gh.store.setEmailVerification('alpha', userId, 'verified', new Date(now));
    const account = githubAccount();
    expect((await link(b, 'github', account)).status).toBe(303);
    const page = await b.get('/account/connected');
    expect(page.text).toContain('action="/account/connected/github/unlink"');
    expect(page.text).not.toContain('Only way to sign in');

    const res = await pressUnlink(b, 'github');
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/account/connected');
    expect((await b.get('/account/connected')).text).toContain('GitHub is unlinked.');
    expect(await identityOf('github', account.id)).toBeNull();
    expect((await eventsOf(userId, 'user.identity.unlinked')).map((e) => e.data)).toEqual([{ provider: 'github' }]);
    // The password still signs in.
    expect((await browser(rig.gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
  });

  it('refuses to unlink a passwordless user\'s only identity, and allows it once a second provider is linked', async () => {
    const github = githubAccount();
    const { b, userId } = await signUpWith('github', github);
    const refused = await pressUnlink(b, 'github');
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('You cannot unlink your only way to sign in. Set a password or link another account first.');
    expect(await identityOf('github', github.id)).toMatchObject({ userId });
    expect(await eventsOf(userId, 'user.identity.unlinked')).toHaveLength(0);

    const google = googleAccount();
    expect((await link(b, 'google', google)).status).toBe(303);
    expect((await b.get('/account/connected')).text).not.toContain('Only way to sign in');
    const res = await pressUnlink(b, 'github');
    expect(res.status, res.text).toBe(303);
    expect(await identitiesOf(userId)).toEqual([`google:${google.id}`]);
    expect(await eventsOf(userId, 'user.identity.unlinked')).toHaveLength(1);
    // Google is the only way in now.
    const page = await b.get('/account/connected');
    expect(page.text).toContain('Only way to sign in');
    expect((await pressUnlink(b, 'google')).status).toBe(409);
  });
});

/**
 * Social login end to end: the real strategies (passport-github2,
 * passport-google-oauth20, openid-client) against the loopback providers.
 * ASVS 5.0: 6.8.x (identity providers), 10.x (OAuth client: state, PKCE,
 * nonce), 6.3.x (MFA never skipped), 7.2.4 (new session id at login).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { partAvailable } from '../helpers/parts.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { confirmAddress, pathOf, pressProviderButton, signInWith, socialCodeOf, socialRig, type SocialRig } from '../helpers/social.ts';
import { listEvents } from '../helpers/events.ts';

let rig: SocialRig;
beforeAll(async () => {
  rig = await socialRig();
});
afterAll(async () => {
  await rig?.close();
});

let nextId = 1000;
/** A provider account no other test uses. */
function githubAccount(emails: { email: string; verified: boolean }[] = [{ email: uniqueEmail('gh'), verified: true }]) {
  nextId += 1;
  return { id: String(nextId), login: `octo${nextId}`, name: 'Mona Lisa', avatarUrl: 'https://avatars.example/u/1.png', emails: emails.map((e, i) => ({ ...e, primary: i === 0 })) };
}

describe('social login', () => {
  it('signs a new user up through GitHub and hands the app a JWT whose amr names the provider', async () => {
    const account = githubAccount();
    rig.fake.setAccount('github', account);
    const b = browser(rig.gh);
    const res = await signInWith(rig, b, 'github', '?redirect_uri=https://app.example.com/cb&state=xyz');
    expect(res.status, res.text).toBe(200);
    const { action, token, state } = formPostOf(res.text);
    expect(action).toBe('https://app.example.com/cb');
    expect(state).toBe('xyz');
    const claims = decodeJwt(token);
    expect(claims.amr).toEqual(['github']);
    expect(claims.email).toBe(account.emails[0]!.email);
    expect(claims.email_verified).toBe(true);
    const user = await rig.gh.store.findUserByLogin('alpha', account.emails[0]!.email);
    expect(user?.passwordHash).toBeNull();
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toMatchObject({ userId: user!.user.id, displayName: account.login });
  });

  it('logs a known identity in again as the same user', async () => {
    const account = githubAccount();
    rig.fake.setAccount('github', account);
    const first = await signInWith(rig, browser(rig.gh), 'github');
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/account');
    const again = await signInWith(rig, browser(rig.gh), 'github');
    expect(again.headers.location).toBe('/account');
    const found = await rig.gh.store.findUsersByEmail('alpha', account.emails[0]!.email);
    expect(found).toHaveLength(1);
  });

  it('signs in through Google and through an OpenID Connect provider', async () => {
    const email = uniqueEmail('g');
    rig.fake.setAccount('google', { id: 'g-1', name: 'Grace Hopper', givenName: 'Grace', familyName: 'Hopper', emails: [{ email, primary: true, verified: true }] });
    const g = await signInWith(rig, browser(rig.gh), 'google');
    expect(g.status, g.text).toBe(303);
    const oidcEmail = uniqueEmail('o');
    rig.oidc.setAccount({ sub: 'acme-1', email: oidcEmail, email_verified: true, given_name: 'Ada', family_name: 'Lovelace' });
    const o = await signInWith(rig, browser(rig.gh), 'acme');
    expect(o.status, o.text).toBe(303);
    const user = (await rig.gh.store.findUsersByEmail('alpha', oidcEmail))[0]!.user;
    expect(user).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', emailVerification: 'verified' });
  });

  it('refuses a callback with a wrong state, and a replayed callback, without redeeming the code', async () => {
    rig.fake.setAccount('github', githubAccount());
    const b = browser(rig.gh);
    const authorizeUrl = await pressProviderButton(b, 'github');
    const callback = new URL(await rig.fake.authorize(authorizeUrl));
    const tokens = rig.fake.tokenRequests('github');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    const wrong = await b.get(pathOf(forged.href));
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('not valid any more');
    // The wrong state ended the flow: the right one comes too late now.
    const late = await b.get(pathOf(callback.href));
    expect(late.status).toBe(400);
    expect(rig.fake.tokenRequests('github')).toBe(tokens);
  });
});

describe('linking by email', () => {
  it('links to the local account with the same verified address', async () => {
    const email = uniqueEmail('local');
    const b = browser(rig.gh);
    await b.submit('/signup', { email, password: GOOD_PASSWORD });
    const user = (await rig.gh.store.findUsersByEmail('alpha', email))[0]!.user;
    await rig.gh.store.setEmailVerification('alpha', user.id, 'verified', new Date());
    const account = githubAccount([{ email, verified: true }]);
    rig.fake.setAccount('github', account);
    const res = await signInWith(rig, browser(rig.gh), 'github');
    expect(res.status).toBe(303);
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toMatchObject({ userId: user.id });
    // The password still works.
    expect((await rig.gh.store.passwordHashOf('alpha', user.id))).not.toBeNull();
  });

  it('hands a pre-hijacked account to the provider-verified owner: the attacker\'s password stops working', async () => {
    const victim = uniqueEmail('victim');
    const attacker = browser(rig.gh);
    await attacker.submit('/signup', { email: victim, password: GOOD_PASSWORD });
    const user = (await rig.gh.store.findUsersByEmail('alpha', victim))[0]!.user;
    expect(user.emailVerification).not.toBe('verified');
    // A phone the attacker bound would reach apps as phone_number_verified.
    await rig.gh.store.setPhone('alpha', user.id, '+14155550123', true, new Date());

    rig.fake.setAccount('google', { id: `g-${victim}`, name: 'Victim', emails: [{ email: victim, primary: true, verified: true }] });
    const res = await signInWith(rig, browser(rig.gh), 'google');
    expect(res.status).toBe(303);
    expect(await rig.gh.store.findExternalIdentity('alpha', 'google', `g-${victim}`)).toMatchObject({ userId: user.id });

    const login = await browser(rig.gh).submit('/login', { identifier: victim, password: GOOD_PASSWORD });
    expect(login.status).toBe(401);
    // The attacker's browser session is over too.
    const account = await attacker.get('/account');
    expect(account.status).toBe(303);
    expect(account.headers.location).toMatch(/^\/login/);
    const events = await listEvents(rig.gh.store, 'alpha', user.id, 50);
    expect(events.map((e) => e.type)).toContain('user.reclaimed');
    expect(await rig.gh.store.findUserById('alpha', user.id)).toMatchObject({ emailVerification: 'verified', phone: null, phoneVerified: false });
  });

  it('never links by an address the provider did not verify: a code to it first, then the user proves the account with its password', async () => {
    const email = uniqueEmail('unverified');
    await browser(rig.gh).submit('/signup', { email, password: GOOD_PASSWORD });
    const user = (await rig.gh.store.findUsersByEmail('alpha', email))[0]!.user;
    const account = githubAccount([{ email, verified: false }]);
    rig.fake.setAccount('github', account);
    const b = browser(rig.gh);
    const res = await signInWith(rig, b, 'github');
    expect(res.status).toBe(303);
    // The same first answer as for an address no account has: nothing tells that this one exists.
    expect(res.headers.location).toBe('/social/confirm');
    const confirmed = await confirmAddress(rig, b, email);
    expect(confirmed.status).toBe(303);
    // A proved mailbox is still not the account's password: no link, no take-over.
    expect(confirmed.headers.location).toBe('/social/link');
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toBeNull();
    expect(await rig.gh.store.passwordHashOf('alpha', user.id)).not.toBeNull();
    const page = await b.get('/social/link');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`An account with ${email} exists.`);
    const proved = await b.submit('/social/link', { identifier: email, password: GOOD_PASSWORD });
    expect(proved.status, proved.text.match(/role="alert"[^<]*<[^<]*<[^<]*/)?.[0]).toBe(303);
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toMatchObject({ userId: user.id });
  });
});

describe.skipIf(!partAvailable('Redis', Boolean(inject('redisUrl')), 'install redis-server or set REDIS_URL'))('social login with sessions in Redis', () => {
  let redisRig: SocialRig;
  beforeAll(async () => {
    redisRig = await socialRig({ redisUrl: inject('redisUrl') });
  });
  afterAll(async () => {
    await redisRig?.close();
  });

  it('keeps the flow (state, PKCE verifier, the app\'s redirect) in the Redis session across the round trip', async () => {
    const account = githubAccount();
    redisRig.fake.setAccount('github', account);
    const b = browser(redisRig.gh);
    const res = await signInWith(redisRig, b, 'github', '?redirect_uri=https://app.example.com/cb&state=from-redis');
    expect(res.status, res.text).toBe(200);
    expect(formPostOf(res.text).state).toBe('from-redis');
    redisRig.oidc.setAccount({ sub: `acme-redis-${account.id}`, email: uniqueEmail('or'), email_verified: true });
    const o = await signInWith(redisRig, browser(redisRig.gh), 'acme');
    expect(o.status, o.text).toBe(303);
  });

  it('counts parallel guesses of the address code atomically: 30 at once buy no more than the realm\'s tries', async () => {
    const email = uniqueEmail('guess');
    redisRig.fake.setAccount('github', githubAccount([{ email, verified: false }]));
    const b = browser(redisRig.gh);
    const res = await signInWith(redisRig, b, 'github');
    expect(res.headers.location).toBe('/social/confirm');
    const page = await b.get('/social/confirm');
    const right = await socialCodeOf(redisRig, email);
    const wrong = right === '000000' ? '111111' : '000000';
    // The session is in Redis: parallel requests each load the same try count; the limiter does not.
    const answers = await Promise.all(Array.from({ length: 30 }, () => b.post('/social/confirm', { _csrf: csrfOf(page.text), code: wrong })));
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(redisRig.gh.config.realms[0]!.emailVerification.codeAttempts);
    const late = await b.post('/social/confirm', { _csrf: csrfOf(page.text), code: right });
    expect(late.status).toBe(400);
    expect(await redisRig.gh.store.findUsersByEmail('alpha', email)).toEqual([]);
  });
});

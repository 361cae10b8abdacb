/**
 * Org invitations by mail (docs/design/orgs.md §7.2, §7.3): the API invites, a real SMTP server (smtp-server)
 * receives the mail, its link is followed in a browser-like client — accept signed in, sign up through it,
 * sign in then accept, the wrong account, and every way a link stops working — in a realm whose sign-up
 * policy is invite_only and which requires verified addresses (the invitation verifies).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { enrolAtSignIn } from '../helpers/mfa.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';
import { signInWith, socialRealm, socialRig, type SocialRig } from '../helpers/social.ts';

type Browser = ReturnType<typeof browser>;

let smtp: TestSmtp;
let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let acme: string;
/** Added to the clock: an hour and more makes a one-hour invitation expire. */
let offsetMs = 0;

beforeAll(async () => {
  smtp = await startSmtp();
  const file = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  Object.assign(file.realms[0]!, {
    signup: { policy: 'invite_only' },
    emailVerification: { policy: 'required' },
    tokens: { fields: ['custom', 'orgs'] },
    invitations: { ttlHours: 1 },
  });
  // gamma: the same, and MFA required — a new account sets up an authenticator before its first JWT.
  file.realms.push({ ...file.realms[0]!, id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test', mfa: { policy: 'required' } });
  gh = await testGatehouse({ file, smtpUrl: smtp.url, clock: () => new Date(Date.now() + offsetMs) });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  acme = (await api.post('/realms/alpha/orgs', { name: 'Acme' })).body.id as string;
});
afterAll(async () => {
  await gh?.close();
  await smtp?.close();
});

/** Invites `email` to Acme through the API and returns the invitation's id and the path of the mailed link (its first mail). */
async function invite(email: string, more: Record<string, unknown> = {}): Promise<{ id: string; link: string }> {
  const res = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email, ...more });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id as string, link: await linkIn(email, 1) };
}

/** The path of the invitation link in the `n`th mail (1-based) `email` received. */
async function linkIn(email: string, n: number): Promise<string> {
  await smtp.waitFor(email, () => smtp.to(email).length >= n);
  const mail = smtp.to(email)[n - 1]!;
  expect(mail.subject).toBe('Alpha invited you to Acme on Alpha');
  const link = mail.links.find((l) => new URL(l).pathname === '/invitation')!;
  expect(new URL(link).host).toBe('alpha.test');
  return new URL(link).pathname + new URL(link).search;
}

/** A user of alpha with a verified address and a password, made through the API. */
async function user(email: string): Promise<string> {
  const res = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified' });
  expect(res.status, res.text).toBe(201);
  return res.body.user.id as string;
}

async function signIn(b: Browser, email: string) {
  const res = await b.submit('/login', { identifier: email, password: GOOD_PASSWORD });
  expect(res.status).toBe(303);
}

/** Opens the mailed link: the token moves into the session and the page reloads at /invitation. */
async function open(b: Browser, link: string) {
  const moved = await b.get(link);
  expect(moved.status).toBe(303);
  expect(moved.headers.location).toBe('/invitation');
  return b.get('/invitation');
}

const membershipsOf = async (userId: string) => (await api.get(`/realms/alpha/memberships?userId=${userId}`)).body.data as Array<{ orgId: string; permissions: string[] }>;

describe('org invitations by mail', () => {
  it('signed in with the invited address: the page names org, inviter, address and expiry; Accept makes the membership', async () => {
    const email = uniqueEmail('accept');
    const id = await user(email);
    const b = browser(gh);
    await signIn(b, email);
    const { id: invitationId, link } = await invite(email.toUpperCase(), { permissions: ['reports:read'] });
    const page = await open(b, link);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).toContain('Join Acme');
    expect(page.text).toContain('Invited by');
    expect(page.text).toContain(email.toUpperCase());
    expect(page.text).toMatch(/<time datetime="/);
    expect(page.text).not.toContain(link.split('token=')[1]);
    const accepted = await b.submit('/invitation', {});
    expect(accepted.status).toBe(303);
    expect(accepted.headers.location).toBe('/account/orgs');
    const orgsPage = await b.get('/account/orgs');
    expect(orgsPage.text).toContain('You joined Acme.');
    expect(orgsPage.text).toContain('<code translate="no">reports:read</code>');
    expect(await membershipsOf(id)).toEqual([expect.objectContaining({ orgId: acme, permissions: ['reports:read'] })]);
    const inv = (await api.get(`/realms/alpha/invitations/${invitationId}`)).body;
    expect(inv).toMatchObject({ status: 'accepted', acceptedBy: id });
    const types = (await api.get(`/realms/alpha/events?userId=${id}`)).body.data.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['invitation.accepted', 'membership.created']));
    const audit = (await api.get(`/realms/alpha/audit?targetId=${invitationId}`)).body.data.map((a: { operation: string }) => a.operation);
    expect(audit).toEqual(['invitation.create']);
    // Used: the link is no longer valid.
    const again = await b.get(link);
    expect(again.status).toBe(410);
    expect(again.text).toContain('This invitation is no longer valid');
    expect(await membershipsOf(id)).toHaveLength(1);
  });

  it('invite_only: /signup is closed without an invitation (page and POST); the sign-in page has no sign-up link', async () => {
    const b = browser(gh);
    expect((await b.get('/signup')).status).toBe(403);
    const post = await b.post('/signup', { email: uniqueEmail('nobody'), password: GOOD_PASSWORD });
    expect(post.status).toBe(403);
    expect((await b.get('/login')).text).not.toContain('href="/signup');
  });

  it('not signed in: Create account — the address fixed and verified by the invitation, the membership before the first JWT, on to the invitation’s app', async () => {
    const email = uniqueEmail('newbie');
    const { link } = await invite(email, { name: 'New Bie', permissions: ['a'], returnTo: { clientId: 'app1', redirectUri: 'https://app.example.com/cb', state: 'st-1' } });
    const b = browser(gh);
    const page = await open(b, link);
    expect(page.text).toContain('href="/signup"');
    expect(page.text).toContain('href="/login?next=%2Finvitation"');
    const form = await b.get('/signup');
    expect(form.status).toBe(200);
    expect(form.text).toMatch(new RegExp(`id="email" name="email" type="email" autocomplete="email"\\s+value="${email}"[^>]*readonly`));
    // Another address is refused, whatever the form says.
    const wrong = await b.submit('/signup', { email: uniqueEmail('other'), password: GOOD_PASSWORD });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('This invitation is for this address');
    const done = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    const post = formPostOf(done.text);
    expect(post.action).toBe('https://app.example.com/cb');
    expect(post.state).toBe('st-1');
    const claims = decodeJwt(post.token) as { sub: string; email_verified?: boolean; orgs?: Array<{ oid: string; perm?: string[]; selected?: boolean }> };
    expect(claims.orgs).toEqual([expect.objectContaining({ oid: acme, perm: ['a'], selected: true })]);
    const made = (await api.get(`/realms/alpha/users/${claims.sub}`)).body;
    expect(made).toMatchObject({ email, emailVerification: 'verified' });
    // No verification mail: the invitation proved the mailbox.
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to(email)).toHaveLength(1);
  });

  it('not signed in: Sign in comes back to the invitation, then Accept', async () => {
    const email = uniqueEmail('returning');
    const id = await user(email);
    const { link } = await invite(email);
    const b = browser(gh);
    await open(b, link);
    const login = await b.submit('/login?next=%2Finvitation', { identifier: email, password: GOOD_PASSWORD });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/invitation');
    const page = await b.get('/invitation');
    expect(page.text).toContain('action="/invitation"');
    expect((await b.submit('/invitation', {})).status).toBe(303);
    expect(await membershipsOf(id)).toHaveLength(1);
  });

  it('signed in with another address: refused with a sign-out button that keeps the invitation in the browser', async () => {
    const invited = uniqueEmail('invited');
    const other = uniqueEmail('other');
    const otherId = await user(other);
    const { link } = await invite(invited);
    const b = browser(gh);
    await signIn(b, other);
    const page = await open(b, link);
    expect(page.status).toBe(403);
    expect(page.text).toContain(`You are signed in as ${other}`);
    expect(page.text).toContain('action="/invitation/sign-out"');
    const forced = await b.submit('/invitation', {});
    expect(forced.status).toBe(303);
    expect(await membershipsOf(otherId)).toEqual([]);
    const out = await b.post('/invitation/sign-out', { _csrf: csrfOf((await b.get('/invitation')).text) });
    expect(out.status).toBe(303);
    const after = await b.get('/invitation');
    expect(after.status).toBe(200);
    expect(after.text).toContain('href="/signup"');
    expect((await b.get('/account')).status).toBe(303);
  });

  it('revoked, resent (the old link dies, the new one works) and expired links are no longer valid', async () => {
    const email = uniqueEmail('links');
    const id = await user(email);
    const first = await invite(email);
    const resend = await api.post(`/realms/alpha/invitations/${first.id}/resend`, {});
    expect(resend.status).toBe(200);
    const second = await linkIn(email, 2);
    const b = browser(gh);
    expect((await b.get(first.link)).status).toBe(410);
    await signIn(b, email);
    expect((await open(b, second)).status).toBe(200);
    // Revoked: the page that had it shows "no longer valid" too.
    expect((await api.post(`/realms/alpha/invitations/${first.id}/revoke`)).status).toBe(200);
    const gone = await b.get('/invitation');
    expect(gone.status).toBe(410);
    expect((await b.get(second)).status).toBe(410);
    // Expired: an hour later (invitations.ttlHours: 1).
    const late = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email });
    const lateLink = await linkIn(email, 3);
    offsetMs = 61 * 60_000;
    try {
      expect((await browser(gh).get(lateLink)).status).toBe(410);
      expect((await api.get(`/realms/alpha/invitations/${late.body.id}`)).body).toMatchObject({ status: 'pending', expired: true });
    } finally {
      offsetMs = 0;
    }
    expect(await membershipsOf(id)).toEqual([]);
  });

  it('MFA required: the invitation’s app and membership survive the authenticator set-up after sign-up', async () => {
    const gamma = apiClient(gh, await managementKey(gh, 'gamma'));
    const org = (await gamma.post('/realms/gamma/orgs', { name: 'Gamma Org' })).body.id as string;
    const email = uniqueEmail('mfa-invitee');
    const returnTo = { clientId: 'app1', redirectUri: 'https://app.example.com/cb', state: 'st-mfa' };
    expect((await gamma.post(`/realms/gamma/orgs/${org}/invitations`, { email, permissions: ['ops:read'], returnTo })).status).toBe(201);
    const mail = await smtp.waitFor(email);
    const link = new URL(mail.links.find((l) => new URL(l).pathname === '/invitation')!);
    expect(link.host).toBe('gamma.test');
    const b = browser(gh, 'gamma.test');
    expect((await b.get(link.pathname + link.search)).headers.location).toBe('/invitation');
    const signedUp = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(signedUp.status, signedUp.text).toBe(303);
    expect(signedUp.headers.location).toBe('/login/mfa');

    const { codes } = await enrolAtSignIn(b);
    expect(codes.text).toContain('continue to App One');
    const done = await b.post('/login/mfa/continue', { _csrf: csrfOf(codes.text) });
    expect(done.status, done.text).toBe(200);
    const post = formPostOf(done.text);
    expect(post.action).toBe('https://app.example.com/cb');
    expect(post.state).toBe('st-mfa');
    const claims = decodeJwt(post.token) as { sub: string; amr: string[]; orgs: Array<{ oid: string; perm?: string[]; selected?: boolean }> };
    expect(claims.amr).toEqual(['pwd', 'otp']);
    expect(claims.orgs).toEqual([expect.objectContaining({ oid: org, perm: ['ops:read'], selected: true })]);
    expect((await gamma.get(`/realms/gamma/users/${claims.sub}`)).body).toMatchObject({ email, emailVerification: 'verified' });
  });

  it('refuses a mail address with CRLF (400) and sends nothing', async () => {
    const res = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'x@example.com\r\nBcc: y@example.com' });
    expect(res.status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.to('x@example.com')).toEqual([]);
    expect(smtp.to('y@example.com')).toEqual([]);
  });
});

describe('invite_only and social sign-in (orgs.md §11.6)', () => {
  let rig: SocialRig;
  let social: ReturnType<typeof apiClient>;
  let org: string;
  beforeAll(async () => {
    rig = await socialRig({ realms: (fake, oidc) => [socialRealm(fake, oidc, { signup: { policy: 'invite_only' }, tokens: { fields: ['orgs'] } })] });
    social = apiClient(rig.gh, await managementKey(rig.gh, 'alpha'));
    org = (await social.post('/realms/alpha/orgs', { name: 'Acme' })).body.id as string;
  });
  afterAll(async () => {
    await rig?.close();
  });

  let nextId = 9100;
  const githubAccount = (email: string) => ({ id: String(++nextId), login: `octo${nextId}`, name: 'Mona', emails: [{ email, primary: true, verified: true }] });

  it('refuses a social sign-up even to the invited address with the invitation open in the browser; nothing is created', async () => {
    const email = uniqueEmail('social-invitee');
    expect((await social.post(`/realms/alpha/orgs/${org}/invitations`, { email })).status).toBe(201);
    const mail = (await rig.gh.store.listMail(1000)).find((m) => m.kind === 'org-invitation' && m.to.address === email)!;
    const link = new URL(/https?:\/\/\S+\/invitation\?token=[\w-]+/.exec(mail.text)![0]);
    const b = browser(rig.gh);
    expect((await b.get(link.pathname + link.search)).headers.location).toBe('/invitation');
    expect((await b.get('/invitation')).text).toContain('href="/signup"');
    rig.fake.setAccount('github', githubAccount(email));
    const res = await signInWith(rig, b, 'github');
    expect(res.status).toBe(403);
    expect(res.text).toContain('There is no account for this GitHub login yet, and new accounts cannot be created here.');
    expect(await rig.gh.store.findUsersByEmail('alpha', email)).toEqual([]);
    // The invitation is still there for a password sign-up.
    expect((await b.get('/invitation')).status).toBe(200);
    expect((await social.get(`/realms/alpha/invitations?orgId=${org}`)).body.data[0]).toMatchObject({ email, status: 'pending' });
  });

  it('still signs an existing user in with their provider (the verified address links it, as in an open realm)', async () => {
    const email = uniqueEmail('social-known');
    const account = githubAccount(email);
    const made = await social.post('/realms/alpha/users', { email, emailVerification: 'verified' });
    expect(made.status, made.text).toBe(201);
    rig.fake.setAccount('github', account);
    const b = browser(rig.gh);
    const res = await signInWith(rig, b, 'github');
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/account');
    expect(await rig.gh.store.findExternalIdentity('alpha', 'github', account.id)).toMatchObject({ userId: made.body.user.id });
    expect((await b.get('/account')).status).toBe(200);
  });
});

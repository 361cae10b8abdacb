/**
 * Realm invitation links (docs/design/orgs.md §7.2, §7.3): the API makes links, a browser-like client opens them —
 * join without approval (signed in, or signing up in an invite_only realm), ask to join with approval, the
 * operator approves (a real SMTP server receives the welcome mail; its set-password link works and the new user
 * signs in with the membership) or rejects; revoked, expired and reset links; no enumeration on the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { enrolAtSignIn } from '../helpers/mfa.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

type Browser = ReturnType<typeof browser>;

let smtp: TestSmtp;
let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let otherKey: ReturnType<typeof apiClient>;
let acme: string;
let offsetMs = 0;

beforeAll(async () => {
  smtp = await startSmtp();
  const file = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  Object.assign(file.realms[0]!, { signup: { policy: 'invite_only' }, invitations: { welcomeLinkTtlHours: 48 } });
  Object.assign(file.realms[1]!, { rateLimits: { joinPerIp: { points: 2, durationSeconds: 3600 } } });
  // vera: invite_only, verified addresses required (a link proves no mailbox); mira: the same, and MFA required.
  const strict = { signup: { policy: 'invite_only' }, emailVerification: { policy: 'required' }, tokens: { fields: ['orgs'] } };
  file.realms.push({ ...file.realms[0]!, ...strict, id: 'vera', name: 'Vera', publicUrl: 'http://vera.test' });
  file.realms.push({ ...file.realms[0]!, ...strict, id: 'mira', name: 'Mira', publicUrl: 'http://mira.test', mfa: { policy: 'required' } });
  gh = await testGatehouse({ file, smtpUrl: smtp.url, clock: () => new Date(Date.now() + offsetMs) });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  otherKey = apiClient(gh, await managementKey(gh, 'alpha'));
  acme = (await api.post('/realms/alpha/orgs', { name: 'Acme' })).body.id as string;
});
afterAll(async () => {
  await gh?.close();
  await smtp?.close();
});

/** Makes a link through the API; returns its id and the path of its URL. */
async function makeLink(body: Record<string, unknown>, client = api): Promise<{ id: string; path: string }> {
  const res = await client.post('/realms/alpha/invitation-links', body);
  expect(res.status, res.text).toBe(201);
  const url = new URL(res.body.url as string);
  return { id: res.body.link.id as string, path: url.pathname + url.search };
}

async function user(email: string): Promise<string> {
  const res = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified' });
  expect(res.status, res.text).toBe(201);
  return res.body.user.id as string;
}

/** Opens the link: the token moves into the session and the page reloads at /join. */
async function open(b: Browser, path: string) {
  const moved = await b.get(path);
  expect(moved.status).toBe(303);
  expect(moved.headers.location).toBe('/join');
  return b.get('/join');
}

const membershipsOf = async (userId: string) => (await api.get(`/realms/alpha/memberships?userId=${userId}`)).body.data as Array<{ orgId: string; permissions: string[] }>;
const usesOf = async (id: string) => (await api.get(`/realms/alpha/invitation-links/${id}`)).body.uses as number;

describe('invitation links without approval', () => {
  it('signed in: the page names the org and the inviter; Join makes the membership and counts the use', async () => {
    const email = uniqueEmail('join');
    const id = await user(email);
    const link = await makeLink({ orgId: acme, permissions: ['reports:read'] });
    const b = browser(gh);
    expect((await b.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
    const page = await open(b, link.path);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).toContain('Join Acme');
    // CSRF on the POST.
    expect((await b.post('/join', {})).status).toBe(403);
    const joined = await b.post('/join', { _csrf: csrfOf(page.text) });
    expect(joined.status).toBe(303);
    expect(await membershipsOf(id)).toEqual([expect.objectContaining({ orgId: acme, permissions: ['reports:read'] })]);
    expect(await usesOf(link.id)).toBe(1);
  });

  it('not signed in: Sign in (/login?next=/join) comes back to the link, which is kept across the sign-in; then Join', async () => {
    const email = uniqueEmail('backtojoin');
    const id = await user(email);
    const link = await makeLink({ orgId: acme });
    const b = browser(gh);
    const page = await open(b, link.path);
    expect(page.text).toContain('href="/login?next=%2Fjoin"');
    // Joining needs a signed-in user: the POST sends back to the page.
    expect((await b.post('/join', { _csrf: csrfOf((await b.get('/login')).text) })).headers.location).toBe('/join');
    const login = await b.submit('/login?next=%2Fjoin', { identifier: email, password: GOOD_PASSWORD });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/join');
    const back = await b.get('/join');
    expect(back.text).toContain('Join Acme');
    expect((await b.post('/join', { _csrf: csrfOf(back.text) })).status).toBe(303);
    expect(await membershipsOf(id)).toEqual([expect.objectContaining({ orgId: acme })]);
  });

  it('invite_only: /signup opens for a live link’s holder, and the new account has joined in the same request', async () => {
    const b = browser(gh);
    expect((await b.get('/signup')).status).toBe(403);
    const link = await makeLink({ orgId: acme, permissions: ['a'] });
    const page = await open(b, link.path);
    expect(page.text).toContain('href="/signup"');
    expect(page.text).toContain('href="/login?next=%2Fjoin"');
    const email = uniqueEmail('linksignup');
    const done = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(done.status, done.text).toBe(303);
    const made = (await api.get(`/realms/alpha/users?q=${encodeURIComponent(email)}`)).body.data as Array<{ id: string }>;
    expect(made).toHaveLength(1);
    expect(await membershipsOf(made[0]!.id)).toEqual([expect.objectContaining({ orgId: acme, permissions: ['a'] })]);
    expect(await usesOf(link.id)).toBe(1);
    // The link is spent for this browser: a second sign-up is closed again.
    const fresh = browser(gh);
    expect((await fresh.get('/signup')).status).toBe(403);
  });

  /** A link of `realm` into a new org, with App One as its returnTo; the browser that opened it; the org's id. */
  async function strictLink(realm: 'vera' | 'mira') {
    const client = apiClient(gh, await managementKey(gh, realm));
    const org = (await client.post(`/realms/${realm}/orgs`, { name: `${realm} Org` })).body.id as string;
    const returnTo = { clientId: 'app1', redirectUri: 'https://app.example.com/cb', state: `st-${realm}` };
    const made = await client.post(`/realms/${realm}/invitation-links`, { orgId: org, permissions: ['ops:read'], returnTo });
    expect(made.status, made.text).toBe(201);
    const url = new URL(made.body.url as string);
    expect(url.host).toBe(`${realm}.test`);
    const b = browser(gh, `${realm}.test`);
    expect((await open(b, url.pathname + url.search)).text).toContain('href="/signup"');
    return { client, org, b, linkId: made.body.link.id as string };
  }

  /** Signs up through the held link, then types the verification code mailed to the address. */
  async function signUpAndVerify(b: Browser, email: string) {
    const signedUp = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(signedUp.status, signedUp.text).toBe(303);
    expect(signedUp.headers.location).toBe('/verify-email');
    const mail = await smtp.waitFor(email, (m) => m.code !== null);
    const page = await b.get('/verify-email');
    const verified = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: mail.code! });
    expect(verified.status, verified.text).toBe(303);
    return verified;
  }

  it('email verification required: the account joins at sign-up; once verified here, the app gets the org selected', async () => {
    const { client, org, b, linkId } = await strictLink('vera');
    const email = uniqueEmail('link-verify');
    const signedUp = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(signedUp.headers.location).toBe('/verify-email');
    // Joined already (the link counted), though nobody is signed in until the address is verified.
    const id = ((await client.get(`/realms/vera/users?q=${encodeURIComponent(email)}`)).body.data as Array<{ id: string }>)[0]!.id;
    expect((await client.get(`/realms/vera/memberships?userId=${id}`)).body.data).toEqual([expect.objectContaining({ orgId: org, permissions: ['ops:read'] })]);
    expect((await client.get(`/realms/vera/invitation-links/${linkId}`)).body.uses).toBe(1);
    const mail = await smtp.waitFor(email, (m) => m.code !== null);
    const page = await b.get('/verify-email');
    const verified = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: mail.code! });
    expect(verified.status, verified.text).toBe(200);
    const post = formPostOf(verified.text);
    expect(post.action).toBe('https://app.example.com/cb');
    expect(post.state).toBe('st-vera');
    const claims = decodeJwt(post.token) as { sub: string; orgs: Array<{ oid: string; perm?: string[]; selected?: boolean }> };
    expect(claims.sub).toBe(id);
    expect(claims.orgs).toEqual([expect.objectContaining({ oid: org, perm: ['ops:read'], selected: true })]);
  });

  it('email verification and MFA required: the membership and the link’s app survive both steps', async () => {
    const { org, b } = await strictLink('mira');
    const email = uniqueEmail('link-mfa');
    const verified = await signUpAndVerify(b, email);
    expect(verified.headers.location).toBe('/login/mfa');
    const { codes } = await enrolAtSignIn(b);
    expect(codes.text).toContain('continue to App One');
    const done = await b.post('/login/mfa/continue', { _csrf: csrfOf(codes.text) });
    expect(done.status, done.text).toBe(200);
    const post = formPostOf(done.text);
    expect(post.state).toBe('st-mira');
    const claims = decodeJwt(post.token) as { amr: string[]; orgs: Array<{ oid: string; selected?: boolean }> };
    expect(claims.amr).toEqual(['pwd', 'otp']);
    expect(claims.orgs).toEqual([expect.objectContaining({ oid: org, selected: true })]);
  });

  it('email verification required, an address that has an account: nothing joins, the same page, the owner told', async () => {
    const { client, b, linkId } = await strictLink('vera');
    const email = uniqueEmail('link-taken');
    const owner = await client.post('/realms/vera/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified' });
    expect(owner.status, owner.text).toBe(201);
    const signedUp = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    expect(signedUp.headers.location).toBe('/verify-email');
    await smtp.waitFor(email);
    expect((await client.get(`/realms/vera/memberships?userId=${owner.body.user.id}`)).body.data).toEqual([]);
    expect((await client.get(`/realms/vera/invitation-links/${linkId}`)).body.uses).toBe(0);
  });

  it('a revoked or expired link, or an unknown token: the translated 410 page', async () => {
    const revoked = await makeLink({ orgId: acme });
    expect((await api.post(`/realms/alpha/invitation-links/${revoked.id}/revoke`)).status).toBe(200);
    const b = browser(gh);
    const gone = await b.get(revoked.path);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('This invitation link is no longer valid');
    expect((await b.get('/join?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(410);
    expect((await b.get('/join')).status).toBe(410);
    const zh = await b.get(`${revoked.path}&lang=zh-CN`);
    expect(zh.status).toBe(410);
    expect(zh.text).toContain('此邀请链接已失效');
    // Opened while live, then expired before the Join.
    const soon = await makeLink({ orgId: acme, validDays: 1 });
    const c = browser(gh);
    await open(c, soon.path);
    offsetMs = 2 * 86_400_000;
    try {
      expect((await c.get('/join')).status).toBe(410);
    } finally {
      offsetMs = 0;
    }
  });

  it('reset all revokes only the calling key’s links: another key’s keep working', async () => {
    const mine = await makeLink({ orgId: acme });
    const theirs = await makeLink({ orgId: acme }, otherKey);
    expect((await api.post('/realms/alpha/invitation-links/reset')).body.revoked).toBeGreaterThanOrEqual(1);
    expect((await browser(gh).get(mine.path)).status).toBe(410);
    expect((await browser(gh).get(theirs.path)).status).toBe(303);
  });
});

describe('invitation links with approval', () => {
  it('ask to join → request sent; approve → welcome mail; its set-password link works; the new user signs in a member', async () => {
    const link = await makeLink({ orgId: acme, permissions: ['team:read'], approval: true });
    const b = browser(gh);
    const page = await open(b, link.path);
    expect(page.text).toContain('Ask to join');
    const email = uniqueEmail('applicant');
    const sent = await b.post('/join', { _csrf: csrfOf(page.text), name: 'Ada Lovelace', email });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('Your request was sent');
    const req = ((await api.get('/realms/alpha/join-requests?status=pending')).body.data as Array<{ id: string; email: string; name: string }>).find((r) => r.email === email)!;
    expect(req.name).toBe('Ada Lovelace');
    expect((await api.post(`/realms/alpha/join-requests/${req.id}/approve`)).status).toBe(200);
    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe('Welcome to Alpha');
    expect(mail.text).toContain('for 48 hours');
    expect(mail.text).not.toMatch(/password:\s*\S/i);
    const setPassword = new URL(mail.links.find((l) => new URL(l).pathname === '/reset-password')!);
    const c = browser(gh);
    expect((await c.get(setPassword.pathname + setPassword.search)).status).toBe(303);
    expect((await c.submit('/reset-password', { password: GOOD_PASSWORD })).status).toBe(200);
    const d = browser(gh);
    expect((await d.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
    const made = ((await api.get(`/realms/alpha/users?q=${encodeURIComponent(email)}`)).body.data as Array<{ id: string; emailVerification: string }>)[0]!;
    expect(made.emailVerification).toBe('verified');
    expect(await membershipsOf(made.id)).toEqual([expect.objectContaining({ orgId: acme, permissions: ['team:read'] })]);
  });

  it('reject: no account, no mail; an existing account approved joins without a new user', async () => {
    const link = await makeLink({ orgId: acme, approval: true });
    const b = browser(gh);
    const page = await open(b, link.path);
    const nobody = uniqueEmail('rejected');
    expect((await b.post('/join', { _csrf: csrfOf(page.text), name: 'No Body', email: nobody })).status).toBe(200);
    const existing = uniqueEmail('existing');
    const id = await user(existing);
    const again = await b.get('/join');
    expect((await b.post('/join', { _csrf: csrfOf(again.text), name: 'Ex Isting', email: existing })).status).toBe(200);
    const pending = (await api.get('/realms/alpha/join-requests?status=pending')).body.data as Array<{ id: string; email: string }>;
    const rej = pending.find((r) => r.email === nobody)!;
    expect((await api.post(`/realms/alpha/join-requests/${rej.id}/reject`, { reason: 'no' })).body.status).toBe('rejected');
    expect((await api.get(`/realms/alpha/users?q=${encodeURIComponent(nobody)}`)).body.data).toEqual([]);
    const ok = pending.find((r) => r.email === existing)!;
    expect((await api.post(`/realms/alpha/join-requests/${ok.id}/approve`)).body.userId).toBe(id);
    expect(await membershipsOf(id)).toEqual([expect.objectContaining({ orgId: acme })]);
    expect(smtp.to(nobody)).toEqual([]);
  });

  it('no enumeration: the same page for an address with an account and one without; bad input is a 400 page', async () => {
    const link = await makeLink({ approval: true });
    const existing = uniqueEmail('enum');
    await user(existing);
    const answers: string[] = [];
    for (const email of [existing, uniqueEmail('enum-none')]) {
      const b = browser(gh);
      const page = await open(b, link.path);
      const res = await b.post('/join', { _csrf: csrfOf(page.text), name: 'Someone', email });
      expect(res.status).toBe(200);
      answers.push(res.text.replace(/<input type="hidden" name="_csrf" value="[^"]*">/g, '').replace(/nonce="[^"]*"/g, ''));
    }
    expect(answers[0]).toBe(answers[1]);
    const b = browser(gh);
    const page = await open(b, link.path);
    const csrf = csrfOf(page.text);
    expect((await b.post('/join', { _csrf: csrf, name: ['a', 'b'], email: 'x@example.com' })).status).toBe(400);
    expect((await b.post('/join', { _csrf: csrf, name: 'A', email: 'x@example.com\r\nBcc: y@example.com' })).status).toBe(400);
    expect((await b.post('/join', { _csrf: csrf, name: '', email: 'x@example.com' })).status).toBe(400);
  });

  it('requests to join are limited per IP (rateLimits.joinPerIp): the third of two allowed is a 429 page with Retry-After', async () => {
    const beta = apiClient(gh, await managementKey(gh, 'beta'));
    const res = await beta.post('/realms/beta/invitation-links', { approval: true });
    const url = new URL(res.body.url as string);
    const b = browser(gh, 'beta.test');
    expect((await b.get(url.pathname + url.search)).status).toBe(303);
    const statuses: number[] = [];
    for (let n = 0; n < 3; n++) {
      const page = await b.get('/join');
      const sent = await b.post('/join', { _csrf: csrfOf(page.text), name: `P ${n}`, email: uniqueEmail('limited') });
      statuses.push(sent.status);
      if (sent.status === 429) expect(Number(sent.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect((await beta.get('/realms/beta/join-requests')).body.data).toHaveLength(2);
  });
});

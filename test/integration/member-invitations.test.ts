/**
 * Members inviting (docs/design/orgs.md §7.4): the personal center's /account/orgs lists the user's orgs with
 * their permissions; a member holding the realm's `invitations.memberPermission` in an org invites by mail to
 * that org, passing on only permissions they hold; anyone may leave an org. Real parts throughout: the app, its
 * SQLite store, a real SMTP server for the mails; the invitee accepts in a browser-like client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';

type Browser = ReturnType<typeof browser>;

let smtp: TestSmtp;
let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
const orgs: Record<'Acme' | 'Beta', string> = { Acme: '', Beta: '' };
const RATE = 3;

beforeAll(async () => {
  smtp = await startSmtp();
  const file = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  Object.assign(file.realms[0]!, {
    tokens: { fields: ['orgs'] },
    invitations: { memberPermission: 'Members:Invite' },
    rateLimits: { ...(file.realms[0]!.rateLimits as object), memberInvitationsPerUser: { points: RATE, durationSeconds: 3600 } },
  });
  gh = await testGatehouse({ file, smtpUrl: smtp.url });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  for (const name of ['Acme', 'Beta'] as const) orgs[name] = (await api.post('/realms/alpha/orgs', { name })).body.id as string;
});
afterAll(async () => {
  await gh?.close();
  await smtp?.close();
});

/** A user of alpha (verified address, password) with these memberships; signed in in a fresh browser. */
async function member(memberships: Partial<Record<'Acme' | 'Beta', string[]>>, firstName = 'Mia'): Promise<{ id: string; email: string; b: Browser }> {
  const email = uniqueEmail('member');
  const made = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified', firstName, lastName: 'Member' });
  expect(made.status, made.text).toBe(201);
  const id = made.body.user.id as string;
  for (const [org, permissions] of Object.entries(memberships)) {
    expect((await api.post('/realms/alpha/memberships', { userId: id, orgId: orgs[org as 'Acme'], permissions })).status).toBe(201);
  }
  const b = browser(gh);
  expect((await b.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
  return { id, email, b };
}

const membershipsOf = async (userId: string) => (await api.get(`/realms/alpha/memberships?userId=${userId}`)).body.data as Array<{ id: string; orgId: string | null; permissions: string[] }>;
const auditOf = async (q: string) => (await api.get(`/realms/alpha/audit?${q}`)).body.data as Array<{ operation: string; actor: { type: string; id: string | null }; after: Record<string, unknown> | null }>;
const eventsOf = async (userId: string) => (await api.get(`/realms/alpha/events?userId=${userId}`)).body.data as Array<{ type: string; actor: { type: string; id: string | null } }>;

/** Posts the invite form of `orgId` from its page (the page's CSRF token). */
async function invite(b: Browser, orgId: string, form: Record<string, string | string[]>) {
  const page = await b.get(`/account/orgs/${orgs.Acme}/invitations`);
  return b.post(`/account/orgs/${orgId}/invitations`, { _csrf: csrfOf(page.text), ...form });
}

describe('members inviting (/account/orgs)', () => {
  it('lists the live orgs with their permissions, never the user-only membership; a member with the permission invites, the invitee accepts', async () => {
    const m = await member({ Acme: ['members:invite', 'reports:*'], Beta: [] });
    expect((await api.post('/realms/alpha/memberships', { userId: m.id, orgId: null, permissions: ['root:thing'] })).status).toBe(201);
    const list = await m.b.get('/account/orgs');
    expect(list.status).toBe(200);
    expect(list.text).toContain('href="/account/orgs" aria-current="page"');
    expect(list.text).toContain('<code translate="no">reports:*</code>');
    expect(list.text).toContain('Member, no permissions');
    expect(list.text).not.toContain('root:thing');
    expect(list.text).toContain(`href="/account/orgs/${orgs.Acme}/invitations"`);
    expect(list.text).not.toContain(`href="/account/orgs/${orgs.Beta}/invitations"`);
    const form = await m.b.get(`/account/orgs/${orgs.Acme}/invitations`);
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/<label for="email">Their email address<\/label>\s*<input id="email" name="email" type="email" autocomplete="off"/);
    expect(form.text).toMatch(/<input type="checkbox" id="permission-1" name="permissions" value="reports:\*">\s*<label for="permission-1">/);

    const invitee = uniqueEmail('invitee');
    // reports:read is not on the list, but reports:* grants it: a narrower permission may be passed on.
    const sent = await invite(m.b, orgs.Acme, { email: invitee, name: 'Ivy', permissions: ['reports:read', 'members:invite'] });
    expect(sent.status, sent.text).toBe(303);
    expect(sent.headers.location).toBe('/account/orgs');
    expect((await m.b.get('/account/orgs')).text).toContain(`Invitation to Acme sent to ${invitee}.`);
    const mail = await smtp.waitFor(invitee);
    expect(mail.subject).toBe('Mia Member invited you to Acme on Alpha');
    const link = new URL(mail.links.find((l) => new URL(l).pathname === '/invitation')!);

    const [made] = (await api.get(`/realms/alpha/invitations?orgId=${orgs.Acme}&q=${encodeURIComponent(invitee)}`)).body.data as Array<{ id: string; createdBy: unknown }>;
    expect(made!.createdBy).toEqual({ type: 'user', id: m.id });
    expect(await auditOf(`targetId=${made!.id}`)).toEqual([expect.objectContaining({ operation: 'invitation.create', actor: { type: 'user', id: m.id }, after: expect.objectContaining({ orgId: orgs.Acme, email: invitee, permissions: ['reports:read', 'members:invite'] }) })]);

    const ivy = await api.post('/realms/alpha/users', { email: invitee, password: GOOD_PASSWORD, emailVerification: 'verified' });
    const b = browser(gh);
    expect((await b.submit('/login', { identifier: invitee, password: GOOD_PASSWORD })).status).toBe(303);
    expect((await b.get(link.pathname + link.search)).headers.location).toBe('/invitation');
    const page = await b.get('/invitation');
    expect(page.text).toContain('Mia Member');
    expect((await b.submit('/invitation', {})).status).toBe(303);
    expect(await membershipsOf(ivy.body.user.id)).toEqual([expect.objectContaining({ orgId: orgs.Acme, permissions: ['reports:read', 'members:invite'] })]);
  });

  it('audits and events the invitation as the member’s act', async () => {
    const m = await member({ Acme: ['*'] });
    const invitee = uniqueEmail('evented');
    expect((await invite(m.b, orgs.Acme, { email: invitee, permissions: 'anything:at-all' })).status).toBe(303);
    await smtp.waitFor(invitee);
    const events = (await api.get(`/realms/alpha/events?type=invitation.created`)).body.data as Array<{ actor: { type: string; id: string }; data: { email: string } }>;
    expect(events.find((e) => e.data.email === invitee)?.actor).toEqual({ type: 'user', id: m.id });
  });

  it('a member without the permission gets no form, and the POST is refused (403); nothing is mailed', async () => {
    const m = await member({ Acme: ['reports:read', 'members:read'] });
    const list = await m.b.get('/account/orgs');
    expect(list.text).toContain('Acme');
    expect(list.text).not.toContain('/invitations"');
    expect((await m.b.get(`/account/orgs/${orgs.Acme}/invitations`)).status).toBe(403);
    const csrf = csrfOf(list.text);
    const invitee = uniqueEmail('nope');
    const post = await m.b.post(`/account/orgs/${orgs.Acme}/invitations`, { _csrf: csrf, email: invitee });
    expect(post.status).toBe(403);
    expect(post.text).toContain('You may not invite people to this organization.');
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.to(invitee)).toEqual([]);
  });

  it('passing on a permission the member does not hold is refused (422, translated), and nothing is mailed', async () => {
    const m = await member({ Acme: ['members:invite', 'reports:read'] });
    const invitee = uniqueEmail('over');
    for (const permissions of [['billing:read'], ['reports:read', 'reports:*'], ['*']]) {
      const res = await invite(m.b, orgs.Acme, { email: invitee, permissions });
      expect(res.status).toBe(422);
      expect(res.text).toContain(`You cannot give “${permissions.at(-1)}”: you do not hold it in this organization.`);
      expect(res.text).toContain(`value="${invitee}"`);
    }
    const zh = await m.b.get(`/account/orgs/${orgs.Acme}/invitations?lang=zh-CN`);
    const res = await m.b.post(`/account/orgs/${orgs.Acme}/invitations?lang=zh-CN`, { _csrf: csrfOf(zh.text), email: invitee, permissions: 'billing:read' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('你不能授予“billing:read”：你在该组织中没有这项权限。');
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.to(invitee)).toEqual([]);
  });

  it('another org’s id, a malformed one or an unknown one answers 404 — to invite and to leave', async () => {
    const m = await member({ Acme: ['members:invite'] });
    const csrf = csrfOf((await m.b.get('/account/orgs')).text);
    for (const id of [orgs.Beta, 'org_doesnotexist000', 'not-an-id', '..%2F..%2Fadmin']) {
      expect((await m.b.get(`/account/orgs/${id}/invitations`)).status).toBe(404);
      expect((await m.b.post(`/account/orgs/${id}/invitations`, { _csrf: csrf, email: uniqueEmail('x') })).status).toBe(404);
      expect((await m.b.get(`/account/orgs/${id}/leave`)).status).toBe(404);
      expect((await m.b.post(`/account/orgs/${id}/leave`, { _csrf: csrf })).status).toBe(404);
    }
    expect(await membershipsOf(m.id)).toHaveLength(1);
  });

  it('validates every field: CRLF in the address, arrays for strings, too many permissions → 4xx, never 500; CSRF is required', async () => {
    const m = await member({ Acme: ['members:invite'] });
    const forms: Array<Record<string, string | string[]>> = [
      { email: 'x@example.com\r\nBcc: y@example.com' },
      { email: ['a@example.com', 'b@example.com'] },
      { email: 'not-an-address' },
      { email: uniqueEmail('ok'), name: ['a', 'b'] },
      { email: uniqueEmail('ok'), name: 'Ivy\r\nX-Evil: 1' },
      { email: uniqueEmail('ok'), permissions: Array.from({ length: 51 }, (_, i) => `p${i}`) },
      { email: uniqueEmail('ok'), permissions: 'bad permission with spaces' },
    ];
    for (const form of forms) {
      const res = await invite(m.b, orgs.Acme, form);
      expect(res.status, JSON.stringify(form)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(form)).toBeLessThan(500);
    }
    expect(smtp.to('y@example.com')).toEqual([]);
    const noCsrf = await m.b.post(`/account/orgs/${orgs.Acme}/invitations`, { email: uniqueEmail('csrf') });
    expect(noCsrf.status).toBe(403);
    expect((await m.b.post(`/account/orgs/${orgs.Acme}/leave`, {})).status).toBe(403);
    expect(await membershipsOf(m.id)).toHaveLength(1);
    // Not signed in: to the sign-in page, and back here after.
    const anonymous = await browser(gh).get('/account/orgs');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe('/login?next=%2Faccount%2Forgs');
  });

  it('leaving asks first, then removes the membership — audited and evented as the user’s act', async () => {
    const m = await member({ Acme: ['reports:read'], Beta: ['beta:use'] });
    const acme = (await membershipsOf(m.id)).find((x) => x.orgId === orgs.Acme)!;
    const ask = await m.b.get(`/account/orgs/${orgs.Acme}/leave`);
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Leave Acme?');
    const left = await m.b.post(`/account/orgs/${orgs.Acme}/leave`, { _csrf: csrfOf(ask.text) });
    expect(left.status).toBe(303);
    expect(left.headers.location).toBe('/account/orgs');
    const list = await m.b.get('/account/orgs');
    expect(list.text).toContain('You left Acme.');
    expect(list.text).not.toContain(`/account/orgs/${orgs.Acme}/leave`);
    expect(list.text).toContain(`/account/orgs/${orgs.Beta}/leave`);
    expect((await membershipsOf(m.id)).map((x) => x.orgId)).toEqual([orgs.Beta]);
    expect(await auditOf(`targetId=${acme.id}`)).toEqual(
      expect.arrayContaining([expect.objectContaining({ operation: 'membership.delete', actor: { type: 'user', id: m.id } })]),
    );
    expect((await eventsOf(m.id)).find((e) => e.type === 'membership.deleted')?.actor).toEqual({ type: 'user', id: m.id });
    // Again: not one of theirs any more.
    expect((await m.b.post(`/account/orgs/${orgs.Acme}/leave`, { _csrf: csrfOf(list.text) })).status).toBe(404);
  });

  it('an operator impersonating the member may look at the page, not invite or leave (403)', async () => {
    const m = await member({ Acme: ['members:invite'] });
    // An operator: a user of beta (standing in for the console realm), signed in there.
    const beta = gh.realms.byIdOrNull('beta')!;
    const username = `op-${Math.random().toString(36).slice(2, 10)}`;
    const { user: op } = await gh.management!.users.create(beta, { userType: 'human', username, email: uniqueEmail('op'), password: GOOD_PASSWORD }, CLI_CONTEXT);
    expect((await browser(gh, 'beta.test').submit('/login', { identifier: username, password: GOOD_PASSWORD })).status).toBe(303);
    const [consoleSession] = (await gh.store.listLoginSessions('beta', op.id)).filter((s) => !s.endedAt);
    const { url } = await gh.management!.impersonation.begin(
      gh.realms.byIdOrNull('alpha')!,
      m.id,
      { operatorId: op.id, consoleRealmId: 'beta', consoleSid: consoleSession!.id, iss: beta.publicUrl },
      'Ticket 42: the orgs page',
      { actor: { type: 'operator', id: op.id }, requestId: null, ip: null, userAgent: null },
    );
    const b = browser(gh);
    const link = new URL(url);
    expect((await b.get(link.pathname + link.search)).headers.location).toBe('/impersonate');
    expect((await b.submit('/impersonate', {})).headers.location).toBe('/account');
    const page = await b.get('/account/orgs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Acme');
    const form = await b.get(`/account/orgs/${orgs.Acme}/invitations`);
    const invitee = uniqueEmail('impersonated');
    const refused = 'This change cannot be made while signed in from the operator console. The user must make it themselves.';
    const invited = await b.post(`/account/orgs/${orgs.Acme}/invitations`, { _csrf: csrfOf(form.text), email: invitee });
    expect(invited.status).toBe(403);
    expect(invited.text).toContain(refused);
    const left = await b.post(`/account/orgs/${orgs.Acme}/leave`, { _csrf: csrfOf(page.text) });
    expect(left.status).toBe(403);
    expect(left.text).toContain(refused);
    expect(await membershipsOf(m.id)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.to(invitee)).toEqual([]);
  });

  it(`is rate-limited per member: ${RATE} invitations an hour, then 429 with Retry-After`, async () => {
    const m = await member({ Acme: ['members:invite'] });
    for (let i = 0; i < RATE; i++) expect((await invite(m.b, orgs.Acme, { email: uniqueEmail('many') })).status).toBe(303);
    const over = await invite(m.b, orgs.Acme, { email: uniqueEmail('many') });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Another member has their own count.
    const other = await member({ Acme: ['members:invite'] });
    expect((await invite(other.b, orgs.Acme, { email: uniqueEmail('other') })).status).toBe(303);
  });
  it('a member’s own invitation (to their own address) cannot clear their membership’s expiry: accepting leaves it as it was', async () => {
    const m = await member({});
    const until = new Date(Date.now() + 86_400_000).toISOString();
    expect((await api.post('/realms/alpha/memberships', { userId: m.id, orgId: orgs.Acme, permissions: ['members:invite'], expiresAt: until })).status).toBe(201);
    expect((await invite(m.b, orgs.Acme, { email: m.email })).status).toBe(303);
    const mail = await smtp.waitFor(m.email, (x) => x.subject.includes('invited you'));
    const link = new URL(mail.links.find((l) => new URL(l).pathname === '/invitation')!);
    expect((await m.b.get(link.pathname + link.search)).headers.location).toBe('/invitation');
    await m.b.get('/invitation');
    await m.b.submit('/invitation', {});
    const [acme] = await membershipsOf(m.id);
    expect(acme).toMatchObject({ orgId: orgs.Acme, expiresAt: until });
  });
  it('an operator impersonating a user may not accept an invitation or join through a link for them (403, no membership, the invitation stays)', async () => {
    const m = await member({});
    const beta = gh.realms.byIdOrNull('beta')!;
    const username = `op-${Math.random().toString(36).slice(2, 10)}`;
    const { user: op } = await gh.management!.users.create(beta, { userType: 'human', username, email: uniqueEmail('op'), password: GOOD_PASSWORD }, CLI_CONTEXT);
    expect((await browser(gh, 'beta.test').submit('/login', { identifier: username, password: GOOD_PASSWORD })).status).toBe(303);
    const [consoleSession] = (await gh.store.listLoginSessions('beta', op.id)).filter((s) => !s.endedAt);
    const { url } = await gh.management!.impersonation.begin(gh.realms.byIdOrNull('alpha')!, m.id, { operatorId: op.id, consoleRealmId: 'beta', consoleSid: consoleSession!.id, iss: beta.publicUrl }, 'Ticket 43', {
      actor: { type: 'operator', id: op.id },
      requestId: null,
      ip: null,
      userAgent: null,
    });
    const b = browser(gh);
    const start = new URL(url);
    expect((await b.get(start.pathname + start.search)).headers.location).toBe('/impersonate');
    expect((await b.submit('/impersonate', {})).headers.location).toBe('/account');
    // An invitation to the user's address, opened in the impersonating browser.
    expect((await api.post(`/realms/alpha/orgs/${orgs.Beta}/invitations`, { email: m.email })).status).toBe(201);
    const mail = await smtp.waitFor(m.email, (x) => x.subject.includes('invited you'));
    const inv = new URL(mail.links.find((l) => new URL(l).pathname === '/invitation')!);
    expect((await b.get(inv.pathname + inv.search)).headers.location).toBe('/invitation');
    const accepted = await b.submit('/invitation', {});
    expect(accepted.status).toBe(403);
    expect(accepted.text).toContain('This change cannot be made while signed in from the operator console.');
    // A link without approval, opened there too.
    const made = await api.post('/realms/alpha/invitation-links', { orgId: orgs.Acme });
    const join = new URL(made.body.url as string);
    expect((await b.get(join.pathname + join.search)).headers.location).toBe('/join');
    const joined = await b.submit('/join', {});
    expect(joined.status).toBe(403);
    expect(await membershipsOf(m.id)).toEqual([]);
    expect((await api.get(`/realms/alpha/invitations?q=${encodeURIComponent(m.email)}`)).body.data[0].status).toBe('pending');
  });
});

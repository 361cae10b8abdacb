/**
 * Members' invitation links (docs/design/orgs.md §7.4, last part): a member holding the realm's
 * `invitations.memberPermission` in an org makes a link into that org from /account/orgs/:orgId/links — always
 * needing approval, permissions only among those they hold — shown once with its QR code; someone asks to join
 * through /join, an operator approves, the welcome mail arrives and the new user is a member. Real parts
 * throughout: the app, its SQLite store, a real SMTP server.
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
const RATE = 4;

beforeAll(async () => {
  smtp = await startSmtp();
  const file = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  Object.assign(file.realms[0]!, {
    tokens: { fields: ['orgs'] },
    invitations: { memberPermission: 'members:invite' },
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

/** A user of alpha with these memberships, signed in in a fresh browser. */
async function member(memberships: Partial<Record<'Acme' | 'Beta', string[]>>, firstName = 'Lena'): Promise<{ id: string; email: string; b: Browser }> {
  const email = uniqueEmail('linker');
  const made = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified', firstName, lastName: 'Linker' });
  expect(made.status, made.text).toBe(201);
  const id = made.body.user.id as string;
  for (const [org, permissions] of Object.entries(memberships)) {
    expect((await api.post('/realms/alpha/memberships', { userId: id, orgId: orgs[org as 'Acme'], permissions })).status).toBe(201);
  }
  const b = browser(gh);
  expect((await b.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
  return { id, email, b };
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const membershipsOf = async (userId: string) => (await api.get(`/realms/alpha/memberships?userId=${userId}`)).body.data as Array<{ id: string; orgId: string | null; permissions: string[] }>;
const linksBy = async (userId: string) =>
  ((await gh.management!.invitationLinks.list(gh.realms.byIdOrNull('alpha')!, {}, CLI_CONTEXT, null, 200)).links).filter((l) => l.createdBy.type === 'user' && l.createdBy.id === userId);

/** Posts the link form of `orgId` with the CSRF token of Acme's links page (or the list's, when that page is refused). */
async function makeLink(b: Browser, orgId: string, form: Record<string, string | string[]>) {
  const page = await b.get(`/account/orgs/${orgs.Acme}/links`);
  const csrf = csrfOf(page.status === 200 ? page.text : (await b.get('/account/orgs')).text);
  return b.post(`/account/orgs/${orgId}/links`, { _csrf: csrf, ...form });
}

const urlOf = (text: string) => decode(/id="link-url" type="text" readonly value="([^"]+)"/.exec(text)![1]!);

describe('members’ invitation links (/account/orgs/:orgId/links)', () => {
  it('a member with the permission makes a link — approval forced — shown once; someone asks to join, an operator approves, the welcome mail comes, they are a member', async () => {
    const m = await member({ Acme: ['members:invite', 'reports:*'] });
    const list = await m.b.get('/account/orgs');
    expect(list.text).toContain(`href="/account/orgs/${orgs.Acme}/links"`);
    const page = await m.b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Links you make always need approval');
    expect(page.text).toContain('You have no live links to this organization.');

    // The form says no approval, a day count and a narrower permission: approval is forced anyway.
    const made = await m.b.post(`/account/orgs/${orgs.Acme}/links`, { _csrf: csrfOf(page.text), days: '14', name: 'Team fair', permissions: 'reports:read', approval: 'off' });
    expect(made.status, made.text).toBe(201);
    expect(made.headers['cache-control']).toBe('no-store');
    expect(made.headers['referrer-policy']).toBe('no-referrer');
    expect(made.text).toContain('src="data:image/png;base64,');
    const url = new URL(urlOf(made.text));
    expect(url.pathname).toBe('/join');
    const token = url.searchParams.get('token')!;

    const [link] = await linksBy(m.id);
    expect(link).toMatchObject({ orgId: orgs.Acme, permissions: ['reports:read'], approval: true, name: 'Team fair', createdBy: { type: 'user', id: m.id } });
    expect(Math.round((link!.expiresAt.getTime() - link!.createdAt.getTime()) / 86_400_000)).toBe(14);
    // The page lists it now, never with its token.
    const again = await m.b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(again.text).toContain('Team fair');
    expect(again.text).toContain(`/account/orgs/${orgs.Acme}/links/${link!.id}/revoke`);
    expect(again.text).not.toContain(token);

    // Audited and evented as the member's act.
    const audit = (await api.get(`/realms/alpha/audit?targetId=${link!.id}`)).body.data as Array<{ operation: string; actor: unknown }>;
    expect(audit).toEqual([expect.objectContaining({ operation: 'invitation_link.create', actor: { type: 'user', id: m.id } })]);
    const events = (await api.get('/realms/alpha/events?type=invitation.link.created')).body.data as Array<{ actor: unknown; data: { linkId: string; approval: boolean } }>;
    expect(events.find((e) => e.data.linkId === link!.id)).toMatchObject({ actor: { type: 'user', id: m.id }, data: { approval: true } });

    // Someone opens it: the page names the member and asks to join (approval).
    const b = browser(gh);
    expect((await b.get(url.pathname + url.search)).headers.location).toBe('/join');
    const join = await b.get('/join');
    expect(join.text).toContain('Lena Linker');
    expect(join.text).toContain('Ask to join');
    const email = uniqueEmail('applicant');
    const sent = await b.post('/join', { _csrf: csrfOf(join.text), name: 'Noor Newcomer', email });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('Your request was sent');

    // The operator approves (the service the console and the API call).
    const alpha = gh.realms.byIdOrNull('alpha')!;
    const request = (await gh.management!.invitationLinks.listRequests(alpha, { status: 'pending' }, null, 50)).requests.find((r) => r.email === email)!;
    expect(request.linkId).toBe(link!.id);
    const decided = await gh.management!.invitationLinks.decide(alpha, request.id, 'approve', CLI_CONTEXT);
    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe('Welcome to Alpha');
    expect(mail.text).toContain('Acme');
    const setPassword = new URL(mail.links.find((l) => new URL(l).pathname === '/reset-password')!);
    const c = browser(gh);
    expect((await c.get(setPassword.pathname + setPassword.search)).status).toBe(303);
    expect((await c.submit('/reset-password', { password: GOOD_PASSWORD })).status).toBe(200);
    expect((await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
    expect(await membershipsOf(decided.userId!)).toEqual([expect.objectContaining({ orgId: orgs.Acme, permissions: ['reports:read'] })]);
  });

  it('a member without the permission gets no button or form (403), and the POST is refused (403); no link is made', async () => {
    const m = await member({ Acme: ['reports:read'] });
    const list = await m.b.get('/account/orgs');
    expect(list.text).toContain('Acme');
    expect(list.text).not.toContain('/links"');
    const page = await m.b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('name="days"');
    const post = await m.b.post(`/account/orgs/${orgs.Acme}/links`, { _csrf: csrfOf(list.text), days: '7' });
    expect(post.status).toBe(403);
    expect(post.text).toContain('You may not invite people to this organization.');
    expect(await linksBy(m.id)).toEqual([]);
  });

  it('a permission the member does not hold is refused (422, translated); no link is made', async () => {
    const m = await member({ Acme: ['members:invite', 'reports:read'] });
    for (const permissions of [['billing:read'], ['reports:read', 'reports:*'], ['*']]) {
      const res = await makeLink(m.b, orgs.Acme, { days: '7', permissions });
      expect(res.status).toBe(422);
      expect(res.text).toContain(`You cannot give “${permissions.at(-1)}”: you do not hold it in this organization.`);
    }
    const zh = await m.b.get(`/account/orgs/${orgs.Acme}/links?lang=zh-CN`);
    const res = await m.b.post(`/account/orgs/${orgs.Acme}/links?lang=zh-CN`, { _csrf: csrfOf(zh.text), days: '7', permissions: 'billing:read' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('你不能授予“billing:read”：你在该组织中没有这项权限。');
    expect(await linksBy(m.id)).toEqual([]);
  });

  it('another org’s id, a malformed or unknown one → 404 (the page, the form, a revoke)', async () => {
    const m = await member({ Acme: ['members:invite'] });
    const csrf = csrfOf((await m.b.get('/account/orgs')).text);
    for (const id of [orgs.Beta, 'org_doesnotexist000', 'not-an-id']) {
      expect((await m.b.get(`/account/orgs/${id}/links`)).status).toBe(404);
      expect((await m.b.post(`/account/orgs/${id}/links`, { _csrf: csrf, days: '7' })).status).toBe(404);
      expect((await m.b.post(`/account/orgs/${id}/links/invl_AAAAAAAAAAAAAAAA/revoke`, { _csrf: csrf })).status).toBe(404);
    }
    expect(await linksBy(m.id)).toEqual([]);
  });

  it('validates every field: days out of range or not a number, arrays for strings, too many permissions → translated 4xx, never 500; CSRF is required', async () => {
    const m = await member({ Acme: ['members:invite', '*'] });
    for (const days of ['0', '91', '999', '-1', '1.5', 'x', '', '1234']) {
      const res = await makeLink(m.b, orgs.Acme, { days });
      expect(res.status, days).toBe(400);
      expect(res.text, days).toContain('Enter a number of days from 1 to 90.');
    }
    const zh = await m.b.get(`/account/orgs/${orgs.Acme}/links?lang=zh-CN`);
    const bad = await m.b.post(`/account/orgs/${orgs.Acme}/links?lang=zh-CN`, { _csrf: csrfOf(zh.text), days: '120' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('请输入 1 到 90 之间的天数。');
    const forms: Array<Record<string, string | string[]>> = [
      { days: ['7', '8'] },
      { days: '7', name: ['a', 'b'] },
      { days: '7', name: 'Fair\r\nX-Evil: 1' },
      { days: '7', name: 'x'.repeat(101) },
      { days: '7', permissions: Array.from({ length: 51 }, (_, i) => `p${i}`) },
      { days: '7', permissions: 'bad permission with spaces' },
    ];
    for (const form of forms) {
      const res = await makeLink(m.b, orgs.Acme, form);
      expect(res.status, JSON.stringify(form)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(form)).toBeLessThan(500);
    }
    expect((await m.b.post(`/account/orgs/${orgs.Acme}/links`, { days: '7' })).status).toBe(403);
    expect(await linksBy(m.id)).toEqual([]);
  });

  it('revoking: the member’s own link stops working; someone else’s (another member’s, an operator’s) is 404 and keeps working', async () => {
    const m = await member({ Acme: ['members:invite'] });
    const other = await member({ Acme: ['members:invite'] }, 'Otto');
    const mine = urlOf((await makeLink(m.b, orgs.Acme, { days: '3', name: 'Mine' })).text);
    const theirs = urlOf((await makeLink(other.b, orgs.Acme, { days: '3', name: 'Theirs' })).text);
    const alpha = gh.realms.byIdOrNull('alpha')!;
    const operators = await gh.management!.invitationLinks.create(alpha, { orgId: orgs.Acme, approval: true, expiresAt: new Date(Date.now() + 86_400_000) }, { actor: { type: 'operator', id: 'op_someone' }, requestId: null, ip: null, userAgent: null });
    const [myLink] = await linksBy(m.id);
    const [theirLink] = await linksBy(other.id);

    const page = await m.b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(page.text).toContain('Mine');
    expect(page.text).not.toContain('Theirs');
    const csrf = csrfOf(page.text);
    for (const id of [theirLink!.id, operators.link.id]) expect((await m.b.post(`/account/orgs/${orgs.Acme}/links/${id}/revoke`, { _csrf: csrf })).status).toBe(404);
    expect((await m.b.post(`/account/orgs/${orgs.Acme}/links/${myLink!.id}/revoke`, {})).status).toBe(403);

    const revoked = await m.b.post(`/account/orgs/${orgs.Acme}/links/${myLink!.id}/revoke`, { _csrf: csrf });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.location).toBe(`/account/orgs/${orgs.Acme}/links`);
    const after = await m.b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(after.text).toContain('The link “Mine” no longer works.');
    expect(after.text).not.toContain(`${myLink!.id}/revoke`);
    const path = (u: string) => new URL(u).pathname + new URL(u).search;
    expect((await browser(gh).get(path(mine))).status).toBe(410);
    expect((await browser(gh).get(path(theirs))).status).toBe(303);
    expect((await browser(gh).get(path(operators.url))).status).toBe(303);
    const audit = (await api.get(`/realms/alpha/audit?targetId=${myLink!.id}`)).body.data as Array<{ operation: string; actor: unknown }>;
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'invitation_link.revoke', actor: { type: 'user', id: m.id } })]));
  });

  it('an operator impersonating the member may look at the page, not make or revoke a link (403)', async () => {
    const m = await member({ Acme: ['members:invite'] });
    expect((await makeLink(m.b, orgs.Acme, { days: '2', name: 'Before' })).status).toBe(201);
    const [link] = await linksBy(m.id);
    const beta = gh.realms.byIdOrNull('beta')!;
    const username = `op-${Math.random().toString(36).slice(2, 10)}`;
    const { user: op } = await gh.management!.users.create(beta, { userType: 'human', username, email: uniqueEmail('op'), password: GOOD_PASSWORD }, CLI_CONTEXT);
    expect((await browser(gh, 'beta.test').submit('/login', { identifier: username, password: GOOD_PASSWORD })).status).toBe(303);
    const [consoleSession] = (await gh.store.listLoginSessions('beta', op.id)).filter((s) => !s.endedAt);
    const { url } = await gh.management!.impersonation.begin(
      gh.realms.byIdOrNull('alpha')!,
      m.id,
      { operatorId: op.id, consoleRealmId: 'beta', consoleSid: consoleSession!.id, iss: beta.publicUrl },
      'Ticket 43: links',
      { actor: { type: 'operator', id: op.id }, requestId: null, ip: null, userAgent: null },
    );
    const b = browser(gh);
    const link0 = new URL(url);
    expect((await b.get(link0.pathname + link0.search)).headers.location).toBe('/impersonate');
    expect((await b.submit('/impersonate', {})).headers.location).toBe('/account');
    const page = await b.get(`/account/orgs/${orgs.Acme}/links`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Before');
    const refused = 'This change cannot be made while signed in from the operator console. The user must make it themselves.';
    const made = await b.post(`/account/orgs/${orgs.Acme}/links`, { _csrf: csrfOf(page.text), days: '7' });
    expect(made.status).toBe(403);
    expect(made.text).toContain(refused);
    const revoked = await b.post(`/account/orgs/${orgs.Acme}/links/${link!.id}/revoke`, { _csrf: csrfOf(page.text) });
    expect(revoked.status).toBe(403);
    expect(await linksBy(m.id)).toEqual([expect.objectContaining({ revokedAt: null })]);
  });

  it(`shares the member invitations limit (${RATE} an hour, by mail or by link), then 429 with Retry-After`, async () => {
    const m = await member({ Acme: ['members:invite'] });
    const invite = await m.b.get(`/account/orgs/${orgs.Acme}/invitations`);
    expect((await m.b.post(`/account/orgs/${orgs.Acme}/invitations`, { _csrf: csrfOf(invite.text), email: uniqueEmail('budget') })).status).toBe(303);
    for (let i = 1; i < RATE; i++) expect((await makeLink(m.b, orgs.Acme, { days: '1' })).status).toBe(201);
    const over = await makeLink(m.b, orgs.Acme, { days: '1' });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(await linksBy(m.id)).toHaveLength(RATE - 1);
  });
});

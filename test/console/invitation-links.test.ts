import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * The console's invitation links and requests to join (docs/design/orgs.md §8, commit 13): a link made (shown
 * once with its QR code), listed, revoked; "Reset all mine" after its confirmation, only the operator's own; the
 * requests listed with inviter and approver, approved (a member, a welcome mail) and rejected. Real HTTP, services, SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let admin: ConsoleBrowser;
let otherAdmin: ConsoleBrowser;
let viewer: ConsoleBrowser;
let acme: string;

const LINKS = '/admin/realms/alpha/invitation-links';
const REQUESTS = '/admin/realms/alpha/join-requests';
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  otherAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
  acme = (await gh.management!.orgs.create(alpha, { name: 'Acme' }, CLI_CONTEXT)).id;
});
afterAll(() => gh?.close());

/** Makes a link through the console form; returns the shown URL. */
async function makeLink(b: ConsoleBrowser, form: Record<string, string>): Promise<string> {
  const res = await b.submit(`${LINKS}/new`, form);
  expect(res.status, res.text).toBe(201);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.text).toContain('src="data:image/png;base64,');
  return decode(/id="link-url" type="text" readonly value="([^"]+)"/.exec(res.text)![1]!);
}

describe('console invitation links', () => {
  it('makes a link shown once with a QR code; the list names org, approval, uses and creator but never the token; the nav’s Invitations has them as tabs', async () => {
    // One nav entry, Invitations (highlighted on its three tabs: by mail, links, requests to join).
    const home = (await admin.get('/admin/realms/alpha')).text;
    expect(home).toContain('href="/admin/realms/alpha/invitations"');
    expect(home).not.toContain(`href="${LINKS}"`);
    expect(home).not.toContain(`href="${REQUESTS}"`);
    for (const [page, tab] of [[LINKS, 'Links'], [REQUESTS, 'Requests to join']] as const) {
      const text = (await admin.get(page)).text;
      expect(text, page).toMatch(/<nav class="console-nav"[^]*<a href="\/admin\/realms\/alpha\/invitations" aria-current="page">Invitations<\/a>[^]*<\/nav>/);
      expect(text, page).toContain(`<a href="${page}" aria-current="page">${tab}`);
      expect(text, page).toContain('<a href="/admin/realms/alpha/invitations">By mail</a>');
    }
    const url = await makeLink(admin, { name: 'Spring fair', days: '30', orgId: acme, permissions: 'Team:Read\n\nteam:read', approval: 'on' });
    const token = new URL(url).searchParams.get('token')!;
    expect(new URL(url).pathname).toBe('/join');
    const list = await admin.get(LINKS);
    expect(list.text).toContain('Spring fair');
    expect(list.text).toContain('Acme');
    expect(list.text).toContain('Needs approval');
    expect(list.text).not.toContain(token);
    const link = (await gh.management!.invitationLinks.list(alpha, {}, CLI_CONTEXT, null, 10)).links.find((l) => l.name === 'Spring fair')!;
    expect(link).toMatchObject({ orgId: acme, permissions: ['team:read'], approval: true, createdBy: { type: 'operator' } });
    expect(Math.round((link.expiresAt.getTime() - link.createdAt.getTime()) / 86_400_000)).toBe(30);
    const audit = (await gh.management!.audit.query({ realmId: 'alpha', limit: 200 })).filter((e) => e.operation === 'invitation_link.create' && e.target.id === link.id);
    expect(audit).toHaveLength(1);
  });

  it('refuses 91 days and permissions without an org at their field; a viewer reads but may not make', async () => {
    expect((await admin.submit(`${LINKS}/new`, { days: '91' })).status).toBe(400);
    expect((await admin.submit(`${LINKS}/new`, { days: '7', permissions: 'a' })).status).toBe(422);
    expect((await admin.submit(`${LINKS}/new`, { days: ['7', '8'] as unknown as string })).status).toBe(400);
    expect((await viewer.get(LINKS)).status).toBe(200);
    expect((await viewer.get(LINKS)).text).not.toContain('Reset all mine</button>');
    expect((await viewer.submit(`${LINKS}/new`, { days: '7' })).status).toBe(403);
  });

  it('revokes a link (it stops working); reset all mine needs its box and revokes only mine', async () => {
    const mine = await makeLink(admin, { days: '7' });
    const theirs = await makeLink(otherAdmin, { days: '7' });
    const page = await admin.get(LINKS);
    const unconfirmed = await admin.post(`${LINKS}/reset`, { _csrf: csrfOf(page.text) });
    expect(unconfirmed.status).toBe(303);
    const open = (u: string) => browser(gh).get(new URL(u).pathname + new URL(u).search);
    expect((await open(mine)).status).toBe(303);
    expect((await admin.post(`${LINKS}/reset`, { _csrf: csrfOf(page.text), confirm: 'yes' })).status).toBe(303);
    expect((await admin.get(LINKS)).text).toContain('link(s) revoked');
    expect((await open(mine)).status).toBe(410);
    expect((await open(theirs)).status).toBe(303);
    const one = (await gh.management!.invitationLinks.list(alpha, {}, CLI_CONTEXT, null, 100)).links.find((l) => l.revokedAt === null)!;
    expect((await admin.post(`${LINKS}/${one.id}/revoke`, { _csrf: csrfOf(page.text) })).status).toBe(303);
    expect((await gh.management!.invitationLinks.get(alpha, one.id)).revokedAt).not.toBeNull();
    expect((await admin.post(`${LINKS}/invl_AAAAAAAAAAAAAAAA/revoke`, { _csrf: csrfOf(page.text) })).status).toBe(404);
  });

  it('lists requests to join with the inviter; approve makes a member and mails a welcome; reject decides it', async () => {
    const url = await makeLink(admin, { days: '7', orgId: acme, approval: 'on' });
    const token = new URL(url).searchParams.get('token')!;
    const origin = { ip: null, userAgent: null, clientId: null, requestId: null };
    await gh.management!.invitationLinks.apply(alpha, token, { name: 'Ann Applicant', email: 'ann.applicant@example.com' }, origin);
    await gh.management!.invitationLinks.apply(alpha, token, { name: 'Rex Rejected', email: 'rex.rejected@example.com' }, origin);
    const page = await admin.get(`${REQUESTS}?status=pending`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Ann Applicant');
    expect(page.text).toContain('ann.applicant@example.com');
    expect((await admin.get(`${REQUESTS}?status=nope`)).status).toBe(400);
    const pending = (await gh.management!.invitationLinks.listRequests(alpha, { status: 'pending' }, null, 10)).requests;
    const ann = pending.find((r) => r.email === 'ann.applicant@example.com')!;
    const rex = pending.find((r) => r.email === 'rex.rejected@example.com')!;
    // The Requests tab counts the pending ones (on every tab).
    const badge = (n: number) => `<span class="tab-count" aria-hidden="true">${n}</span><span class="visually-hidden"> (${n} pending)</span>`;
    expect(page.text).toContain(badge(pending.length));
    expect((await admin.get(LINKS)).text).toContain(badge(pending.length));
    expect((await viewer.post(`${REQUESTS}/${ann.id}/approve`, { _csrf: csrfOf((await viewer.get(REQUESTS)).text) })).status).toBe(403);
    expect((await admin.post(`${REQUESTS}/${ann.id}/approve`, { _csrf: csrfOf(page.text) })).status).toBe(303);
    expect((await admin.post(`${REQUESTS}/${rex.id}/reject`, { _csrf: csrfOf(page.text) })).status).toBe(303);
    const approved = await gh.management!.invitationLinks.getRequest(alpha, ann.id);
    expect(approved.status).toBe('approved');
    expect((await gh.management!.memberships.list(alpha, { orgId: acme }, null, 10)).memberships.map((m) => m.userId)).toContain(approved.userId);
    expect((await gh.store.listMail(100)).some((m) => m.kind === 'welcome' && m.to.address === 'ann.applicant@example.com')).toBe(true);
    expect((await gh.management!.invitationLinks.getRequest(alpha, rex.id)).status).toBe('rejected');
    const decided = (await admin.get(REQUESTS)).text;
    if (pending.length > 2) expect(decided).toContain(badge(pending.length - 2));
    else expect(decided).not.toContain('class="tab-count"');
    expect(decided).toContain('Approved');
    expect(decided).toContain('Rejected');
    // Decided already: the page says so, nothing changes.
    const again = await admin.post(`${REQUESTS}/${rex.id}/approve`, { _csrf: csrfOf(page.text) });
    expect(again.status).toBe(303);
    expect((await gh.management!.invitationLinks.getRequest(alpha, rex.id)).status).toBe('rejected');
  });

  it('names the member as the inviter of a request through a member’s link (createdBy type user, §7.4) — in the requests and in the links list', async () => {
    const { user: member } = await gh.management!.users.create(alpha, { userType: 'human', email: 'mira.member@example.com', firstName: 'Mira', lastName: 'Member' }, CLI_CONTEXT);
    const asMember = { actor: { type: 'user' as const, id: member.id }, requestId: null, ip: null, userAgent: null };
    const made = await gh.management!.invitationLinks.create(alpha, { orgId: acme, approval: true, expiresAt: new Date(Date.now() + 86_400_000) }, asMember);
    expect(made.link.createdBy).toEqual({ type: 'user', id: member.id });
    const token = new URL(made.url).searchParams.get('token')!;
    await gh.management!.invitationLinks.apply(alpha, token, { name: 'Via Member', email: 'via.member@example.com' }, { ip: null, userAgent: null, clientId: null, requestId: null });
    const page = (await admin.get(`${REQUESTS}?status=pending`)).text;
    const row = page.slice(page.indexOf('Via Member'));
    expect(row.slice(0, row.indexOf('</tr>'))).toContain('Mira Member');
    expect((await admin.get(LINKS)).text).toContain('Mira Member');
  });
});

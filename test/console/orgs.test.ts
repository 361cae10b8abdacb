import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, postConsoleForm, type ConsoleBrowser } from '../helpers/console-login.ts';
import { csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';

/**
 * The console's orgs pages and an org's members (docs/design/orgs.md §8, commit 10): list, filter, page, add,
 * edit, close, reopen, delete behind a confirmation and a recent sign-in; members added by email or username,
 * changed, removed; the user page's Memberships panel and user-only permissions. Real HTTP, services, SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;
/** Moves the server's clock: past the console's recent-auth window a sign-in is stale; past an end a membership is expired. */
let offset = 0;
const now = () => Date.now() + offset;

const ORGS = '/admin/realms/alpha/orgs';
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const audits = async (operation: string, id: string) => (await gh.management!.audit.query({ realmId: 'alpha', limit: 200 })).filter((e) => e.operation === operation && e.target.id === id);
const idFrom = (location: unknown) => /\/orgs\/(org_[A-Za-z0-9_-]{16})$/.exec(String(location))![1]!;
const rowsOf = (html: string) => [...html.matchAll(/<td data-label="[^"]*" class="cell-name"><a href="[^"]*">([^<]+)<\/a>/g)].map((m) => decode(m[1]!));

const post = postConsoleForm;

async function human(realm: RealmConfig = alpha, extra: Record<string, unknown> = {}) {
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email: uniqueEmail('member'), password: GOOD_PASSWORD, emailVerification: 'verified', ...extra }, CLI_CONTEXT);
  return user;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(now()) });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
});
afterAll(() => gh?.close());

describe('console orgs', () => {
  it('adds an org from the form (name, reference, typed attributes), audited, and lists it', async () => {
    expect((await admin.get('/admin/realms/alpha')).text).toContain(`href="${ORGS}"`);
    const res = await admin.submit(`${ORGS}/new`, { name: '  Acme Corporation ', reference: 'crm-1', attrsShown: 'true', 'attr.0.key': 'plan', 'attr.0.value': 'pro', 'attr.1.key': 'seats', 'attr.1.value': '12' });
    expect(res.status, res.text).toBe(303);
    const id = idFrom(res.headers.location);
    const org = await gh.management!.orgs.get(alpha, id);
    expect(org).toMatchObject({ name: 'Acme Corporation', reference: 'crm-1', customAttributes: { plan: 'pro', seats: 12 }, state: 'active' });
    const [entry] = await audits('org.create', id);
    expect(entry).toMatchObject({ actor: { type: 'operator', id: admin.operatorId }, target: { type: 'org', id } });
    const page = await admin.get(`${ORGS}/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(tr('en', 'console.orgs.created', { name: 'Acme Corporation' }));
    expect(page.text).toContain('value="crm-1"');
    expect(page.text).toContain('value="seats"');
    expect((await admin.get(ORGS)).text).toContain('Acme Corporation');
  });

  it('keeps what was typed and marks the field on a refusal (4xx), writing nothing', async () => {
    const before = await gh.management!.orgs.count(alpha, {});
    const blank = await admin.submit(`${ORGS}/new`, { name: '  ', reference: 'kept-ref', attrsShown: 'true' });
    expect(blank.status).toBe(400);
    expect(blank.text).toMatch(/<input id="name" name="name"[^>]*aria-invalid="true"/);
    expect(blank.text).toContain('value="kept-ref"');
    expect(blank.text).toContain(tr('en', 'validation.required'));
    const badAttr = await admin.submit(`${ORGS}/new`, { name: 'Attr org', attrsShown: 'true', 'attr.0.key': 'x', 'attr.0.value': '[1, {"a": 2}]' });
    expect(badAttr.status).toBe(400);
    expect(badAttr.text).toMatch(/<input id="attr\.0\.value"[^>]*aria-invalid="true"/);
    const twice = await admin.submit(`${ORGS}/new`, { name: ['a', 'b'] });
    expect(twice.status).toBe(400);
    expect(await gh.management!.orgs.count(alpha, {})).toBe(before);
  });

  it('filters by state and name prefix (any case), sorts, counts and pages through every org once', async () => {
    for (let i = 0; i < 55; i++) await gh.management!.orgs.create(alpha, { name: `Paged ${String(i).padStart(2, '0')}`, ...(i % 5 === 0 ? { state: 'closed' as const } : {}) }, CLI_CONTEXT);
    const first = await admin.get(`${ORGS}?q=paged`);
    expect(first.status).toBe(200);
    expect(first.text).toContain(tr('en', 'console.orgs.countLine', { count: 55, formatted: '55' }));
    const page1 = rowsOf(first.text);
    expect(page1).toHaveLength(50);
    expect(page1[0]).toBe('Paged 00');
    const next = decode(/<a href="([^"]+)" rel="next">/.exec(first.text)![1]!);
    const page2 = rowsOf((await admin.get(next)).text);
    expect(new Set([...page1, ...page2]).size).toBe(55);
    const closed = await admin.get(`${ORGS}?q=PAGED&state=closed`);
    expect(rowsOf(closed.text)).toEqual(['Paged 00', 'Paged 05', 'Paged 10', 'Paged 15', 'Paged 20', 'Paged 25', 'Paged 30', 'Paged 35', 'Paged 40', 'Paged 45', 'Paged 50']);
    const desc = await admin.get(`${ORGS}?q=paged&sort=name&direction=desc`);
    expect(rowsOf(desc.text)[0]).toBe('Paged 54');
    expect(desc.text).toContain('aria-sort="descending"');
    const bad = await admin.get(`${ORGS}?sort=nope`);
    expect(bad.status).toBe(400);
    expect((await admin.get(`${ORGS}?after=garbage`)).status).toBe(400);
  });

  it('edits an org: only what changed is written and audited; nothing changed says so', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Edit me', customAttributes: { tier: 'gold' } }, CLI_CONTEXT);
    const path = `${ORGS}/${org.id}`;
    const saved = await admin.submit(path, { name: 'Edited', reference: 'ref-9', attrsShown: 'true', 'attr.0.key': 'tier', 'attr.0.value': 'silver' });
    expect(saved.status, saved.text).toBe(303);
    expect(await gh.management!.orgs.get(alpha, org.id)).toMatchObject({ name: 'Edited', reference: 'ref-9', customAttributes: { tier: 'silver' } });
    const [entry] = await audits('org.update', org.id);
    expect(entry).toMatchObject({ before: { name: 'Edit me' }, after: { name: 'Edited' } });
    const same = await admin.submit(path, { name: 'Edited', reference: 'ref-9', attrsShown: 'true', 'attr.0.key': 'tier', 'attr.0.value': 'silver' });
    expect(same.status).toBe(303);
    expect((await admin.get(path)).text).toContain(tr('en', 'console.userPage.nothingChanged'));
    expect(await audits('org.update', org.id)).toHaveLength(1);
  });

  it('closes and reopens an org (events org.closed and org.updated), refusing new members while closed', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Seasonal' }, CLI_CONTEXT);
    const user = await human();
    expect((await post(admin, `${ORGS}/${org.id}/close`)).status).toBe(303);
    expect((await gh.management!.orgs.get(alpha, org.id)).state).toBe('closed');
    const refused = await admin.submit(`${ORGS}/${org.id}/members`, { user: user.email!, permissions: 'a' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(tr('en', 'console.conflict.org_closed'));
    expect((await post(admin, `${ORGS}/${org.id}/reopen`)).status).toBe(303);
    expect((await gh.management!.orgs.get(alpha, org.id)).state).toBe('active');
    const types = (await gh.store.events.query({ realmId: 'alpha', typePrefix: 'org.', limit: 500 })).data.filter((e) => (e.data as { orgId?: string }).orgId === org.id).map((e) => e.type);
    expect(types.sort()).toEqual(['org.closed', 'org.created', 'org.updated']);
  });

  it('deletes an org with its memberships after a confirmation page, and asks a stale sign-in to confirm it’s you first', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Doomed' }, CLI_CONTEXT);
    const user = await human();
    await gh.management!.memberships.create(alpha, { userId: user.id, orgId: org.id, permissions: ['x'] }, CLI_CONTEXT);
    const confirm = await admin.get(`${ORGS}/${org.id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain(tr('en', 'console.orgs.deleteTitle', { name: 'Doomed' }));
    offset += 6 * 60_000;
    const stale = await post(admin, `${ORGS}/${org.id}/delete`);
    expect(stale.status).toBe(303);
    expect(String(stale.headers.location)).toMatch(/^\/admin\/reauth\?next=/);
    expect((await gh.management!.orgs.get(alpha, org.id)).name).toBe('Doomed');
    offset -= 6 * 60_000;
    const done = await post(admin, `${ORGS}/${org.id}/delete`);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(ORGS);
    await expect(gh.management!.orgs.get(alpha, org.id)).rejects.toThrow();
    expect((await gh.management!.memberships.list(alpha, { userId: user.id }, null, 10)).memberships).toEqual([]);
    expect(await audits('org.delete', org.id)).toHaveLength(1);
    expect((await admin.get(ORGS)).text).toContain(tr('en', 'console.orgs.deleted', { name: 'Doomed', count: 1 }));
  });
});

describe('console org members', () => {
  it('adds members by email (any case) or username, with permissions one a line and a last day; lists them with the expired flag', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Members Inc' }, CLI_CONTEXT);
    // alpha's humans sign in by email: the username case is an API user's (a generated username).
    const ada = await human();
    const bob = (await gh.management!.users.create(alpha, { userType: 'api', name: 'Billing robot' }, CLI_CONTEXT)).user;
    const members = `${ORGS}/${org.id}/members`;
    const byEmail = await admin.submit(members, { user: ada.email!.toUpperCase(), permissions: 'Billing:Read\r\n\r\n  billing:* \r\nbilling:read', expires: '' });
    expect(byEmail.status, byEmail.text).toBe(303);
    const day = new Date(now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const byUsername = await admin.submit(members, { user: bob.username, permissions: '', expires: day });
    expect(byUsername.status, byUsername.text).toBe(303);
    const list = (await gh.management!.memberships.list(alpha, { orgId: org.id }, null, 10)).memberships;
    expect(list.map((m) => [m.userId, m.permissions])).toEqual([[ada.id, ['billing:read', 'billing:*']], [bob.id, []]]);
    expect(list[1]!.expiresAt!.toISOString()).toBe(new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString());
    const [entry] = await audits('membership.create', list[0]!.id);
    expect(entry).toMatchObject({ actor: { type: 'operator', id: admin.operatorId } });
    const page = await admin.get(members);
    expect(page.text).toContain(ada.email!);
    expect(page.text).toContain('<code translate="no">billing:*</code>');
    expect(page.text).not.toContain(tr('en', 'console.members.expired'));
    // An end passed (a long jump of the clock would end the console sessions too): the list says expired.
    const carl = await human();
    await gh.management!.memberships.create(alpha, { userId: carl.id, orgId: org.id, expiresAt: new Date(now() + 1000) }, CLI_CONTEXT);
    offset += 2000;
    expect((await viewer.get(members)).text).toContain(`<span class="badge badge-warn">${tr('en', 'console.members.expired')}</span>`);
  });

  it('refuses an unknown user, a bad permission, a past day and a second membership at their field, keeping what was typed', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Strict' }, CLI_CONTEXT);
    const user = await human();
    const members = `${ORGS}/${org.id}/members`;
    const betaUser = await human(beta, { username: `b-${Math.random().toString(36).slice(2, 8)}` });
    for (const who of ['nobody@example.com', betaUser.email!, user.email!.slice(0, -3)]) {
      const unknown = await admin.submit(members, { user: who, permissions: 'kept:perm' });
      expect(unknown.status, who).toBe(404);
      expect(unknown.text).toMatch(/<input id="user" name="user"[^>]*aria-invalid="true"/);
      expect(unknown.text).toContain(tr('en', 'console.members.noSuchUser'));
      expect(unknown.text).toContain('>kept:perm</textarea>');
    }
    const bad = await admin.submit(members, { user: user.email!, permissions: 'ok\nnot allowed!' });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/<textarea id="permissions"[^>]*aria-invalid="true"/);
    expect(bad.text).toContain(tr('en', 'console.members.permissionInvalid'));
    expect(decode(/<textarea id="permissions"[^>]*>([^<]*)<\/textarea>/.exec(bad.text)![1]!)).toBe('ok\nnot allowed!');
    const past = await admin.submit(members, { user: user.email!, expires: '2001-01-01' });
    expect(past.status).toBe(422);
    expect(past.text).toMatch(/<input id="expires" name="expires"[^>]*aria-invalid="true"/);
    expect((await admin.submit(members, { user: user.email!, expires: '2031-02-30' })).status).toBe(400);
    expect((await gh.management!.memberships.list(alpha, { orgId: org.id }, null, 10)).memberships).toEqual([]);
    expect((await admin.submit(members, { user: user.email! })).status).toBe(303);
    const again = await admin.submit(members, { user: user.email! });
    expect(again.status).toBe(409);
    expect(again.text).toContain(tr('en', 'console.conflict.membership_exists'));
  });

  it('changes a membership’s permissions and last day on its page, then removes it; each audited', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Editable' }, CLI_CONTEXT);
    const user = await human();
    const m = await gh.management!.memberships.create(alpha, { userId: user.id, orgId: org.id, permissions: ['a'] }, CLI_CONTEXT);
    const path = `/admin/realms/alpha/memberships/${m.id}`;
    const page = await admin.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('>a</textarea>');
    const day = new Date(now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const saved = await admin.submit(path, { permissions: 'a\nb:*', expires: day });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`${ORGS}/${org.id}/members`);
    const after = await gh.management!.memberships.get(alpha, m.id);
    expect(after.permissions).toEqual(['a', 'b:*']);
    expect(after.expiresAt).not.toBeNull();
    const bad = await admin.submit(path, { permissions: 'x y', expires: day });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('>x y</textarea>');
    expect(await audits('membership.update', m.id)).toHaveLength(1);
    expect((await post(admin, `${path}/delete`)).status).toBe(303);
    await expect(gh.management!.memberships.get(alpha, m.id)).rejects.toThrow();
    expect(await audits('membership.delete', m.id)).toHaveLength(1);
  });

  it('a viewer reads the pages without forms and is refused every write (403); another realm’s ids are not found (404)', async () => {
    const org = await gh.management!.orgs.create(alpha, { name: 'Viewed' }, CLI_CONTEXT);
    const user = await human();
    const m = await gh.management!.memberships.create(alpha, { userId: user.id, orgId: org.id }, CLI_CONTEXT);
    for (const p of [`${ORGS}/${org.id}`, `${ORGS}/${org.id}/members`, `/admin/realms/alpha/memberships/${m.id}`]) {
      const res = await viewer.get(p);
      expect(res.status, p).toBe(200);
      expect(res.text, p).not.toContain(tr('en', 'console.orgs.save'));
      expect(res.text, p).not.toContain(tr('en', 'console.members.add'));
    }
    for (const [p, form] of [[`${ORGS}/new`, { name: 'V' }], [`${ORGS}/${org.id}`, { name: 'V' }], [`${ORGS}/${org.id}/close`, {}], [`${ORGS}/${org.id}/members`, { user: user.email! }], [`/admin/realms/alpha/memberships/${m.id}/delete`, {}]] as const) {
      expect((await post(viewer, p, form)).status, p).toBe(403);
    }
    expect((await gh.management!.orgs.get(alpha, org.id)).state).toBe('active');
    const betaOrg = await gh.management!.orgs.create(beta, { name: 'Beta org' }, CLI_CONTEXT);
    const betaMember = await gh.management!.memberships.create(beta, { userId: (await human(beta, { username: `bm-${Math.random().toString(36).slice(2, 8)}` })).id, orgId: betaOrg.id }, CLI_CONTEXT);
    for (const p of [`${ORGS}/${betaOrg.id}`, `${ORGS}/${betaOrg.id}/members`, `/admin/realms/alpha/memberships/${betaMember.id}`, `${ORGS}/org_nope`, `${ORGS}/${betaOrg.id}/delete`]) {
      expect((await admin.get(p)).status, p).toBe(404);
    }
    for (const p of [`${ORGS}/${betaOrg.id}/close`, `${ORGS}/${betaOrg.id}/delete`, `/admin/realms/alpha/memberships/${betaMember.id}/delete`]) {
      expect((await post(admin, p)).status, p).toBe(404);
    }
    expect((await gh.management!.orgs.get(beta, betaOrg.id)).state).toBe('active');
    expect((await gh.management!.memberships.get(beta, betaMember.id)).id).toBe(betaMember.id);
  });
});

describe('console user page: memberships, groups, user-only permissions', () => {
  it('lists the user’s orgs and groups, and sets the user-only permissions: made, changed, deleted with the last', async () => {
    const user = await human();
    const org = await gh.management!.orgs.create(alpha, { name: 'Panel Org' }, CLI_CONTEXT);
    await gh.management!.memberships.create(alpha, { userId: user.id, orgId: org.id, permissions: ['reports:read'] }, CLI_CONTEXT);
    const group = await gh.management!.groups.create(alpha, { name: 'Panel Group' }, CLI_CONTEXT);
    await gh.management!.groups.addMembers(alpha, group.id, [user.id], CLI_CONTEXT);
    const path = `/admin/realms/alpha/users/${user.id}`;
    const page = await admin.get(path);
    expect(page.text).toContain(`href="${ORGS}/${org.id}"`);
    expect(page.text).toContain('<code translate="no">reports:read</code>');
    expect(page.text).toContain(`href="/admin/realms/alpha/groups/${group.id}"`);
    const userOnly = async () => (await gh.management!.memberships.list(alpha, { userId: user.id, orgId: null }, null, 1)).memberships[0] ?? null;
    expect((await post(admin, `${path}/permissions`, { permissions: 'Admin:*\nadmin:*' })).status).toBe(303);
    expect((await userOnly())!.permissions).toEqual(['admin:*']);
    expect((await admin.get(path)).text).toContain('>admin:*</textarea>');
    expect((await post(admin, `${path}/permissions`, { permissions: 'admin:*\nbilling' })).status).toBe(303);
    expect((await userOnly())!.permissions).toEqual(['admin:*', 'billing']);
    const bad = await post(admin, `${path}/permissions`, { permissions: 'bad perm' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('>bad perm</textarea>');
    expect(bad.text).toContain(tr('en', 'console.members.permissionInvalid'));
    const id = (await userOnly())!.id;
    expect((await post(admin, `${path}/permissions`, { permissions: '  ' })).status).toBe(303);
    expect(await userOnly()).toBeNull();
    expect((await audits('membership.create', id)).length + (await audits('membership.update', id)).length + (await audits('membership.delete', id)).length).toBe(3);
    expect((await post(viewer, `${path}/permissions`, { permissions: 'x' })).status).toBe(403);
  });
});

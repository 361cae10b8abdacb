import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, postConsoleForm, type ConsoleBrowser } from '../helpers/console-login.ts';
import { csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';

/**
 * The console's groups pages (docs/design/orgs.md §8, commit 11): list by name prefix with paging, add, edit
 * (name, description, permissions one a line), members added by email or username and removed, delete behind
 * a confirmation page. Real HTTP, services, SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;

const GROUPS = '/admin/realms/alpha/groups';
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const audits = async (operation: string, id: string) => (await gh.management!.audit.query({ realmId: 'alpha', limit: 200 })).filter((e) => e.operation === operation && e.target.id === id);
const rowsOf = (html: string) => [...html.matchAll(/<td data-label="[^"]*" class="cell-name"><a href="[^"]*">([^<]+)<\/a>/g)].map((m) => decode(m[1]!));
const members = async (id: string) => (await gh.management!.groups.members(alpha, id, null, 100)).members.map((m) => m.userId);

const post = postConsoleForm;

async function human(realm: RealmConfig = alpha, extra: Record<string, unknown> = {}) {
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email: uniqueEmail('grouped'), password: GOOD_PASSWORD, emailVerification: 'verified', ...extra }, CLI_CONTEXT);
  return user;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
});
afterAll(() => gh?.close());

describe('console groups', () => {
  it('adds a group (permissions one a line, lower-cased, each once), audited; a taken name or a bad permission is refused at its field', async () => {
    expect((await admin.get('/admin/realms/alpha')).text).toContain(`href="${GROUPS}"`);
    const res = await admin.submit(`${GROUPS}/new`, { name: 'Support Team', description: 'First line', permissions: 'Tickets:Read\n\ntickets:*\ntickets:read' });
    expect(res.status, res.text).toBe(303);
    const id = /\/groups\/(grp_[A-Za-z0-9_-]{16})$/.exec(String(res.headers.location))![1]!;
    expect(await gh.management!.groups.get(alpha, id)).toMatchObject({ name: 'Support Team', description: 'First line', permissions: ['tickets:read', 'tickets:*'] });
    expect(await audits('group.create', id)).toHaveLength(1);
    const page = await admin.get(`${GROUPS}/${id}`);
    expect(page.text).toContain(tr('en', 'console.groups.created', { name: 'Support Team' }));
    expect(page.text).toContain('>tickets:read\ntickets:*</textarea>');

    const taken = await admin.submit(`${GROUPS}/new`, { name: 'support team', description: 'kept', permissions: '' });
    expect(taken.status).toBe(409);
    expect(taken.text).toMatch(/<input id="name" name="name"[^>]*aria-invalid="true"/);
    expect(taken.text).toContain(tr('en', 'console.conflict.group_exists'));
    expect(taken.text).toContain('>kept</textarea>');
    const bad = await admin.submit(`${GROUPS}/new`, { name: 'Bad perms', permissions: 'ok\nno spaces please' });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/<textarea id="permissions"[^>]*aria-invalid="true"/);
    expect(bad.text).toContain(tr('en', 'console.members.permissionInvalid'));
    const blank = await admin.submit(`${GROUPS}/new`, { name: '', permissions: 'x' });
    expect(blank.status).toBe(400);
    expect((await gh.management!.groups.list(alpha, { q: 'bad' }, null, 10)).groups).toEqual([]);
  });

  it('lists groups by name prefix (any case) and pages through all of them once', async () => {
    for (let i = 0; i < 53; i++) await gh.management!.groups.create(alpha, { name: `Team ${String(i).padStart(2, '0')}` }, CLI_CONTEXT);
    const first = await admin.get(`${GROUPS}?q=TEAM`);
    const page1 = rowsOf(first.text);
    expect(page1).toHaveLength(50);
    const next = decode(/<a href="([^"]+)" rel="next">/.exec(first.text)![1]!);
    expect(next).toContain('q=TEAM');
    const page2 = rowsOf((await admin.get(next)).text);
    expect(new Set([...page1, ...page2]).size).toBe(53);
    expect(rowsOf((await admin.get(`${GROUPS}?q=support`)).text)).toEqual(['Support Team']);
    expect((await admin.get(`${GROUPS}?q=nothing-like-it`)).text).toContain(tr('en', 'console.groups.empty'));
  });

  it('edits a group: only what changed; nothing changed says so', async () => {
    const g = await gh.management!.groups.create(alpha, { name: 'Editors', permissions: ['a'] }, CLI_CONTEXT);
    const path = `${GROUPS}/${g.id}`;
    expect((await admin.submit(path, { name: 'Editors', description: 'They edit', permissions: 'a\nb' })).status).toBe(303);
    expect(await gh.management!.groups.get(alpha, g.id)).toMatchObject({ name: 'Editors', description: 'They edit', permissions: ['a', 'b'] });
    const [entry] = await audits('group.update', g.id);
    expect(entry).toMatchObject({ before: { permissions: ['a'] }, after: { permissions: ['a', 'b'] } });
    expect((await admin.submit(path, { name: 'Editors', description: 'They edit', permissions: 'a\nb' })).status).toBe(303);
    expect((await admin.get(path)).text).toContain(tr('en', 'console.userPage.nothingChanged'));
    expect(await audits('group.update', g.id)).toHaveLength(1);
  });

  it('adds members by email or username, refuses an unknown user and a member already, removes one; each audited and evented', async () => {
    const g = await gh.management!.groups.create(alpha, { name: 'Crew' }, CLI_CONTEXT);
    const path = `${GROUPS}/${g.id}`;
    const ada = await human();
    const robot = (await gh.management!.users.create(alpha, { userType: 'api', name: 'Crew robot' }, CLI_CONTEXT)).user;
    // The add form posts to …/members (no page of its own): take the group page's token.
    const addTo = async (user: string) => admin.post(`${path}/members`, { _csrf: csrfOf((await admin.get(path)).text), user });
    expect((await addTo(ada.email!.toUpperCase())).status).toBe(303);
    expect((await addTo(robot.username)).status).toBe(303);
    expect(await members(g.id)).toEqual([ada.id, robot.id]);
    const page = await admin.get(path);
    expect(page.text).toContain(ada.email!);
    expect(page.text).toContain('Crew robot');
    const again = await addTo(ada.email!);
    expect(again.status).toBe(409);
    expect(again.text).toContain(tr('en', 'console.conflict.group_member_exists'));
    const betaUser = await human(beta, { username: `b-${Math.random().toString(36).slice(2, 8)}` });
    for (const who of ['nobody@example.com', betaUser.email!]) {
      const unknown = await addTo(who);
      expect(unknown.status, who).toBe(404);
      expect(unknown.text).toMatch(/<input id="user" name="user"[^>]*aria-invalid="true"/);
      expect(unknown.text).toContain(`value="${who}"`);
    }
    expect(await audits('group.member.add', g.id)).toHaveLength(2);
    expect((await post(admin, `${path}/members/${ada.id}/delete`)).status).toBe(303);
    expect(await members(g.id)).toEqual([robot.id]);
    expect((await post(admin, `${path}/members/${ada.id}/delete`)).status).toBe(404);
    expect(await audits('group.member.remove', g.id)).toHaveLength(1);
    const events = (await gh.store.events.query({ realmId: 'alpha', userId: ada.id, limit: 20 })).data.map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['group.member.added', 'group.member.removed']));
  });

  it('deletes a group with its members after a confirmation page', async () => {
    const g = await gh.management!.groups.create(alpha, { name: 'Short lived' }, CLI_CONTEXT);
    const user = await human();
    await gh.management!.groups.addMembers(alpha, g.id, [user.id], CLI_CONTEXT);
    const confirm = await admin.get(`${GROUPS}/${g.id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain(tr('en', 'console.groups.deleteTitle', { name: 'Short lived' }));
    const done = await admin.post(`${GROUPS}/${g.id}/delete`, { _csrf: csrfOf(confirm.text) });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(GROUPS);
    await expect(gh.management!.groups.get(alpha, g.id)).rejects.toThrow();
    expect((await gh.management!.groups.list(alpha, { userId: user.id }, null, 10)).groups).toEqual([]);
    expect(await audits('group.delete', g.id)).toHaveLength(1);
    expect((await admin.get(GROUPS)).text).toContain(tr('en', 'console.groups.deleted', { name: 'Short lived', count: 1 }));
  });

  it('a viewer reads without forms and is refused every write (403); another realm’s groups are not found (404)', async () => {
    const g = await gh.management!.groups.create(alpha, { name: 'Watched' }, CLI_CONTEXT);
    const user = await human();
    await gh.management!.groups.addMembers(alpha, g.id, [user.id], CLI_CONTEXT);
    const page = await viewer.get(`${GROUPS}/${g.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(user.email!);
    expect(page.text).not.toContain(tr('en', 'console.members.add'));
    expect(page.text).not.toContain(tr('en', 'console.groups.save'));
    for (const [p, form] of [[`${GROUPS}/new`, { name: 'V' }], [`${GROUPS}/${g.id}`, { name: 'V' }], [`${GROUPS}/${g.id}/members`, { user: user.email! }], [`${GROUPS}/${g.id}/members/${user.id}/delete`, {}], [`${GROUPS}/${g.id}/delete`, {}]] as const) {
      expect((await post(viewer, p, form)).status, p).toBe(403);
    }
    expect((await viewer.get(`${GROUPS}/${g.id}/delete`)).status).toBe(403);
    expect(await members(g.id)).toEqual([user.id]);
    const betaGroup = await gh.management!.groups.create(beta, { name: 'Beta crew' }, CLI_CONTEXT);
    for (const p of [`${GROUPS}/${betaGroup.id}`, `${GROUPS}/${betaGroup.id}/delete`, `${GROUPS}/grp_nope`]) expect((await admin.get(p)).status, p).toBe(404);
    for (const p of [`${GROUPS}/${betaGroup.id}`, `${GROUPS}/${betaGroup.id}/members`, `${GROUPS}/${betaGroup.id}/delete`]) expect((await post(admin, p, { name: 'x', user: user.email! })).status, p).toBe(404);
    expect((await gh.management!.groups.get(beta, betaGroup.id)).name).toBe('Beta crew');
    expect((await gh.management!.groups.members(beta, betaGroup.id, null, 10)).members).toEqual([]);
  });
});

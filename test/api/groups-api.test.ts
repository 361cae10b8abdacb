import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let root: ReturnType<typeof apiClient>;

beforeAll(async () => {
  const file = structuredClone(TEST_CONFIG);
  // A small limit, to reach it.
  (file.realms[0] as Record<string, unknown>).memberships = { maxPermissions: 3 };
  gh = await testGatehouse({ file });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  root = apiClient(gh, await managementKey(gh, null));
});
afterAll(() => gh.close());

const user = async (email: string) => (await api.post('/realms/alpha/users', { email })).body.user.id as string;
const group = async (name: string, more: Record<string, unknown> = {}) => (await api.post('/realms/alpha/groups', { name, ...more })).body.id as string;
const memberIds = async (groupId: string) => (await api.get(`/realms/alpha/groups/${groupId}/members?limit=1000`)).body.data.map((m: { userId: string }) => m.userId);

describe('management API: groups', () => {
  it('creates a group (201, Location) with permissions lower-cased and deduplicated in order, and gets it', async () => {
    const res = await api.post('/realms/alpha/groups', { name: 'Finance', description: 'Money people', permissions: ['Billing:*', 'reports:READ', 'billing:*'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ realmId: 'alpha', name: 'Finance', description: 'Money people', permissions: ['billing:*', 'reports:read'] });
    expect(res.body.id).toMatch(/^grp_[A-Za-z0-9_-]{16}$/);
    expect(res.headers.location).toBe(`/api/v1/realms/alpha/groups/${res.body.id}`);
    expect((await api.get(`/realms/alpha/groups/${res.body.id}`)).body).toEqual(res.body);
    const bare = await api.post('/realms/alpha/groups', { name: 'Bare' });
    expect(bare.body).toMatchObject({ description: null, permissions: [] });
  });

  it('keeps names unique in the realm in any case: 409 group_exists on create and on rename; another realm may reuse one', async () => {
    const ops = await group('Ops');
    const again = await api.post('/realms/alpha/groups', { name: 'OPS' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: '/api/v1/problems/conflict', code: 'group_exists', errors: [{ field: 'name', code: 'group_exists' }] });
    const dev = await group('Dev');
    expect((await api.patch(`/realms/alpha/groups/${dev}`, { name: 'ops' })).body.code).toBe('group_exists');
    expect((await root.post('/realms/beta/groups', { name: 'Ops' })).status).toBe(201);
    expect((await api.patch(`/realms/alpha/groups/${ops}`, { name: 'OPS' })).body.name).toBe('OPS');
  });

  it('refuses more permissions than the realm’s maxPermissions (422 naming the limit) and a bad permission (400), writing nothing', async () => {
    const tooMany = await api.post('/realms/alpha/groups', { name: 'Many', permissions: ['a', 'b', 'c', 'd'] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ field: 'permissions', code: 'permissions.too_many', limit: 3 })]);
    for (const bad of ['has space', 'ü', '', 'x'.repeat(63), 'a/b']) {
      const res = await api.post('/realms/alpha/groups', { name: 'Bad', permissions: [bad] });
      expect(res.status, bad).toBe(400);
      expect(res.body.errors[0].field, bad).toBe('permissions.0');
    }
    for (const name of ['', 'a\nb', 'x'.repeat(101)]) expect((await api.post('/realms/alpha/groups', { name })).status, name).toBe(400);
    expect((await api.get('/realms/alpha/groups?q=many')).body.data).toEqual([]);
    expect((await api.get('/realms/alpha/groups?q=bad')).body.data).toEqual([]);
    const few = await group('Few', { permissions: ['a', 'A', 'b', 'c'] });
    expect((await api.patch(`/realms/alpha/groups/${few}`, { permissions: ['1', '2', '3', '4'] })).status).toBe(422);
    expect((await api.patch(`/realms/alpha/groups/${few}`, {})).status).toBe(400);
  });

  it('lists by a name prefix in any case, and a user’s groups, by name in cursor pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await group(`Paged ${i}`));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await api.get(`/realms/alpha/groups?q=PAGED&limit=2${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((g: { id: string }) => g.id));
      after = res.body.next;
    } while (after);
    expect(seen).toEqual(ids);
    const ida = await user('ida@example.com');
    await api.post(`/realms/alpha/groups/${ids[3]}/members`, { userIds: [ida] });
    await api.post(`/realms/alpha/groups/${ids[1]}/members`, { userIds: [ida] });
    expect((await api.get(`/realms/alpha/groups?userId=${ida}`)).body.data.map((g: { name: string }) => g.name)).toEqual(['Paged 1', 'Paged 3']);
    expect((await api.get(`/realms/alpha/groups?userId=${ida}&q=paged 3`)).body.data.map((g: { name: string }) => g.name)).toEqual(['Paged 3']);
    // Another list's cursor is refused.
    const orgCursor = Buffer.from(JSON.stringify({ c: 1, i: 'x' })).toString('base64url');
    expect((await api.get(`/realms/alpha/groups?after=${orgCursor}`)).status).toBe(400);
  });

  it('adds members: says who was added, who was one already and who is not a user of the realm; 409 when nobody is added, 404 when none is a user', async () => {
    const g = await group('Adders');
    const [ann, ben] = [await user('ann@example.com'), await user('ben@example.com')];
    const betaUser = (await root.post('/realms/beta/users', { username: 'beta-grouped' })).body.user.id;
    const first = await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [ann] });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ added: [ann], already: [], missing: [] });
    const mixed = await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [ann, ben, betaUser, 'no-such-user', ben] });
    expect(mixed.status).toBe(200);
    expect(mixed.body).toEqual({ added: [ben], already: [ann], missing: [betaUser, 'no-such-user'] });
    const again = await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [ann] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'group_member_exists', errors: [{ field: 'userIds', code: 'group_member_exists' }] });
    expect((await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [ann, 'no-such-user'] })).status).toBe(409);
    const nobody = await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [betaUser, 'no-such-user'] });
    expect(nobody.status).toBe(404);
    expect(nobody.body.title).toBe('The user was not found');
    expect((await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [] })).status).toBe(400);
    expect((await api.post(`/realms/alpha/groups/${g}/members`, { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) })).status).toBe(400);
    expect(await memberIds(g)).toEqual([ann, ben]);
  });

  it('removes a member (204, then 404), and lists members oldest first in cursor pages', async () => {
    const g = await group('Paged members');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await user(`member-${i}@example.com`));
    for (const id of ids) await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [id] });
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await api.get(`/realms/alpha/groups/${g}/members?limit=2${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      for (const m of res.body.data) expect(Number.isNaN(Date.parse(m.addedAt))).toBe(false);
      seen.push(...res.body.data.map((m: { userId: string }) => m.userId));
      after = res.body.next;
    } while (after);
    expect(seen).toEqual(ids);
    expect((await api.delete(`/realms/alpha/groups/${g}/members/${ids[2]}`)).status).toBe(204);
    const gone = await api.delete(`/realms/alpha/groups/${g}/members/${ids[2]}`);
    expect(gone.status).toBe(404);
    expect(gone.body.title).toBe('The group member was not found');
    expect(await memberIds(g)).toEqual([ids[0], ids[1], ids[3], ids[4]]);
  });

  it('answers 404 for another realm’s group on every route, as for one that does not exist', async () => {
    const betaGroup = (await root.post('/realms/beta/groups', { name: 'Beta only group' })).body.id;
    const betaUser = (await root.post('/realms/beta/users', { username: 'beta-member' })).body.user.id;
    await root.post(`/realms/beta/groups/${betaGroup}/members`, { userIds: [betaUser] });
    for (const id of [betaGroup, 'grp_AAAAAAAAAAAAAAAA']) {
      expect((await api.get(`/realms/alpha/groups/${id}`)).status).toBe(404);
      expect((await api.patch(`/realms/alpha/groups/${id}`, { name: 'Taken' })).status).toBe(404);
      expect((await api.get(`/realms/alpha/groups/${id}/members`)).status).toBe(404);
      expect((await api.post(`/realms/alpha/groups/${id}/members`, { userIds: [betaUser] })).body.title).toBe('The group was not found');
      expect((await api.delete(`/realms/alpha/groups/${id}/members/${betaUser}`)).body.title).toBe('The group was not found');
      expect((await api.delete(`/realms/alpha/groups/${id}`)).status).toBe(404);
    }
    expect((await api.get('/realms/beta/groups')).status).toBe(404);
    expect((await root.get(`/realms/beta/groups/${betaGroup}`)).body.name).toBe('Beta only group');
    expect((await root.get(`/realms/beta/groups/${betaGroup}/members`)).body.data).toHaveLength(1);
  });

  it('writes group.* events (members’ about the member) and audits each write with before and after', async () => {
    const gus = await user('gus@example.com');
    const created = (await api.post('/realms/alpha/groups', { name: 'Audited', permissions: ['read'] })).body;
    await api.patch(`/realms/alpha/groups/${created.id}`, { permissions: ['read', 'write'], description: 'now' });
    await api.post(`/realms/alpha/groups/${created.id}/members`, { userIds: [gus, 'no-such-user'] });
    // Refused writes: neither evented nor audited.
    expect((await api.post(`/realms/alpha/groups/${created.id}/members`, { userIds: [gus] })).status).toBe(409);
    expect((await api.post('/realms/alpha/groups', { name: 'audited' })).status).toBe(409);
    await api.delete(`/realms/alpha/groups/${created.id}/members/${gus}`);
    await api.post(`/realms/alpha/groups/${created.id}/members`, { userIds: [gus] });
    await api.delete(`/realms/alpha/groups/${created.id}`);
    const events = (await api.get('/realms/alpha/events?type=group&limit=1000')).body.data.filter((e: { data: { groupId?: string } }) => e.data?.groupId === created.id);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['group.deleted', 'group.member.added', 'group.member.removed', 'group.member.added', 'group.updated', 'group.created']);
    expect(events[5]).toMatchObject({ userId: null, actor: { type: 'api_key' }, data: { groupId: created.id, name: 'Audited', permissions: ['read'] } });
    expect(events[4].data).toEqual({ groupId: created.id, fields: ['permissions', 'description'] });
    expect(events[3]).toMatchObject({ userId: gus, data: { groupId: created.id } });
    expect(events[0].data).toEqual({ groupId: created.id, name: 'Audited', members: 1 });
    expect((await api.get(`/realms/alpha/events?userId=${gus}&type=group.member`)).body.data.map((e: { type: string }) => e.type)).toEqual(['group.member.added', 'group.member.removed', 'group.member.added']);
    const audit = (await api.get(`/realms/alpha/audit?targetId=${created.id}`)).body.data;
    expect(audit.map((a: { operation: string }) => a.operation)).toEqual(['group.delete', 'group.member.add', 'group.member.remove', 'group.member.add', 'group.update', 'group.create']);
    expect(audit[5]).toMatchObject({ target: { type: 'group', id: created.id }, before: null, after: { name: 'Audited', permissions: ['read'] } });
    expect(audit[4]).toMatchObject({ before: { permissions: ['read'] }, after: { permissions: ['read', 'write'], description: 'now' } });
    expect(audit[3]).toMatchObject({ after: { added: [gus], already: [], missing: ['no-such-user'] } });
    expect(audit[2]).toMatchObject({ before: { userId: gus } });
    expect(audit[0]).toMatchObject({ before: { name: 'Audited', members: 1 }, after: null });
  });

  it('deleting the user takes their group memberships (no group.member.removed each); deleting a group keeps its users', async () => {
    const hal = await user('hal@example.com');
    const ivy = await user('ivy@example.com');
    const g = await group('Leavers');
    await api.post(`/realms/alpha/groups/${g}/members`, { userIds: [hal, ivy] });
    expect((await api.delete(`/realms/alpha/users/${hal}`)).status).toBe(204);
    expect(await memberIds(g)).toEqual([ivy]);
    expect((await api.get(`/realms/alpha/events?userId=${hal}`)).body.data.map((e: { type: string }) => e.type)).toEqual(['user.deleted', 'group.member.added', 'user.created']);
    expect((await api.delete(`/realms/alpha/groups/${g}`)).status).toBe(204);
    expect((await api.get(`/realms/alpha/groups/${g}`)).status).toBe(404);
    expect((await api.get(`/realms/alpha/users/${ivy}`)).status).toBe(200);
    expect((await api.get(`/realms/alpha/groups?userId=${ivy}`)).body.data).toEqual([]);
  });
});

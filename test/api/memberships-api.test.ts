import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let root: ReturnType<typeof apiClient>;
let acme: string;

beforeAll(async () => {
  const file = structuredClone(TEST_CONFIG);
  // A small limit, to reach it.
  (file.realms[0] as Record<string, unknown>).memberships = { maxPermissions: 3 };
  gh = await testGatehouse({ file });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  root = apiClient(gh, await managementKey(gh, null));
  acme = (await api.post('/realms/alpha/orgs', { name: 'Acme' })).body.id;
});
afterAll(() => gh.close());

const user = async (email: string) => (await api.post('/realms/alpha/users', { email })).body.user.id as string;
const future = () => new Date(Date.now() + 3_600_000).toISOString();

describe('management API: memberships', () => {
  it('creates a membership (201, Location) with permissions lower-cased and deduplicated in order, and gets it', async () => {
    const ada = await user('ada@example.com');
    const res = await api.post('/realms/alpha/memberships', { userId: ada, orgId: acme, permissions: ['Billing:*', 'reports:READ', 'billing:*'], customAttributes: { seat: 3 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userId: ada, orgId: acme, permissions: ['billing:*', 'reports:read'], customAttributes: { seat: 3 }, expiresAt: null, expired: false });
    expect(res.body.id).toMatch(/^mb_[A-Za-z0-9_-]{16}$/);
    expect(res.headers.location).toBe(`/api/v1/realms/alpha/memberships/${res.body.id}`);
    const got = await api.get(`/realms/alpha/memberships/${res.body.id}`);
    expect(got.body).toEqual(res.body);
  });

  it('allows one membership per (user, org) and one user-only membership per user: a second is 409 membership_exists', async () => {
    const bob = await user('bob@example.com');
    expect((await api.post('/realms/alpha/memberships', { userId: bob, orgId: acme })).status).toBe(201);
    const again = await api.post('/realms/alpha/memberships', { userId: bob, orgId: acme, permissions: ['x'] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: '/api/v1/problems/conflict', code: 'membership_exists', errors: [{ field: 'orgId', code: 'membership_exists' }] });
    const own = await api.post('/realms/alpha/memberships', { userId: bob, orgId: null, permissions: ['admin'] });
    expect(own.status).toBe(201);
    expect(own.body.orgId).toBeNull();
    expect((await api.post('/realms/alpha/memberships', { userId: bob, orgId: null })).body.code).toBe('membership_exists');
    // orgId=none lists the user-only ones.
    const userOnly = await api.get(`/realms/alpha/memberships?userId=${bob}&orgId=none`);
    expect(userOnly.body.data.map((m: { id: string }) => m.id)).toEqual([own.body.id]);
  });

  it('refuses more permissions than the realm’s maxPermissions (422 naming the limit), a bad permission (400), an end in the past (422)', async () => {
    const cy = await user('cy@example.com');
    const tooMany = await api.post('/realms/alpha/memberships', { userId: cy, orgId: acme, permissions: ['a', 'b', 'c', 'd'] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ field: 'permissions', code: 'permissions.too_many', limit: 3 })]);
    // Duplicates count once.
    expect((await api.post('/realms/alpha/memberships', { userId: cy, orgId: acme, permissions: ['a', 'A', 'b', 'c'] })).status).toBe(201);
    for (const bad of ['has space', 'ü', '', 'x'.repeat(63), 'a/b']) {
      const res = await api.post('/realms/alpha/memberships', { userId: cy, orgId: null, permissions: [bad] });
      expect(res.status, bad).toBe(400);
      expect(res.body.errors[0].field, bad).toBe('permissions.0');
    }
    const past = await api.post('/realms/alpha/memberships', { userId: cy, orgId: null, expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(past.body.errors[0]).toMatchObject({ field: 'expiresAt', code: 'expires_at.past' });
    expect((await api.post('/realms/alpha/memberships', { userId: cy, orgId: null, permissions: 'admin' })).status).toBe(400);
    // Nothing was written by the refusals.
    expect((await api.get(`/realms/alpha/memberships?userId=${cy}`)).body.data).toHaveLength(1);
  });

  it('answers 404 for a user or an org that is not in the realm (another realm’s too), and for unknown memberships', async () => {
    const betaUser = (await root.post('/realms/beta/users', { username: 'beta-member' })).body.user.id;
    const betaOrg = (await root.post('/realms/beta/orgs', { name: 'Beta org' })).body.id;
    const dee = await user('dee@example.com');
    const noUser = await api.post('/realms/alpha/memberships', { userId: betaUser, orgId: acme });
    expect(noUser.status).toBe(404);
    expect(noUser.body.title).toBe('The user was not found');
    const noOrg = await api.post('/realms/alpha/memberships', { userId: dee, orgId: betaOrg });
    expect(noOrg.status).toBe(404);
    expect(noOrg.body.title).toBe('The org was not found');
    const betaMembership = (await root.post('/realms/beta/memberships', { userId: betaUser, orgId: betaOrg })).body.id;
    expect((await api.get(`/realms/alpha/memberships/${betaMembership}`)).status).toBe(404);
    expect((await api.patch(`/realms/alpha/memberships/${betaMembership}`, { permissions: [] })).status).toBe(404);
    expect((await api.delete(`/realms/alpha/memberships/${betaMembership}`)).status).toBe(404);
    expect((await api.get(`/realms/alpha/memberships?userId=${betaUser}`)).body.data).toEqual([]);
    expect((await root.get(`/realms/beta/memberships/${betaMembership}`)).status).toBe(200);
  });

  it('lists an expired membership with expired: true, and leaves it out with includeExpired=false', async () => {
    const eve = await user('eve@example.com');
    const org2 = (await api.post('/realms/alpha/orgs', { name: 'Short-lived' })).body.id;
    const soon = (await api.post('/realms/alpha/memberships', { userId: eve, orgId: org2, expiresAt: new Date(Date.now() + 300).toISOString() })).body;
    const lasting = (await api.post('/realms/alpha/memberships', { userId: eve, orgId: acme, expiresAt: future() })).body;
    expect(soon.expired).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    const all = await api.get(`/realms/alpha/memberships?userId=${eve}`);
    expect(all.body.data.map((m: { id: string; expired: boolean }) => [m.id, m.expired])).toEqual([
      [soon.id, true],
      [lasting.id, false],
    ]);
    const live = await api.get(`/realms/alpha/memberships?userId=${eve}&includeExpired=false`);
    expect(live.body.data.map((m: { id: string }) => m.id)).toEqual([lasting.id]);
    expect((await api.get(`/realms/alpha/memberships/${soon.id}`)).body.expired).toBe(true);
  });

  it('lists an org’s memberships oldest first in cursor pages, and needs userId or orgId', async () => {
    const org3 = (await api.post('/realms/alpha/orgs', { name: 'Paged' })).body.id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api.post('/realms/alpha/memberships', { userId: await user(`paged-${i}@example.com`), orgId: org3 })).body.id);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await api.get(`/realms/alpha/memberships?orgId=${org3}&limit=2${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((m: { id: string }) => m.id));
      after = res.body.next;
    } while (after);
    expect(seen).toEqual(ids);
    const neither = await api.get('/realms/alpha/memberships');
    expect(neither.status).toBe(400);
    expect(neither.body.errors[0]).toMatchObject({ field: 'query.userId' });
  });

  it('changes permissions (replaced whole, normalised, within the limit), expiry and attributes; deletes (204, then 404)', async () => {
    const fay = await user('fay@example.com');
    const m = (await api.post('/realms/alpha/memberships', { userId: fay, orgId: acme, permissions: ['a'] })).body;
    const changed = await api.patch(`/realms/alpha/memberships/${m.id}`, { permissions: ['B', 'c', 'b'], expiresAt: future(), customAttributes: { k: 'v' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ permissions: ['b', 'c'], customAttributes: { k: 'v' }, expired: false });
    expect((await api.patch(`/realms/alpha/memberships/${m.id}`, { permissions: ['1', '2', '3', '4'] })).status).toBe(422);
    expect((await api.patch(`/realms/alpha/memberships/${m.id}`, { expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(422);
    expect((await api.patch(`/realms/alpha/memberships/${m.id}`, {})).status).toBe(400);
    const lasting = await api.patch(`/realms/alpha/memberships/${m.id}`, { expiresAt: null });
    expect(lasting.body.expiresAt).toBeNull();
    expect((await api.delete(`/realms/alpha/memberships/${m.id}`)).status).toBe(204);
    expect((await api.get(`/realms/alpha/memberships/${m.id}`)).status).toBe(404);
    expect((await api.delete(`/realms/alpha/memberships/${m.id}`)).status).toBe(404);
  });

  it('writes membership.created|updated|deleted about the member, and audits each write with before and after', async () => {
    const gus = await user('gus@example.com');
    const m = (await api.post('/realms/alpha/memberships', { userId: gus, orgId: acme, permissions: ['read'] })).body;
    await api.patch(`/realms/alpha/memberships/${m.id}`, { permissions: ['read', 'write'] });
    await api.delete(`/realms/alpha/memberships/${m.id}`);
    const events = (await api.get(`/realms/alpha/events?userId=${gus}&type=membership`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['membership.deleted', 'membership.updated', 'membership.created']);
    expect(events[2]).toMatchObject({ userId: gus, actor: { type: 'api_key' }, data: { membershipId: m.id, orgId: acme, permissions: ['read'] } });
    expect(events[1].data).toEqual({ membershipId: m.id, orgId: acme, fields: ['permissions'] });
    expect(events[0].data).toEqual({ membershipId: m.id, orgId: acme });
    const audit = (await api.get(`/realms/alpha/audit?targetId=${m.id}`)).body.data;
    expect(audit.map((a: { operation: string }) => a.operation)).toEqual(['membership.delete', 'membership.update', 'membership.create']);
    expect(audit[2]).toMatchObject({ target: { type: 'membership', id: m.id }, before: null, after: { permissions: ['read'], userId: gus } });
    expect(audit[1]).toMatchObject({ before: { permissions: ['read'] }, after: { permissions: ['read', 'write'] } });
    expect(audit[0]).toMatchObject({ before: { permissions: ['read', 'write'] }, after: null });
  });

  it('deleting the user takes their memberships (no membership.deleted each)', async () => {
    const hal = await user('hal@example.com');
    const m = (await api.post('/realms/alpha/memberships', { userId: hal, orgId: acme })).body;
    expect((await api.delete(`/realms/alpha/users/${hal}`)).status).toBe(204);
    expect((await api.get(`/realms/alpha/memberships/${m.id}`)).status).toBe(404);
    const events = (await api.get(`/realms/alpha/events?userId=${hal}`)).body.data.map((e: { type: string }) => e.type);
    expect(events).toEqual(['user.deleted', 'membership.created', 'user.created']);
  });
});

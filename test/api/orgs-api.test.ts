import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let read: ReturnType<typeof apiClient>;

beforeAll(async () => {
  gh = await testGatehouse();
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  read = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
});
afterAll(() => gh.close());

const user = async (email: string) => (await api.post('/realms/alpha/users', { email })).body.user.id as string;
const names = (res: { body: { data: Array<{ name: string }> } }) => res.body.data.map((o) => o.name);

describe('management API: orgs', () => {
  it('creates an org (201, Location), gets it, and refuses a read key (403)', async () => {
    const res = await api.post('/realms/alpha/orgs', { name: 'Acme', reference: 'crm-1', customAttributes: { tier: 'gold' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ realmId: 'alpha', name: 'Acme', reference: 'crm-1', customAttributes: { tier: 'gold' }, state: 'active' });
    expect(res.body.id).toMatch(/^org_[A-Za-z0-9_-]{16}$/);
    expect(res.headers.location).toBe(`/api/v1/realms/alpha/orgs/${res.body.id}`);
    const got = await read.get(`/realms/alpha/orgs/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    const refused = await read.post('/realms/alpha/orgs', { name: 'Nope' });
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('answers 404 problem+json for an org that does not exist, and 400 for an id that is none', async () => {
    const missing = await api.get('/realms/alpha/orgs/org_AAAAAAAAAAAAAAAA');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ type: '/api/v1/problems/not_found', title: 'The org was not found' });
    expect((await api.get('/realms/alpha/orgs/acme')).status).toBe(400);
  });

  it('changes name, reference and attributes; refuses an empty change and a name with CRLF', async () => {
    const id = (await api.post('/realms/alpha/orgs', { name: 'Old name' })).body.id;
    const res = await api.patch(`/realms/alpha/orgs/${id}`, { name: 'New name', reference: 'r-9', customAttributes: { a: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'New name', reference: 'r-9', customAttributes: { a: 1 } });
    const cleared = await api.patch(`/realms/alpha/orgs/${id}`, { reference: null });
    expect(cleared.body.reference).toBeNull();
    expect((await api.patch(`/realms/alpha/orgs/${id}`, {})).status).toBe(400);
    expect((await api.patch(`/realms/alpha/orgs/${id}`, { name: 'A\r\nB' })).status).toBe(400);
    expect((await api.post('/realms/alpha/orgs', { name: '' })).status).toBe(400);
    expect((await api.post('/realms/alpha/orgs', { name: ['a'] })).status).toBe(400);
  });

  it('lists by name (any case, Unicode-aware prefix), state and reference; both sorts and directions page without skipping or repeating', async () => {
    const made = ['Zeta Ltd', 'éclair', 'Éclat', 'Beta Inc', 'alpha co', 'Gamma', 'Delta'];
    for (const [i, name] of made.entries()) await api.post('/realms/alpha/orgs', { name: `Pg ${name}`, reference: i === 2 ? 'ref-eclat' : undefined, state: i === 6 ? 'closed' : undefined });
    const walk = async (query: string) => {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const res = await api.get(`/realms/alpha/orgs?q=pg&${query}&limit=2${after ? `&after=${after}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...names(res));
        after = res.body.next;
      } while (after);
      return seen;
    };
    const byName = await walk('sort=name');
    expect(byName).toHaveLength(7);
    expect(byName.slice(0, 2)).toEqual(['Pg alpha co', 'Pg Beta Inc']);
    expect(await walk('sort=name&direction=desc')).toEqual([...byName].reverse());
    const byCreated = await walk('sort=createdAt');
    expect(byCreated).toEqual(made.map((n) => `Pg ${n}`));
    expect(await walk('sort=createdAt&direction=desc')).toEqual([...byCreated].reverse());
    expect(names(await api.get(`/realms/alpha/orgs?q=${encodeURIComponent('PG ÉCL')}&sort=name`))).toEqual(['Pg éclair', 'Pg Éclat']);
    expect(names(await api.get('/realms/alpha/orgs?reference=ref-eclat'))).toEqual(['Pg Éclat']);
    expect(names(await api.get('/realms/alpha/orgs?q=pg&state=closed'))).toEqual(['Pg Delta']);
    expect((await api.get('/realms/alpha/orgs/count?q=pg')).body).toEqual({ count: 7 });
    expect((await api.get('/realms/alpha/orgs/count?q=pg&state=active')).body).toEqual({ count: 6 });
    // A cursor of one sort is refused under another.
    const first = await api.get('/realms/alpha/orgs?q=pg&sort=name&limit=2');
    const wrong = await api.get(`/realms/alpha/orgs?q=pg&sort=createdAt&after=${first.body.next}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0]).toMatchObject({ field: 'after', code: 'invalid_cursor' });
  });

  it('filters by creation time (both bounds exclusive)', async () => {
    const a = (await api.post('/realms/alpha/orgs', { name: 'Time A' })).body;
    await new Promise((r) => setTimeout(r, 5));
    const b = (await api.post('/realms/alpha/orgs', { name: 'Time B' })).body;
    expect(names(await api.get(`/realms/alpha/orgs?q=time&createdAfter=${encodeURIComponent(a.createdAt)}`))).toEqual(['Time B']);
    expect(names(await api.get(`/realms/alpha/orgs?q=time&createdBefore=${encodeURIComponent(b.createdAt)}`))).toEqual(['Time A']);
  });

  it('closes an org: org.closed (not org.updated), closed orgs refuse new memberships (409 org.closed); reopening is org.updated', async () => {
    const org = (await api.post('/realms/alpha/orgs', { name: 'Closing' })).body;
    const member = await user('closing-member@example.com');
    expect((await api.post('/realms/alpha/memberships', { userId: member, orgId: org.id, permissions: ['a'] })).status).toBe(201);
    const closed = await api.post(`/realms/alpha/orgs/${org.id}/close`);
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body.state).toBe('closed');
    // Closing a closed org changes nothing.
    expect((await api.post(`/realms/alpha/orgs/${org.id}/close`)).status).toBe(200);
    const newcomer = await user('closing-newcomer@example.com');
    const refused = await api.post('/realms/alpha/memberships', { userId: newcomer, orgId: org.id });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: '/api/v1/problems/conflict', status: 409, code: 'org.closed' });
    // Existing memberships stay.
    expect((await api.get(`/realms/alpha/memberships?orgId=${org.id}`)).body.data).toHaveLength(1);
    const reopened = await api.patch(`/realms/alpha/orgs/${org.id}`, { state: 'active' });
    expect(reopened.body.state).toBe('active');
    expect((await api.post('/realms/alpha/memberships', { userId: newcomer, orgId: org.id })).status).toBe(201);

    const events = (await api.get('/realms/alpha/events?type=org&limit=1000')).body.data.filter((e: { data: { orgId?: string } }) => e.data?.orgId === org.id);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['org.updated', 'org.closed', 'org.created']);
    expect(events[1]).toMatchObject({ userId: null, actor: { type: 'api_key' }, data: { orgId: org.id, fields: ['state'] } });
    expect(events[0].data).toEqual({ orgId: org.id, fields: ['state'] });
  });

  it('deletes an org with its memberships: 204, org.deleted counts them, no membership.deleted each, the memberships are gone', async () => {
    const org = (await api.post('/realms/alpha/orgs', { name: 'Doomed' })).body;
    const ids: string[] = [];
    for (const i of [1, 2, 3]) ids.push((await api.post('/realms/alpha/memberships', { userId: await user(`doomed-${i}@example.com`), orgId: org.id })).body.id);
    const res = await api.delete(`/realms/alpha/orgs/${org.id}`);
    expect(res.status).toBe(204);
    expect((await api.get(`/realms/alpha/orgs/${org.id}`)).status).toBe(404);
    expect((await api.delete(`/realms/alpha/orgs/${org.id}`)).status).toBe(404);
    for (const id of ids) expect((await api.get(`/realms/alpha/memberships/${id}`)).status).toBe(404);
    const events = (await api.get('/realms/alpha/events?limit=1000')).body.data;
    expect(events.find((e: { type: string; data: { orgId?: string } }) => e.type === 'org.deleted' && e.data.orgId === org.id).data).toEqual({ orgId: org.id, name: 'Doomed', memberships: 3 });
    expect(events.filter((e: { type: string; data: { membershipId?: string } }) => e.type === 'membership.deleted' && ids.includes(e.data.membershipId!))).toEqual([]);
  });

  it('audits create, update and delete with before and after', async () => {
    const org = (await api.post('/realms/alpha/orgs', { name: 'Audited' })).body;
    await api.patch(`/realms/alpha/orgs/${org.id}`, { name: 'Audited 2' });
    await api.delete(`/realms/alpha/orgs/${org.id}`);
    const entries = (await api.get(`/realms/alpha/audit?targetId=${org.id}`)).body.data;
    expect(entries.map((e: { operation: string }) => e.operation)).toEqual(['org.delete', 'org.update', 'org.create']);
    const [del, upd, crt] = entries;
    expect(crt).toMatchObject({ target: { type: 'org', id: org.id }, actor: { type: 'api_key' }, before: null, after: { name: 'Audited' } });
    expect(upd).toMatchObject({ before: { name: 'Audited' }, after: { name: 'Audited 2' } });
    expect(del).toMatchObject({ before: { name: 'Audited 2', memberships: 0 }, after: null });
  });

  it('finds nothing of another realm: beta’s org is a 404 under alpha’s key and path', async () => {
    const root = apiClient(gh, await managementKey(gh, null));
    const betaOrg = (await root.post('/realms/beta/orgs', { name: 'Beta org' })).body;
    expect((await api.get(`/realms/alpha/orgs/${betaOrg.id}`)).status).toBe(404);
    expect((await api.get(`/realms/beta/orgs/${betaOrg.id}`)).status).toBe(404);
    expect((await api.patch(`/realms/alpha/orgs/${betaOrg.id}`, { name: 'x' })).status).toBe(404);
    expect((await api.delete(`/realms/alpha/orgs/${betaOrg.id}`)).status).toBe(404);
    expect((await root.get(`/realms/beta/orgs/${betaOrg.id}`)).body.name).toBe('Beta org');
  });
});

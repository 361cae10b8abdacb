import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let other: ReturnType<typeof apiClient>;
let readOnly: ReturnType<typeof apiClient>;
let acme: string;
const ORIGIN = { ip: '203.0.113.9', userAgent: null, clientId: null, requestId: null };

beforeAll(async () => {
  gh = await testGatehouse({ file: structuredClone(TEST_CONFIG) });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  other = apiClient(gh, await managementKey(gh, 'alpha'));
  readOnly = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
  acme = (await api.post('/realms/alpha/orgs', { name: 'Acme' })).body.id as string;
});
afterAll(() => gh.close());

const realm = () => gh.realms.byIdOrNull('alpha')!;
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

describe('management API: invitation links and join requests', () => {
  it('makes a link (201): its /join URL answered once — never listed, never stored in clear — valid validDays', async () => {
    const before = Date.now();
    const res = await api.post('/realms/alpha/invitation-links', { name: 'Fair', orgId: acme, permissions: ['Billing:read'], approval: false, validDays: 30 });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.link).toMatchObject({ realmId: 'alpha', name: 'Fair', orgId: acme, permissions: ['billing:read'], approval: false, revokedAt: null, uses: 0, expired: false, createdBy: { type: 'api_key' } });
    expect(res.body.link.id).toMatch(/^invl_[A-Za-z0-9_-]{16}$/);
    expect(Math.abs(Date.parse(res.body.link.expiresAt) - before - 30 * 86_400_000)).toBeLessThan(60_000);
    const token = tokenOf(res.body.url);
    expect(res.body.url).toBe(`http://alpha.test/join?token=${token}`);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const listed = await api.get('/realms/alpha/invitation-links');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(listed.body.data.map((l: { id: string }) => l.id)).toContain(res.body.link.id);
    // The store holds an HMAC only.
    const row = (gh.store as unknown as { db: { prepare(s: string): { get(...a: unknown[]): { token_hash: string } } } }).db.prepare('SELECT token_hash FROM invitation_links WHERE id = ?').get(res.body.link.id);
    expect(row.token_hash).not.toContain(token);
    expect(row.token_hash).toHaveLength(43);
  });

  it('refuses more than 90 days, permissions without an org, an unknown org; a read key may list but not make', async () => {
    expect((await api.post('/realms/alpha/invitation-links', { validDays: 91 })).status).toBe(400);
    const noOrg = await api.post('/realms/alpha/invitation-links', { permissions: ['a'] });
    expect(noOrg.status).toBe(422);
    expect((await api.post('/realms/alpha/invitation-links', { orgId: 'org_AAAAAAAAAAAAAAAA' })).status).toBe(404);
    expect((await readOnly.post('/realms/alpha/invitation-links', {})).status).toBe(403);
    expect((await readOnly.get('/realms/alpha/invitation-links')).status).toBe(200);
  });

  it('revokes a link once (409 after); reset revokes only the calling key’s live links; createdBy=me lists the caller’s', async () => {
    const mine1 = (await api.post('/realms/alpha/invitation-links', {})).body.link.id as string;
    const mine2 = (await api.post('/realms/alpha/invitation-links', { approval: true })).body.link.id as string;
    const theirs = (await other.post('/realms/alpha/invitation-links', {})).body.link.id as string;
    const revoked = await api.post(`/realms/alpha/invitation-links/${mine1}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await api.post(`/realms/alpha/invitation-links/${mine1}/revoke`)).status).toBe(409);
    const mineListed = (await other.get('/realms/alpha/invitation-links?createdBy=me')).body.data.map((l: { id: string }) => l.id);
    expect(mineListed).toEqual([theirs]);
    const reset = await other.post('/realms/alpha/invitation-links/reset');
    expect(reset.body).toEqual({ revoked: 1 });
    expect((await api.get(`/realms/alpha/invitation-links/${theirs}`)).body.revokedAt).not.toBeNull();
    expect((await api.get(`/realms/alpha/invitation-links/${mine2}`)).body.revokedAt).toBeNull();
    expect((await other.post('/realms/alpha/invitation-links/reset')).body).toEqual({ revoked: 0 });
    const types = (await gh.store.events.query({ realmId: 'alpha', typePrefix: 'invitation.link', limit: 100 })).data.map((e) => e.type);
    expect(types.filter((t) => t === 'invitation.link.revoked')).toHaveLength(2);
  });

  it('join requests: listed by status, approved once (the account made, a welcome mail), rejected with a reason', async () => {
    const made = (await api.post('/realms/alpha/invitation-links', { orgId: acme, permissions: ['joined'], approval: true })).body;
    const token = tokenOf(made.url);
    for (const who of ['ann', 'ben']) expect(await gh.management!.invitationLinks.apply(realm(), token, { name: `${who} Person`, email: `${who}@example.com` }, ORIGIN)).toEqual({ ok: true });
    const pending = (await api.get('/realms/alpha/join-requests?status=pending')).body.data as Array<{ id: string; email: string }>;
    const ann = pending.find((r) => r.email === 'ann@example.com')!;
    const ben = pending.find((r) => r.email === 'ben@example.com')!;
    const approved = await api.post(`/realms/alpha/join-requests/${ann.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: { type: 'api_key' }, userId: expect.any(String) });
    expect((await api.post(`/realms/alpha/join-requests/${ann.id}/approve`)).body.code).toBe('join_request.decided');
    const members = (await api.get(`/realms/alpha/memberships?orgId=${acme}`)).body.data;
    expect(members).toEqual([expect.objectContaining({ userId: approved.body.userId, permissions: ['joined'] })]);
    const user = (await api.get(`/realms/alpha/users/${approved.body.userId}`)).body;
    expect(user).toMatchObject({ email: 'ann@example.com', firstName: 'ann', lastName: 'Person' });
    const mail = (await gh.store.listMail(1000)).find((m) => m.to.address === 'ann@example.com')!;
    expect(mail.kind).toBe('welcome');
    expect(mail.link).toMatch(/^http:\/\/alpha\.test\/reset-password\?token=/);
    const rejected = await api.post(`/realms/alpha/join-requests/${ben.id}/reject`, { reason: 'unknown' });
    expect(rejected.body).toMatchObject({ status: 'rejected', reason: 'unknown', userId: null });
    expect((await api.post(`/realms/alpha/join-requests/${ben.id}/approve`)).status).toBe(409);
    expect((await gh.store.listMail(1000)).some((m) => m.to.address === 'ben@example.com')).toBe(false);
    expect((await api.get(`/realms/alpha/invitation-links/${made.link.id}`)).body.uses).toBe(1);
    expect((await readOnly.post(`/realms/alpha/join-requests/${ben.id}/reject`, {})).status).toBe(403);
  });
});

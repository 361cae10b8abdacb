import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let readOnly: ReturnType<typeof apiClient>;
let acme: string;

beforeAll(async () => {
  const file = structuredClone(TEST_CONFIG);
  (file.realms[0] as Record<string, unknown>).memberships = { maxPermissions: 3 };
  (file.realms[0] as Record<string, unknown>).invitations = { ttlHours: 48 };
  gh = await testGatehouse({ file });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
  readOnly = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
  acme = (await api.post('/realms/alpha/orgs', { name: 'Acme' })).body.id as string;
});
afterAll(() => gh.close());

/** The mails in the outbox to `address`, oldest first. */
const mailsTo = async (address: string) => (await gh.store.listMail(1000)).filter((m) => m.to.address === address).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());

describe('management API: invitations', () => {
  it('invites an address to an org (201, Location): mailed at once with a /invitation link; no answer carries the token', async () => {
    const before = Date.now();
    const res = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'ada@example.com', name: 'Ada Lovelace', permissions: ['Billing:read', 'billing:READ'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      realmId: 'alpha',
      orgId: acme,
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      permissions: ['billing:read'],
      returnTo: null,
      createdBy: { type: 'api_key', id: expect.stringMatching(/^mk_/) },
      status: 'pending',
      expired: false,
      sentCount: 1,
      acceptedBy: null,
      acceptedAt: null,
    });
    expect(res.body.id).toMatch(/^inv_[A-Za-z0-9_-]{16}$/);
    expect(res.headers.location).toBe(`/api/v1/realms/alpha/invitations/${res.body.id}`);
    // invitations.ttlHours: 48
    expect(Math.abs(Date.parse(res.body.expiresAt) - before - 48 * 3600_000)).toBeLessThan(60_000);
    const [mail] = await mailsTo('ada@example.com');
    expect(mail).toMatchObject({ kind: 'org-invitation', userId: null, subject: 'Alpha invited you to Acme on Alpha' });
    const token = new URL(mail!.link!).searchParams.get('token')!;
    expect(mail!.link).toBe(`http://alpha.test/invitation?token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const got = await api.get(`/realms/alpha/invitations/${res.body.id}`);
    expect(got.body).toEqual(res.body);
    for (const text of [res.text, got.text, (await api.get('/realms/alpha/invitations')).text]) expect(text).not.toContain(token);
    // The token is not in the audit entry or the event either.
    expect((await api.get(`/realms/alpha/audit?targetId=${res.body.id}`)).text).not.toContain(token);
    const events = (await api.get('/realms/alpha/events?type=invitation.created')).body.data;
    expect(events[0]).toMatchObject({ type: 'invitation.created', actor: { type: 'api_key' }, data: { invitationId: res.body.id, orgId: acme, email: 'ada@example.com', permissions: ['billing:read'] } });
  });

  it('refuses what is not one mailable address (400: CRLF, no @), a bad permission (400), too many (422), an unknown app (422) — nothing written or mailed', async () => {
    for (const email of ['a@example.com\r\nBcc: x@evil.example', 'a@example.com\n', 'no-at-sign', '', 'two words@example.com']) {
      const res = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email });
      expect(res.status, JSON.stringify(email)).toBe(400);
      expect(res.body.errors[0].field, JSON.stringify(email)).toBe('email');
    }
    expect((await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'p@example.com', permissions: ['has space'] })).status).toBe(400);
    const tooMany = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'p@example.com', permissions: ['a', 'b', 'c', 'd'] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ field: 'permissions', code: 'permissions.too_many', limit: 3 })]);
    const app = await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'p@example.com', returnTo: { clientId: 'app1', redirectUri: 'https://evil.example/cb' } });
    expect(app.status).toBe(422);
    expect(app.body.errors[0]).toMatchObject({ field: 'returnTo', code: 'return_to.unknown' });
    expect((await api.get('/realms/alpha/invitations?q=p%40')).body.data).toEqual([]);
    expect(await mailsTo('p@example.com')).toEqual([]);
  });

  it('404 for an org of no realm’s, 409 org.closed for a closed org; a read key may list but not invite', async () => {
    expect((await api.post('/realms/alpha/orgs/org_AAAAAAAAAAAAAAAA/invitations', { email: 'q@example.com' })).status).toBe(404);
    expect((await api.get('/realms/alpha/orgs/org_AAAAAAAAAAAAAAAA/invitations')).status).toBe(404);
    const shut = (await api.post('/realms/alpha/orgs', { name: 'Shut', state: 'closed' })).body.id as string;
    const closed = await api.post(`/realms/alpha/orgs/${shut}/invitations`, { email: 'q@example.com' });
    expect(closed.status).toBe(409);
    expect(closed.body.code).toBe('org.closed');
    expect((await readOnly.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'q@example.com' })).status).toBe(403);
    expect((await readOnly.get(`/realms/alpha/orgs/${acme}/invitations`)).status).toBe(200);
  });

  it('lists newest first by org, status and a prefix of the address or name, with cursor paging', async () => {
    const beta = (await api.post('/realms/alpha/orgs', { name: 'Beta Org' })).body.id as string;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await api.post(`/realms/alpha/orgs/${beta}/invitations`, { email: `lister${i}@example.com`, name: i === 2 ? 'Zed Zimmer' : null })).body.id);
    const page1 = await api.get(`/realms/alpha/orgs/${beta}/invitations?limit=3`);
    const page2 = await api.get(`/realms/alpha/orgs/${beta}/invitations?limit=3&after=${page1.body.next}`);
    expect([...page1.body.data, ...page2.body.data].map((i: { id: string }) => i.id).sort()).toEqual([...made].sort());
    expect(page2.body.next).toBeNull();
    expect((await api.get('/realms/alpha/invitations?q=zed')).body.data.map((i: { email: string }) => i.email)).toEqual(['lister2@example.com']);
    expect((await api.get('/realms/alpha/invitations?q=LISTER')).body.data).toHaveLength(5);
    expect((await api.get(`/realms/alpha/invitations?orgId=${beta}&status=pending`)).body.data).toHaveLength(5);
    await api.post(`/realms/alpha/invitations/${made[0]}/revoke`);
    expect((await api.get(`/realms/alpha/invitations?orgId=${beta}&status=revoked`)).body.data.map((i: { id: string }) => i.id)).toEqual([made[0]]);
    expect((await api.get('/realms/alpha/invitations?status=expired')).status).toBe(400);
  });

  it('resend mails a new link (the old one is dead), counts the send and renews the expiry; revoke ends it; both 409 invitation.gone afterwards', async () => {
    const made = (await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'grace@example.com' })).body;
    const resent = await api.post(`/realms/alpha/invitations/${made.id}/resend`, { locale: 'zh-CN' });
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ id: made.id, status: 'pending', sentCount: 2 });
    expect(Date.parse(resent.body.lastSentAt)).toBeGreaterThanOrEqual(Date.parse(made.lastSentAt));
    const [first, second] = await mailsTo('grace@example.com');
    expect(second!.subject).toBe('Alpha 邀请你加入 Alpha 上的 Acme');
    expect(second!.link).not.toBe(first!.link);
    const revoked = await api.post(`/realms/alpha/invitations/${made.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    for (const action of ['resend', 'revoke']) {
      const again = await api.post(`/realms/alpha/invitations/${made.id}/${action}`, action === 'resend' ? {} : undefined);
      expect(again.status, action).toBe(409);
      expect(again.body.code, action).toBe('invitation.gone');
    }
    expect((await api.post('/realms/alpha/invitations/inv_AAAAAAAAAAAAAAAA/revoke')).status).toBe(404);
    const types = (await api.get('/realms/alpha/events?type=invitation')).body.data.filter((e: { data: { invitationId?: string } }) => e.data.invitationId === made.id).map((e: { type: string }) => e.type);
    expect(types).toEqual(['invitation.revoked', 'invitation.resent', 'invitation.created']);
    const audit = (await api.get(`/realms/alpha/audit?targetId=${made.id}`)).body.data.map((a: { operation: string }) => a.operation);
    expect(audit).toEqual(['invitation.revoke', 'invitation.resend', 'invitation.create']);
  });

  it('resends are limited per invitation by rateLimits.invitationResend (5 an hour): the 6th is 429 problem+json with Retry-After, changes nothing and mails nothing', async () => {
    const made = (await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'limit@example.com' })).body;
    const other = (await api.post(`/realms/alpha/orgs/${acme}/invitations`, { email: 'limit-other@example.com' })).body;
    for (let i = 0; i < 5; i++) expect((await api.post(`/realms/alpha/invitations/${made.id}/resend`, {})).status).toBe(200);
    const refused = await api.post(`/realms/alpha/invitations/${made.id}/resend`, {});
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ type: expect.stringMatching(/rate_limited$/), status: 429, code: 'invitationResend' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await api.get(`/realms/alpha/invitations/${made.id}`)).body.sentCount).toBe(6);
    expect(await mailsTo('limit@example.com')).toHaveLength(6);
    // Another invitation has its own count.
    expect((await api.post(`/realms/alpha/invitations/${other.id}/resend`, {})).status).toBe(200);
  });

  it('deleting the org takes its invitations', async () => {
    const gone = (await api.post('/realms/alpha/orgs', { name: 'Short-lived' })).body.id as string;
    const inv = (await api.post(`/realms/alpha/orgs/${gone}/invitations`, { email: 'short@example.com' })).body.id as string;
    expect((await api.delete(`/realms/alpha/orgs/${gone}`)).status).toBe(204);
    expect((await api.get(`/realms/alpha/invitations/${inv}`)).status).toBe(404);
  });
});

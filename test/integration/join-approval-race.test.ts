/**
 * Approving a request to join where an address may have several accounts (`fields.emails: duplicates`): nothing
 * but the store's "decided once" stops two approvals of one request, so an approval that loses the race — or is
 * refused (the link's org closed) — must not leave the account it made behind. Real parts: the app, its SQLite
 * store, the services; the approvals run concurrently in one process, as two requests to one instance do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
const ORIGIN = { ip: '203.0.113.7', userAgent: null, clientId: null, requestId: null };

beforeAll(async () => {
  const file = structuredClone(TEST_CONFIG) as { realms: Array<Record<string, unknown>> };
  Object.assign(file.realms[0]!, { fields: { ...(file.realms[0]!.fields as object), emails: 'duplicates', usernames: 'separate' } });
  gh = await testGatehouse({ file });
  api = apiClient(gh, await managementKey(gh, 'alpha'));
});
afterAll(() => gh.close());

const realm = () => gh.realms.byIdOrNull('alpha')!;
const accountsOf = async (email: string) => ((await api.get(`/realms/alpha/users?q=${encodeURIComponent(email)}`)).body.data as Array<{ id: string; email: string }>).filter((u) => u.email === email);

/** A request to join the org through a link with approval; its id. */
async function requestFor(orgId: string, email: string): Promise<string> {
  const made = await api.post('/realms/alpha/invitation-links', { orgId, approval: true });
  expect(made.status, made.text).toBe(201);
  const token = new URL(made.body.url as string).searchParams.get('token')!;
  expect(await gh.management!.invitationLinks.apply(realm(), token, { name: 'Rae Race', email }, ORIGIN)).toEqual({ ok: true });
  const pending = (await api.get('/realms/alpha/join-requests?status=pending')).body.data as Array<{ id: string; email: string }>;
  return pending.find((r) => r.email === email)!.id;
}

describe('approving a request to join, emails: duplicates', () => {
  it('three concurrent approvals of one request: one wins, one account is made (the losers’ accounts do not stay)', async () => {
    const org = (await api.post('/realms/alpha/orgs', { name: 'Race' })).body.id as string;
    const email = uniqueEmail('race');
    const id = await requestFor(org, email);
    const decided = await Promise.allSettled([1, 2, 3].map(() => gh.management!.invitationLinks.decide(realm(), id, 'approve', CLI_CONTEXT)));
    expect(decided.filter((d) => d.status === 'fulfilled')).toHaveLength(1);
    const accounts = await accountsOf(email);
    expect(accounts).toHaveLength(1);
    const memberships = (await api.get(`/realms/alpha/memberships?userId=${accounts[0]!.id}`)).body.data as Array<{ orgId: string }>;
    expect(memberships).toEqual([expect.objectContaining({ orgId: org })]);
  });

  it('an approval refused because the link’s org was closed leaves no account behind', async () => {
    const org = (await api.post('/realms/alpha/orgs', { name: 'Shut' })).body.id as string;
    const email = uniqueEmail('shut');
    const id = await requestFor(org, email);
    expect((await api.post(`/realms/alpha/orgs/${org}/close`)).status).toBe(200);
    expect((await api.post(`/realms/alpha/join-requests/${id}/approve`)).status).toBe(409);
    expect(await accountsOf(email)).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../src/api/v1/route.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { fillPath, label, paramNames, problemOf, queryString, routeTable, routesOf, seedUsers, send, type SeededUsers } from '../helpers/api-routes.ts';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { managementKey } from '../helpers/management.ts';

/**
 * Realm isolation of the management API, walked over every route of
 * managementRoutes() (DESIGN.md §8; ASVS 8.2.2 for data, 8.2.1 for functions):
 * a write key locked to realm A (alpha) gets 404 for realm B (beta) in the
 * path and for B's ids under A's path — the same answer as for ids that do
 * not exist, so it learns nothing — and 403 on the routes for every realm;
 * B's data, audit and events are byte-identical afterwards. A read key gets
 * 403 on every write; no key or a bad one gets 401 on every route.
 */

const A = 'alpha';
const B = 'beta';
/** Beta's app of its own: alpha and beta both have an "app1", so B's clientId under A's path must be one A lacks. */
const B_APP = 'beta-only';

let gh: TestGatehouse;
let root: string;
let keyA: string;
let readA: string;
let routes: RouteSpec[];
let b: SeededUsers;
let bKeyId: string;
const TABLE = routeTable();

beforeAll(async () => {
  const file = structuredClone(TEST_CONFIG);
  (file.realms[1]!.apps as Array<Record<string, unknown>>).push({ clientId: B_APP, name: 'Beta only', redirectUris: ['https://beta-only.example.com/cb'] });
  // Trusting X-Forwarded-For lets the 401 walk come from a new address each time: the per-IP limit on failed authentications has its own test (auth-limits.test.ts).
  gh = await testGatehouse({ file, env: { TRUST_PROXY: 'true' } });
  root = await managementKey(gh, null, 'write');
  keyA = await managementKey(gh, A, 'write');
  readA = await managementKey(gh, A, 'read');
  routes = routesOf(gh);
  b = await seedUsers(gh, B, 'beta.test', 'b');
  bKeyId = (await gh.management!.keys.create({ realmId: B, access: 'write', name: 'beta key' }, CLI_CONTEXT)).key.id;
  // B has history: an audited write and its event.
  expect((await send(gh, root, 'patch', `/realms/${B}/users/${b.other}`, { body: { reference: 'crm-b' } })).status).toBe(200);
});
afterAll(() => gh?.close());

/** B's ids for a route (the API user's for the API-key routes). */
function bIds(r: RouteSpec, realmId: string): Record<string, string> {
  return { realmId, userId: r.path.includes('/api-key') ? b.apiUser : b.human, sid: b.humanSession, credentialId: 'totp', clientId: B_APP, keyId: bKeyId, orgId: b.org, membershipId: b.membership, groupId: b.group, invitationId: b.invitation, linkId: b.link, requestId: b.joinRequest };
}

/** Ids of the same shape that exist nowhere. */
function unknownIds(realmId: string): Record<string, string> {
  return { realmId, userId: randomUUID(), sid: 'AAAAAAAAAAAAAAAAAAAAAA', credentialId: 'identity:nowhere', clientId: 'no-such-app', keyId: 'mk_nosuchkey', orgId: 'org_AAAAAAAAAAAAAAAA', membershipId: 'mb_AAAAAAAAAAAAAAAA', groupId: 'grp_AAAAAAAAAAAAAAAA', invitationId: 'inv_AAAAAAAAAAAAAAAA', linkId: 'invl_AAAAAAAAAAAAAAAA', requestId: 'jr_AAAAAAAAAAAAAAAA' };
}

const exampleOf = (r: RouteSpec) => ({ query: queryString(r.example?.query), body: r.body ? (r.example?.body ?? {}) : undefined });

/** Everything of realm B, read with a key for every realm and straight from the store. */
async function snapshotB(): Promise<Record<string, unknown>> {
  const get = async (path: string, query?: string) => {
    const res = await send(gh, root, 'get', path, { query }).buffer(true);
    return `${res.status} ${res.text}`;
  };
  const perUser: Record<string, unknown> = {};
  for (const id of [b.human, b.other, b.apiUser]) {
    perUser[id] = {
      sessions: await gh.store.listLoginSessions(B, id),
      credentials: await get(`/realms/${B}/users/${id}/credentials`),
      totp: await gh.store.getTotp(B, id),
      identities: await gh.store.listExternalIdentities(B, id),
    };
  }
  const keyOfB = await send(gh, root, 'post', `/realms/${B}/users/authenticate-key`, { body: { apiKey: b.apiKey } });
  return {
    realm: await get(`/realms/${B}`),
    apps: await get(`/realms/${B}/apps`),
    count: await get(`/realms/${B}/users/count`),
    export: await get(`/realms/${B}/users/export`, 'format=ndjson&includePasswordHashes=true'),
    audit: await get(`/realms/${B}/audit`, 'limit=1000'),
    events: await get(`/realms/${B}/events`, 'limit=1000'),
    apiKey: `${keyOfB.status} ${keyOfB.body.id}`,
    orgs: await get(`/realms/${B}/orgs`, 'limit=1000'),
    memberships: await get(`/realms/${B}/memberships`, `orgId=${b.org}&limit=1000`),
    userMemberships: await get(`/realms/${B}/memberships`, `userId=${b.human}&limit=1000`),
    groups: await get(`/realms/${B}/groups`, 'limit=1000'),
    groupMembers: await get(`/realms/${B}/groups/${b.group}/members`, 'limit=1000'),
    invitations: await get(`/realms/${B}/invitations`, 'limit=1000'),
    keys: (await send(gh, root, 'get', '/api-keys')).body.data.filter((k: { realm: string }) => k.realm === B).map(({ lastUsedAt: _u, ...k }: Record<string, unknown>) => k),
    perUser,
  };
}

/** What of B an answer must never carry. */
const bSecrets = () => [b.humanEmail, 'b-human', 'b-other', 'b robot', 'b-octo', 'Beta only', 'login.beta.example', b.humanSession, b.otherSession, b.apiKey, 'b org', 'b-org-ref', 'b:read', 'b group', 'b:group', 'b-invited@example.com', 'b invitee', 'b:invited'];

/** An answer without its per-request headers: what a caller could compare. */
const answer = (res: { status: number; text: string; headers: Record<string, string> }) => ({ status: res.status, type: res.headers['content-type'], body: res.text });

describe('a key locked to realm A sees nothing of realm B (ASVS 8.2.2)', () => {
  it('walks the table the Gatehouse serves', () => {
    expect(TABLE.map(label)).toEqual(routes.map(label));
  });

  let before: Record<string, unknown>;
  beforeAll(async () => {
    before = await snapshotB();
  });

  it.each(TABLE.map((r) => [label(r), r.operationId]))('realm B in the path, or a route for every realm: %s', async (_n, operationId) => {
    const r = routes.find((x) => x.operationId === operationId)!;
    const names = paramNames(r.path);
    const res = await send(gh, keyA, r.method, names.length ? fillPath(r, bIds(r, B)) : r.path, exampleOf(r)).buffer(true);
    if (r.scope === 'all-realms') {
      expect(res.status, label(r)).toBe(403);
    } else if (!names.includes('realmId')) {
      // GET /realms: the key's own realm only.
      expect(res.status, label(r)).toBe(200);
      expect(res.body.data.map((x: { id: string }) => x.id), label(r)).toEqual([A]);
      return;
    } else {
      expect(res.status, `${label(r)}: ${res.text}`).toBe(404);
      // The very answer a realm that does not exist gets.
      const none = await send(gh, keyA, r.method, fillPath(r, bIds(r, 'no-such-realm')), exampleOf(r)).buffer(true);
      expect(answer(res), label(r)).toEqual(answer(none));
    }
    expect(problemOf(res), label(r)).toBeNull();
    for (const s of bSecrets()) expect(res.text, label(r)).not.toContain(s);
  });

  const withIds = TABLE.filter((r) => paramNames(r.path).some((p) => p !== 'realmId'));
  it.each(withIds.map((r) => [label(r), r.operationId]))('realm A in the path with B’s ids: %s', async (_n, operationId) => {
    const r = routes.find((x) => x.operationId === operationId)!;
    const res = await send(gh, keyA, r.method, fillPath(r, bIds(r, A)), exampleOf(r)).buffer(true);
    expect(res.status, `${label(r)}: ${res.text}`).toBe(r.scope === 'all-realms' ? 403 : 404);
    expect(problemOf(res), label(r)).toBeNull();
    // B's ids are answered exactly like ids that exist nowhere: nothing tells them apart.
    const none = await send(gh, keyA, r.method, fillPath(r, unknownIds(A)), exampleOf(r)).buffer(true);
    expect(answer(res), label(r)).toEqual(answer(none));
    for (const s of bSecrets()) expect(res.text, label(r)).not.toContain(s);
  });

  it('B’s ids in A’s bodies and filters find nothing: bulk delete, API-key authentication, events and audit by id, orgs, memberships and groups', async () => {
    const bulk = await send(gh, keyA, 'post', `/realms/${A}/users/bulk-delete`, { body: { ids: [b.human, b.other, b.apiUser] } });
    expect(bulk.status).toBe(200);
    expect(bulk.body).toEqual({ deleted: [], missing: [b.human, b.other, b.apiUser] });
    // B's API key in realm A: the same 401 as a made-up key (authenticate-key documents 401 for "not a live key"; it is not a 404 route).
    const key = await send(gh, keyA, 'post', `/realms/${A}/users/authenticate-key`, { body: { apiKey: b.apiKey } });
    const madeUp = await send(gh, keyA, 'post', `/realms/${A}/users/authenticate-key`, { body: { apiKey: `${b.apiKey.slice(0, -4)}zzzz` } });
    expect(key.status).toBe(401);
    expect(answer(key)).toEqual(answer(madeUp));
    for (const [path, query] of [
      [`/realms/${A}/events`, `userId=${b.human}`],
      [`/realms/${A}/audit`, `targetId=${b.other}`],
      [`/realms/${A}/users`, 'q=b-'],
      [`/realms/${A}/users/count`, 'q=b-'],
      [`/realms/${A}/orgs`, 'q=b'],
      [`/realms/${A}/orgs`, 'reference=b-org-ref'],
      [`/realms/${A}/orgs/count`, 'q=b'],
      [`/realms/${A}/memberships`, `userId=${b.human}`],
      [`/realms/${A}/memberships`, `orgId=${b.org}`],
      [`/realms/${A}/groups`, 'q=b'],
      [`/realms/${A}/groups`, `userId=${b.human}`],
      [`/realms/${A}/invitations`, 'q=b'],
      [`/realms/${A}/invitations`, `orgId=${b.org}`],
    ] as const) {
      const res = await send(gh, keyA, 'get', path, { query });
      expect(res.status, path).toBe(200);
      if ('data' in res.body) expect(res.body.data, path).toEqual([]);
      else expect(res.body.count, path).toBe(0);
    }
    // B's user and org in A's membership body: 404, the answer of ids that exist nowhere.
    for (const body of [{ userId: b.human, orgId: null }, { userId: b.other, orgId: b.org }]) {
      const res = await send(gh, keyA, 'post', `/realms/${A}/memberships`, { body });
      expect(res.status, JSON.stringify(body)).toBe(404);
      expect(problemOf(res)).toBeNull();
    }
    // B's users in the body of A's group: not users of A, nobody added — the 404 of users that exist nowhere.
    const aGroup = (await send(gh, keyA, 'post', `/realms/${A}/groups`, { body: { name: 'A group' } })).body.id as string;
    const added = await send(gh, keyA, 'post', `/realms/${A}/groups/${aGroup}/members`, { body: { userIds: [b.human, b.other] } });
    const nowhere = await send(gh, keyA, 'post', `/realms/${A}/groups/${aGroup}/members`, { body: { userIds: [randomUUID(), randomUUID()] } });
    expect(added.status).toBe(404);
    expect(answer(added)).toEqual(answer(nowhere));
    expect((await send(gh, keyA, 'get', `/realms/${A}/groups/${aGroup}/members`)).body.data).toEqual([]);
    const exported = await send(gh, keyA, 'get', `/realms/${A}/users/export`, { query: 'format=ndjson' }).buffer(true);
    for (const s of bSecrets()) expect(exported.text).not.toContain(s);
  });

  it('leaves B’s users, sessions, credentials, API key, apps, orgs, memberships, audit and events byte-identical', async () => {
    expect(await snapshotB()).toEqual(before);
  });
});

describe('keys and their powers', () => {
  it.each(TABLE.filter((r) => r.access === 'write').map((r) => [label(r), r.operationId]))('a read key gets 403 on the write %s (ASVS 8.2.1)', async (_n, operationId) => {
    const r = routes.find((x) => x.operationId === operationId)!;
    const auditBefore = (await send(gh, root, 'get', `/realms/${A}/audit`, { query: 'limit=1000' })).text;
    const res = await send(gh, readA, r.method, fillPath(r, { ...unknownIds(A), userId: randomUUID() }), exampleOf(r)).buffer(true);
    expect(res.status, `${label(r)}: ${res.text}`).toBe(403);
    expect(problemOf(res)).toBeNull();
    expect(res.body.type).toBe('/api/v1/problems/forbidden');
    expect((await send(gh, root, 'get', `/realms/${A}/audit`, { query: 'limit=1000' })).text).toBe(auditBefore);
  });

  it('a read key gets 403 for the export’s password hashes (ASVS 8.2.1)', async () => {
    const res = await send(gh, readA, 'get', `/realms/${A}/users/export`, { query: 'includePasswordHashes=true' });
    expect(res.status).toBe(403);
    expect(problemOf(res)).toBeNull();
  });

  let ip = 0;
  const fromNewAddress = () => `10.77.${Math.floor(++ip / 250)}.${(ip % 250) + 1}`;
  const BAD_AUTH: Array<[string, string | null]> = [
    ['no Authorization header', null],
    ['an unknown key', 'Bearer ghmk_notakeyatall0000000000000000'],
    ['an empty bearer', 'Bearer '],
    ['another scheme', 'Basic YWxwaGE6c2VjcmV0'],
    ['a lowercase scheme and a wrong key', 'bearer ghmk_x'],
    ['an over-long key', `Bearer ${'k'.repeat(600)}`],
  ];

  it.each(TABLE.map((r) => [label(r), r.operationId]))('no key or a bad key gets 401 on %s (ASVS 8.3.1)', async (_n, operationId) => {
    const r = routes.find((x) => x.operationId === operationId)!;
    const path = fillPath(r, bIds(r, A));
    for (const [what, authorization] of BAD_AUTH) {
      const res = await send(gh, null, r.method, path, { ...exampleOf(r), authorization }).set('X-Forwarded-For', fromNewAddress()).buffer(true);
      expect(res.status, `${label(r)} with ${what}`).toBe(401);
      expect(problemOf(res), `${label(r)} with ${what}`).toBeNull();
      expect(res.headers['www-authenticate'], `${label(r)} with ${what}`).toMatch(/^Bearer /);
    }
  });

  it('a revoked key gets 401 on every route', async () => {
    const made = await gh.management!.keys.create({ realmId: null, access: 'write', name: 'revoked' }, CLI_CONTEXT);
    await gh.management!.keys.revoke(made.key.id, CLI_CONTEXT);
    for (const r of routes) {
      const res = await send(gh, made.secret, r.method, fillPath(r, bIds(r, A)), exampleOf(r)).set('X-Forwarded-For', fromNewAddress());
      expect(res.status, label(r)).toBe(401);
    }
  });
});

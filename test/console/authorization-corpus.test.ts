import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { consoleRoutes } from '../../src/console/routes.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { consoleSignIn, consoleSignInAgain, CONSOLE_HOST, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * Every console route and form (the one list, src/console/routes.ts) as each persona that must not use it:
 * no session, a viewer of the realm (writes), an admin of another realm (everything), a stale CSRF token.
 * 0 reads or writes beyond the role: a refused answer never carries the realm's canary, and the store is
 * byte-identical afterwards (every table but the console's own sessions). ASVS 5.0 V8.2.1, V8.2.2, V8.3.1, V3.5.1.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
const canary = `canary-${Math.random().toString(36).slice(2, 10)}`;
let canaryId = '';
let canarySid = '';
let keyId = '';
let orgId = '';
let membershipId = '';
let groupId = '';
let invitationId = '';
let linkId = '';
let requestId = '';
let personas: { viewer: ConsoleBrowser; otherAdmin: ConsoleBrowser; owner: ConsoleBrowser };

/** A sample request of each route: its path's ids and a well-formed form. A route without one fails the test. */
type Sample = { path: (ids: Ids) => string; form?: (ids: Ids) => Record<string, string | string[]>; /** What a permitted GET answers (default 200). */ ok?: number };
type Ids = { realmId: string; userId: string; sid: string; keyId: string; operatorId: string; orgId: string; membershipId: string; groupId: string; invitationId: string; linkId: string; requestId: string };
const SAMPLES: Record<string, Sample> = {
  'get /': { path: () => '/admin' },
  'get /realms/:realmId/users': { path: (i) => `/admin/realms/${i.realmId}/users?sort=email&direction=desc` },
  'get /realms/:realmId/users/count': { path: (i) => `/admin/realms/${i.realmId}/users/count?q=canary` },
  'get /realms/:realmId/settings': { path: (i) => `/admin/realms/${i.realmId}/settings`, ok: 303 },
  'get /realms/:realmId/settings/branding/preview.css': { path: (i) => `/admin/realms/${i.realmId}/settings/branding/preview.css?color=%23112233` },
  'get /realms/:realmId/settings/:section': { path: (i) => `/admin/realms/${i.realmId}/settings/signup` },
  'post /realms/:realmId/settings/:section': { path: (i) => `/admin/realms/${i.realmId}/settings/signup`, form: () => ({ policy: 'disabled' }) },
  'get /realms/:realmId': { path: (i) => `/admin/realms/${i.realmId}` },
  'get /realms/:realmId/apps': { path: (i) => `/admin/realms/${i.realmId}/apps` },
  'get /realms/:realmId/apps/new': { path: (i) => `/admin/realms/${i.realmId}/apps/new` },
  'post /realms/:realmId/apps/new': { path: (i) => `/admin/realms/${i.realmId}/apps/new`, form: () => ({ clientId: 'intruder', name: 'Intruder', redirectUris: 'https://evil.example/cb', delivery: 'form_post' }) },
  'get /realms/:realmId/apps/:clientId': { path: (i) => `/admin/realms/${i.realmId}/apps/app1` },
  'post /realms/:realmId/apps/:clientId': { path: (i) => `/admin/realms/${i.realmId}/apps/app1`, form: () => ({ name: 'Hijacked', redirectUris: 'https://evil.example/cb', delivery: 'query' }) },
  'post /realms/:realmId/apps/:clientId/rotate': { path: (i) => `/admin/realms/${i.realmId}/apps/app1/rotate` },
  'get /realms/:realmId/apps/:clientId/delete': { path: (i) => `/admin/realms/${i.realmId}/apps/app1/delete` },
  'post /realms/:realmId/apps/:clientId/delete': { path: (i) => `/admin/realms/${i.realmId}/apps/app1/delete` },
  'get /realms/:realmId/keys': { path: (i) => `/admin/realms/${i.realmId}/keys` },
  'get /realms/:realmId/keys/new': { path: (i) => `/admin/realms/${i.realmId}/keys/new` },
  'post /realms/:realmId/keys/new': { path: (i) => `/admin/realms/${i.realmId}/keys/new`, form: () => ({ access: 'write', name: 'stolen' }) },
  'post /realms/:realmId/keys/:keyId/revoke': { path: (i) => `/admin/realms/${i.realmId}/keys/${i.keyId}/revoke` },
  'get /realms/:realmId/events': { path: (i) => `/admin/realms/${i.realmId}/events?type=user.` },
  'get /realms/:realmId/audit': { path: (i) => `/admin/realms/${i.realmId}/audit` },
  'get /realms/:realmId/users/export.csv': { path: (i) => `/admin/realms/${i.realmId}/users/export.csv?sort=email` },
  'get /realms/:realmId/users/delete': { path: (i) => `/admin/realms/${i.realmId}/users/delete`, ok: 303 },
  'get /realms/:realmId/users/delete/confirm': { path: (i) => `/admin/realms/${i.realmId}/users/delete/confirm`, ok: 303 },
  'post /realms/:realmId/users/delete': { path: (i) => `/admin/realms/${i.realmId}/users/delete`, form: (i) => ({ scope: 'ids', ids: i.userId }) },
  'post /realms/:realmId/users/delete/confirm': { path: (i) => `/admin/realms/${i.realmId}/users/delete/confirm`, form: (i) => ({ scope: 'ids', ids: i.userId }) },
  'get /realms/:realmId/users/new': { path: (i) => `/admin/realms/${i.realmId}/users/new?type=api` },
  'post /realms/:realmId/users/new': { path: (i) => `/admin/realms/${i.realmId}/users/new?type=api`, form: () => ({ name: 'Intruder robot' }) },
  'get /realms/:realmId/users/:userId': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}` },
  'post /realms/:realmId/users/:userId': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}`, form: () => ({ firstName: 'Mallory', activeShown: '1' }) },
  'post /realms/:realmId/users/:userId/password-token': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/password-token`, form: () => ({ send: '1' }) },
  'post /realms/:realmId/users/:userId/credentials/:credentialId/delete': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/credentials/password/delete` },
  // The canary is human (its key pages only confirm; an API user's are exercised in user-operations.test.ts).
  'get /realms/:realmId/users/:userId/api-key': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/api-key` },
  'post /realms/:realmId/users/:userId/api-key': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/api-key` },
  'get /realms/:realmId/users/:userId/api-key/reveal': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/api-key/reveal` },
  'post /realms/:realmId/users/:userId/api-key/reveal': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/api-key/reveal` },
  'post /realms/:realmId/users/:userId/sessions/:sid/delete': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/sessions/${i.sid}/delete` },
  'post /realms/:realmId/users/:userId/sessions/delete': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/sessions/delete` },
  'get /realms/:realmId/users/:userId/delete': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/delete` },
  'post /realms/:realmId/users/:userId/delete': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/delete` },
  'get /realms/:realmId/users/:userId/events': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/events` },
  'get /realms/:realmId/users/:userId/history': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/history` },
  'get /realms/:realmId/users/:userId/impersonate': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/impersonate` },
  'post /realms/:realmId/users/:userId/impersonate': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/impersonate`, form: () => ({ reason: 'support ticket 42' }) },
  // The operators of a realm (owners only); :operatorId is the viewer persona, an operator of alpha.
  'get /realms/:realmId/operators': { path: (i) => `/admin/realms/${i.realmId}/operators` },
  'get /realms/:realmId/operators/new': { path: (i) => `/admin/realms/${i.realmId}/operators/new` },
  'post /realms/:realmId/operators/new': { path: (i) => `/admin/realms/${i.realmId}/operators/new`, form: () => ({ email: 'intruder@example.com', role: 'owner' }) },
  'get /realms/:realmId/operators/:operatorId': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}` },
  'post /realms/:realmId/operators/:operatorId': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}`, form: () => ({ role: 'owner' }) },
  'get /realms/:realmId/operators/:operatorId/revoke': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}/revoke` },
  'post /realms/:realmId/operators/:operatorId/revoke': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}/revoke` },
  'get /realms/:realmId/operators/:operatorId/setup-link': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}/setup-link` },
  'post /realms/:realmId/operators/:operatorId/setup-link': { path: (i) => `/admin/realms/${i.realmId}/operators/${i.operatorId}/setup-link` },
  // Orgs, memberships, groups (docs/design/orgs.md §8): alpha's org with the canary as member, and a group of the canary.
  'get /realms/:realmId/orgs': { path: (i) => `/admin/realms/${i.realmId}/orgs?state=active&sort=createdAt&direction=desc` },
  'get /realms/:realmId/orgs/new': { path: (i) => `/admin/realms/${i.realmId}/orgs/new` },
  'post /realms/:realmId/orgs/new': { path: (i) => `/admin/realms/${i.realmId}/orgs/new`, form: () => ({ name: 'Intruder org' }) },
  'get /realms/:realmId/orgs/:orgId': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}` },
  'post /realms/:realmId/orgs/:orgId': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}`, form: () => ({ name: 'Hijacked org', reference: 'evil' }) },
  'post /realms/:realmId/orgs/:orgId/close': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/close` },
  'post /realms/:realmId/orgs/:orgId/reopen': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/reopen` },
  'get /realms/:realmId/orgs/:orgId/delete': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/delete` },
  'post /realms/:realmId/orgs/:orgId/delete': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/delete` },
  'get /realms/:realmId/orgs/:orgId/members': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/members` },
  'post /realms/:realmId/orgs/:orgId/members': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/members`, form: () => ({ user: `${canary}@example.com`, permissions: '*' }) },
  'get /realms/:realmId/memberships/:membershipId': { path: (i) => `/admin/realms/${i.realmId}/memberships/${i.membershipId}` },
  'post /realms/:realmId/memberships/:membershipId': { path: (i) => `/admin/realms/${i.realmId}/memberships/${i.membershipId}`, form: () => ({ permissions: '*', expires: '' }) },
  'post /realms/:realmId/memberships/:membershipId/delete': { path: (i) => `/admin/realms/${i.realmId}/memberships/${i.membershipId}/delete` },
  // Invitation links and requests to join (orgs.md §8): alpha's link into the canary's org, and a pending request through it.
  'get /realms/:realmId/invitation-links': { path: (i) => `/admin/realms/${i.realmId}/invitation-links` },
  'get /realms/:realmId/invitation-links/new': { path: (i) => `/admin/realms/${i.realmId}/invitation-links/new` },
  'post /realms/:realmId/invitation-links/new': { path: (i) => `/admin/realms/${i.realmId}/invitation-links/new`, form: (i) => ({ name: 'Intruder link', days: '90', orgId: i.orgId, permissions: '*' }) },
  'post /realms/:realmId/invitation-links/reset': { path: (i) => `/admin/realms/${i.realmId}/invitation-links/reset`, form: () => ({ confirm: 'yes' }) },
  'post /realms/:realmId/invitation-links/:linkId/revoke': { path: (i) => `/admin/realms/${i.realmId}/invitation-links/${i.linkId}/revoke` },
  'get /realms/:realmId/join-requests': { path: (i) => `/admin/realms/${i.realmId}/join-requests?status=pending` },
  'post /realms/:realmId/join-requests/:requestId/approve': { path: (i) => `/admin/realms/${i.realmId}/join-requests/${i.requestId}/approve` },
  'post /realms/:realmId/join-requests/:requestId/reject': { path: (i) => `/admin/realms/${i.realmId}/join-requests/${i.requestId}/reject` },
  'get /realms/:realmId/groups': { path: (i) => `/admin/realms/${i.realmId}/groups?q=can` },
  'get /realms/:realmId/groups/new': { path: (i) => `/admin/realms/${i.realmId}/groups/new` },
  'post /realms/:realmId/groups/new': { path: (i) => `/admin/realms/${i.realmId}/groups/new`, form: () => ({ name: 'Intruders', permissions: '*' }) },
  'get /realms/:realmId/groups/:groupId': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}` },
  'post /realms/:realmId/groups/:groupId': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}`, form: () => ({ name: 'Hijacked group', permissions: '*' }) },
  'post /realms/:realmId/groups/:groupId/members': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}/members`, form: (i) => ({ user: i.operatorId }) },
  'post /realms/:realmId/groups/:groupId/members/:userId/delete': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}/members/${i.userId}/delete` },
  'get /realms/:realmId/groups/:groupId/delete': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}/delete` },
  'post /realms/:realmId/groups/:groupId/delete': { path: (i) => `/admin/realms/${i.realmId}/groups/${i.groupId}/delete` },
  'get /realms/:realmId/orgs/:orgId/invitations': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/invitations` },
  'post /realms/:realmId/orgs/:orgId/invitations': { path: (i) => `/admin/realms/${i.realmId}/orgs/${i.orgId}/invitations`, form: () => ({ email: 'intruder@example.com', permissions: '*' }) },
  'get /realms/:realmId/invitations': { path: (i) => `/admin/realms/${i.realmId}/invitations?status=pending&q=can` },
  'post /realms/:realmId/invitations/:invitationId/resend': { path: (i) => `/admin/realms/${i.realmId}/invitations/${i.invitationId}/resend` },
  'get /realms/:realmId/invitations/:invitationId/revoke': { path: (i) => `/admin/realms/${i.realmId}/invitations/${i.invitationId}/revoke` },
  'post /realms/:realmId/invitations/:invitationId/revoke': { path: (i) => `/admin/realms/${i.realmId}/invitations/${i.invitationId}/revoke` },
  'post /realms/:realmId/users/:userId/apps/:clientId/access': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/apps/app1/access`, form: () => ({ grant: 'yes' }) },
  'post /realms/:realmId/users/:userId/permissions': { path: (i) => `/admin/realms/${i.realmId}/users/${i.userId}/permissions`, form: () => ({ permissions: '*' }) },
  // Pages of no realm for owners of '*' only: the owner of alpha (the positive control) gets 404 from their own rule; operators.test.ts has the owner of '*'.
  'get /realms/new': { path: () => '/admin/realms/new', ok: 404 },
  'post /realms/new': { path: () => '/admin/realms/new', form: () => ({ id: 'intruder', name: 'Intruder', publicUrl: 'https://intruder.example' }) },
  'get /operators': { path: () => '/admin/operators', ok: 404 },
  'get /audit': { path: () => '/admin/audit', ok: 404 },
  'get /operators/:operatorId/grants': { path: (i) => `/admin/operators/${i.operatorId}/grants`, ok: 404 },
  'post /operators/:operatorId/grants': { path: (i) => `/admin/operators/${i.operatorId}/grants`, form: () => ({ role: 'owner' }) },
};

const ORG_TABLES = ['orgs', 'memberships', 'groups', 'group_members', 'invitations', 'invitation_links', 'join_requests'] as const;
const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** Every row of every table a console request could write, hashed (the console's own session rows aside). */
function fingerprint(): Record<string, string> {
  const db = (gh.store as unknown as SqliteStore).db;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('http_sessions')").all() as Array<{ name: string }>;
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const where = name === 'login_sessions' ? " WHERE realm_id <> 'console'" : '';
    const rows = (db.prepare(`SELECT * FROM ${name}${where}`).all() as unknown[]).map((r) => JSON.stringify(r)).sort();
    out[name] = createHash('sha256').update(rows.join('\n')).digest('hex');
  }
  // The orgs side's row counts beside their hashes: the seed below put rows in each, and a refused form adds or takes none.
  for (const name of ORG_TABLES) out[`${name} rows`] = String((db.prepare(`SELECT COUNT(*) AS n FROM ${name}`).get() as { n: number }).n);
  return out;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: `${canary}@example.com`, reference: canary, password: GOOD_PASSWORD, emailVerification: 'verified', custom: { tag: canary } }, CLI_CONTEXT);
  canaryId = user.id;
  keyId = (await gh.management!.keys.create({ realmId: 'alpha', access: 'read', name: 'alpha reader' }, CLI_CONTEXT, null)).key.id;
  const org = await gh.management!.orgs.create(alpha, { name: `${canary} org`, reference: canary }, CLI_CONTEXT);
  orgId = org.id;
  membershipId = (await gh.management!.memberships.create(alpha, { userId: canaryId, orgId, permissions: [`${canary}:read`] }, CLI_CONTEXT)).id;
  groupId = (await gh.management!.groups.create(alpha, { name: `${canary} group`, permissions: [`${canary}:write`] }, CLI_CONTEXT)).id;
  await gh.management!.groups.addMembers(alpha, groupId, [canaryId], CLI_CONTEXT);
  invitationId = (await gh.management!.invitations.invite(alpha, { orgId, email: `${canary}-invited@example.com`, name: canary, permissions: [`${canary}:invited`], send: false }, CLI_CONTEXT)).invitation.id;
  const made = await gh.management!.invitationLinks.create(alpha, { name: `${canary} link`, orgId, permissions: [`${canary}:joined`], approval: true, expiresAt: new Date(Date.now() + 86_400_000) }, CLI_CONTEXT);
  linkId = made.link.id;
  await gh.management!.invitationLinks.apply(alpha, new URL(made.url).searchParams.get('token')!, { name: `${canary} applicant`, email: `${canary}-applicant@example.com` }, { ip: null, userAgent: null, clientId: null, requestId: null });
  requestId = (await gh.management!.invitationLinks.listRequests(alpha, {}, null, 1)).requests[0]!.id;
  const session = await gh.store.listLoginSessions('alpha', canaryId);
  canarySid = session[0]?.id ?? 'none-yet-0000000';
  personas = {
    viewer: await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }])),
    otherAdmin: await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }])),
    owner: await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }])),
  };
});
afterAll(() => gh?.close());

const routes = () => consoleRoutes({ realms: gh.realms, consoleRealmId: 'console', consolePublicUrl: CONSOLE_URL, configPath: gh.config.configPath, management: { ...gh.management!, realmsService: gh.realmsService }, clock: () => new Date() });
const ids = (): Ids => ({ realmId: 'alpha', userId: canaryId, sid: canarySid, keyId, operatorId: personas.viewer.operatorId, orgId, membershipId, groupId, invitationId, linkId, requestId });

async function send(b: ConsoleBrowser | null, method: string, path: string, form: Record<string, string | string[]>, csrf: string | null) {
  if (!b) {
    const r = request(gh.app)[method as 'get' | 'post'](path).set('Host', CONSOLE_HOST);
    return method === 'get' ? r : r.type('form').send(form);
  }
  if (method === 'get') return b.get(path);
  return b.post(path, { ...form, ...(csrf ? { _csrf: csrf } : {}) });
}

async function csrfFor(b: ConsoleBrowser): Promise<string> {
  return csrfOf((await b.get('/admin')).text);
}

describe('console authorization corpus', () => {
  it('has a sample for every console route', () => {
    const missing = routes().map(key).filter((k) => !(k in SAMPLES));
    expect(missing).toEqual([]);
  });

  it('the fingerprint sees the orgs side: an org, a membership, a group, a group member and an invitation are there to guard', () => {
    const f = fingerprint();
    for (const name of ORG_TABLES) expect(Number(f[`${name} rows`]), name).toBeGreaterThan(0);
  });

  it('the owner of the realm (the positive control) gets every page', async () => {
    for (const r of routes().filter((r) => r.method === 'get')) {
      const res = await send(personas.owner, 'get', SAMPLES[key(r)]!.path(ids()), {}, null);
      expect(res.status, key(r)).toBe(SAMPLES[key(r)]!.ok ?? 200);
    }
  });

  it('without a console session: pages go to sign-in, forms are refused; nothing read, nothing written', async () => {
    const before = fingerprint();
    for (const r of routes()) {
      const s = SAMPLES[key(r)]!;
      const res = await send(null, r.method, s.path(ids()), s.form?.(ids()) ?? {}, null);
      expect(res.status, key(r)).toBe(r.method === 'get' ? 303 : 403);
      if (r.method === 'get') expect(String(res.headers.location), key(r)).toMatch(/^\/admin\/login/);
      expect(res.text, key(r)).not.toContain(canary);
    }
    expect(fingerprint()).toEqual(before);
  });

  it('an admin of another realm gets 404 for every route of this realm, and reads nothing of it', async () => {
    const before = fingerprint();
    const csrf = await csrfFor(personas.otherAdmin);
    for (const r of routes().filter((r) => r.path.includes(':realmId'))) {
      const s = SAMPLES[key(r)]!;
      const res = await send(personas.otherAdmin, r.method, s.path(ids()), s.form?.(ids()) ?? {}, csrf);
      expect(res.status, key(r)).toBe(404);
      expect(res.text, key(r)).not.toContain(canary);
    }
    expect(fingerprint()).toEqual(before);
  });

  it('a viewer reads every page and is refused every form (403); nothing written', async () => {
    const before = fingerprint();
    const csrf = await csrfFor(personas.viewer);
    for (const r of routes()) {
      const s = SAMPLES[key(r)]!;
      const res = await send(personas.viewer, r.method, s.path(ids()), s.form?.(ids()) ?? {}, csrf);
      if (r.capability === 'read') expect(res.status, key(r)).toBe(s.ok ?? 200);
      else expect(res.status, key(r)).toBe(403);
    }
    expect(fingerprint()).toEqual(before);
  });

  it('a form with the CSRF token of an earlier console session is refused (403); nothing written', async () => {
    const b = personas.owner;
    const stale = await csrfFor(b);
    // The same operator signs out and in again in the same browser: a new console session, the old token no longer fits.
    expect((await b.post('/admin/logout', { _csrf: stale })).status).toBe(200);
    await consoleSignInAgain(b);
    expect((await b.get('/admin')).status).toBe(200);
    const before = fingerprint();
    for (const r of routes().filter((r) => r.method === 'post')) {
      const s = SAMPLES[key(r)]!;
      const res = await send(b, 'post', s.path(ids()), s.form?.(ids()) ?? {}, stale);
      expect(res.status, key(r)).toBe(403);
    }
    // The logout form too (not in the list: the session routes).
    expect((await b.post('/admin/logout', { _csrf: stale })).status).toBe(403);
    expect(fingerprint()).toEqual(before);
  });

  it('every form in every console page carries a CSRF token', async () => {
    for (const r of routes().filter((r) => r.method === 'get')) {
      const html = (await send(personas.owner, 'get', SAMPLES[key(r)]!.path(ids()), {}, null)).text;
      for (const form of html.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? []) expect(form, key(r)).toContain('name="_csrf"');
    }
  });
});

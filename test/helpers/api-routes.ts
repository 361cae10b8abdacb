import request from 'supertest';
import { managementRoutes } from '../../src/api/v1/index.ts';
import type { RouteSpec } from '../../src/api/v1/route.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, GOOD_PASSWORD, type TestGatehouse } from './gatehouse.ts';

/**
 * The management API's own route table, for tests that walk every route: a
 * route added to managementRoutes() is covered by them without a line more.
 */
export function routesOf(gh: TestGatehouse): RouteSpec[] {
  const m = gh.management!;
  return managementRoutes({ keys: m.keys, audit: m.audit, users: m.users, access: m.access, realmsService: gh.realmsService, events: m.events, orgs: m.orgs, memberships: m.memberships, groups: m.groups, invitations: m.invitations, invitationLinks: m.invitationLinks });
}

/** The names of a route's path parameters, in order: /realms/:realmId/users/:userId → [realmId, userId]. */
export const paramNames = (path: string): string[] => [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);

/**
 * The route's path with its parameters filled in. Values are percent-encoded
 * unless `raw` names the parameter (to send `../` or a lone `%` as it is).
 * A parameter without a value is a test error: a new route needs a seeded id.
 */
export function fillPath(route: Pick<RouteSpec, 'path'>, values: Record<string, string>, raw: string[] = []): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for :${name} of ${route.path}: seed one in the test`);
    return raw.includes(name) ? v : encodeURIComponent(v);
  });
}

export const label = (r: Pick<RouteSpec, 'method' | 'path' | 'operationId'>) => `${r.operationId} (${r.method.toUpperCase()} ${r.path})`;

export interface Send {
  /** The query string without its `?`, sent as it is. */
  query?: string;
  /** A JSON value (serialised), or with `raw` the exact bytes. */
  body?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  /** null: no Authorization header; a string: that whole header value. */
  authorization?: string | null;
}

/** One request to the API at `path` (below /api/v1), with the key as a bearer unless told otherwise. */
export function send(gh: TestGatehouse, key: string | null, method: RouteSpec['method'], path: string, s: Send = {}): request.Test {
  let r = request(gh.app)[method](`/api/v1${path}${s.query ? `?${s.query}` : ''}`);
  const authorization = s.authorization !== undefined ? s.authorization : key ? `Bearer ${key}` : null;
  if (authorization !== null) r = r.set('Authorization', authorization);
  if (s.raw !== undefined) return r.set('Content-Type', s.contentType ?? 'application/json').send(s.raw);
  if (s.body !== undefined) return r.set('Content-Type', s.contentType ?? 'application/json').send(JSON.stringify(s.body));
  return r;
}

/** The query string of an example's query object. */
export const queryString = (q: Record<string, string> | undefined) => (q ? new URLSearchParams(q).toString() : '');

/** An object with `key` as an own, enumerable property: what JSON.parse makes of {"__proto__": …}, which a literal cannot. */
export function withOwnKey<T extends object>(base: T, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Everything about a problem answer the API promises (RFC 9457, DESIGN.md §8). */
export function problemOf(res: { status: number; headers: Record<string, string>; body: unknown; text: string }): string | null {
  const type = (res.headers['content-type'] ?? '').split(';')[0];
  if (type !== 'application/problem+json') return `content-type ${res.headers['content-type']}`;
  let body: { type?: unknown; status?: unknown; title?: unknown };
  try {
    body = JSON.parse(res.text);
  } catch {
    return 'a body that is not JSON';
  }
  if (typeof body.type !== 'string' || !body.type.startsWith('/api/v1/problems/')) return `type ${String(body.type)}`;
  if (body.status !== res.status) return `status ${String(body.status)} in a ${res.status} answer`;
  if (typeof body.title !== 'string') return 'no title';
  return null;
}

export interface SeededUsers {
  /** A human with a password, a confirmed authenticator, a social identity and a live session (from a real login). */
  human: string;
  humanSession: string;
  humanEmail: string;
  /** An API user and its key. */
  apiUser: string;
  apiKey: string;
  /** A second human with a live session of their own. */
  other: string;
  otherSession: string;
  /** An org, and the human's membership of it. */
  org: string;
  membership: string;
  /** A group with the human as its member. */
  group: string;
  /** A pending invitation to the org (mailed to the outbox). */
  invitation: string;
  /** An invitation link to the org with approval, and a pending request to join through it. */
  link: string;
  joinRequest: string;
}

/**
 * Users of every kind in `realmId`, made through the same services as the
 * API (the CLI's context), signed in through the real login page on `host`;
 * an org and a group with the human as a member, and an invitation to the org, so the org, group and invitation routes have ids.
 */
export async function seedUsers(gh: TestGatehouse, realmId: string, host: string, prefix: string): Promise<SeededUsers> {
  const realm = gh.realms.byIdOrNull(realmId)!;
  const m = gh.management!;
  const named = (local: string) => ({ ...(realm.fields.usernames === 'email' ? {} : { username: `${prefix}-${local}` }), email: `${prefix}-${local}@example.com` });
  const human = (await m.users.create(realm, { userType: 'human', ...named('human'), firstName: 'Hu', lastName: 'Man', password: GOOD_PASSWORD, emailVerification: 'verified' }, CLI_CONTEXT)).user;
  const other = (await m.users.create(realm, { userType: 'human', ...named('other'), password: GOOD_PASSWORD }, CLI_CONTEXT)).user;
  const api = await m.users.create(realm, { userType: 'api', name: `${prefix} robot` }, CLI_CONTEXT);
  const sessionOf = async (u: typeof human) => {
    const b = browser(gh, host);
    const login = await b.submit('/login', { identifier: u.username, password: GOOD_PASSWORD });
    if (login.status !== 303) throw new Error(`login of ${u.username} on ${host}: ${login.status}`);
    const live = await m.access.listSessions(realm, u.id);
    if (live.length === 0) throw new Error(`no session for ${u.username}`);
    return live[0]!.id;
  };
  const humanSession = await sessionOf(human);
  const otherSession = await sessionOf(other);
  // After the logins: with a confirmed authenticator the login would stop at the second factor.
  const at = new Date();
  await gh.store.beginTotp(realmId, human.id, 'enc-secret', at);
  await gh.store.confirmTotp(realmId, human.id, Math.floor(at.getTime() / 30_000), at);
  await gh.store.linkExternalIdentity({ realmId, provider: 'github', subject: `${prefix}-gh-1`, userId: human.id, displayName: `${prefix}-octo`, email: human.email, createdAt: at });
  const org = await m.orgs.create(realm, { name: `${prefix} org`, reference: `${prefix}-org-ref` }, CLI_CONTEXT);
  const membership = await m.memberships.create(realm, { userId: human.id, orgId: org.id, permissions: [`${prefix}:read`] }, CLI_CONTEXT);
  const group = await m.groups.create(realm, { name: `${prefix} group`, description: `${prefix} group text`, permissions: [`${prefix}:group`] }, CLI_CONTEXT);
  await m.groups.addMembers(realm, group.id, [human.id], CLI_CONTEXT);
  const { invitation } = await m.invitations.invite(realm, { orgId: org.id, email: `${prefix}-invited@example.com`, name: `${prefix} invitee`, permissions: [`${prefix}:invited`] }, CLI_CONTEXT);
  const { link, url } = await m.invitationLinks.create(realm, { name: `${prefix} link`, orgId: org.id, permissions: [`${prefix}:joined`], approval: true, expiresAt: new Date(Date.now() + 7 * 86_400_000) }, CLI_CONTEXT);
  const applied = await m.invitationLinks.apply(realm, new URL(url).searchParams.get('token')!, { name: `${prefix} applicant`, email: `${prefix}-applicant@example.com` }, { ip: null, userAgent: null, clientId: null, requestId: null });
  if (!applied.ok) throw new Error(`join request in ${realmId}: ${applied.reason}`);
  const joinRequest = (await m.invitationLinks.listRequests(realm, { status: 'pending' }, null, 1)).requests[0]!;
  return { human: human.id, humanEmail: human.email!, humanSession, apiUser: api.user.id, apiKey: api.apiKey!, other: other.id, otherSession, org: org.id, membership: membership.id, group: group.id, invitation: invitation.id, link: link.id, joinRequest: joinRequest.id };
}

/**
 * The route table known when the test file is collected (for one test per
 * route, named after it): the declarations only; their handlers, bound to
 * nothing, are never called. routesOf(gh) is the table the Gatehouse serves.
 */
export function routeTable(): RouteSpec[] {
  const unbound = {} as never;
  return managementRoutes({ keys: unbound, audit: unbound, users: unbound, access: unbound, realmsService: unbound, events: unbound, orgs: unbound, memberships: unbound, groups: unbound, invitations: unbound, invitationLinks: unbound });
}

import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../src/api/v1/openapi.ts';
import type { RouteSpec } from '../../src/api/v1/route.ts';
import { appBackChannelRoutes, type AppRouteSpec } from '../../src/api/v1/apps.routes.ts';
import { problemOut } from '../../src/api/v1/schemas.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { fillPath, label, paramNames, queryString, routesOf, seedUsers, send, type SeededUsers } from '../helpers/api-routes.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { managementKey } from '../helpers/management.ts';

/**
 * The OpenAPI document against the route table, and every route's example
 * against its own schemas and a real Gatehouse. The examples are written for
 * the shipped configuration (realm "default", README "Management API"), so
 * this Gatehouse runs on that very file; the realm and app routes work on the
 * realm their own example creates ("acme").
 */

let gh: TestGatehouse;
let root: string;
let routes: RouteSpec[];
/** The apps' back channel (POST /api/v1/apps/token): its own tests are test/api/app-token.test.ts. */
const appRoutes: AppRouteSpec[] = appBackChannelRoutes(null as never);
let doc: Record<string, any>;
let seeded: SeededUsers;
let throwaway: string;
let revocable: string;
/** An org no example closes, and an invitation to it: closeOrg's example runs before the invitation routes. */
let inviteOrg: string;
let invitation: string;
let throwawayOrg: string;
/** Two requests to join through a link to inviteOrg: one for approveJoinRequest's example, one for rejectJoinRequest's. */
let toApprove: string;
let toReject: string;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

beforeAll(async () => {
  gh = await testGatehouse({ file: JSON.parse(readFileSync(new URL('../../gatehouse.config.json', import.meta.url), 'utf8')) });
  root = await managementKey(gh, null, 'write');
  routes = routesOf(gh);
  doc = (await request(gh.app).get('/api/v1/openapi.json')).body;
  seeded = await seedUsers(gh, 'default', 'localhost:3000', 'oa');
  const realm = gh.realms.byIdOrNull('default')!;
  throwaway = (await gh.management!.users.create(realm, { userType: 'human', email: 'throwaway@example.com' }, CLI_CONTEXT)).user.id;
  revocable = (await gh.management!.keys.create({ realmId: 'default', access: 'read', name: 'to revoke' }, CLI_CONTEXT)).key.id;
  throwawayOrg = (await gh.management!.orgs.create(realm, { name: 'Throwaway org' }, CLI_CONTEXT)).id;
  inviteOrg = (await gh.management!.orgs.create(realm, { name: 'Inviting org' }, CLI_CONTEXT)).id;
  invitation = (await gh.management!.invitations.invite(realm, { orgId: inviteOrg, email: 'invited@example.com' }, CLI_CONTEXT)).invitation.id;
  const links = gh.management!.invitationLinks;
  const { url } = await links.create(realm, { orgId: inviteOrg, approval: true, expiresAt: new Date(Date.now() + 86_400_000) }, CLI_CONTEXT);
  const origin = { ip: null, userAgent: null, clientId: null, requestId: null };
  for (const who of ['approve', 'reject']) await links.apply(realm, new URL(url).searchParams.get('token')!, { name: who, email: `${who}@example.com` }, origin);
  const pending = (await links.listRequests(realm, { status: 'pending' }, null, 100)).requests;
  toApprove = pending.find((r) => r.name === 'approve')!.id;
  toReject = pending.find((r) => r.name === 'reject')!.id;
  // createMembership's example names a user by id: here that user exists (an import keeps a given id).
  const exampleUser = routes.find((r) => r.operationId === 'createMembership')!.example!.body as { userId: string };
  const made = (await gh.management!.users.create(realm, { userType: 'human', email: 'member@example.com' }, CLI_CONTEXT)).user;
  await gh.store.putUser({ user: { ...made, id: exampleUser.userId, username: 'example-member@example.com', email: 'example-member@example.com' }, passwordHash: null, identities: [] }, true);
  // bulkDeleteUsers' example expects 12 inactive users: here there are 12.
  for (let i = 0; i < 12; i++) await gh.management!.users.create(realm, { userType: 'human', email: `inactive${i}@example.com`, state: 'inactive' }, CLI_CONTEXT);
});
afterAll(() => gh?.close());

/** The ids each route's path takes: the seeded ones, the realm routes on the realm their example creates. */
function idsFor(r: RouteSpec): Record<string, string> {
  const realmRoute = r.tag === 'Realms' || r.tag === 'Apps';
  const userId = r.path.includes('/api-key') ? seeded.apiUser : r.method === 'delete' && r.path.endsWith('/users/:userId') ? throwaway : seeded.human;
  // Deleting the seeded org would take the seeded membership before deleteMembership's turn.
  const orgId = r.method === 'delete' && r.path.endsWith('/orgs/:orgId') ? throwawayOrg : r.path.includes('/invitations') ? inviteOrg : seeded.org;
  return { realmId: realmRoute ? 'acme' : 'default', userId, credentialId: 'totp', sid: seeded.otherSession, clientId: 'portal', keyId: revocable, orgId, membershipId: seeded.membership, groupId: seeded.group, invitationId: invitation, linkId: seeded.link, requestId: r.operationId === 'approveJoinRequest' ? toApprove : r.operationId === 'rejectJoinRequest' ? toReject : seeded.joinRequest };
}

/** Writes before the deletes; the deletes deepest path first (an app before its realm, a credential before its user). */
function inRunOrder(rs: RouteSpec[]): RouteSpec[] {
  const depth = (r: RouteSpec) => r.path.split('/').length;
  const deletes = rs.filter((r) => r.method === 'delete').sort((a, b) => depth(b) - depth(a));
  return [...rs.filter((r) => r.method !== 'delete'), ...deletes];
}

describe('the OpenAPI document (DESIGN.md §8)', () => {
  it('is served without a key as an OpenAPI 3.1 document', async () => {
    const res = await request(gh.app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info?.title).toBe('string');
    expect(typeof doc.info?.version).toBe('string');
    expect(Array.isArray(doc.servers) && doc.servers.every((s: { url?: unknown }) => typeof s.url === 'string')).toBe(true);
    expect(typeof doc.paths).toBe('object');
    // Only the fields 3.1 defines at the top (or x- extensions).
    const top = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'];
    expect(Object.keys(doc).filter((k) => !top.includes(k) && !k.startsWith('x-'))).toEqual([]);
  });

  it('names only security schemes it declares, and declares bearer auth', () => {
    const schemes = doc.components?.securitySchemes ?? {};
    expect(schemes.managementKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const named = [doc.security ?? [], ...Object.values(doc.paths).flatMap((p: any) => Object.values(p).map((op: any) => op.security ?? []))].flat();
    for (const requirement of named) for (const name of Object.keys(requirement)) expect(schemes[name], name).toBeDefined();
  });

  it('has well-formed operations: path templates, parameters, responses, request bodies', () => {
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(path, 'no Express :param left in a path').not.toMatch(/:[A-Za-z]/);
      for (const [method, op] of Object.entries<Record<string, any>>(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(METHODS, where).toContain(method);
        expect(typeof op.operationId, where).toBe('string');
        const params: Array<Record<string, any>> = op.parameters ?? [];
        for (const p of params) {
          expect(['path', 'query', 'header', 'cookie'], where).toContain(p.in);
          expect(typeof p.name, where).toBe('string');
          expect(typeof p.schema, `${where} ${p.name}`).toBe('object');
          if (p.in === 'path') expect(p.required, `${where} ${p.name} is a path parameter: required`).toBe(true);
        }
        // Every {param} of the template is declared in the path, and nothing else is.
        expect(params.filter((p) => p.in === 'path').map((p) => p.name).sort(), where).toEqual([...templated].sort());
        // (name, in) unique.
        expect(new Set(params.map((p) => `${p.in}:${p.name}`)).size, where).toBe(params.length);
        const responses = Object.entries<Record<string, any>>(op.responses ?? {});
        expect(responses.length, where).toBeGreaterThan(0);
        for (const [status, response] of responses) {
          expect(status, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(typeof response.description, `${where} ${status}`).toBe('string');
          for (const media of Object.values<Record<string, unknown>>(response.content ?? {})) if (media.schema !== undefined) expect(typeof media.schema).toBe('object');
        }
        expect(responses.some(([s]) => s.startsWith('2')), `${where} documents a success`).toBe(true);
        if (op.requestBody) {
          const content = op.requestBody.content?.['application/json'];
          expect(typeof content?.schema, where).toBe('object');
          expect(JSON.stringify(content.schema), `${where}: no $schema inside a 3.1 schema object`).not.toContain('"$schema"');
        }
      }
    }
  });

  it('documents every route of managementRoutes() and of the apps’ back channel with its method, and nothing else', () => {
    const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`));
    const declared = [...routes, ...appRoutes].map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(documented.sort()).toEqual([...declared].sort());
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.path)]?.[r.method];
      expect(op?.operationId, label(r)).toBe(r.operationId);
      expect(op?.['x-access'], label(r)).toBe(r.access);
      expect(Boolean(op?.requestBody), `${label(r)} documents its body`).toBe(Boolean(r.body));
      expect(op.parameters.filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name), label(r)).toEqual(paramNames(r.path));
    }
  });

  it('has unique operationIds', () => {
    const ids = Object.values<Record<string, { operationId: string }>>(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.length).toBe(routes.length + appRoutes.length);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('documents the problems every route can answer: 401, and 403 on writes and key management', () => {
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.path)][r.method];
      expect(op.responses['401'], label(r)).toBeDefined();
      if (r.access === 'write' || r.scope === 'all-realms') expect(op.responses['403'], label(r)).toBeDefined();
      if (r.params || r.query || r.body) expect(op.responses['400'], label(r)).toBeDefined();
    }
  });
});

describe('the routes’ examples are true', () => {
  it('every route with a body has an example body; every example fits its route’s own schemas', () => {
    for (const r of routes) {
      if (r.body) expect(r.example?.body, `${label(r)} has a body and no example of it`).toBeDefined();
      if (r.example?.body !== undefined) {
        expect(r.body, `${label(r)}: an example body for a route without one`).toBeDefined();
        const parsed = r.body!.safeParse(r.example.body);
        expect(parsed.success, `${label(r)} example body: ${parsed.error?.message}`).toBe(true);
      }
      if (r.example?.query !== undefined) {
        expect(r.query, `${label(r)}: an example query for a route without one`).toBeDefined();
        const parsed = r.query!.safeParse(r.example.query);
        expect(parsed.success, `${label(r)} example query: ${parsed.error?.message}`).toBe(true);
      }
      const op = doc.paths[openApiPath(r.path)][r.method];
      if (r.example?.body !== undefined) expect(op.requestBody.content['application/json'].example, label(r)).toEqual(r.example.body);
    }
  });

  it('sent for real with a write key, every example answers a status its route documents, with a body of the documented shape', async () => {
    const answers: string[] = [];
    for (const r of inRunOrder(routes)) {
      const path = fillPath(r, idsFor(r));
      const res = await send(gh, root, r.method, path, { query: queryString(r.example?.query), body: r.body ? r.example?.body : undefined }).buffer(true);
      answers.push(`${res.status} ${label(r)}`);
      const documented = Object.keys(r.responses).map(Number);
      expect(documented, `${label(r)} answered ${res.status}: ${res.text.slice(0, 300)}`).toContain(res.status);
      // The answer as the document describes it: its content type among the documented ones, its body of the documented shape.
      const described = doc.paths[openApiPath(r.path)][r.method].responses[String(res.status)];
      const types = Object.keys(described.content ?? {});
      const type = (res.headers['content-type'] ?? '').split(';')[0]!;
      if (res.text === '') expect(types, `${label(r)} answered ${res.status} without a body`).toEqual([]);
      else expect(types, `${label(r)} answered ${res.status} as ${type}`).toContain(type);
      const schema = r.responses[res.status]!.schema ?? (type === 'application/problem+json' ? problemOut : undefined);
      if (schema) {
        const fits = schema.safeParse(JSON.parse(res.text));
        expect(fits.success, `${label(r)} answer: ${fits.error?.message}`).toBe(true);
      }
    }
    // The examples succeed, but for the two whose example is meant to show a refusal: a made-up API key, and a hashed key shown again.
    const refusals = answers.filter((a) => !a.startsWith('2'));
    expect(refusals).toEqual([expect.stringMatching(/^401 authenticateApiKey/), expect.stringMatching(/^409 revealApiKey/)]);
  });
});

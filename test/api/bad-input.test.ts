import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { RouteSpec } from '../../src/api/v1/route.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { fillPath, label, paramNames, problemOf, queryString, routeTable, routesOf, seedUsers, send, withOwnKey, type Send, type SeededUsers } from '../helpers/api-routes.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { managementKey } from '../helpers/management.ts';

/**
 * A corpus of bad input for every route of managementRoutes() (DESIGN.md §6
 * "Input", ASVS 5.0 V1/V2): each answer is a 4xx problem+json with a type,
 * never a 500, and nothing is half-written — the realm's users, audit log and
 * events (and the management keys, the realms and apps) are the same after
 * each route's corpus as before it.
 *
 * The corpus runs on a realm made through the API ("corpus"), so that the
 * realm and app routes reach their rules instead of stopping at "provisioned
 * from the file"; the ids in the paths are real (seeded users, sessions, the
 * app, a key), so a bad input that slipped through would really write.
 */

let gh: TestGatehouse;
let root: string;
let routes: RouteSpec[];
let seeded: SeededUsers;
let keyId: string;
/** A real cursor of the users list under sort=email, and a real one of the events list. */
let usersCursor: string;
let eventsCursor: string;

const REALM = 'corpus';
const TABLE = routeTable();

beforeAll(async () => {
  gh = await testGatehouse();
  root = await managementKey(gh, null, 'write');
  routes = routesOf(gh);
  const realm = await send(gh, root, 'post', '/realms', { body: { id: REALM, name: 'Corpus', publicUrl: 'http://corpus.test' } });
  expect(realm.status).toBe(201);
  const app = await send(gh, root, 'post', `/realms/${REALM}/apps`, { body: { clientId: 'capp', name: 'Corpus app', redirectUris: ['https://corpus-app.example.com/cb'] } });
  expect(app.status).toBe(201);
  seeded = await seedUsers(gh, REALM, 'corpus.test', 'c');
  keyId = (await gh.management!.keys.create({ realmId: REALM, access: 'read', name: 'corpus' }, CLI_CONTEXT)).key.id;
  usersCursor = (await send(gh, root, 'get', `/realms/${REALM}/users`, { query: 'sort=email&limit=1' })).body.next;
  eventsCursor = (await send(gh, root, 'get', `/realms/${REALM}/events`, { query: 'limit=1' })).body.next;
  expect(usersCursor).toBeTruthy();
  expect(eventsCursor).toBeTruthy();
});
afterAll(() => gh?.close());

function idsFor(r: RouteSpec): Record<string, string> {
  return { realmId: REALM, userId: r.path.includes('/api-key') ? seeded.apiUser : seeded.human, credentialId: 'totp', sid: seeded.humanSession, clientId: 'capp', keyId, orgId: seeded.org, membershipId: seeded.membership, groupId: seeded.group, invitationId: seeded.invitation, linkId: seeded.link, requestId: seeded.joinRequest };
}

/** What the corpus must leave as it was: read with a key for every realm. */
async function snapshot(): Promise<Record<string, unknown>> {
  const get = async (path: string, query?: string) => {
    const res = await send(gh, root, 'get', path, { query }).buffer(true);
    return `${res.status} ${res.text}`;
  };
  const keys = (await send(gh, root, 'get', '/api-keys')).body.data.map(({ lastUsedAt: _used, ...k }: Record<string, unknown>) => k);
  const users: Record<string, unknown> = {};
  for (const id of [seeded.human, seeded.other, seeded.apiUser]) {
    users[id] = { sessions: await get(`/realms/${REALM}/users/${id}/sessions`), credentials: await get(`/realms/${REALM}/users/${id}/credentials`) };
  }
  return {
    count: await get(`/realms/${REALM}/users/count`),
    export: await get(`/realms/${REALM}/users/export`, 'format=ndjson&includePasswordHashes=true'),
    audit: await get(`/realms/${REALM}/audit`, 'limit=1000'),
    events: await get(`/realms/${REALM}/events`, 'limit=1000'),
    realms: await get('/realms'),
    apps: await get(`/realms/${REALM}/apps`),
    alphaAudit: await get('/realms/alpha/audit', 'limit=1000'),
    orgs: await get(`/realms/${REALM}/orgs`, 'limit=1000'),
    memberships: await Promise.all([seeded.human, seeded.other, seeded.apiUser].map((id) => get(`/realms/${REALM}/memberships`, `userId=${id}&limit=1000`))),
    groups: await get(`/realms/${REALM}/groups`, 'limit=1000'),
    groupMembers: await get(`/realms/${REALM}/groups/${seeded.group}/members`, 'limit=1000'),
    keys,
    users,
  };
}

interface Case extends Send {
  name: string;
  path: string;
  /** Path parameters sent as they are (not percent-encoded). */
  rawParams?: string[];
}

const shapeOf = (schema: z.ZodType | undefined): Record<string, z.ZodType> => ((schema as unknown as { shape?: Record<string, z.ZodType> })?.shape ?? {});
const isRecordSchema = (schema: z.ZodType | undefined) => (schema as unknown as { def?: { type?: string } })?.def?.type === 'record';
const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
const LINE_FIELDS = /^(email|username|name|firstName|lastName)$/;

/** The bad inputs of one route; every other part of each request is good. */
function corpus(r: RouteSpec): Case[] {
  const ids = idsFor(r);
  const path = fillPath(r, ids);
  const goodQuery = queryString(r.example?.query);
  const goodBody = r.body ? ((r.example?.body ?? {}) as Record<string, unknown>) : undefined;
  const base = { path, query: goodQuery, body: goodBody };
  const cases: Case[] = [];
  const add = (name: string, c: Partial<Case>) => cases.push({ name, ...base, ...c });
  const withQuery = (extra: string) => [goodQuery, extra].filter(Boolean).join('&');

  // ── the query ────────────────────────────────────────────────────────────
  add('an unknown query parameter', { query: withQuery('zzUnknown=1') });
  for (const k of PROTO_KEYS) add(`query ${k}`, { query: withQuery(`${k}=1`) });
  add('query __proto__[x]', { query: withQuery('__proto__[x]=1') });
  for (const field of Object.keys(shapeOf(r.query))) {
    const others = Object.entries(r.example?.query ?? {}).filter(([k]) => k !== field);
    const q = (value: string) => [...others.map(([k, v]) => `${k}=${encodeURIComponent(v)}`), value].join('&');
    add(`query ${field} twice (an array)`, { query: q(`${field}=a&${field}=b`) });
    add(`query ${field} as an object`, { query: q(`${field}[a]=b`) });
    add(`query ${field} too long`, { query: q(`${field}=${'x'.repeat(2001)}`) });
    if (field === 'after') {
      add('cursor %%%', { query: q('after=%%%') });
      add('cursor: random base64url', { query: q(`after=${randomBytes(24).toString('base64url')}`) });
      add('cursor: base64 of JSON that is no cursor', { query: q(`after=${Buffer.from('{"k":"createdAt","d":"asc","v":1}').toString('base64url')}`) });
      if (r.operationId === 'listUsers') add('cursor of another sort', { query: q(`sort=username&after=${usersCursor}`) });
      else add('cursor of another list (users)', { query: q(`after=${usersCursor}`) });
      if (r.operationId !== 'listEvents') add('cursor of another list (events)', { query: q(`after=${eventsCursor}`) });
    }
    if (field === 'limit') for (const v of ['0', '-1', '1e3', '1001', 'abc', '1.5', '']) add(`limit=${v}`, { query: q(`limit=${v}`) });
    if (/^created/.test(field)) for (const v of ['yesterday', '2026-13-45T00:00:00Z', '1700000000']) add(`${field}=${v}`, { query: q(`${field}=${v}`) });
    if (field === 'q' || field === 'reference') {
      add(`query ${field} with CRLF`, { query: q(`${field}=a%0D%0Ab`) });
      add(`query ${field} with NUL`, { query: q(`${field}=a%00b`) });
    }
  }

  // ── the path ─────────────────────────────────────────────────────────────
  for (const name of paramNames(r.path)) {
    const bad: Array<[string, string, boolean]> = [
      ['too long', 'x'.repeat(300), false],
      ['../', '../', false],
      ['../../etc/passwd', '../../etc/passwd', false],
      ['unicode', 'üser-名前-😀', false],
      ['NUL', 'a\u0000b', false],
      ['CRLF', 'a\r\nb', false],
      ['a space', 'a b', false],
      ['a lone %', '%', true],
      ['broken percent-encoding', '%E0%A4%A', true],
      ['%2e%2e', '%2e%2e', true],
    ];
    for (const [what, value, raw] of bad) add(`:${name} ${what}`, { path: fillPath(r, { ...ids, [name]: value }, raw ? [name] : []) });
  }

  // ── the body ─────────────────────────────────────────────────────────────
  add('a 1 MB body', { body: undefined, raw: `{"x":"${'a'.repeat(1024 * 1024)}"}` });
  add('malformed JSON', { body: undefined, raw: '{"email": "a@' });
  add('JSON with single quotes', { body: undefined, raw: "{'a': 1}" });
  add('invalid UTF-8', { body: undefined, raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) });
  add('deeply nested objects', { body: undefined, raw: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` });
  add('deeply nested arrays', { body: undefined, raw: `{"a":${'['.repeat(30000)}${']'.repeat(30000)}}` });
  add('an unsupported charset', { body: undefined, raw: '{}', contentType: 'application/json; charset=iso-8859-1' });
  add('a form instead of JSON', { body: undefined, raw: 'email=a%40b.c', contentType: 'application/x-www-form-urlencoded' });
  for (const top of ['"text"', '42', 'null', 'true', '[]', '[{}]']) add(`top-level JSON ${top}`, { body: undefined, raw: top });
  if (!r.body) {
    add('a body on a route that takes none', { body: { a: 1 } });
    add('an empty object on a route that takes none', { body: {} });
  } else {
    const body = goodBody!;
    add('an unknown field', { body: { ...body, zzUnknown: 1 } });
    for (const k of PROTO_KEYS) add(`body ${k}`, { body: withOwnKey(body, k, { polluted: true }) });
    const shape = shapeOf(r.body);
    const fields = [...new Set([...Object.keys(body), ...Object.keys(shape)])];
    for (const field of fields) {
      const original = body[field];
      // Nested objects: prototype keys inside them (filters, settings, custom attributes).
      if (kind(original) === 'object' || field === 'customAttributes') {
        for (const k of PROTO_KEYS) add(`${field}.${k}`, { body: { ...body, [field]: withOwnKey((original ?? {}) as object, k, k === '__proto__' ? { isAdmin: true } : 'x') } });
      }
      for (const value of ['x', 12345, true, ['a', 'b'], { nested: 'x' }]) {
        if (original !== undefined) {
          if (kind(value) === kind(original)) continue;
        } else if (isRecordSchema(r.body) || r.body.safeParse({ ...body, [field]: value }).success) continue;
        add(`body ${field} as ${JSON.stringify(value)}`, { body: { ...body, [field]: value } });
      }
      if (LINE_FIELDS.test(field)) {
        const local = field === 'email' || field === 'username' ? 'eve@example.com' : 'Eve';
        add(`body ${field} with CRLF`, { body: { ...body, [field]: `${local}\r\nBcc: mallory@example.com` } });
        add(`body ${field} with a lone LF`, { body: { ...body, [field]: `${local}\nX: 1` } });
        add(`body ${field} with NUL`, { body: { ...body, [field]: `${local}\u0000` } });
      }
    }
  }
  return cases;
}

describe('bad input to every route: a 4xx problem, never a 500, nothing written (ASVS 2.2.1, 2.3.3, 15.3.6)', () => {
  it('builds a corpus for every route', () => {
    for (const r of routes) expect(corpus(r).length, label(r)).toBeGreaterThan(15);
  });

  it('walks the table the Gatehouse serves', () => {
    expect(TABLE.map(label)).toEqual(routes.map(label));
  });

  // One test per route, named after it: a new route gets its own.
  it.each(TABLE.map((r) => [label(r), r.operationId]))('%s', async (_name, operationId) => {
    const r = routes.find((x) => x.operationId === operationId)!;
    const before = await snapshot();
    const wrong: string[] = [];
    for (const c of corpus(r)) {
      const res = await send(gh, root, r.method, c.path, c).buffer(true);
      const why = res.status < 400 || res.status > 499 ? `answered ${res.status}` : problemOf(res);
      if (why) wrong.push(`${c.name}: ${why} — ${res.text.slice(0, 200)}`);
    }
    expect(wrong, label(r)).toEqual([]);
    expect(await snapshot(), `${label(r)} wrote something`).toEqual(before);
  });
});

import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateKeyFastPath } from '../../src/api/v1/fast-path.ts';
import { PREREAD, type WithPreread } from '../../src/api/v1/body.ts';
import { apiSecurityHeaders } from '../../src/api/v1/index.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';

/**
 * authenticate-key's fast path (src/api/v1/fast-path.ts) answers the success
 * case ahead of the API's router and hands every other case on. These tests
 * hold it to that: the same answer as the generic route, byte for byte where
 * it matters, and every error still the generic route's.
 */
let gh: TestGatehouse;
let server: Server;
let base: string;
let key: string;
let apiKey: string;
let userId: string;

beforeAll(async () => {
  gh = await testGatehouse();
  key = await managementKey(gh, 'alpha', 'read');
  const writer = apiClient(gh, await managementKey(gh, 'alpha'));
  const made = await writer.post('/realms/alpha/users', { userType: 'api', name: 'Billing robot' });
  apiKey = made.body.apiKey;
  userId = made.body.user.id;
  server = http.createServer(gh.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gh.close();
});

/** One raw request: chunked (no Content-Length) unless `length` is set, so the test picks which path may answer. */
function raw(path: string, body: string, headers: Record<string, string>, length: boolean): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { ...headers, ...(length ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (!length) req.setHeader('Transfer-Encoding', 'chunked');
    req.end(body);
  });
}

const PATH = '/api/v1/realms/alpha/users/authenticate-key';
const headersOf = (h: http.IncomingHttpHeaders) => {
  const { date: _date, 'x-request-id': _id, connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, 'content-length': _l, ...rest } = h;
  return rest;
};

describe('authenticate-key: the fast path and the generic route answer alike', () => {
  it('200 with the same headers and body whichever path answers (the generic one takes a chunked body)', async () => {
    const body = JSON.stringify({ apiKey });
    const h = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'X-Request-Id': 'req-fast-1' };
    const fast = await raw(PATH, body, h, true);
    const generic = await raw(PATH, body, { ...h, 'X-Request-Id': 'req-generic-1' }, false);
    expect(fast.status).toBe(200);
    expect(generic.status).toBe(200);
    expect(JSON.parse(fast.body)).toEqual(JSON.parse(generic.body));
    expect(JSON.parse(fast.body)).toMatchObject({ id: userId, userType: 'api', name: 'Billing robot' });
    expect(headersOf(fast.headers)).toEqual(headersOf(generic.headers));
    expect(fast.headers['x-request-id']).toBe('req-fast-1');
    expect(fast.headers['cache-control']).toBe('no-store');
    expect(fast.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(fast.headers['content-length'])).toBe(Buffer.byteLength(fast.body));
  });

  it('hands every other case to the generic route, which answers as it did before (ASVS 4.1.1, 6.3.1, 8.3.1)', async () => {
    const auth = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const cases: Array<{ name: string; body: string; headers: Record<string, string>; path?: string; status: number; type: string }> = [
      { name: 'malformed JSON', body: '{"apiKey":', headers: auth, status: 400, type: 'malformed_json' },
      { name: 'a string at the top (strict JSON)', body: '"x"', headers: auth, status: 400, type: 'malformed_json' },
      { name: 'an array at the top', body: '[1]', headers: auth, status: 400, type: 'validation' },
      { name: 'an unknown field', body: JSON.stringify({ apiKey, extra: 1 }), headers: auth, status: 400, type: 'validation' },
      { name: 'a prototype key', body: '{"apiKey":"x","__proto__":{"a":1}}', headers: auth, status: 400, type: 'validation' },
      { name: 'an unknown API key', body: JSON.stringify({ apiKey: `${apiKey}x` }), headers: auth, status: 401, type: 'invalid_api_key' },
      { name: 'no management key', body: JSON.stringify({ apiKey }), headers: { 'Content-Type': 'application/json' }, status: 401, type: 'unauthorized' },
      { name: 'a wrong management key', body: JSON.stringify({ apiKey }), headers: { ...auth, Authorization: 'Bearer ghmk_wrong' }, status: 401, type: 'unauthorized' },
      { name: 'another realm', body: JSON.stringify({ apiKey }), headers: auth, path: '/api/v1/realms/beta/users/authenticate-key', status: 404, type: 'not_found' },
      { name: 'an unknown realm', body: JSON.stringify({ apiKey }), headers: auth, path: '/api/v1/realms/nope/users/authenticate-key', status: 404, type: 'not_found' },
      { name: 'a Latin-1 charset', body: JSON.stringify({ apiKey }), headers: { ...auth, 'Content-Type': 'application/json; charset=latin1' }, status: 415, type: 'unsupported_charset' },
    ];
    for (const c of cases) {
      for (const length of [true, false]) {
        const res = await raw(c.path ?? PATH, c.body, c.headers, length);
        expect({ name: c.name, length, status: res.status }).toEqual({ name: c.name, length, status: c.status });
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(res.body).type).toBe(`/api/v1/problems/${c.type}`);
      }
    }
  });

  it('a body over 64 kB is 413 without being read whole, a text/plain body is still taken (as before)', async () => {
    const big = await raw(PATH, JSON.stringify({ apiKey: 'x'.repeat(70_000) }), { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, true);
    expect(big.status).toBe(413);
    const plain = await raw(PATH, JSON.stringify({ apiKey }), { Authorization: `Bearer ${key}`, 'Content-Type': 'text/plain' }, true);
    expect(plain.status).toBe(200);
  });

  it('an inactive user or a revoked management key fail on the next call', async () => {
    const writerKey = await managementKey(gh, 'alpha');
    const writer = apiClient(gh, writerKey);
    const made = await writer.post('/realms/alpha/users', { userType: 'api', name: 'Soon inactive' });
    const check = (k: string, m = writerKey) => raw(PATH, JSON.stringify({ apiKey: k }), { Authorization: `Bearer ${m}`, 'Content-Type': 'application/json' }, true);
    expect((await check(made.body.apiKey)).status).toBe(200);
    expect((await writer.patch(`/realms/alpha/users/${made.body.user.id}`, { state: 'inactive' })).status).toBe(200);
    expect((await check(made.body.apiKey)).status).toBe(401);
    const doomed = await gh.management!.keys.create({ realmId: 'alpha', access: 'read', name: 'doomed' }, CLI_CONTEXT);
    expect((await check(apiKey, doomed.secret)).status).toBe(200);
    await gh.management!.keys.revoke(doomed.key.id, CLI_CONTEXT);
    expect((await check(apiKey, doomed.secret)).status).toBe(401);
  });
});

describe('authenticate-key fast path on its own', () => {
  /** The middleware alone, before a `next` that says it was handed on and what it left for the body step. */
  function alone() {
    const app = express();
    app.use(authenticateKeyFastPath({ realms: gh.realms, keys: gh.management!.keys, access: gh.management!.access, securityHeaders: apiSecurityHeaders(false) }));
    app.use((req, res) => {
      const pre = (req as WithPreread)[PREREAD];
      res.status(299).json({ handedOn: true, preread: pre ? ('body' in pre ? { body: pre.body } : { error: pre.error.type }) : null });
    });
    return app;
  }

  it('answers the success case itself', async () => {
    const res = await request(alone()).post(PATH).set('Authorization', `Bearer ${key}`).send({ apiKey });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(userId);
  });

  it('hands on untouched what it does not look at, and with the body it read what it could not answer', async () => {
    const app = alone();
    const page = await request(app).post('/login').send({ apiKey });
    expect(page.body).toEqual({ handedOn: true, preread: null });
    const query = await request(app).post(`${PATH}?x=1`).set('Authorization', `Bearer ${key}`).send({ apiKey });
    expect(query.body).toEqual({ handedOn: true, preread: null });
    const get = await request(app).get(PATH).set('Authorization', `Bearer ${key}`);
    expect(get.body).toEqual({ handedOn: true, preread: null });
    const noKey = await request(app).post(PATH).send({ apiKey });
    expect(noKey.body).toEqual({ handedOn: true, preread: null });
    // Nothing of the body is read before the management key is known good (ASVS 8.3.1).
    const wrongKey = await request(app).post(PATH).set('Authorization', 'Bearer ghmk_notakey').send({ apiKey });
    expect(wrongKey.body).toEqual({ handedOn: true, preread: null });
    const otherRealm = await request(app).post('/api/v1/realms/beta/users/authenticate-key').set('Authorization', `Bearer ${key}`).send({ apiKey });
    expect(otherRealm.body).toEqual({ handedOn: true, preread: null });
    const wrongUserKey = await request(app).post(PATH).set('Authorization', `Bearer ${key}`).send({ apiKey: 'nope' });
    expect(wrongUserKey.body).toEqual({ handedOn: true, preread: { body: { apiKey: 'nope' } } });
    const malformed = await request(app).post(PATH).set('Authorization', `Bearer ${key}`).set('Content-Type', 'application/json').send('{"apiKey"');
    expect(malformed.body).toEqual({ handedOn: true, preread: { error: 'entity.parse.failed' } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { browser, GOOD_PASSWORD, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  gh = await testGatehouse();
  api = apiClient(gh, await managementKey(gh, 'alpha'));
});
afterAll(() => gh.close());

describe('management API: users', () => {
  it('refuses requests without a key, or with a wrong one, as problem+json 401', async () => {
    const none = await request(gh.app).get('/api/v1/realms/alpha/users');
    expect(none.status).toBe(401);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(none.body).toMatchObject({ type: '/api/v1/problems/unauthorized', status: 401 });
    const wrong = await request(gh.app).get('/api/v1/realms/alpha/users').set('Authorization', 'Bearer ghmk_notakey');
    expect(wrong.status).toBe(401);
  });

  it('answers with the API’s security headers, without the pages’ (ASVS 3.4.3, 3.4.4, 14.3.2)', async () => {
    const res = await api.get('/realms/alpha/users?limit=1');
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const unauthenticated = await request(gh.app).get('/api/v1/realms/alpha/users');
    expect(unauthenticated.headers['x-content-type-options']).toBe('nosniff');
  });

  it('creates a human who can then log in with the password', async () => {
    const res = await api.post('/realms/alpha/users', { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', password: GOOD_PASSWORD, emailVerification: 'verified' });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: 'ada@example.com', name: 'Ada Lovelace', emailVerification: 'verified', userType: 'human' });
    expect(res.body.apiKey).toBeNull();
    const b = browser(gh);
    const login = await b.submit('/login', { identifier: 'ada@example.com', password: GOOD_PASSWORD });
    expect(login.status).toBe(303);
  });

  it('creates an API user with a generated username and a key that authenticates', async () => {
    const res = await api.post('/realms/alpha/users', { userType: 'api', name: 'Billing robot' });
    expect(res.status).toBe(201);
    expect(res.body.user.username).toMatch(/^api-[0-9a-f]{16}$/);
    expect(res.body.user.name).toBe('Billing robot');
    const ok = await api.post('/realms/alpha/users/authenticate-key', { apiKey: res.body.apiKey });
    expect(ok.status).toBe(200);
    expect(ok.body.id).toBe(res.body.user.id);
    const bad = await api.post('/realms/alpha/users/authenticate-key', { apiKey: `${res.body.apiKey}x` });
    expect(bad.status).toBe(401);
  });

  it('lists with filters, sort and cursor paging without losing or repeating a user', async () => {
    for (let i = 0; i < 7; i++) await api.post('/realms/alpha/users', { email: `page${i}@example.com`, reference: i === 3 ? 'crm-3' : undefined });
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await api.get(`/realms/alpha/users?q=page&sort=email&direction=desc&limit=3${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((u: { email: string }) => u.email));
      after = res.body.next;
    } while (after);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `page${i}@example.com`));
    const byRef = await api.get('/realms/alpha/users?reference=crm-3');
    expect(byRef.body.data.map((u: { email: string }) => u.email)).toEqual(['page3@example.com']);
    const count = await api.get('/realms/alpha/users/count?q=PAGE');
    expect(count.body).toEqual({ count: 7 });
    const api1 = await api.get('/realms/alpha/users/count?userType=api');
    expect(api1.body.count).toBeGreaterThanOrEqual(1);
  });

  it('finds a name beyond ASCII by any case of it (q=émile), sorted by name, and by its new name once changed', async () => {
    const zola = await api.post('/realms/alpha/users', { email: 'zola@example.com', firstName: 'Émile', lastName: 'Zola' });
    await api.post('/realms/alpha/users', { email: 'durand@example.com', firstName: 'émile', lastName: 'Durand' });
    const names = async (q: string) => (await api.get(`/realms/alpha/users?q=${encodeURIComponent(q)}&sort=name`)).body.data.map((u: { name: string }) => u.name);
    expect(await names('émile')).toEqual(['émile Durand', 'Émile Zola']);
    expect(await names('ÉMILE Z')).toEqual(['Émile Zola']);
    expect((await api.patch(`/realms/alpha/users/${zola.body.user.id}`, { firstName: 'Édouard', lastName: 'Manet' })).status).toBe(200);
    expect(await names('édouard')).toEqual(['Édouard Manet']);
    expect(await names('émile')).toEqual(['émile Durand']);
  });

  it('refuses a cursor of another sort and a forged one with 400', async () => {
    const first = await api.get('/realms/alpha/users?sort=email&limit=1');
    const other = await api.get(`/realms/alpha/users?sort=username&after=${first.body.next}`);
    expect(other.status).toBe(400);
    expect(other.body.errors[0]).toMatchObject({ field: 'after', code: 'invalid_cursor' });
    expect((await api.get('/realms/alpha/users?after=%%%')).status).toBe(400);
  });

  it('deactivating ends the user’s sessions and every way in (ASVS 7.4.2)', async () => {
    const made = await api.post('/realms/alpha/users', { email: 'grace@example.com', password: GOOD_PASSWORD });
    const b = browser(gh);
    expect((await b.submit('/login', { identifier: 'grace@example.com', password: GOOD_PASSWORD })).status).toBe(303);
    expect((await b.get('/account')).status).toBe(200);
    const off = await api.patch(`/realms/alpha/users/${made.body.user.id}`, { state: 'inactive' });
    expect(off.status).toBe(200);
    expect(off.body.state).toBe('inactive');
    const signedOut = await b.get('/account');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.location).toMatch(/^\/login/);
    const again = await browser(gh).submit('/login', { identifier: 'grace@example.com', password: GOOD_PASSWORD });
    expect(again.status).toBe(401);
  });

  it('a changed email of a verified user is unverified again', async () => {
    const made = await api.post('/realms/alpha/users', { email: 'alan@example.com', emailVerification: 'verified' });
    const changed = await api.patch(`/realms/alpha/users/${made.body.user.id}`, { email: 'alan.t@example.com' });
    expect(changed.body).toMatchObject({ email: 'alan.t@example.com', username: 'alan.t@example.com', emailVerification: 'none' });
  });

  it('answers 409 for a taken username and 422 for a weak password', async () => {
    const taken = await api.post('/realms/alpha/users', { email: 'ada@example.com' });
    expect(taken.status).toBe(409);
    expect(taken.body.errors[0].field).toBe('email');
    const weak = await api.post('/realms/alpha/users', { email: 'weak@example.com', password: 'password' });
    expect(weak.status).toBe(422);
    expect(weak.body.errors[0].field).toBe('password');
  });

  it('bulk delete by filter is a dry run without expect and refuses a stale count', async () => {
    for (let i = 0; i < 3; i++) await api.post('/realms/alpha/users', { email: `bulk${i}@example.com`, reference: 'bulk' });
    const dry = await api.post('/realms/alpha/users/bulk-delete', { filter: { reference: 'bulk' } });
    expect(dry.body).toEqual({ count: 3, deleted: false });
    const stale = await api.post('/realms/alpha/users/bulk-delete', { filter: { reference: 'bulk' }, expect: 2 });
    expect(stale.status).toBe(409);
    const done = await api.post('/realms/alpha/users/bulk-delete', { filter: { reference: 'bulk' }, expect: 3 });
    expect(done.body).toEqual({ count: 3, deleted: true });
    expect((await api.get('/realms/alpha/users/count?reference=bulk')).body.count).toBe(0);
  });

  it('bulk delete by ids takes at most 1000, deletes each whole, and reports the ids it did not find', async () => {
    const made = await api.post('/realms/alpha/users', { email: 'bulk-id@example.com' });
    const tooMany = await api.post('/realms/alpha/users/bulk-delete', { ids: Array.from({ length: 1001 }, () => made.body.user.id) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].field).toBe('ids');
    expect((await api.get(`/realms/alpha/users/${made.body.user.id}`)).status).toBe(200);
    const both = await api.post('/realms/alpha/users/bulk-delete', { ids: [made.body.user.id], filter: {} });
    expect(both.status).toBe(400);
    expect(both.body.errors[0].field).toBe('ids');
    const stray = await api.post('/realms/alpha/users/bulk-delete', { ids: [made.body.user.id], expect: 1 });
    expect(stray.body.errors.map((e: { field: string }) => e.field)).toEqual(['expect']);
    expect((await api.get(`/realms/alpha/users/${made.body.user.id}`)).status).toBe(200);
    const missing = '00000000-0000-4000-8000-000000000000';
    const done = await api.post('/realms/alpha/users/bulk-delete', { ids: [made.body.user.id, missing] });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ deleted: [made.body.user.id], missing: [missing] });
    expect((await api.get(`/realms/alpha/users/${made.body.user.id}`)).status).toBe(404);
    const events = await api.get(`/realms/alpha/events?userId=${made.body.user.id}&type=user.deleted`);
    expect(events.body.data).toHaveLength(1);
  });

  it('exports CSV with the same filter', async () => {
    const res = await api.get('/realms/alpha/users/export?format=csv&q=page&sort=email');
    expect(res.status).toBe(200);
    const lines = res.text.trim().split('\n');
    expect(lines[0]).toMatch(/^id,realmId,userType,username,email/);
    expect(lines).toHaveLength(8);
  });

  it('a key of realm alpha sees nothing of realm beta (404)', async () => {
    expect((await api.get('/realms/beta/users')).status).toBe(404);
  });

  it('a read key gets 403 on writes', async () => {
    const read = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
    expect((await read.get('/realms/alpha/users')).status).toBe(200);
    const res = await read.post('/realms/alpha/users', { email: 'nope@example.com' });
    expect(res.status).toBe(403);
  });

  it('records an audit entry for each write: who, what, when, from which request, secrets redacted (ASVS 16.2.1, 16.2.5)', async () => {
    const robot = await api.post('/realms/alpha/users', { userType: 'api', name: 'Audited robot' });
    const rotated = await api.post(`/realms/alpha/users/${robot.body.user.id}/api-key`, {}).set('X-Request-Id', 'req-audit-1');
    expect(rotated.headers['x-request-id']).toBe('req-audit-1');
    const res = await api.get('/realms/alpha/audit?limit=200');
    expect(res.status).toBe(200);
    const ops = res.body.data.map((e: { operation: string }) => e.operation);
    expect(ops).toContain('user.create');
    expect(ops).toContain('user.update');
    const entry = res.body.data.find((e: { requestId: string }) => e.requestId === 'req-audit-1');
    expect(entry).toMatchObject({ realmId: 'alpha', operation: 'user.api_key.regenerate', actor: { type: 'api_key' }, target: { type: 'user', id: robot.body.user.id }, after: { apiKey: '[redacted]' } });
    expect(entry.actor.id).toMatch(/^mk_/);
    expect(Date.now() - Date.parse(entry.at)).toBeLessThan(60_000);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(rotated.body.apiKey);
    expect(text).not.toContain(robot.body.apiKey);
    expect(text).not.toContain('$argon2');
  });
});

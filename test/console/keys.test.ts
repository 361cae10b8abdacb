import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_KEY_PATTERN } from '../../src/domain/management-key.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { csrfOf, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The console's management API keys page (issue 13 "Realm pages"): list, create (shown once, step-up), revoke. Real HTTP, real SQLite. */
let gh: TestGatehouse;
let offset = 0;
let owner: ConsoleBrowser;
let viewer: ConsoleBrowser;
let otherAdmin: ConsoleBrowser;

const api = (key: string) => request(gh.app).get('/api/v1/realms/alpha/users').set('Authorization', `Bearer ${key}`);
const secretIn = (html: string) => /<p class="secret-once"[^>]*>([^<]+)<\/p>/.exec(html)![1]!;

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(Date.now() + offset) });
  owner = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
  otherAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'owner' }]));
});
afterAll(() => gh.close());

describe('console management keys', () => {
  it('creates a key shown once that authenticates against the API; revoking it makes it fail', async () => {
    const form = await owner.get('/admin/realms/alpha/keys/new');
    expect(form.status).toBe(200);
    const res = await owner.post('/admin/realms/alpha/keys/new', { _csrf: csrfOf(form.text), name: 'reporting', access: 'read' });
    expect(res.status, res.text).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const secret = secretIn(res.text);
    expect(secret).toMatch(MANAGEMENT_KEY_PATTERN);
    expect((await api(secret)).status).toBe(200);
    const [key] = (await gh.management!.keys.list({ realmId: 'alpha' })).filter((k) => k.name === 'reporting');
    expect(key).toMatchObject({ realmId: 'alpha', access: 'read', createdBy: owner.operatorId, revokedAt: null });
    const [entry] = await gh.management!.audit.query({ realmId: 'alpha', targetId: key!.id, limit: 5 });
    expect(entry).toMatchObject({ operation: 'api_key.create', actor: { type: 'operator', id: owner.operatorId } });

    const list = await owner.get('/admin/realms/alpha/keys');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`data-key-id="${key!.id}"`);
    expect(list.text).not.toContain(secret);
    const revoked = await owner.post(`/admin/realms/alpha/keys/${key!.id}/revoke`, { _csrf: csrfOf(list.text) });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.location).toBe('/admin/realms/alpha/keys');
    expect((await api(secret)).status).toBe(401);
    const after = await owner.get('/admin/realms/alpha/keys');
    expect(after.text).toContain('The key reporting is revoked');
    expect(new RegExp(`<tr data-key-id="${key!.id}">[\\s\\S]*?</tr>`).exec(after.text)![0]).toContain('Revoked');
    expect((await gh.management!.audit.query({ realmId: 'alpha', targetId: key!.id, limit: 5 }))[0]!.operation).toBe('api_key.revoke');
  });

  it('lists only this realm’s keys; a key of another realm or of every realm is 404 here and stays live', async () => {
    const beta = await gh.management!.keys.create({ realmId: 'beta', access: 'write', name: 'beta-only' }, CLI_CONTEXT);
    const all = await gh.management!.keys.create({ realmId: null, access: 'write', name: 'every-realm' }, CLI_CONTEXT);
    const list = await owner.get('/admin/realms/alpha/keys');
    expect(list.text).not.toContain('beta-only');
    expect(list.text).not.toContain('every-realm');
    for (const k of [beta.key, all.key]) {
      expect((await owner.post(`/admin/realms/alpha/keys/${k.id}/revoke`, { _csrf: csrfOf(list.text) })).status).toBe(404);
      expect((await gh.management!.keys.get(k.id)).revokedAt).toBeNull();
    }
    expect((await owner.post('/admin/realms/alpha/keys/not-a-key/revoke', { _csrf: csrfOf(list.text) })).status).toBe(404);
  });

  it('refuses a bad form with a 400, keeping the name', async () => {
    const form = await owner.get('/admin/realms/alpha/keys/new');
    const bad = await owner.post('/admin/realms/alpha/keys/new', { _csrf: csrfOf(form.text), name: 'ops', access: 'admin' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('value="ops"');
    expect((await owner.post('/admin/realms/alpha/keys/new', { _csrf: csrfOf(form.text), name: '', access: 'read' })).status).toBe(400);
    expect((await owner.post('/admin/realms/alpha/keys/new', { _csrf: csrfOf(form.text), name: ['a', 'b'], access: 'read' })).status).toBe(400);
    expect((await gh.management!.keys.list({ realmId: 'alpha' })).some((k) => k.name === 'ops')).toBe(false);
  });

  it('asks a stale sign-in to confirm it’s you before creating a key, coming back to the form', async () => {
    const form = await owner.get('/admin/realms/alpha/keys/new');
    offset = 10 * 60_000;
    try {
      const res = await owner.post('/admin/realms/alpha/keys/new', { _csrf: csrfOf(form.text), name: 'late', access: 'read' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent('/admin/realms/alpha/keys/new')}`);
      expect((await gh.management!.keys.list({ realmId: 'alpha' })).some((k) => k.name === 'late')).toBe(false);
    } finally {
      offset = 0;
    }
  });

  it('a viewer sees the pages but may not create or revoke (403); an operator of another realm gets 404', async () => {
    const { key } = await gh.management!.keys.create({ realmId: 'alpha', access: 'read', name: 'viewer-target' }, CLI_CONTEXT);
    for (const path of ['/admin/realms/alpha/keys', '/admin/realms/alpha/keys/new']) {
      expect((await viewer.get(path)).status, path).toBe(200);
      expect((await otherAdmin.get(path)).status, path).toBe(404);
    }
    const page = await viewer.get('/admin/realms/alpha/keys');
    expect(page.text).toContain('viewer-target');
    expect(page.text).not.toContain('/revoke');
    const token = csrfOf(page.text);
    const otherToken = csrfOf((await otherAdmin.get('/admin/realms/beta/keys')).text);
    expect((await viewer.post('/admin/realms/alpha/keys/new', { _csrf: token, name: 'v', access: 'read' })).status).toBe(403);
    expect((await viewer.post(`/admin/realms/alpha/keys/${key.id}/revoke`, { _csrf: token })).status).toBe(403);
    expect((await otherAdmin.post('/admin/realms/alpha/keys/new', { _csrf: otherToken, name: 'v', access: 'read' })).status).toBe(404);
    expect((await otherAdmin.post(`/admin/realms/alpha/keys/${key.id}/revoke`, { _csrf: otherToken })).status).toBe(404);
    expect((await gh.management!.keys.get(key.id)).revokedAt).toBeNull();
    expect((await gh.management!.keys.list({ realmId: 'alpha' })).some((k) => k.name === 'v')).toBe(false);
  });
});

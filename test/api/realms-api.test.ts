import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

let gh: TestGatehouse;
let root: ReturnType<typeof apiClient>;
let alphaKey: ReturnType<typeof apiClient>;

beforeAll(async () => {
  gh = await testGatehouse();
  root = apiClient(gh, await managementKey(gh, null));
  alphaKey = apiClient(gh, await managementKey(gh, 'alpha'));
});
afterAll(() => gh.close());

describe('management API: realms and apps at run time', () => {
  it('refuses writes to a realm provisioned from the file with a 409 naming the file', async () => {
    const res = await root.patch('/realms/alpha', { name: 'Renamed' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'provisioned', file: gh.config.configPath });
  });

  it('creates a realm and an app whose sign-in page and back channel work at once', async () => {
    const realm = await root.post('/realms', { id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test' });
    expect(realm.status).toBe(201);
    expect(realm.body).toMatchObject({ id: 'gamma', source: 'api' });
    const app = await root.post('/realms/gamma/apps', { clientId: 'g1', name: 'Gamma app', redirectUris: ['https://g.example.com/cb'] });
    expect(app.status).toBe(201);
    expect(app.body.secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const page = await request(gh.app).get('/login?client_id=g1&redirect_uri=https://g.example.com/cb').set('Host', 'gamma.test');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Gamma');
    const channel = await request(gh.app).get('/api/sessions/AAAAAAAAAAAAAAAAAAAAAA').set('Host', 'gamma.test').auth('g1', app.body.secret);
    expect(channel.status).toBe(200);
    expect(channel.body).toEqual({ active: false });
    const wrong = await request(gh.app).get('/api/sessions/AAAAAAAAAAAAAAAAAAAAAA').set('Host', 'gamma.test').auth('g1', 'x'.repeat(43));
    expect(wrong.status).toBe(401);
  });

  it('applies the start-time rules to a PATCH: 422 naming the field', async () => {
    const res = await root.patch('/realms/gamma', { fields: { emails: 'duplicates' } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('fields.emails');
    const ok = await root.patch('/realms/gamma', { signup: { policy: 'disabled' } });
    expect(ok.status).toBe(200);
    expect(ok.body.settings.signup.policy).toBe('disabled');
  });

  it('pages realms one by one with opaque cursors that only their own list takes', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await root.get(`/realms?limit=1${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((r: { id: string }) => r.id));
      after = res.body.next;
      if (after) expect(after).not.toContain(res.body.data[0].id);
    } while (after);
    expect(seen).toEqual(['alpha', 'beta', 'gamma']);
    const realmsCursor = (await root.get('/realms?limit=1')).body.next;
    const refused = await root.get(`/realms/gamma/apps?after=${realmsCursor}`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({ field: 'after', code: 'invalid_cursor' });
    expect((await root.get('/realms?after=beta')).status).toBe(400);
  });

  it('a realm’s key lists only its realm, cannot create realms and gets 404 for others', async () => {
    const list = await alphaKey.get('/realms');
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual(['alpha']);
    expect((await alphaKey.post('/realms', { id: 'delta', name: 'D', publicUrl: 'http://delta.test' })).status).toBe(403);
    expect((await alphaKey.get('/realms/gamma')).status).toBe(404);
    expect((await alphaKey.get('/realms/gamma/apps')).status).toBe(404);
  });

  it('audits realm and app writes', async () => {
    const res = await root.get('/realms/gamma/audit');
    expect(res.body.data.map((e: { operation: string }) => e.operation)).toEqual(expect.arrayContaining(['realm.create', 'app.create', 'realm.update']));
  });

  it('deletes an app, then the realm', async () => {
    expect((await root.delete('/realms/gamma/apps/g1')).status).toBe(204);
    expect((await root.get('/realms/gamma/apps/g1')).status).toBe(404);
    expect((await root.delete('/realms/gamma')).status).toBe(204);
    expect((await root.get('/realms/gamma')).status).toBe(404);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { listEvents } from '../helpers/events.ts';
import { browser, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

/**
 * A change and its event are one store transaction (DESIGN.md §2, docs/events.md): through the real pages and
 * API, a change whose event cannot be written leaves nothing behind, and the same request succeeds once the
 * log takes writes again. The log is made to fail by a temporary trigger on the instance's own connection.
 */
let gh: TestGatehouse;
let api: ReturnType<typeof apiClient>;
let db: SqliteStore['db'];

beforeAll(async () => {
  gh = await testGatehouse();
  if (!(gh.store instanceof SqliteStore)) throw new Error('this test needs the embedded store');
  db = gh.store.db;
  api = apiClient(gh, await managementKey(gh, 'alpha'));
});
afterAll(() => gh.close());
afterEach(() => healLog());

function breakLog(): void {
  db.exec("CREATE TEMP TRIGGER IF NOT EXISTS events_fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'event log unavailable'); END");
}
function healLog(): void {
  db.exec('DROP TRIGGER IF EXISTS temp.events_fail');
}

describe('a change whose event cannot be written', () => {
  it('leaves no user behind when the API creates one, and the same create succeeds afterwards with its event', async () => {
    const email = uniqueEmail('api-atomic');
    breakLog();
    const failed = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD });
    expect(failed.status).toBe(500);
    expect(await gh.store.findUserByLogin('alpha', email)).toBeNull();
    healLog();
    const created = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD });
    expect(created.status).toBe(201);
    const events = await listEvents(gh.store, 'alpha', created.body.user.id, 10);
    expect(events.map((e) => e.type)).toEqual(['user.created']);
  });

  it('deletes no user through the API when the user.deleted event cannot be written', async () => {
    const created = await api.post('/realms/alpha/users', { email: uniqueEmail('api-delete') });
    const id = created.body.user.id as string;
    breakLog();
    expect((await api.delete(`/realms/alpha/users/${id}`)).status).toBe(500);
    expect((await api.post('/realms/alpha/users/bulk-delete', { ids: [id] })).status).toBe(500);
    healLog();
    expect((await api.get(`/realms/alpha/users/${id}`)).status).toBe(200);
    expect((await api.delete(`/realms/alpha/users/${id}`)).status).toBe(204);
    expect((await gh.store.events.query({ realmId: 'alpha', userId: id, typePrefix: 'user.deleted', limit: 10 })).data).toHaveLength(1);
  });

  it('leaves no account behind on the sign-up page: the address is free for the next try', async () => {
    const email = uniqueEmail('signup-atomic');
    breakLog();
    const failed = await browser(gh).submit('/signup', { email, password: GOOD_PASSWORD });
    expect(failed.status).toBe(500);
    expect(await gh.store.findUserByLogin('alpha', email)).toBeNull();
    healLog();
    const b = browser(gh);
    expect((await b.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const types = (await listEvents(gh.store, 'alpha', user.id, 10)).map((e) => e.type);
    expect(types.filter((t) => t === 'user.created')).toHaveLength(1);
    expect(types).toEqual(expect.arrayContaining(['session.created', 'user.login.succeeded']));
  });

  it('starts no login session on the sign-in page when session.created cannot be written', async () => {
    const email = uniqueEmail('login-atomic');
    expect((await browser(gh).submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const before = await gh.store.listLoginSessions('alpha', user.id);
    breakLog();
    expect((await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(500);
    healLog();
    expect(await gh.store.listLoginSessions('alpha', user.id)).toHaveLength(before.length);
    expect((await gh.store.findUserById('alpha', user.id))?.loginsCount).toBe(user.loginsCount);
  });
});

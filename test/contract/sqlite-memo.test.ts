import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManagementKey } from '../../src/domain/management-key.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteManagement } from '../../src/store/sqlite/management.ts';
import { SqliteUsersAdmin } from '../../src/store/sqlite/users-admin.ts';
import { newUser, T0, at } from './store-fixtures.ts';

/**
 * The SQLite adapters remember the two hot lookups (a management key by hash,
 * an API user by key) between writes. Two connections on one file stand for
 * two instances: whatever one writes, the other's very next lookup sees.
 */
describe('SQLite: the hot lookups between writes', () => {
  let file: string;
  let one: SqliteStore;
  let two: SqliteStore;
  beforeEach(() => {
    file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-memo-')), 'gatehouse.sqlite');
    one = new SqliteStore(file);
    two = new SqliteStore(file);
  });
  afterEach(async () => {
    await one.close();
    await two.close();
  });

  const key: ManagementKey = { id: 'mk_memo', name: null, realmId: null, access: 'write', lastFour: 'abcd', createdAt: T0, createdBy: null, lastUsedAt: null, revokedAt: null };

  it('a key revoked through another connection (another instance) fails on the next lookup (ASVS 7.4.1)', async () => {
    const [a, b] = [new SqliteManagement(one.db), new SqliteManagement(two.db)];
    await a.createKey(key, 'hash-memo');
    for (let i = 0; i < 3; i++) expect((await a.findKeyByHash('hash-memo'))?.revokedAt).toBeNull();
    expect(await b.revokeKey('mk_memo', at(1))).toBe(true);
    expect((await a.findKeyByHash('hash-memo'))?.revokedAt).toEqual(at(1));
  });

  it('a key revoked through this connection fails on the next lookup too', async () => {
    const a = new SqliteManagement(one.db);
    await a.createKey(key, 'hash-memo');
    expect((await a.findKeyByHash('hash-memo'))?.revokedAt).toBeNull();
    await a.revokeKey('mk_memo', at(1));
    expect((await a.findKeyByHash('hash-memo'))?.revokedAt).toEqual(at(1));
  });

  it('an API key replaced, or its user made inactive or deleted, elsewhere is seen at once', async () => {
    const [a, b] = [new SqliteUsersAdmin(one.db), new SqliteUsersAdmin(two.db)];
    const robot = await one.createUser(newUser({ userType: 'api', username: 'robot', email: null, passwordHash: null }), T0);
    await a.setApiKey('alpha', robot.id, { lookupHash: 'old', sealed: null }, T0);
    expect((await a.findUserByApiKey('alpha', 'old'))?.id).toBe(robot.id);
    await b.setApiKey('alpha', robot.id, { lookupHash: 'new', sealed: null }, at(1));
    expect(await a.findUserByApiKey('alpha', 'old')).toBeNull();
    expect((await a.findUserByApiKey('alpha', 'new'))?.state).toBe('active');
    await b.patchUser('alpha', robot.id, { state: 'inactive' }, at(2));
    expect((await a.findUserByApiKey('alpha', 'new'))?.state).toBe('inactive');
    await b.deleteUsers('alpha', [robot.id]);
    expect(await a.findUserByApiKey('alpha', 'new')).toBeNull();
  });

  it('hands out copies: a caller changing what it got changes nothing remembered', async () => {
    const a = new SqliteManagement(one.db);
    await a.createKey(key, 'hash-memo');
    const got = (await a.findKeyByHash('hash-memo'))!;
    got.access = 'read';
    expect((await a.findKeyByHash('hash-memo'))?.access).toBe('write');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/services/audit-log.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { ManagementKeys } from '../../src/services/management-keys.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteManagement } from '../../src/store/sqlite/management.ts';

describe('ManagementKeys.list', () => {
  let store: SqliteStore;
  let keys: ManagementKeys;
  const made: Record<string, string> = {};

  beforeAll(async () => {
    store = new SqliteStore(':memory:');
    const management = new SqliteManagement(store.db);
    let t = Date.UTC(2025, 0, 1);
    // A second apart: the list is newest first.
    const clock = () => new Date((t += 1000));
    keys = new ManagementKeys(management, new AuditLog(management, clock), (id) => ['alpha', 'beta', 'alphabet'].includes(id), clock);
    for (const [name, realmId] of [['a1', 'alpha'], ['all', null], ['b1', 'beta'], ['a2', 'alpha'], ['ab', 'alphabet']] as const) {
      made[name] = (await keys.create({ realmId, access: 'read', name }, CLI_CONTEXT)).key.id;
    }
    await keys.revoke(made.a1!, CLI_CONTEXT);
  });
  afterAll(() => store?.close());

  const names = async (filter?: { realmId?: string | null }) => (await keys.list(filter)).map((k) => k.name);

  it('lists every key, newest first, without a filter (revoked ones too)', async () => {
    expect(await names()).toEqual(['ab', 'a2', 'b1', 'all', 'a1']);
    expect(await names({})).toEqual(['ab', 'a2', 'b1', 'all', 'a1']);
  });

  it('lists only the keys of one realm, by exact id: not the keys for every realm, not another realm sharing a prefix', async () => {
    expect(await names({ realmId: 'alpha' })).toEqual(['a2', 'a1']);
    expect(await names({ realmId: 'beta' })).toEqual(['b1']);
    expect(await names({ realmId: 'gamma' })).toEqual([]);
  });

  it('lists the keys for every realm when asked for them (null, or * as the API names it)', async () => {
    expect(await names({ realmId: null })).toEqual(['all']);
    expect(await names({ realmId: '*' })).toEqual(['all']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** ManagementKeys.list(filter): a realm's keys (the console's keys page), the keys for every realm, or all of them. */
let gh: TestGatehouse;
const ids: Record<string, string> = {};

beforeAll(async () => {
  gh = await testGatehouse();
  for (const [name, realmId] of [['a1', 'alpha'], ['b1', 'beta'], ['all', null], ['a2', 'alpha']] as const) {
    ids[name] = (await gh.management!.keys.create({ realmId, access: 'read', name }, CLI_CONTEXT)).key.id;
  }
});
afterAll(() => gh.close());

describe('ManagementKeys.list', () => {
  it('filters by realm: a realm id is that realm’s keys, null the keys for every realm, none every key', async () => {
    const names = async (filter?: { realmId?: string | null }) => (await gh.management!.keys.list(filter)).map((k) => k.name).sort();
    expect(await names({ realmId: 'alpha' })).toEqual(['a1', 'a2']);
    expect(await names({ realmId: 'beta' })).toEqual(['b1']);
    expect(await names({ realmId: null })).toEqual(['all']);
    expect(await names({ realmId: 'nowhere' })).toEqual([]);
    expect(await names()).toEqual(['a1', 'a2', 'all', 'b1']);
    expect(await names({})).toEqual(['a1', 'a2', 'all', 'b1']);
  });
});

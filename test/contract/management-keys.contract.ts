import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManagementKey } from '../../src/domain/management-key.ts';
import type { ManagementKeysPort } from '../../src/ports/management-keys.ts';

/**
 * The management keys port's contract (src/ports/management-keys.ts): every store adapter runs this suite.
 * `open` returns a fresh, empty store's port each time and a way to close it.
 */
export function managementKeysContract(name: string, open: () => Promise<{ keys: ManagementKeysPort; close(): Promise<void> }>): void {
  describe(`Management keys contract: ${name}`, () => {
    let rig: { keys: ManagementKeysPort; close(): Promise<void> };
    let keys: ManagementKeysPort;
    beforeEach(async () => {
      rig = await open();
      keys = rig.keys;
    });
    afterEach(async () => {
      await rig.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    function key(id: string, overrides: Partial<ManagementKey> = {}): ManagementKey {
      return { id, name: `key ${id}`, realmId: 'alpha', access: 'read', lastFour: 'a1B2', createdAt: T0, createdBy: 'cli', lastUsedAt: null, revokedAt: null, ...overrides };
    }

    it('creates a key and reads it back by id and by hash, every field', async () => {
      const k = key('mk_1', { access: 'write' });
      await keys.createKey(k, 'hash-1');
      expect(await keys.getKey('mk_1')).toEqual(k);
      expect(await keys.findKeyByHash('hash-1')).toEqual(k);
    });

    it('keeps a key for every realm (null realm), unnamed, made by nobody', async () => {
      const k = key('mk_all', { realmId: null, name: null, createdBy: null });
      await keys.createKey(k, 'hash-all');
      expect(await keys.findKeyByHash('hash-all')).toEqual(k);
    });

    it('finds nothing for an unknown id or hash', async () => {
      await keys.createKey(key('mk_1'), 'hash-1');
      expect(await keys.getKey('mk_2')).toBeNull();
      expect(await keys.findKeyByHash('hash-2')).toBeNull();
      expect(await keys.findKeyByHash('HASH-1')).toBeNull();
    });

    it('refuses a second key with the same hash or the same id', async () => {
      await keys.createKey(key('mk_1'), 'hash-1');
      await expect(keys.createKey(key('mk_2'), 'hash-1')).rejects.toThrow();
      await expect(keys.createKey(key('mk_1'), 'hash-2')).rejects.toThrow();
      expect((await keys.listKeys()).map((k) => k.id)).toEqual(['mk_1']);
    });

    it('lists every key newest first', async () => {
      expect(await keys.listKeys()).toEqual([]);
      await keys.createKey(key('mk_b', { createdAt: at(1) }), 'hash-b');
      await keys.createKey(key('mk_c', { createdAt: at(3), realmId: null }), 'hash-c');
      await keys.createKey(key('mk_a', { createdAt: at(2), realmId: 'beta' }), 'hash-a');
      const list = await keys.listKeys();
      expect(list.map((k) => k.id)).toEqual(['mk_c', 'mk_a', 'mk_b']);
      expect(list[0]).toEqual(key('mk_c', { createdAt: at(3), realmId: null }));
    });

    it('revokes a key once: false when already revoked or unknown', async () => {
      await keys.createKey(key('mk_1'), 'hash-1');
      await keys.createKey(key('mk_2'), 'hash-2');
      expect(await keys.revokeKey('mk_1', at(5))).toBe(true);
      expect(await keys.revokeKey('mk_1', at(6))).toBe(false);
      expect(await keys.revokeKey('mk_9', at(6))).toBe(false);
      expect((await keys.getKey('mk_1'))?.revokedAt).toEqual(at(5));
      // Revoked keys are still found by hash (the caller refuses them) and still listed.
      expect((await keys.findKeyByHash('hash-1'))?.revokedAt).toEqual(at(5));
      expect((await keys.getKey('mk_2'))?.revokedAt).toBeNull();
      expect((await keys.listKeys()).map((k) => k.id).sort()).toEqual(['mk_1', 'mk_2']);
    });

    it('touches a key: its last-used time moves, nothing else', async () => {
      await keys.createKey(key('mk_1'), 'hash-1');
      await keys.createKey(key('mk_2'), 'hash-2');
      await keys.touchKey('mk_1', at(7));
      expect(await keys.getKey('mk_1')).toEqual(key('mk_1', { lastUsedAt: at(7) }));
      await keys.touchKey('mk_1', at(9));
      expect((await keys.findKeyByHash('hash-1'))?.lastUsedAt).toEqual(at(9));
      expect((await keys.getKey('mk_2'))?.lastUsedAt).toBeNull();
      await keys.touchKey('mk_9', at(9));
      expect(await keys.getKey('mk_9')).toBeNull();
    });
  });
}

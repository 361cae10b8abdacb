import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RealmStatePort } from '../../src/ports/realm-state.ts';
import { type Opened } from './store-fixtures.ts';

/**
 * The contract of the realm state port (src/ports/realm-state.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function realmStateContract(name: string, open: () => Promise<Opened<RealmStatePort>>): void {
  describe(`Realm state contract: ${name}`, () => {
    let store: Opened<RealmStatePort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('realm state', () => {
      it('has no value for a key never set', async () => {
        expect(await store.getRealmState('alpha', 'emails')).toBeNull();
      });

      it('sets a value, and setting it again replaces it', async () => {
        await store.setRealmState('alpha', 'emails', 'duplicates');
        expect(await store.getRealmState('alpha', 'emails')).toBe('duplicates');
        await store.setRealmState('alpha', 'emails', 'unique');
        expect(await store.getRealmState('alpha', 'emails')).toBe('unique');
      });

      it('keeps values apart per realm and per key', async () => {
        await store.setRealmState('alpha', 'emails', 'duplicates');
        await store.setRealmState('alpha', 'other', 'x');
        expect(await store.getRealmState('beta', 'emails')).toBeNull();
        await store.setRealmState('beta', 'emails', 'unique');
        expect(await store.getRealmState('alpha', 'emails')).toBe('duplicates');
        expect(await store.getRealmState('beta', 'emails')).toBe('unique');
        expect(await store.getRealmState('alpha', 'other')).toBe('x');
      });
    });
  });
}

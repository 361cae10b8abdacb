import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretsPort } from '../../src/ports/secrets.ts';
import { type Opened } from './store-fixtures.ts';

/**
 * The contract of the secrets port (src/ports/secrets.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function secretsContract(name: string, open: () => Promise<Opened<SecretsPort>>): void {
  describe(`Secrets contract: ${name}`, () => {
    let store: Opened<SecretsPort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('secrets', () => {
      it('getOrCreateSecret returns the first value forever', async () => {
        const first = await store.getOrCreateSecret('session', () => 'first-value');
        const second = await store.getOrCreateSecret('session', () => 'second-value');
        expect(first).toBe('first-value');
        expect(second).toBe('first-value');
      });

      it('keeps secrets apart by name', async () => {
        await store.getOrCreateSecret('a', () => 'value-a');
        expect(await store.getOrCreateSecret('b', () => 'value-b')).toBe('value-b');
      });

      it('hands every concurrent caller the same value', async () => {
        const values = await Promise.all(Array.from({ length: 10 }, (_, i) => store.getOrCreateSecret('race', () => `value-${i}`)));
        expect(new Set(values).size).toBe(1);
      });
    });
  });
}

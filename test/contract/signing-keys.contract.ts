import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SigningKeyRecord, SigningKeysPort } from '../../src/ports/signing-keys.ts';
import { T0, at, type Opened } from './store-fixtures.ts';

/**
 * The contract of the signing keys port (src/ports/signing-keys.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function signingKeysContract(name: string, open: () => Promise<Opened<SigningKeysPort>>): void {
  describe(`Signing keys contract: ${name}`, () => {
    let store: Opened<SigningKeysPort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('signing keys', () => {
      function key(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
        return {
          kid: randomBytes(8).toString('hex'),
          realmId: 'alpha',
          alg: 'ES256',
          publicJwk: '{"kty":"EC"}',
          privateJwk: '{"kty":"EC","d":"x"}',
          createdAt: T0,
          retiredAt: null,
          ...overrides,
        };
      }

      it('adds keys and lists them newest first, with every field', async () => {
        const older = key({ createdAt: at(1) });
        const newer = key({ createdAt: at(2), alg: 'RS256' });
        await store.addSigningKey(older);
        await store.addSigningKey(newer);
        expect(await store.listSigningKeys('alpha')).toEqual([newer, older]);
      });

      it("lists only the realm's own keys", async () => {
        await store.addSigningKey(key({ realmId: 'beta' }));
        expect(await store.listSigningKeys('alpha')).toEqual([]);
        expect(await store.listSigningKeys('beta')).toHaveLength(1);
      });

      it('retires a key, leaving it listed with its retirement time', async () => {
        const k = key();
        const other = key({ createdAt: at(1) });
        await store.addSigningKey(k);
        await store.addSigningKey(other);
        await store.retireSigningKey('alpha', k.kid, at(60));
        const listed = await store.listSigningKeys('alpha');
        expect(listed.find((x) => x.kid === k.kid)?.retiredAt?.getTime()).toBe(at(60).getTime());
        expect(listed.find((x) => x.kid === other.kid)?.retiredAt).toBeNull();
      });

      it('keeps the first retirement time when a key is retired twice', async () => {
        const k = key();
        await store.addSigningKey(k);
        await store.retireSigningKey('alpha', k.kid, at(60));
        await store.retireSigningKey('alpha', k.kid, at(120));
        expect((await store.listSigningKeys('alpha'))[0]?.retiredAt?.getTime()).toBe(at(60).getTime());
      });

      it("does not retire another realm's key", async () => {
        const k = key();
        await store.addSigningKey(k);
        await store.retireSigningKey('beta', k.kid, at(60));
        expect((await store.listSigningKeys('alpha'))[0]?.retiredAt).toBeNull();
      });
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/port.ts';
import { credentialsContract } from './credentials.contract.ts';
import { identitiesContract } from './identities.contract.ts';
import { loginSessionsContract } from './login-sessions.contract.ts';
import { mailOutboxContract } from './mail-outbox.contract.ts';
import { oneTimeTokensContract } from './one-time-tokens.contract.ts';
import { realmStateContract } from './realm-state.contract.ts';
import { secretsContract } from './secrets.contract.ts';
import { signingKeysContract } from './signing-keys.contract.ts';
import { smsOutboxContract } from './sms-outbox.contract.ts';
import { userRecordsContract } from './user-records.contract.ts';
import { usersContract } from './users.contract.ts';

/**
 * The store's contract (src/store/port.ts): the contract of each port the Store
 * joins, and what is the Store's own. Every adapter runs this same suite.
 * `makeStore` returns a fresh, empty, migrated store each time.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  usersContract(name, makeStore);
  credentialsContract(name, makeStore);
  identitiesContract(name, makeStore);
  userRecordsContract(name, makeStore);
  loginSessionsContract(name, makeStore);
  signingKeysContract(name, makeStore);
  oneTimeTokensContract(name, makeStore);
  mailOutboxContract(name, makeStore);
  smsOutboxContract(name, makeStore);
  realmStateContract(name, makeStore);
  secretsContract(name, makeStore);

  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

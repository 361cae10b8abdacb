/**
 * Each realm's token-signing keys (identity/keys.ts makes, rotates and caches them). Part of the Store
 * (src/store/port.ts), whose adapters pass test/contract/signing-keys.contract.ts.
 */

export interface SigningKeyRecord {
  kid: string;
  realmId: string;
  alg: string;
  publicJwk: string;
  privateJwk: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface SigningKeysPort {
  listSigningKeys(realmId: string): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  retireSigningKey(realmId: string, kid: string, at: Date): Promise<void>;
}

import type { ManagementKey } from '../domain/management-key.ts';

/** Management API keys, stored by hash (DESIGN.md §2). */
export interface ManagementKeysPort {
  createKey(key: ManagementKey, keyHash: string): Promise<void>;
  /** The key with this hash, revoked or not (the caller checks). */
  findKeyByHash(keyHash: string): Promise<ManagementKey | null>;
  getKey(id: string): Promise<ManagementKey | null>;
  /** Every key, newest first. */
  listKeys(): Promise<ManagementKey[]>;
  /** false when unknown or already revoked. */
  revokeKey(id: string, at: Date): Promise<boolean>;
  touchKey(id: string, at: Date): Promise<void>;
}

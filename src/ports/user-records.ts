import type { User } from '../identity/user.ts';
import type { ExternalIdentity } from './identities.ts';

/**
 * Whole users as the export reads them and the import writes them (`gatehouse users export|import`). Part of
 * the Store (src/store/port.ts), whose adapters pass test/contract/user-records.contract.ts.
 */

/**
 * A user as the export writes it and the import reads it (AuthRocket's data
 * export): the account, its password hash (argon2id, or bcrypt from an
 * import: upgraded at the next login) and its linked identities. Sessions,
 * events, one-time tokens and authenticator secrets (sealed under this
 * installation's SESSION_SECRET) stay behind.
 */
export interface UserRecord {
  user: User;
  passwordHash: string | null;
  identities: ExternalIdentity[];
}

export interface UserRecordsPort {
  /** The realm's users in id order, after `afterId` (null: from the first), at most `limit`: the export reads them page by page. */
  listUsers(realmId: string, afterId: string | null, limit: number): Promise<UserRecord[]>;
  countUsers(realmId: string): Promise<number>;
  /**
   * Writes a user with its own id (and its identities, replacing the stored ones) in one transaction:
   * "created", or "updated" when that id exists (re-running an import changes nothing else). A username,
   * email (with `emailUnique`), phone or identity of *another* user → UniqueViolation, and nothing is written.
   */
  putUser(record: UserRecord, emailUnique: boolean): Promise<'created' | 'updated'>;
}

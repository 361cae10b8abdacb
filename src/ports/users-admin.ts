import type { UserCursor, UserFilter, UserSort } from '../domain/user-query.ts';
import type { AttributeValue, EmailVerification, User } from '../identity/user.ts';
import type { Emit } from './events.ts';
import type { UserRecord } from './user-records.ts';

/**
 * What the management side needs of the users beyond the end-user Store:
 * filtered, sorted, keyset-paged lists; counts; whole-user deletes; API users'
 * keys. Each adapter passes test/contract/users-admin.contract.ts. An `emit` is appended in the same
 * transaction as the change (ports/events.ts): a delete's gets the users it deleted.
 */

/** A change an operator or a management key makes; absent keys stay as they are, null clears. */
export interface AdminUserPatch {
  username?: string;
  email?: string | null;
  /** Required with `email`: whether the realm keeps emails unique (the adapter then enforces it). */
  emailUnique?: boolean;
  emailVerification?: EmailVerification;
  firstName?: string | null;
  lastName?: string | null;
  /** An API user's name (a human's is derived). */
  name?: string | null;
  locale?: string | null;
  state?: 'active' | 'inactive';
  reference?: string | null;
  /** Replaces every custom attribute. */
  customAttributes?: Record<string, AttributeValue>;
  /** An argon2id hash; null removes the password. */
  passwordHash?: string | null;
}

export interface StoredApiKey {
  /** Keyed hash of the key: how a key is found. */
  lookupHash: string;
  /** The key sealed with AES-256-GCM (the realm's "encrypt" policy), else null. */
  sealed: string | null;
  createdAt: Date;
}

/** What bulk delete by filter found: the users deleted, or the count at that moment when it differed from `expect`. */
export type DeleteMatching = { deleted: User[] } | { mismatch: number };

export interface UsersAdminPort {
  /** One page in `sort` order after `after`, at most `limit`; `next` is null on the last page. */
  queryUsers(realmId: string, filter: UserFilter, sort: UserSort, after: UserCursor | null, limit: number): Promise<{ users: User[]; next: UserCursor | null }>;
  countUsers(realmId: string, filter: UserFilter): Promise<number>;
  /** The users with their password hashes and identities, in the order given (the export's rows). */
  recordsOf(realmId: string, users: User[]): Promise<UserRecord[]>;
  /** Applies the patch in one statement and returns the user; null when there is none; UniqueViolation when taken. */
  patchUser(realmId: string, userId: string, patch: AdminUserPatch, at: Date, emit?: Emit<User | null>): Promise<User | null>;
  /** Deletes each user whole (sessions, identities, authenticator, recovery codes, tokens, API key) in one transaction; returns those that existed. */
  deleteUsers(realmId: string, userIds: string[], emit?: Emit<User[]>): Promise<User[]>;
  /** Deletes every user matching `filter`, in one transaction, only while exactly `expect` match. */
  deleteMatching(realmId: string, filter: UserFilter, expect: number, emit?: Emit<User[]>): Promise<DeleteMatching>;
  /** Replaces the user's API key atomically: the old one stops working in the same step. */
  setApiKey(realmId: string, userId: string, key: Omit<StoredApiKey, 'createdAt'>, at: Date, emit?: Emit): Promise<void>;
  getApiKey(realmId: string, userId: string): Promise<StoredApiKey | null>;
  deleteApiKey(realmId: string, userId: string): Promise<boolean>;
  /** The user whose key hashes to `lookupHash`, whatever their state (the caller checks it). */
  findUserByApiKey(realmId: string, lookupHash: string): Promise<User | null>;
}

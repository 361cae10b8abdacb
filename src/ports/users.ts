import type { AttributeValue, EmailVerification, User } from '../identity/user.ts';
import type { Emit } from './events.ts';
import type { ExternalIdentity } from './identities.ts';

/**
 * The end-user side's users: creating them, finding them to sign in, and what the personal center changes
 * (profile, address, phone, password). Part of the Store (src/store/port.ts), whose adapters pass
 * test/contract/users.contract.ts. Uniqueness is the database's job: adapters turn a unique-index violation
 * into UniqueViolation, never check-then-insert. A write that takes an `emit` appends those events in the same
 * transaction as its change (ports/events.ts): a write refused (UniqueViolation) appends none.
 */

export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
  /**
   * identity: the (provider, subject) is linked already, or the user has one of that provider. id: a user id of another realm.
   * membership: the user has a membership of that org already, or a user-only one already (ports/orgs.ts).
   * group: the realm has a group of that name already (any case).
   */
  constructor(readonly field: 'username' | 'email' | 'phone' | 'identity' | 'id' | 'membership' | 'group') {
    super(`${field} is already taken in this realm`);
  }
}

export interface NewUser {
  realmId: string;
  userType: 'human' | 'api';
  username: string;
  email: string | null;
  /** True when the realm requires unique emails: the adapter then enforces it. */
  emailUnique: boolean;
  emailVerification: EmailVerification;
  firstName: string | null;
  lastName: string | null;
  /** An API user's name. */
  name?: string | null;
  reference?: string | null;
  locale: string | null;
  passwordHash: string | null;
  /** 'active' when absent: an operator may create a user inactive, in the same write. */
  state?: 'active' | 'inactive';
  customAttributes?: Record<string, AttributeValue>;
  photo?: string | null;
  /**
   * A social identity the user is created with: stored in the same
   * transaction, so a user is never left behind without the identity it was
   * made for (UniqueViolation 'identity' when it is linked already).
   */
  identity?: Pick<ExternalIdentity, 'provider' | 'subject' | 'displayName' | 'email'>;
}

export interface UserWithPassword {
  user: User;
  passwordHash: string | null;
}

/** What the personal center's profile page may change; absent keys stay as they are, null clears. */
export interface ProfilePatch {
  firstName?: string | null;
  lastName?: string | null;
  nickname?: string | null;
  photo?: string | null;
  locale?: string | null;
  username?: string;
  /** Merged into the stored attributes key by key; a null value removes the key. */
  customAttributes?: Record<string, AttributeValue>;
}

/** A new password and what it owes (identity/new-password.ts), written as one. */
export interface PasswordReplacement {
  passwordHash: string;
  /** One-time token purposes (as stored, e.g. 'reset-password' and 'reset-password-code') whose live tokens of the user end. */
  revokePurposes: readonly string[];
  /** The login session that stays (the one the change is made from); every other live one of the user ends. */
  keepSid?: string;
}

export interface UsersPort {
  createUser(input: NewUser, at: Date, emit?: Emit<User>): Promise<User>;
  findUserById(realmId: string, id: string): Promise<User | null>;
  /** By username or (unique) email, case-insensitively. */
  findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null>;
  /** The stored password hash of user `userId`; null when they have none (or there is no such user in the realm). */
  passwordHashOf(realmId: string, userId: string): Promise<string | null>;
  /** Every user whose email is `email`, compared case-insensitively (several where the realm allows duplicates). */
  findUsersByEmail(realmId: string, email: string): Promise<UserWithPassword[]>;
  recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void>;
  setEmailVerification(realmId: string, userId: string, state: EmailVerification, at: Date, emit?: Emit): Promise<void>;
  /**
   * Changes the address (and the username with it when `syncUsername`), setting the
   * verification state to `verification`. UniqueViolation when taken.
   */
  changeEmail(realmId: string, userId: string, change: { email: string; emailUnique: boolean; syncUsername: boolean; verification: EmailVerification }, at: Date, emit?: Emit<User>): Promise<User>;
  /** null: the account has no password any more (social logins only). */
  setPasswordHash(realmId: string, userId: string, passwordHash: string | null, at: Date): Promise<void>;
  /**
   * Sets a new password and, in the same transaction, ends the user's live one-time tokens of
   * `revokePurposes` and every live login session but `keepSid` (a password never changes while the old
   * sessions live on, nor the other way round). Returns the ids of the sessions ended.
   */
  replacePassword(realmId: string, userId: string, change: PasswordReplacement, at: Date, emit?: Emit<string[]>): Promise<string[]>;
  /** Applies a profile change and returns the user; UniqueViolation('username') when the new username is taken. */
  updateProfile(realmId: string, userId: string, patch: ProfilePatch, at: Date, emit?: Emit<User>): Promise<User>;
  /** Sets (E.164) or clears the phone; UniqueViolation('phone') when another user of the realm has it. */
  setPhone(realmId: string, userId: string, phone: string | null, verified: boolean, at: Date, emit?: Emit<User>): Promise<User>;
}

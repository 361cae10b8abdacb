import type { AttributeValue, EmailVerification, User } from '../identity/user.ts';
import type { EventsPort } from '../ports/events.ts';

/**
 * The store port: what the flows need from persistence, and nothing else.
 * Every adapter (sqlite/, later mongo/) passes test/contract/store.contract.ts.
 * Uniqueness is the database's job: adapters turn a unique-index violation
 * into UniqueViolation, never check-then-insert.
 */

export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
  /** identity: the (provider, subject) is linked already, or the user has one of that provider. id: a user id of another realm. */
  constructor(readonly field: 'username' | 'email' | 'phone' | 'identity' | 'id') {
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

export interface LoginSession {
  id: string;
  realmId: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
  amr: string[];
  /** Authenticator assurance level: 1 for one factor, 2 with MFA. */
  aal: number;
  endedAt: Date | null;
}

export interface SigningKeyRecord {
  kid: string;
  realmId: string;
  alg: string;
  publicJwk: string;
  privateJwk: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface OneTimeToken {
  realmId: string;
  purpose: string;
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  consumedAt: Date | null;
  createdAt: Date;
  /** Wrong guesses so far (codes). */
  attempts: number;
  /** What the flow needs afterwards (e.g. where the user goes), as the flow wrote it. */
  data: Record<string, unknown> | null;
}

export type NewOneTimeToken = Omit<OneTimeToken, 'consumedAt' | 'attempts' | 'data'> & { data?: Record<string, unknown> | null };

/** How checking a short code went: ok (consumed), wrong (one try spent), exhausted (no tries left), none (no live code). */
export type CodeCheck = { result: 'ok'; token: OneTimeToken } | { result: 'wrong' | 'exhausted' | 'none' };

export interface NewOutboxMail {
  realmId: string;
  kind: string;
  userId: string | null;
  to: { address: string; name: string | null };
  from: string;
  subject: string;
  text: string;
  html: string;
  link: string | null;
}

export interface OutboxMail extends NewOutboxMail {
  id: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

/** A text message as the development outbox keeps it (the production webhook stores nothing). */
export interface NewSms {
  realmId: string;
  kind: string;
  userId: string | null;
  /** E.164. */
  to: string;
  text: string;
}

export interface SmsRecord extends NewSms {
  id: string;
  createdAt: Date;
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

/** A user's TOTP authenticator. `secret` is stored as the caller gives it (encrypted by identity/totp). */
export interface TotpCredential {
  realmId: string;
  userId: string;
  secret: string;
  /** Null while enrolment waits for the first code. */
  confirmedAt: Date | null;
  /** The newest time step accepted: a code of this step or older is refused (no replay). */
  lastStep: number;
  createdAt: Date;
}

/** A social identity linked to a user (DESIGN.md §2): (provider, subject) → user. */
export interface ExternalIdentity {
  realmId: string;
  provider: string;
  subject: string;
  userId: string;
  /** What the provider calls the account (login, email), for the personal center. */
  displayName: string | null;
  email: string | null;
  createdAt: Date;
}

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

export interface Store {
  createUser(input: NewUser, at: Date): Promise<User>;
  findUserById(realmId: string, id: string): Promise<User | null>;
  /** By username or (unique) email, case-insensitively. */
  findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null>;
  /** The stored password hash of user `userId`; null when they have none (or there is no such user in the realm). */
  passwordHashOf(realmId: string, userId: string): Promise<string | null>;
  /** Every user whose email is `email`, compared case-insensitively (several where the realm allows duplicates). */
  findUsersByEmail(realmId: string, email: string): Promise<UserWithPassword[]>;
  recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void>;
  setEmailVerification(realmId: string, userId: string, state: EmailVerification, at: Date): Promise<void>;
  /**
   * Changes the address (and the username with it when `syncUsername`), setting the
   * verification state to `verification`. UniqueViolation when taken.
   */
  changeEmail(realmId: string, userId: string, change: { email: string; emailUnique: boolean; syncUsername: boolean; verification: EmailVerification }, at: Date): Promise<User>;
  /** null: the account has no password any more (social logins only). */
  setPasswordHash(realmId: string, userId: string, passwordHash: string | null, at: Date): Promise<void>;
  /** Applies a profile change and returns the user; UniqueViolation('username') when the new username is taken. */
  updateProfile(realmId: string, userId: string, patch: ProfilePatch, at: Date): Promise<User>;
  /** Sets (E.164) or clears the phone; UniqueViolation('phone') when another user of the realm has it. */
  setPhone(realmId: string, userId: string, phone: string | null, verified: boolean, at: Date): Promise<User>;

  /** The user's authenticator, confirmed or still enrolling. */
  getTotp(realmId: string, userId: string): Promise<TotpCredential | null>;
  /** Starts (or restarts) an enrolment with `secret`; false when a confirmed authenticator exists (it is left alone). */
  beginTotp(realmId: string, userId: string, secret: string, at: Date): Promise<boolean>;
  /** Activates the pending authenticator, spending `step`; false when there is none pending. */
  confirmTotp(realmId: string, userId: string, step: number, at: Date): Promise<boolean>;
  /** Records `step` as used when it is newer than the last one, atomically: of two racing calls with one step, one gets true. */
  useTotpStep(realmId: string, userId: string, step: number): Promise<boolean>;
  /** Removes the authenticator and every recovery code; false when there was none. */
  deleteTotp(realmId: string, userId: string): Promise<boolean>;
  /** Replaces every recovery code of the user with these hashes. */
  replaceRecoveryCodes(realmId: string, userId: string, codeHashes: string[], at: Date): Promise<void>;
  /** Spends one unused recovery code, atomically; false when unknown or already used. */
  useRecoveryCode(realmId: string, userId: string, codeHash: string, at: Date): Promise<boolean>;
  /** How many recovery codes are left unused. */
  countRecoveryCodes(realmId: string, userId: string): Promise<number>;

  listExternalIdentities(realmId: string, userId: string): Promise<ExternalIdentity[]>;

  /** The realm's users in id order, after `afterId` (null: from the first), at most `limit`: the export reads them page by page. */
  listUsers(realmId: string, afterId: string | null, limit: number): Promise<UserRecord[]>;
  countUsers(realmId: string): Promise<number>;
  /**
   * Writes a user with its own id (and its identities, replacing the stored ones) in one transaction:
   * "created", or "updated" when that id exists (re-running an import changes nothing else). A username,
   * email (with `emailUnique`), phone or identity of *another* user → UniqueViolation, and nothing is written.
   */
  putUser(record: UserRecord, emailUnique: boolean): Promise<'created' | 'updated'>;
  findExternalIdentity(realmId: string, provider: string, subject: string): Promise<ExternalIdentity | null>;
  /** UniqueViolation('identity') when (provider, subject) is linked already or the user has an identity of that provider. */
  linkExternalIdentity(identity: ExternalIdentity): Promise<void>;
  /**
   * Removes the user's identity of `provider`; false when there was none. With `unlessLast`, only while
   * the user keeps a way in — a password, or an identity of one of those providers — decided in the same
   * atomic step as the delete (two parallel unlinks cannot both take the last way in).
   */
  unlinkExternalIdentity(realmId: string, userId: string, provider: string, unlessLast?: { providers: string[] }): Promise<boolean>;

  /**
   * Starts a login session; false, and nothing written, when its user no longer
   * exists or is not active at that moment (deleted or deactivated while signing in).
   */
  createLoginSession(session: LoginSession): Promise<boolean>;
  findLoginSession(realmId: string, id: string): Promise<LoginSession | null>;
  touchLoginSession(realmId: string, id: string, at: Date): Promise<void>;
  endLoginSession(realmId: string, id: string, at: Date): Promise<boolean>;
  listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]>;
  /** Ends every live session of the user except `exceptId`; returns the ids ended. */
  endLoginSessionsOfUser(realmId: string, userId: string, at: Date, exceptId?: string): Promise<string[]>;

  listSigningKeys(realmId: string): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  retireSigningKey(realmId: string, kid: string, at: Date): Promise<void>;

  createOneTimeToken(token: NewOneTimeToken): Promise<void>;
  /** The live token (not consumed, not expired), without consuming it. */
  findOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null>;
  /** Marks the token consumed and returns it, atomically; null when unknown, expired or already consumed. */
  consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null>;
  /**
   * Checks a short code against the user's newest live token of `purpose`, atomically:
   * a match consumes it; a miss spends one of `maxAttempts` tries.
   */
  checkOneTimeCode(realmId: string, purpose: string, userId: string, codeHash: string, at: Date, maxAttempts: number): Promise<CodeCheck>;
  /** Ends every live token of the user for these purposes (a newer one replaces them, or the password changed). Returns how many. */
  revokeOneTimeTokens(realmId: string, userId: string, purposes: string[], at: Date): Promise<number>;

  /** The realm's event log, on this same database; events/publish.ts is the way to write to it. */
  readonly events: EventsPort;

  enqueueMail(mail: NewOutboxMail, at: Date): Promise<string>;
  /**
   * Takes up to `limit` queued mails that are due and not leased to another worker,
   * leasing them for `leaseMs` and counting the attempt. Atomic: two workers never get the same mail.
   */
  claimDueMail(at: Date, leaseMs: number, limit: number): Promise<OutboxMail[]>;
  markMailSent(id: string, at: Date): Promise<void>;
  /** Back to the queue, due again at `nextAttemptAt`. */
  markMailRetry(id: string, nextAttemptAt: Date, error: string): Promise<void>;
  markMailFailed(id: string, error: string): Promise<void>;
  /** The newest mails first (the development outbox page). */
  listMail(limit: number): Promise<OutboxMail[]>;
  getMail(id: string): Promise<OutboxMail | null>;

  /** Keeps a text message of the development SMS outbox; returns its id. */
  recordSms(sms: NewSms, at: Date): Promise<string>;
  /** The newest text messages first (the development outbox page). */
  listSms(limit: number): Promise<SmsRecord[]>;

  /** Facts about a realm that outlive its configuration (one-way settings). */
  getRealmState(realmId: string, key: string): Promise<string | null>;
  setRealmState(realmId: string, key: string, value: string): Promise<void>;

  /** A process-wide secret, created once by `create` and shared by every instance on this store. */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

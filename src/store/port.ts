import type { AttributeValue, EmailVerification, User } from '../identity/user.ts';

/**
 * The store port: what the flows need from persistence, and nothing else.
 * Every adapter (sqlite/, later mongo/) passes test/contract/store.contract.ts.
 * Uniqueness is the database's job: adapters turn a unique-index violation
 * into UniqueViolation, never check-then-insert.
 */

export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
  constructor(readonly field: 'username' | 'email') {
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
  locale: string | null;
  passwordHash: string | null;
  customAttributes?: Record<string, AttributeValue>;
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
}

export interface AuthEvent {
  realmId: string;
  type: string;
  userId: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
  at: Date;
  data?: Record<string, unknown>;
}

export interface Store {
  createUser(input: NewUser, at: Date): Promise<User>;
  findUserById(realmId: string, id: string): Promise<User | null>;
  /** By username or (unique) email, case-insensitively. */
  findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null>;
  recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void>;

  createLoginSession(session: LoginSession): Promise<void>;
  findLoginSession(realmId: string, id: string): Promise<LoginSession | null>;
  touchLoginSession(realmId: string, id: string, at: Date): Promise<void>;
  endLoginSession(realmId: string, id: string, at: Date): Promise<boolean>;
  listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]>;

  listSigningKeys(realmId: string): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  retireSigningKey(realmId: string, kid: string, at: Date): Promise<void>;

  createOneTimeToken(token: Omit<OneTimeToken, 'consumedAt'>): Promise<void>;
  /** Marks the token consumed and returns it, atomically; null when unknown, expired or already consumed. */
  consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null>;

  appendEvent(event: AuthEvent): Promise<void>;
  listEvents(realmId: string, userId: string, limit: number): Promise<AuthEvent[]>;

  /** A process-wide secret, created once by `create` and shared by every instance on this store. */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { User } from '../../identity/user.ts';
import { nameNormOf, normalizeLogin } from '../../identity/user.ts';
import type { EmailVerification } from '../../identity/user.ts';
import {
  UniqueViolation,
  type CodeCheck,
  type ExternalIdentity,
  type ProfilePatch,
  type TotpCredential,
  type UserRecord,
  type LoginSession,
  type NewOneTimeToken,
  type NewOutboxMail,
  type NewSms,
  type NewUser,
  type OneTimeToken,
  type PasswordReplacement,
  type OutboxMail,
  type SigningKeyRecord,
  type SmsRecord,
  type Store,
  type UserWithPassword,
} from '../port.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import { SqliteEvents } from './events.ts';
import { SqliteInvitations } from './invitations.ts';
import { SqliteInvitationLinks } from './invitation-links.ts';
import { SqliteOrgs } from './orgs.ts';
import { SqliteSessionStore } from './session-store.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export type Row = Record<string, unknown>;
const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));
const str = (v: unknown): string | null => (v == null ? null : String(v));

export function rowToUser(r: Row): User {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    userType: r.user_type as User['userType'],
    username: String(r.username),
    email: str(r.email),
    emailVerification: r.email_verification as User['emailVerification'],
    phone: str(r.phone),
    phoneVerified: r.phone_verified === 1,
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    name: str(r.name),
    nickname: str(r.nickname),
    photo: str(r.photo),
    locale: str(r.locale),
    state: r.state as User['state'],
    reference: str(r.reference),
    customAttributes: JSON.parse(String(r.custom_attributes)) as User['customAttributes'],
    loginsCount: Number(r.logins_count),
    lastLoginAt: date(r.last_login_at),
    lastLoginIp: str(r.last_login_ip),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

function rowToSession(r: Row): LoginSession {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    userId: String(r.user_id),
    createdAt: date(r.created_at)!,
    lastSeenAt: date(r.last_seen_at)!,
    ip: str(r.ip),
    userAgent: str(r.user_agent),
    amr: JSON.parse(String(r.amr)) as string[],
    aal: Number(r.aal),
    endedAt: date(r.ended_at),
    act:
      r.act_sub == null
        ? null
        : { sub: String(r.act_sub), iss: String(r.act_iss), realmId: String(r.act_realm), sid: String(r.act_sid), reason: String(r.act_reason), expiresAt: date(r.act_expires_at)! },
    selectedOrgId: str(r.selected_org_id),
  };
}

function rowToIdentity(r: Row): ExternalIdentity {
  return {
    realmId: String(r.realm_id),
    provider: String(r.provider),
    subject: String(r.subject),
    userId: String(r.user_id),
    displayName: str(r.display_name),
    email: str(r.email),
    createdAt: date(r.created_at)!,
  };
}

function rowToToken(r: Row): OneTimeToken {
  return {
    realmId: String(r.realm_id),
    purpose: String(r.purpose),
    tokenHash: String(r.token_hash),
    userId: String(r.user_id),
    expiresAt: date(r.expires_at)!,
    consumedAt: date(r.consumed_at),
    createdAt: date(r.created_at)!,
    attempts: Number(r.attempts),
    data: r.data == null ? null : (JSON.parse(String(r.data)) as Record<string, unknown>),
  };
}

function rowToMail(r: Row): OutboxMail {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    kind: String(r.kind),
    userId: str(r.user_id),
    to: { address: String(r.to_address), name: str(r.to_name) },
    from: String(r.from_header),
    subject: String(r.subject),
    text: String(r.text_body),
    html: String(r.html_body),
    link: str(r.link),
    status: r.status as OutboxMail['status'],
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at)!,
    lastError: str(r.last_error),
    createdAt: date(r.created_at)!,
    sentAt: date(r.sent_at),
  };
}

export function uniqueViolation(err: unknown): never {
  const e = err as { code?: string; message: string };
  // An identity's (provider, subject) is its table's primary key.
  if (e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && e.message.includes('external_identities')) throw new UniqueViolation('identity');
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    if (e.message.includes('external_identities')) throw new UniqueViolation('identity');
    throw new UniqueViolation(e.message.includes('username_norm') ? 'username' : e.message.includes('users.phone') ? 'phone' : 'email');
  }
  throw err;
}

/**
 * The SET term that keeps name_norm (migration 010) current in an UPDATE of `columns`, each bound as @column:
 * computed from the new values, since a SET's expressions read the row as it was; none when no part of the name changes.
 */
export function nameNormSet(columns: string[]): string[] {
  const parts = ['name', 'first_name', 'last_name', 'username'];
  if (!parts.some((c) => columns.includes(c))) return [];
  return [`name_norm = name_norm_of(${parts.map((c) => (columns.includes(c) ? `@${c}` : c)).join(', ')})`];
}

/** Runs `fn`, again every 10 ms while SQLite answers SQLITE_BUSY, for at most `ms` (the constructor is synchronous). */
function retryWhileBusy<T>(fn: () => T, ms: number): T {
  const until = Date.now() + ms;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw err;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/** Applies the numbered .sql files newer than the database's user_version, each in a transaction. */
function migrate(db: Database.Database): void {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  // One write transaction (BEGIN IMMEDIATE) reads the version and applies what is missing: two processes
  // starting on one new file at once run each migration once (the second waits, then finds nothing to do).
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (const file of files) {
      const version = Number.parseInt(file, 10);
      if (version <= current) continue;
      db.exec(readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
      db.pragma(`user_version = ${version}`);
    }
  }).immediate();
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous; each call is a few microseconds on an indexed row, so the port's
 * promises resolve at once rather than moving work to another thread.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly events: SqliteEvents;
  readonly orgs: SqliteOrgs;
  readonly invitations: SqliteInvitations;
  readonly invitationLinks: SqliteInvitationLinks;
  private readonly stmts;
  private readonly profileUpdates = new Map<string, Database.Statement>();

  /** `file` is a path, or ':memory:' for tests. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 5000 });
    // Switching a new file to WAL takes its exclusive lock, and SQLite answers SQLITE_BUSY at once (no busy
    // handler) while another process opening the same file holds it: that switch is tried again for 5 s.
    retryWhileBusy(() => this.db.pragma('journal_mode = WAL'), 5000);
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    // The users' name_norm (migration 010), in SQL: the statements that write a name, and the migration's back-fill.
    this.db.function('name_norm_of', { deterministic: true }, (name, firstName, lastName, username) =>
      nameNormOf({ name: str(name), firstName: str(firstName), lastName: str(lastName), username: String(username) }),
    );
    migrate(this.db);
    const db = this.db;
    this.events = new SqliteEvents(db);
    this.orgs = new SqliteOrgs(db, this.events);
    this.invitations = new SqliteInvitations(db, this.events);
    this.invitationLinks = new SqliteInvitationLinks(db, this.events);
    this.stmts = {
      insertUser: db.prepare(`INSERT INTO users (id, realm_id, user_type, username, username_norm, email, email_norm,
        email_unique_key, email_verification, first_name, last_name, name, name_norm, reference, locale, photo, password_hash, custom_attributes, state, created_at, updated_at)
        VALUES (@id, @realmId, @userType, @username, @usernameNorm, @email, @emailNorm, @emailUniqueKey, @emailVerification,
        @firstName, @lastName, @name, name_norm_of(@name, @firstName, @lastName, @username), @reference, @locale, @photo, @passwordHash, @customAttributes, @state, @at, @at)`),
      userById: db.prepare('SELECT * FROM users WHERE realm_id = ? AND id = ?'),
      passwordHashById: db.prepare('SELECT password_hash FROM users WHERE realm_id = ? AND id = ?'),
      userByLogin: db.prepare(`SELECT * FROM users WHERE realm_id = @realmId AND (username_norm = @login OR email_unique_key = @login)
        ORDER BY username_norm = @login DESC LIMIT 1`),
      recordLogin: db.prepare(`UPDATE users SET logins_count = logins_count + 1, last_login_at = ?, last_login_ip = ?
        WHERE realm_id = ? AND id = ?`),
      // One statement: a user deleted or deactivated a moment before gets no session (writes are serialised).
      insertSession: db.prepare(`INSERT INTO login_sessions (id, realm_id, user_id, created_at, last_seen_at, ip, user_agent, amr, aal,
          act_sub, act_iss, act_realm, act_sid, act_reason, act_expires_at)
        SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE realm_id = ? AND id = ? AND state = 'active')`),
      sessionById: db.prepare('SELECT * FROM login_sessions WHERE realm_id = ? AND id = ?'),
      touchSession: db.prepare('UPDATE login_sessions SET last_seen_at = ? WHERE realm_id = ? AND id = ? AND ended_at IS NULL'),
      endSession: db.prepare('UPDATE login_sessions SET ended_at = ? WHERE realm_id = ? AND id = ? AND ended_at IS NULL'),
      selectOrg: db.prepare('UPDATE login_sessions SET selected_org_id = ? WHERE realm_id = ? AND id = ? AND ended_at IS NULL'),
      sessionsOfUser: db.prepare('SELECT * FROM login_sessions WHERE realm_id = ? AND user_id = ? ORDER BY created_at DESC'),
      // From the covering index login_sessions_live (migration 013).
      countLiveSessions: db.prepare(`SELECT COUNT(*) FROM login_sessions
        WHERE realm_id = @realmId AND ended_at IS NULL AND last_seen_at >= @idleSince AND created_at >= @createdSince`).pluck(),
      keysOfRealm: db.prepare('SELECT * FROM signing_keys WHERE realm_id = ? ORDER BY created_at DESC, kid'),
      insertKey: db.prepare(`INSERT OR IGNORE INTO signing_keys (realm_id, kid, alg, public_jwk, private_jwk, created_at, retired_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      retireKey: db.prepare('UPDATE signing_keys SET retired_at = ? WHERE realm_id = ? AND kid = ? AND retired_at IS NULL'),
      insertToken: db.prepare(`INSERT OR REPLACE INTO one_time_tokens (realm_id, purpose, token_hash, user_id, expires_at, created_at, data)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      consumeToken: db.prepare(`UPDATE one_time_tokens SET consumed_at = @at
        WHERE realm_id = @realmId AND purpose = @purpose AND token_hash = @tokenHash AND consumed_at IS NULL AND expires_at > @at
        RETURNING *`),
      usersByEmail: db.prepare('SELECT * FROM users WHERE realm_id = ? AND email_norm = ? ORDER BY created_at, id'),
      setVerification: db.prepare('UPDATE users SET email_verification = ?, updated_at = ? WHERE realm_id = ? AND id = ?'),
      changeEmail: db.prepare(`UPDATE users SET email = @email, email_norm = @emailNorm, email_unique_key = @emailUniqueKey,
        email_verification = @verification, updated_at = @at,
        username = CASE WHEN @syncUsername THEN @email ELSE username END,
        username_norm = CASE WHEN @syncUsername THEN @emailNorm ELSE username_norm END,
        name_norm = name_norm_of(name, first_name, last_name, CASE WHEN @syncUsername THEN @email ELSE username END)
        WHERE realm_id = @realmId AND id = @userId`),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE realm_id = ? AND id = ?'),
      endSessionsOfUser: db.prepare(`UPDATE login_sessions SET ended_at = @at
        WHERE realm_id = @realmId AND user_id = @userId AND ended_at IS NULL AND id IS NOT @exceptId RETURNING id`),
      findToken: db.prepare(`SELECT * FROM one_time_tokens
        WHERE realm_id = ? AND purpose = ? AND token_hash = ? AND consumed_at IS NULL AND expires_at > ?`),
      newestLiveToken: db.prepare(`SELECT * FROM one_time_tokens
        WHERE realm_id = ? AND purpose = ? AND user_id = ? AND consumed_at IS NULL AND expires_at > ?
        ORDER BY created_at DESC LIMIT 1`),
      spendAttempt: db.prepare('UPDATE one_time_tokens SET attempts = attempts + 1 WHERE realm_id = ? AND purpose = ? AND token_hash = ?'),
      consumeByHash: db.prepare('UPDATE one_time_tokens SET consumed_at = ? WHERE realm_id = ? AND purpose = ? AND token_hash = ? AND consumed_at IS NULL'),
      revokeTokens: db.prepare(`UPDATE one_time_tokens SET consumed_at = @at
        WHERE realm_id = @realmId AND user_id = @userId AND consumed_at IS NULL AND expires_at > @at
          AND purpose IN (SELECT value FROM json_each(@purposes))`),
      insertMail: db.prepare(`INSERT INTO outbox (id, realm_id, kind, user_id, to_address, to_name, from_header, subject, text_body, html_body,
        link, next_attempt_at, created_at) VALUES (@id, @realmId, @kind, @userId, @toAddress, @toName, @from, @subject, @text, @html, @link, @at, @at)`),
      claimMail: db.prepare(`UPDATE outbox SET lease_until = @leaseUntil, attempts = attempts + 1
        WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= @at AND (lease_until IS NULL OR lease_until <= @at)
          ORDER BY next_attempt_at, created_at LIMIT @limit)
        RETURNING *`),
      mailSent: db.prepare(`UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL WHERE id = ?`),
      mailRetry: db.prepare(`UPDATE outbox SET next_attempt_at = ?, last_error = ?, lease_until = NULL WHERE id = ? AND status = 'queued'`),
      mailFailed: db.prepare(`UPDATE outbox SET status = 'failed', last_error = ?, lease_until = NULL WHERE id = ?`),
      recentMail: db.prepare('SELECT * FROM outbox ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      mailById: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      insertSms: db.prepare(`INSERT INTO sms_outbox (id, realm_id, kind, user_id, to_number, text_body, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      recentSms: db.prepare('SELECT * FROM sms_outbox ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      realmState: db.prepare('SELECT value FROM realm_state WHERE realm_id = ? AND key = ?'),
      setRealmState: db.prepare(`INSERT INTO realm_state (realm_id, key, value) VALUES (?, ?, ?)
        ON CONFLICT (realm_id, key) DO UPDATE SET value = excluded.value`),
      setPhone: db.prepare('UPDATE users SET phone = ?, phone_verified = ?, updated_at = ? WHERE realm_id = ? AND id = ?'),
      totpOf: db.prepare('SELECT * FROM totp_credentials WHERE realm_id = ? AND user_id = ?'),
      beginTotp: db.prepare(`INSERT INTO totp_credentials (realm_id, user_id, secret, created_at) VALUES (@realmId, @userId, @secret, @at)
        ON CONFLICT (realm_id, user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
        WHERE confirmed_at IS NULL`),
      confirmTotp: db.prepare(`UPDATE totp_credentials SET confirmed_at = ?, last_step = ?
        WHERE realm_id = ? AND user_id = ? AND confirmed_at IS NULL`),
      useTotpStep: db.prepare(`UPDATE totp_credentials SET last_step = @step
        WHERE realm_id = @realmId AND user_id = @userId AND confirmed_at IS NOT NULL AND last_step < @step`),
      deleteTotp: db.prepare('DELETE FROM totp_credentials WHERE realm_id = ? AND user_id = ?'),
      deleteRecoveryCodes: db.prepare('DELETE FROM recovery_codes WHERE realm_id = ? AND user_id = ?'),
      insertRecoveryCode: db.prepare('INSERT OR IGNORE INTO recovery_codes (realm_id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)'),
      useRecoveryCode: db.prepare(`UPDATE recovery_codes SET used_at = ?
        WHERE realm_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL`),
      countRecoveryCodes: db.prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE realm_id = ? AND user_id = ? AND used_at IS NULL'),
      identitiesOfUser: db.prepare('SELECT * FROM external_identities WHERE realm_id = ? AND user_id = ? ORDER BY created_at, provider'),
      usersPage: db.prepare('SELECT * FROM users WHERE realm_id = ? AND id > ? ORDER BY id LIMIT ?'),
      identitiesOfUsers: db.prepare('SELECT * FROM external_identities WHERE realm_id = ? AND user_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, provider'),
      countUsers: db.prepare('SELECT COUNT(*) AS n FROM users WHERE realm_id = ?'),
      realmOfUser: db.prepare('SELECT realm_id FROM users WHERE id = ?'),
      putUser: db.prepare(`INSERT INTO users (id, realm_id, user_type, username, username_norm, email, email_norm, email_unique_key, email_verification,
          phone, phone_verified, first_name, last_name, name, name_norm, nickname, photo, locale, state, reference, custom_attributes, password_hash,
          logins_count, last_login_at, last_login_ip, created_at, updated_at)
        VALUES (@id, @realmId, @userType, @username, @usernameNorm, @email, @emailNorm, @emailUniqueKey, @emailVerification,
          @phone, @phoneVerified, @firstName, @lastName, @name, name_norm_of(@name, @firstName, @lastName, @username), @nickname, @photo, @locale,
          @state, @reference, @customAttributes, @passwordHash, @loginsCount, @lastLoginAt, @lastLoginIp, @createdAt, @updatedAt)
        ON CONFLICT (id) DO UPDATE SET user_type = excluded.user_type, username = excluded.username, username_norm = excluded.username_norm,
          email = excluded.email, email_norm = excluded.email_norm, email_unique_key = excluded.email_unique_key,
          email_verification = excluded.email_verification, phone = excluded.phone, phone_verified = excluded.phone_verified,
          first_name = excluded.first_name, last_name = excluded.last_name, name = excluded.name, name_norm = excluded.name_norm,
          nickname = excluded.nickname, photo = excluded.photo,
          locale = excluded.locale, state = excluded.state, reference = excluded.reference, custom_attributes = excluded.custom_attributes,
          password_hash = excluded.password_hash, logins_count = excluded.logins_count, last_login_at = excluded.last_login_at,
          last_login_ip = excluded.last_login_ip, created_at = excluded.created_at, updated_at = excluded.updated_at`),
      deleteIdentitiesOfUser: db.prepare('DELETE FROM external_identities WHERE realm_id = ? AND user_id = ?'),
      identityBySubject: db.prepare('SELECT * FROM external_identities WHERE realm_id = ? AND provider = ? AND subject = ?'),
      insertIdentity: db.prepare(`INSERT INTO external_identities (realm_id, provider, subject, user_id, display_name, email, created_at)
        VALUES (@realmId, @provider, @subject, @userId, @displayName, @email, @at)`),
      deleteIdentity: db.prepare('DELETE FROM external_identities WHERE realm_id = ? AND user_id = ? AND provider = ?'),
      deleteIdentityUnlessLast: db.prepare(`DELETE FROM external_identities WHERE realm_id = @realmId AND user_id = @userId AND provider = @provider
        AND (EXISTS (SELECT 1 FROM users WHERE realm_id = @realmId AND id = @userId AND password_hash IS NOT NULL)
          OR EXISTS (SELECT 1 FROM external_identities o WHERE o.realm_id = @realmId AND o.user_id = @userId AND o.provider <> @provider
            AND o.provider IN (SELECT value FROM json_each(@others))))`),
      secretByName: db.prepare('SELECT value FROM secrets WHERE name = ?'),
      insertSecret: db.prepare('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
    };
  }

  async createUser(input: NewUser, at: Date, emit?: Emit<User>): Promise<User> {
    const id = randomUUID();
    const emailNorm = input.email == null ? null : normalizeLogin(input.email);
    const insert = this.db.transaction(() => {
      this.stmts.insertUser.run({
        id,
        realmId: input.realmId,
        userType: input.userType,
        username: input.username,
        usernameNorm: normalizeLogin(input.username),
        email: input.email,
        emailNorm,
        emailUniqueKey: input.emailUnique ? emailNorm : null,
        emailVerification: input.emailVerification,
        firstName: input.firstName,
        lastName: input.lastName,
        name: input.name ?? null,
        reference: input.reference ?? null,
        locale: input.locale,
        photo: input.photo ?? null,
        passwordHash: input.passwordHash,
        customAttributes: JSON.stringify(input.customAttributes ?? {}),
        state: input.state ?? 'active',
        at: at.getTime(),
      });
      if (input.identity) this.stmts.insertIdentity.run({ ...input.identity, realmId: input.realmId, userId: id, at: at.getTime() });
      const user = rowToUser(this.stmts.userById.get(input.realmId, id) as Row);
      this.events.insertAll(emitted(emit, user));
      return user;
    });
    try {
      return insert();
    } catch (err) {
      uniqueViolation(err);
    }
  }

  async findUsersByEmail(realmId: string, email: string): Promise<UserWithPassword[]> {
    return (this.stmts.usersByEmail.all(realmId, normalizeLogin(email)) as Row[]).map((row) => ({ user: rowToUser(row), passwordHash: str(row.password_hash) }));
  }

  async setEmailVerification(realmId: string, userId: string, state: EmailVerification, at: Date, emit?: Emit): Promise<void> {
    this.events.withEvents(() => void this.stmts.setVerification.run(state, at.getTime(), realmId, userId), emit);
  }

  async changeEmail(
    realmId: string,
    userId: string,
    change: { email: string; emailUnique: boolean; syncUsername: boolean; verification: EmailVerification },
    at: Date,
    emit?: Emit<User>,
  ): Promise<User> {
    const emailNorm = normalizeLogin(change.email);
    try {
      return this.events.withEvents(() => {
        this.stmts.changeEmail.run({
          realmId,
          userId,
          email: change.email,
          emailNorm,
          emailUniqueKey: change.emailUnique ? emailNorm : null,
          verification: change.verification,
          syncUsername: change.syncUsername ? 1 : 0,
          at: at.getTime(),
        });
        const row = this.stmts.userById.get(realmId, userId) as Row | undefined;
        if (!row) throw new Error(`changeEmail: no user ${userId} in realm ${realmId}`);
        return rowToUser(row);
      }, emit);
    } catch (err) {
      uniqueViolation(err);
    }
  }

  async setPasswordHash(realmId: string, userId: string, passwordHash: string | null, at: Date): Promise<void> {
    this.stmts.setPassword.run(passwordHash, at.getTime(), realmId, userId);
  }

  async replacePassword(realmId: string, userId: string, change: PasswordReplacement, at: Date, emit?: Emit<string[]>): Promise<string[]> {
    return this.db.transaction(() => {
      this.stmts.setPassword.run(change.passwordHash, at.getTime(), realmId, userId);
      this.stmts.revokeTokens.run({ at: at.getTime(), realmId, userId, purposes: JSON.stringify(change.revokePurposes) });
      const sids = (this.stmts.endSessionsOfUser.all({ at: at.getTime(), realmId, userId, exceptId: change.keepSid ?? null }) as Row[]).map((r) => String(r.id));
      this.events.insertAll(emitted(emit, sids));
      return sids;
    })();
  }

  async updateProfile(realmId: string, userId: string, patch: ProfilePatch, at: Date, emit?: Emit<User>): Promise<User> {
    const columns: Record<string, unknown> = {};
    const plain = { firstName: 'first_name', lastName: 'last_name', nickname: 'nickname', photo: 'photo', locale: 'locale' } as const;
    for (const [key, column] of Object.entries(plain)) {
      const value = patch[key as keyof typeof plain];
      if (value !== undefined) columns[column] = value;
    }
    if (patch.username !== undefined) {
      columns.username = patch.username;
      columns.username_norm = normalizeLogin(patch.username);
    }
    if (patch.customAttributes) {
      // Merged into what is stored: the one read before the write.
      const row = this.stmts.userById.get(realmId, userId) as Row | undefined;
      if (!row) throw new Error(`updateProfile: no user ${userId} in realm ${realmId}`);
      const merged = { ...(JSON.parse(String(row.custom_attributes)) as Record<string, unknown>) };
      for (const [k, v] of Object.entries(patch.customAttributes)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      columns.custom_attributes = JSON.stringify(merged);
    }
    columns.updated_at = at.getTime();
    const update = this.profileUpdate(Object.keys(columns));
    try {
      return this.events.withEvents(() => {
        const row = update.get({ ...columns, realmId, userId }) as Row | undefined;
        if (!row) throw new Error(`updateProfile: no user ${userId} in realm ${realmId}`);
        return rowToUser(row);
      }, emit);
    } catch (err) {
      uniqueViolation(err);
    }
  }

  /** updateProfile's statement for this set of columns, prepared once: a form changes the same few sets again and again. */
  private profileUpdate(columns: string[]): Database.Statement {
    const key = columns.join(',');
    let update = this.profileUpdates.get(key);
    if (!update) {
      // Column names come from updateProfile's fixed map, never from input.
      const sets = [...columns.map((c) => `${c} = @${c}`), ...nameNormSet(columns)].join(', ');
      update = this.db.prepare(`UPDATE users SET ${sets} WHERE realm_id = @realmId AND id = @userId RETURNING *`);
      this.profileUpdates.set(key, update);
    }
    return update;
  }

  async setPhone(realmId: string, userId: string, phone: string | null, verified: boolean, at: Date, emit?: Emit<User>): Promise<User> {
    try {
      return this.events.withEvents(() => {
        this.stmts.setPhone.run(phone, phone && verified ? 1 : 0, at.getTime(), realmId, userId);
        const row = this.stmts.userById.get(realmId, userId) as Row | undefined;
        if (!row) throw new Error(`setPhone: no user ${userId} in realm ${realmId}`);
        return rowToUser(row);
      }, emit);
    } catch (err) {
      uniqueViolation(err);
    }
  }

  async getTotp(realmId: string, userId: string): Promise<TotpCredential | null> {
    const r = this.stmts.totpOf.get(realmId, userId) as Row | undefined;
    if (!r) return null;
    return { realmId, userId, secret: String(r.secret), confirmedAt: date(r.confirmed_at), lastStep: Number(r.last_step), createdAt: date(r.created_at)! };
  }

  async beginTotp(realmId: string, userId: string, secret: string, at: Date): Promise<boolean> {
    return this.stmts.beginTotp.run({ realmId, userId, secret, at: at.getTime() }).changes === 1;
  }

  async confirmTotp(realmId: string, userId: string, step: number, at: Date, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(() => this.stmts.confirmTotp.run(at.getTime(), step, realmId, userId).changes === 1, emit);
  }

  async useTotpStep(realmId: string, userId: string, step: number): Promise<boolean> {
    return this.stmts.useTotpStep.run({ realmId, userId, step }).changes === 1;
  }

  async deleteTotp(realmId: string, userId: string, emit?: Emit<boolean>): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.deleteRecoveryCodes.run(realmId, userId);
      const removed = this.stmts.deleteTotp.run(realmId, userId).changes === 1;
      this.events.insertAll(emitted(emit, removed));
      return removed;
    })();
  }

  async replaceRecoveryCodes(realmId: string, userId: string, codeHashes: string[], at: Date, emit?: Emit): Promise<void> {
    this.db.transaction(() => {
      this.stmts.deleteRecoveryCodes.run(realmId, userId);
      for (const hash of codeHashes) this.stmts.insertRecoveryCode.run(realmId, userId, hash, at.getTime());
      this.events.insertAll(emitted(emit, undefined));
    })();
  }

  async useRecoveryCode(realmId: string, userId: string, codeHash: string, at: Date): Promise<boolean> {
    return this.stmts.useRecoveryCode.run(at.getTime(), realmId, userId, codeHash).changes === 1;
  }

  async countRecoveryCodes(realmId: string, userId: string): Promise<number> {
    return Number((this.stmts.countRecoveryCodes.get(realmId, userId) as Row).n);
  }

  async listExternalIdentities(realmId: string, userId: string): Promise<ExternalIdentity[]> {
    return (this.stmts.identitiesOfUser.all(realmId, userId) as Row[]).map(rowToIdentity);
  }

  async listUsers(realmId: string, afterId: string | null, limit: number): Promise<UserRecord[]> {
    const rows = this.stmts.usersPage.all(realmId, afterId ?? '', limit) as Row[];
    if (rows.length === 0) return [];
    const identities = new Map<string, ExternalIdentity[]>();
    for (const r of this.stmts.identitiesOfUsers.all(realmId, JSON.stringify(rows.map((u) => u.id))) as Row[]) {
      const identity = rowToIdentity(r);
      identities.set(identity.userId, [...(identities.get(identity.userId) ?? []), identity]);
    }
    return rows.map((r) => ({ user: rowToUser(r), passwordHash: str(r.password_hash), identities: identities.get(String(r.id)) ?? [] }));
  }

  async countUsers(realmId: string): Promise<number> {
    return Number((this.stmts.countUsers.get(realmId) as Row).n);
  }

  async putUser(record: UserRecord, emailUnique: boolean): Promise<'created' | 'updated'> {
    const u = record.user;
    const emailNorm = u.email == null ? null : normalizeLogin(u.email);
    const put = this.db.transaction((): 'created' | 'updated' => {
      const owner = this.stmts.realmOfUser.get(u.id) as Row | undefined;
      // Ids are global: an id of another realm's user is not this record's to overwrite.
      if (owner && owner.realm_id !== u.realmId) throw new UniqueViolation('id');
      this.stmts.putUser.run({
        id: u.id,
        realmId: u.realmId,
        userType: u.userType,
        username: u.username,
        usernameNorm: normalizeLogin(u.username),
        email: u.email,
        emailNorm,
        emailUniqueKey: emailUnique ? emailNorm : null,
        emailVerification: u.emailVerification,
        phone: u.phone,
        phoneVerified: u.phoneVerified ? 1 : 0,
        firstName: u.firstName,
        lastName: u.lastName,
        name: u.name,
        nickname: u.nickname,
        photo: u.photo,
        locale: u.locale,
        state: u.state,
        reference: u.reference,
        customAttributes: JSON.stringify(u.customAttributes ?? {}),
        passwordHash: record.passwordHash,
        loginsCount: u.loginsCount,
        lastLoginAt: u.lastLoginAt?.getTime() ?? null,
        lastLoginIp: u.lastLoginIp,
        createdAt: u.createdAt.getTime(),
        updatedAt: u.updatedAt.getTime(),
      });
      this.stmts.deleteIdentitiesOfUser.run(u.realmId, u.id);
      for (const i of record.identities) this.stmts.insertIdentity.run({ ...i, realmId: u.realmId, userId: u.id, at: i.createdAt.getTime() });
      return owner ? 'updated' : 'created';
    });
    try {
      return put();
    } catch (err) {
      if (err instanceof UniqueViolation) throw err;
      uniqueViolation(err);
    }
  }

  async findExternalIdentity(realmId: string, provider: string, subject: string): Promise<ExternalIdentity | null> {
    const row = this.stmts.identityBySubject.get(realmId, provider, subject) as Row | undefined;
    return row ? rowToIdentity(row) : null;
  }

  async linkExternalIdentity(identity: ExternalIdentity, emit?: Emit): Promise<void> {
    try {
      this.events.withEvents(() => void this.stmts.insertIdentity.run({ ...identity, at: identity.createdAt.getTime() }), emit);
    } catch (err) {
      uniqueViolation(err);
    }
  }

  async unlinkExternalIdentity(realmId: string, userId: string, provider: string, unlessLast?: { providers: string[] }, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(() => {
      if (!unlessLast) return this.stmts.deleteIdentity.run(realmId, userId, provider).changes > 0;
      return this.stmts.deleteIdentityUnlessLast.run({ realmId, userId, provider, others: JSON.stringify(unlessLast.providers) }).changes > 0;
    }, emit);
  }

  async endLoginSessionsOfUser(realmId: string, userId: string, at: Date, exceptId?: string, emit?: Emit<string[]>): Promise<string[]> {
    return this.events.withEvents(() => (this.stmts.endSessionsOfUser.all({ at: at.getTime(), realmId, userId, exceptId: exceptId ?? null }) as Row[]).map((r) => String(r.id)), emit);
  }

  async findUserById(realmId: string, id: string): Promise<User | null> {
    const row = this.stmts.userById.get(realmId, id) as Row | undefined;
    return row ? rowToUser(row) : null;
  }

  async findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null> {
    const row = this.stmts.userByLogin.get({ realmId, login: normalizeLogin(login) }) as Row | undefined;
    return row ? { user: rowToUser(row), passwordHash: str(row.password_hash) } : null;
  }

  async passwordHashOf(realmId: string, userId: string): Promise<string | null> {
    const row = this.stmts.passwordHashById.get(realmId, userId) as Row | undefined;
    return row ? str(row.password_hash) : null;
  }

  async recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void> {
    this.stmts.recordLogin.run(at.getTime(), ip, realmId, userId);
  }

  async createLoginSession(s: LoginSession, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(
      () => {
        const act = s.act;
        return (
          this.stmts.insertSession.run(
            s.id,
            s.realmId,
            s.userId,
            s.createdAt.getTime(),
            s.lastSeenAt.getTime(),
            s.ip,
            s.userAgent,
            JSON.stringify(s.amr),
            s.aal,
            act?.sub ?? null,
            act?.iss ?? null,
            act?.realmId ?? null,
            act?.sid ?? null,
            act?.reason ?? null,
            act ? act.expiresAt.getTime() : null,
            s.realmId,
            s.userId,
          ).changes > 0
        );
      },
      emit,
    );
  }

  async findLoginSession(realmId: string, id: string): Promise<LoginSession | null> {
    const row = this.stmts.sessionById.get(realmId, id) as Row | undefined;
    return row ? rowToSession(row) : null;
  }

  async touchLoginSession(realmId: string, id: string, at: Date): Promise<void> {
    this.stmts.touchSession.run(at.getTime(), realmId, id);
  }

  async setSelectedOrg(realmId: string, id: string, orgId: string | null): Promise<boolean> {
    return this.stmts.selectOrg.run(orgId, realmId, id).changes > 0;
  }

  async endLoginSession(realmId: string, id: string, at: Date, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(() => this.stmts.endSession.run(at.getTime(), realmId, id).changes === 1, emit);
  }

  async listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]> {
    return (this.stmts.sessionsOfUser.all(realmId, userId) as Row[]).map(rowToSession);
  }

  async countLive(realmId: string, idleSince: Date, createdSince: Date): Promise<number> {
    return Number(this.stmts.countLiveSessions.get({ realmId, idleSince: idleSince.getTime(), createdSince: createdSince.getTime() }));
  }

  async listSigningKeys(realmId: string): Promise<SigningKeyRecord[]> {
    return (this.stmts.keysOfRealm.all(realmId) as Row[]).map((r) => ({
      kid: String(r.kid),
      realmId: String(r.realm_id),
      alg: String(r.alg),
      publicJwk: String(r.public_jwk),
      privateJwk: String(r.private_jwk),
      createdAt: date(r.created_at)!,
      retiredAt: date(r.retired_at),
    }));
  }

  async addSigningKey(k: SigningKeyRecord): Promise<void> {
    this.stmts.insertKey.run(k.realmId, k.kid, k.alg, k.publicJwk, k.privateJwk, k.createdAt.getTime(), k.retiredAt?.getTime() ?? null);
  }

  async retireSigningKey(realmId: string, kid: string, at: Date): Promise<void> {
    this.stmts.retireKey.run(at.getTime(), realmId, kid);
  }

  async createOneTimeToken(t: NewOneTimeToken, emit?: Emit): Promise<void> {
    this.events.withEvents(() => void this.stmts.insertToken.run(t.realmId, t.purpose, t.tokenHash, t.userId, t.expiresAt.getTime(), t.createdAt.getTime(), t.data ? JSON.stringify(t.data) : null), emit);
  }

  async findOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null> {
    const row = this.stmts.findToken.get(realmId, purpose, tokenHash, at.getTime()) as Row | undefined;
    return row ? rowToToken(row) : null;
  }

  async consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date, emit?: Emit<OneTimeToken | null>): Promise<OneTimeToken | null> {
    return this.events.withEvents(() => {
      const row = this.stmts.consumeToken.get({ realmId, purpose, tokenHash, at: at.getTime() }) as Row | undefined;
      return row ? rowToToken(row) : null;
    }, emit);
  }

  async checkOneTimeCode(realmId: string, purpose: string, userId: string, codeHash: string, at: Date, maxAttempts: number): Promise<CodeCheck> {
    // One synchronous transaction: no other check of the same code can interleave.
    return this.db.transaction((): CodeCheck => {
      const row = this.stmts.newestLiveToken.get(realmId, purpose, userId, at.getTime()) as Row | undefined;
      if (!row) return { result: 'none' };
      const token = rowToToken(row);
      if (token.attempts >= maxAttempts) return { result: 'exhausted' };
      if (token.tokenHash === codeHash) {
        this.stmts.consumeByHash.run(at.getTime(), realmId, purpose, token.tokenHash);
        return { result: 'ok', token: { ...token, consumedAt: at } };
      }
      this.stmts.spendAttempt.run(realmId, purpose, token.tokenHash);
      return { result: token.attempts + 1 >= maxAttempts ? 'exhausted' : 'wrong' };
    })();
  }

  async revokeOneTimeTokens(realmId: string, userId: string, purposes: string[], at: Date): Promise<number> {
    return this.stmts.revokeTokens.run({ at: at.getTime(), realmId, userId, purposes: JSON.stringify(purposes) }).changes;
  }

  async enqueueMail(m: NewOutboxMail, at: Date): Promise<string> {
    const id = randomUUID();
    this.stmts.insertMail.run({
      id,
      realmId: m.realmId,
      kind: m.kind,
      userId: m.userId,
      toAddress: m.to.address,
      toName: m.to.name,
      from: m.from,
      subject: m.subject,
      text: m.text,
      html: m.html,
      link: m.link,
      at: at.getTime(),
    });
    return id;
  }

  async claimDueMail(at: Date, leaseMs: number, limit: number): Promise<OutboxMail[]> {
    return (this.stmts.claimMail.all({ at: at.getTime(), leaseUntil: at.getTime() + leaseMs, limit }) as Row[]).map(rowToMail);
  }

  async markMailSent(id: string, at: Date): Promise<void> {
    this.stmts.mailSent.run(at.getTime(), id);
  }

  async markMailRetry(id: string, nextAttemptAt: Date, error: string): Promise<void> {
    this.stmts.mailRetry.run(nextAttemptAt.getTime(), error.slice(0, 1000), id);
  }

  async markMailFailed(id: string, error: string): Promise<void> {
    this.stmts.mailFailed.run(error.slice(0, 1000), id);
  }

  async listMail(limit: number): Promise<OutboxMail[]> {
    return (this.stmts.recentMail.all(limit) as Row[]).map(rowToMail);
  }

  async getMail(id: string): Promise<OutboxMail | null> {
    const row = this.stmts.mailById.get(id) as Row | undefined;
    return row ? rowToMail(row) : null;
  }

  async recordSms(sms: NewSms, at: Date): Promise<string> {
    const id = randomUUID();
    this.stmts.insertSms.run(id, sms.realmId, sms.kind, sms.userId, sms.to, sms.text, at.getTime());
    return id;
  }

  async listSms(limit: number): Promise<SmsRecord[]> {
    return (this.stmts.recentSms.all(limit) as Row[]).map((r) => ({
      id: String(r.id),
      realmId: String(r.realm_id),
      kind: String(r.kind),
      userId: str(r.user_id),
      to: String(r.to_number),
      text: String(r.text_body),
      createdAt: date(r.created_at)!,
    }));
  }

  async getRealmState(realmId: string, key: string): Promise<string | null> {
    const row = this.stmts.realmState.get(realmId, key) as Row | undefined;
    return row ? String(row.value) : null;
  }

  async setRealmState(realmId: string, key: string, value: string): Promise<void> {
    this.stmts.setRealmState.run(realmId, key, value);
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    // INSERT OR IGNORE then read: whoever inserted first wins, every caller gets that value.
    this.stmts.insertSecret.run(name, create());
    return String((this.stmts.secretByName.get(name) as Row).value);
  }

  /** express-session's store on this same database. */
  sessionStore(): SqliteSessionStore {
    return new SqliteSessionStore(this.db);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

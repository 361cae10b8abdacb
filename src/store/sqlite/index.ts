import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { User } from '../../identity/user.ts';
import { normalizeLogin } from '../../identity/user.ts';
import {
  UniqueViolation,
  type AuthEvent,
  type LoginSession,
  type NewUser,
  type OneTimeToken,
  type SigningKeyRecord,
  type Store,
  type UserWithPassword,
} from '../port.ts';
import { SqliteSessionStore } from './session-store.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

type Row = Record<string, unknown>;
const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));
const str = (v: unknown): string | null => (v == null ? null : String(v));

function rowToUser(r: Row): User {
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
  };
}

/** Applies the numbered .sql files newer than the database's user_version, each in a transaction. */
function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    if (version <= current) continue;
    const sql = readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous; each call is a few microseconds on an indexed row, so the port's
 * promises resolve at once rather than moving work to another thread.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly stmts;

  /** `file` is a path, or ':memory:' for tests. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    const db = this.db;
    this.stmts = {
      insertUser: db.prepare(`INSERT INTO users (id, realm_id, user_type, username, username_norm, email, email_norm,
        email_unique_key, email_verification, first_name, last_name, locale, password_hash, custom_attributes, created_at, updated_at)
        VALUES (@id, @realmId, @userType, @username, @usernameNorm, @email, @emailNorm, @emailUniqueKey, @emailVerification,
        @firstName, @lastName, @locale, @passwordHash, @customAttributes, @at, @at)`),
      userById: db.prepare('SELECT * FROM users WHERE realm_id = ? AND id = ?'),
      userByLogin: db.prepare(`SELECT * FROM users WHERE realm_id = @realmId AND (username_norm = @login OR email_unique_key = @login)
        ORDER BY username_norm = @login DESC LIMIT 1`),
      recordLogin: db.prepare(`UPDATE users SET logins_count = logins_count + 1, last_login_at = ?, last_login_ip = ?
        WHERE realm_id = ? AND id = ?`),
      insertSession: db.prepare(`INSERT INTO login_sessions (id, realm_id, user_id, created_at, last_seen_at, ip, user_agent, amr, aal)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      sessionById: db.prepare('SELECT * FROM login_sessions WHERE realm_id = ? AND id = ?'),
      touchSession: db.prepare('UPDATE login_sessions SET last_seen_at = ? WHERE realm_id = ? AND id = ? AND ended_at IS NULL'),
      endSession: db.prepare('UPDATE login_sessions SET ended_at = ? WHERE realm_id = ? AND id = ? AND ended_at IS NULL'),
      sessionsOfUser: db.prepare('SELECT * FROM login_sessions WHERE realm_id = ? AND user_id = ? ORDER BY created_at DESC'),
      keysOfRealm: db.prepare('SELECT * FROM signing_keys WHERE realm_id = ? ORDER BY created_at DESC, kid'),
      insertKey: db.prepare(`INSERT OR IGNORE INTO signing_keys (realm_id, kid, alg, public_jwk, private_jwk, created_at, retired_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      retireKey: db.prepare('UPDATE signing_keys SET retired_at = ? WHERE realm_id = ? AND kid = ? AND retired_at IS NULL'),
      insertToken: db.prepare(`INSERT INTO one_time_tokens (realm_id, purpose, token_hash, user_id, expires_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?)`),
      consumeToken: db.prepare(`UPDATE one_time_tokens SET consumed_at = @at
        WHERE realm_id = @realmId AND purpose = @purpose AND token_hash = @tokenHash AND consumed_at IS NULL AND expires_at > @at
        RETURNING *`),
      insertEvent: db.prepare(`INSERT INTO events (realm_id, type, user_id, client_id, ip, user_agent, at, data)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      eventsOfUser: db.prepare('SELECT * FROM events WHERE realm_id = ? AND user_id = ? ORDER BY at DESC, id DESC LIMIT ?'),
      secretByName: db.prepare('SELECT value FROM secrets WHERE name = ?'),
      insertSecret: db.prepare('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
    };
  }

  async createUser(input: NewUser, at: Date): Promise<User> {
    const id = randomUUID();
    const emailNorm = input.email == null ? null : normalizeLogin(input.email);
    try {
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
        locale: input.locale,
        passwordHash: input.passwordHash,
        customAttributes: JSON.stringify(input.customAttributes ?? {}),
        at: at.getTime(),
      });
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new UniqueViolation(e.message.includes('username_norm') ? 'username' : 'email');
      }
      throw err;
    }
    return rowToUser(this.stmts.userById.get(input.realmId, id) as Row);
  }

  async findUserById(realmId: string, id: string): Promise<User | null> {
    const row = this.stmts.userById.get(realmId, id) as Row | undefined;
    return row ? rowToUser(row) : null;
  }

  async findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null> {
    const row = this.stmts.userByLogin.get({ realmId, login: normalizeLogin(login) }) as Row | undefined;
    return row ? { user: rowToUser(row), passwordHash: str(row.password_hash) } : null;
  }

  async recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void> {
    this.stmts.recordLogin.run(at.getTime(), ip, realmId, userId);
  }

  async createLoginSession(s: LoginSession): Promise<void> {
    this.stmts.insertSession.run(s.id, s.realmId, s.userId, s.createdAt.getTime(), s.lastSeenAt.getTime(), s.ip, s.userAgent, JSON.stringify(s.amr), s.aal);
  }

  async findLoginSession(realmId: string, id: string): Promise<LoginSession | null> {
    const row = this.stmts.sessionById.get(realmId, id) as Row | undefined;
    return row ? rowToSession(row) : null;
  }

  async touchLoginSession(realmId: string, id: string, at: Date): Promise<void> {
    this.stmts.touchSession.run(at.getTime(), realmId, id);
  }

  async endLoginSession(realmId: string, id: string, at: Date): Promise<boolean> {
    return this.stmts.endSession.run(at.getTime(), realmId, id).changes === 1;
  }

  async listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]> {
    return (this.stmts.sessionsOfUser.all(realmId, userId) as Row[]).map(rowToSession);
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

  async createOneTimeToken(t: Omit<OneTimeToken, 'consumedAt'>): Promise<void> {
    this.stmts.insertToken.run(t.realmId, t.purpose, t.tokenHash, t.userId, t.expiresAt.getTime(), t.createdAt.getTime());
  }

  async consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null> {
    const row = this.stmts.consumeToken.get({ realmId, purpose, tokenHash, at: at.getTime() }) as Row | undefined;
    if (!row) return null;
    return {
      realmId: String(row.realm_id),
      purpose: String(row.purpose),
      tokenHash: String(row.token_hash),
      userId: String(row.user_id),
      expiresAt: date(row.expires_at)!,
      consumedAt: date(row.consumed_at),
      createdAt: date(row.created_at)!,
    };
  }

  async appendEvent(e: AuthEvent): Promise<void> {
    this.stmts.insertEvent.run(e.realmId, e.type, e.userId, e.clientId, e.ip, e.userAgent, e.at.getTime(), e.data ? JSON.stringify(e.data) : null);
  }

  async listEvents(realmId: string, userId: string, limit: number): Promise<AuthEvent[]> {
    return (this.stmts.eventsOfUser.all(realmId, userId, limit) as Row[]).map((r) => ({
      realmId: String(r.realm_id),
      type: String(r.type),
      userId: str(r.user_id),
      clientId: str(r.client_id),
      ip: str(r.ip),
      userAgent: str(r.user_agent),
      at: date(r.at)!,
      data: r.data == null ? undefined : (JSON.parse(String(r.data)) as Record<string, unknown>),
    }));
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

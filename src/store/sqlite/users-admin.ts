import type Database from 'better-sqlite3';
import { statementCache } from './statements.ts';
import { countableByCounters, type UserCursor, type UserFilter, type UserSort, type UserSortKey } from '../../domain/user-query.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { AdminUserPatch, DeleteMatching, StoredApiKey, UsersAdminPort } from '../../ports/users-admin.ts';
import type { ExternalIdentity } from '../../ports/identities.ts';
import type { UserRecord } from '../../ports/user-records.ts';
import { SqliteEvents } from './events.ts';
import { nameNormSet, rowToUser, uniqueViolation, type Row } from './index.ts';

/**
 * Each sort key as the SQL expression its index (migrations 008 and 010) is built on;
 * NULLs are folded so that a (key, id) row-value comparison pages through them.
 * `unique`: the key alone orders the rows (no id tie-breaker needed).
 */
const SORT_SQL: Record<UserSortKey, { expr: string; unique: boolean; numeric: boolean }> = {
  username: { expr: 'username_norm', unique: true, numeric: false },
  email: { expr: "coalesce(email_norm, '')", unique: false, numeric: false },
  name: { expr: 'name_norm', unique: false, numeric: false },
  createdAt: { expr: 'created_at', unique: false, numeric: true },
  lastLoginAt: { expr: 'coalesce(last_login_at, 0)', unique: false, numeric: true },
  state: { expr: 'state', unique: false, numeric: false },
};

/** The end of a prefix range: every string that starts with `prefix` sorts below it. */
const prefixEnd = (prefix: string) => `${prefix}\u{10FFFF}`;

/**
 * Below this many matches, a search prefix is "selective": its matches are
 * gathered through the four column indexes and sorted (≈ 15 ms for 10 000
 * matches at a million users). At or above it, the sort index is walked and
 * each row tested, which stops as soon as a page is full when matches are
 * dense in the sort order (a page of "scale-0" among a million: 2 ms) but may
 * walk far when they cluster late in it (a page of 100 000 clustered matches:
 * ≈ 250 ms). Measured on the bench's million-user store.
 */
const SELECTIVE_Q = 20_000;

/**
 * The four prefix ranges of a search (q), one per indexed column: the folded username, email and name
 * (migrations 008, 010), and the reference as stored, case-sensitive (users_realm_reference, migration 001).
 */
const Q_RANGES = [
  'username_norm >= @q AND username_norm < @qEnd',
  'email_norm >= @q AND email_norm < @qEnd',
  'name_norm >= @q AND name_norm < @qEnd',
  'reference >= @qRef AND reference < @qRefEnd',
];

/**
 * The WHERE clause of a filter (fixed fragments; values bound as parameters).
 * `q: 'rowids'` finds the search's matches through the column indexes (the
 * query then reads `FROM users NOT INDEXED`, so the planner does not walk a
 * sort index past a million non-matching rows); `'ranges'` tests each row.
 */
function whereOf(filter: UserFilter, q: 'ranges' | 'rowids' = 'ranges'): { sql: string; params: Record<string, unknown> } {
  const parts = ['realm_id = @realmId'];
  const params: Record<string, unknown> = {};
  if (filter.userType) {
    parts.push('user_type = @userType');
    params.userType = filter.userType;
  }
  if (filter.state) {
    parts.push('state = @state');
    params.state = filter.state;
  }
  if (filter.emailVerification) {
    parts.push('email_verification = @emailVerification');
    params.emailVerification = filter.emailVerification;
  }
  if (filter.createdAfter) {
    parts.push('created_at > @createdAfter');
    params.createdAfter = filter.createdAfter.getTime();
  }
  if (filter.createdBefore) {
    parts.push('created_at < @createdBefore');
    params.createdBefore = filter.createdBefore.getTime();
  }
  if (filter.reference !== undefined) {
    parts.push('reference = @reference');
    params.reference = filter.reference;
  }
  if (filter.q !== undefined) {
    // Ranges rather than LIKE: each uses its index, and no character of the prefix is a wildcard.
    parts.push(
      q === 'rowids'
        ? `rowid IN (${Q_RANGES.map((r) => `SELECT rowid FROM users WHERE realm_id = @realmId AND ${r}`).join(' UNION ')})`
        : `(${Q_RANGES.map((r) => `(${r})`).join(' OR ')})`,
    );
    // The three columns are folded alike: normalizeLogin, and nameNormOf for the name. A reference is an
    // app's id, matched as it is stored (only the ends of the search trimmed).
    params.q = normalizeLogin(filter.q);
    params.qEnd = prefixEnd(params.q as string);
    params.qRef = filter.q.trim();
    params.qRefEnd = prefixEnd(params.qRef as string);
  }
  return { sql: parts.join(' AND '), params };
}

/** The users' rows and everything that hangs off them, deleted whole. */
const DELETE_USER_SQL = [
  'DELETE FROM login_sessions WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM external_identities WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM totp_credentials WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM recovery_codes WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM one_time_tokens WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM user_api_keys WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM memberships WHERE realm_id = @realmId AND user_id = @userId',
  'DELETE FROM group_members WHERE realm_id = @realmId AND user_id = @userId',
  // An operator's grants (a user of the console realm; its realm_id is the realm granted, and user ids are unique across realms).
  'DELETE FROM operator_roles WHERE operator_id = @userId',
];

/** The management side's queries on the users, on the SQLite file. */
export class SqliteUsersAdmin implements UsersAdminPort {
  /** A statement prepared once per SQL text (statements.ts). */
  private readonly statement: (sql: string) => Database.Statement;
  private readonly deleteUserRow: Database.Statement;
  private readonly deleteDependents: Database.Statement[];

  /** `events`: the store's log on the same connection (a write's events join its transaction). */
  constructor(
    private readonly db: Database.Database,
    private readonly events: SqliteEvents = new SqliteEvents(db),
  ) {
    this.statement = statementCache(db);
    this.deleteUserRow = db.prepare('DELETE FROM users WHERE realm_id = @realmId AND id = @userId RETURNING *');
    this.deleteDependents = DELETE_USER_SQL.map((sql) => db.prepare(sql));
  }

  /** How a filter's search is best answered (see SELECTIVE_Q), and the table clause that goes with it. */
  private searchPlan(realmId: string, filter: UserFilter): { q: 'ranges' | 'rowids'; from: string } {
    if (filter.q === undefined) return { q: 'ranges', from: 'users' };
    const { params } = whereOf({ q: filter.q });
    const probe = this.statement(`SELECT ${Q_RANGES.map((r) => `(SELECT count(*) FROM (SELECT 1 FROM users WHERE realm_id = @realmId AND ${r} LIMIT @cap))`).join(' + ')} AS n`);
    const n = Number((probe.get({ ...params, realmId, cap: SELECTIVE_Q }) as Row).n);
    return n < SELECTIVE_Q ? { q: 'rowids', from: 'users NOT INDEXED' } : { q: 'ranges', from: 'users' };
  }

  async queryUsers(realmId: string, filter: UserFilter, sort: UserSort, after: UserCursor | null, limit: number): Promise<{ users: User[]; next: UserCursor | null }> {
    const plan = this.searchPlan(realmId, filter);
    const { sql: where, params } = whereOf(filter, plan.q);
    const key = SORT_SQL[sort.key];
    const dir = sort.direction === 'desc' ? 'DESC' : 'ASC';
    const cmp = sort.direction === 'desc' ? '<' : '>';
    let seek = '';
    if (after) {
      seek = key.unique ? ` AND ${key.expr} ${cmp} @afterValue` : ` AND (${key.expr}, id) ${cmp} (@afterValue, @afterId)`;
      params.afterValue = after.value;
      params.afterId = after.id;
    }
    const order = key.unique ? `${key.expr} ${dir}` : `${key.expr} ${dir}, id ${dir}`;
    const sql = `SELECT *, ${key.expr} AS sort_value FROM ${plan.from} WHERE ${where}${seek} ORDER BY ${order} LIMIT @limit`;
    const rows = this.statement(sql).all({ ...params, realmId, limit: limit + 1 }) as Row[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? { value: key.numeric ? Number(last.sort_value) : String(last.sort_value), id: String(last.id) } : null;
    return { users: page.map(rowToUser), next };
  }

  async countUsers(realmId: string, filter: UserFilter): Promise<number> {
    if (countableByCounters(filter)) {
      // The trigger-kept counters (migration 008): a handful of rows, whatever the realm's size.
      const { sql, params } = whereOf(filter);
      const row = this.statement(`SELECT coalesce(sum(n), 0) AS n FROM user_counts WHERE ${sql}`).get({ ...params, realmId }) as Row;
      return Number(row.n);
    }
    const plan = this.searchPlan(realmId, filter);
    const { sql, params } = whereOf(filter, plan.q);
    const row = this.statement(`SELECT count(*) AS n FROM ${plan.from} WHERE ${sql}`).get({ ...params, realmId }) as Row;
    return Number(row.n);
  }

  async recordsOf(realmId: string, users: User[]): Promise<UserRecord[]> {
    const ids = JSON.stringify(users.map((u) => u.id));
    const hashes = new Map(
      (this.statement('SELECT id, password_hash FROM users WHERE realm_id = ? AND id IN (SELECT value FROM json_each(?))').all(realmId, ids) as Row[]).map((r) => [String(r.id), r.password_hash == null ? null : String(r.password_hash)]),
    );
    const identities = new Map<string, ExternalIdentity[]>();
    const rows = this.statement('SELECT * FROM external_identities WHERE realm_id = ? AND user_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, provider').all(realmId, ids) as Row[];
    for (const r of rows) {
      const list = identities.get(String(r.user_id)) ?? [];
      list.push({ realmId, provider: String(r.provider), subject: String(r.subject), userId: String(r.user_id), displayName: r.display_name == null ? null : String(r.display_name), email: r.email == null ? null : String(r.email), createdAt: new Date(Number(r.created_at)) });
      identities.set(String(r.user_id), list);
    }
    return users.map((user) => ({ user, passwordHash: hashes.get(user.id) ?? null, identities: identities.get(user.id) ?? [] }));
  }

  async patchUser(realmId: string, userId: string, patch: AdminUserPatch, at: Date, emit?: Emit<User | null>): Promise<User | null> {
    const columns: Record<string, unknown> = {};
    const plain = {
      firstName: 'first_name',
      lastName: 'last_name',
      name: 'name',
      locale: 'locale',
      state: 'state',
      reference: 'reference',
      emailVerification: 'email_verification',
      passwordHash: 'password_hash',
    } as const;
    for (const [k, column] of Object.entries(plain)) {
      const value = patch[k as keyof typeof plain];
      if (value !== undefined) columns[column] = value;
    }
    if (patch.username !== undefined) {
      columns.username = patch.username;
      columns.username_norm = normalizeLogin(patch.username);
    }
    if (patch.email !== undefined) {
      const norm = patch.email === null ? null : normalizeLogin(patch.email);
      columns.email = patch.email;
      columns.email_norm = norm;
      columns.email_unique_key = patch.emailUnique ? norm : null;
    }
    if (patch.customAttributes !== undefined) columns.custom_attributes = JSON.stringify(patch.customAttributes);
    columns.updated_at = at.getTime();
    // Column names come from the fixed maps above, never from input.
    const sets = [...Object.keys(columns).map((c) => `${c} = @${c}`), ...nameNormSet(Object.keys(columns))].join(', ');
    const update = this.statement(`UPDATE users SET ${sets} WHERE realm_id = @realmId AND id = @userId RETURNING *`);
    try {
      return this.events.withEvents(() => {
        const row = update.get({ ...columns, realmId, userId }) as Row | undefined;
        return row ? rowToUser(row) : null;
      }, emit);
    } catch (err) {
      uniqueViolation(err);
    }
  }

  /** Deletes one user and what hangs off it; inside the caller's transaction. */
  private deleteOne(realmId: string, userId: string): User | null {
    const row = this.deleteUserRow.get({ realmId, userId }) as Row | undefined;
    if (!row) return null;
    for (const s of this.deleteDependents) s.run({ realmId, userId });
    return rowToUser(row);
  }

  async deleteUsers(realmId: string, userIds: string[], emit?: Emit<User[]>): Promise<User[]> {
    return this.db.transaction(() => {
      const deleted = userIds.map((id) => this.deleteOne(realmId, id)).filter((u): u is User => u !== null);
      this.events.insertAll(emitted(emit, deleted));
      return deleted;
    })();
  }

  async deleteMatching(realmId: string, filter: UserFilter, expect: number, emit?: Emit<User[]>): Promise<DeleteMatching> {
    const { sql, params } = whereOf(filter);
    const select = this.statement(`SELECT id FROM users WHERE ${sql} ORDER BY id`);
    // IMMEDIATE: the count and the deletes see one state of the table; no user can be added in between.
    return this.db
      .transaction((): DeleteMatching => {
        const ids = (select.all({ ...params, realmId }) as Row[]).map((r) => String(r.id));
        if (ids.length !== expect) return { mismatch: ids.length };
        const deleted = ids.map((id) => this.deleteOne(realmId, id)!);
        this.events.insertAll(emitted(emit, deleted));
        return { deleted };
      })
      .immediate();
  }

  async setApiKey(realmId: string, userId: string, key: Omit<StoredApiKey, 'createdAt'>, at: Date, emit?: Emit): Promise<void> {
    const upsert = this.statement(
      `INSERT INTO user_api_keys (realm_id, user_id, lookup_hash, sealed, created_at) VALUES (@realmId, @userId, @lookupHash, @sealed, @at)
       ON CONFLICT (realm_id, user_id) DO UPDATE SET lookup_hash = excluded.lookup_hash, sealed = excluded.sealed, created_at = excluded.created_at`,
    );
    try {
      this.events.withEvents(() => void upsert.run({ realmId, userId, lookupHash: key.lookupHash, sealed: key.sealed, at: at.getTime() }), emit);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new Error('api key collision');
      throw err;
    }
  }

  async getApiKey(realmId: string, userId: string): Promise<StoredApiKey | null> {
    const r = this.statement('SELECT * FROM user_api_keys WHERE realm_id = ? AND user_id = ?').get(realmId, userId) as Row | undefined;
    return r ? { lookupHash: String(r.lookup_hash), sealed: r.sealed == null ? null : String(r.sealed), createdAt: new Date(Number(r.created_at)) } : null;
  }

  async deleteApiKey(realmId: string, userId: string): Promise<boolean> {
    return this.statement('DELETE FROM user_api_keys WHERE realm_id = ? AND user_id = ?').run(realmId, userId).changes > 0;
  }

  async findUserByApiKey(realmId: string, lookupHash: string): Promise<User | null> {
    const r = this.statement(
      'SELECT u.* FROM user_api_keys k JOIN users u ON u.realm_id = k.realm_id AND u.id = k.user_id WHERE k.realm_id = ? AND k.lookup_hash = ?',
    ).get(realmId, lookupHash) as Row | undefined;
    return r ? rowToUser(r) : null;
  }
}

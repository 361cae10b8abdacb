import type { ClientSession, Connection, QueryFilter, SortOrder } from 'mongoose';
import type { UserCursor, UserFilter, UserSort, UserSortKey } from '../../domain/user-query.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import type { AdminUserPatch, DeleteMatching, StoredApiKey, UsersAdminPort } from '../../ports/users-admin.ts';
import type { UserRecord } from '../../ports/user-records.ts';
import { escapeRegex } from './events.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { MongoEvents } from './events.ts';
import { isDuplicate, toIdentity, toUser, updateUser, type MongoStore } from './index.ts';
import type { IdentityDoc, Models, UserApiKeyDoc, UserDoc } from './schemas.ts';

/**
 * Each sort key as the field its index (schemas.ts, users_sort_*) is built on. `nullAs`: the cursor value
 * that stands for null (MongoDB sorts null lowest, as SQLite's coalesce to '' or 0 does); `unique`: the
 * field alone orders the users (no _id tie-breaker).
 */
const SORT_FIELD: Record<UserSortKey, { field: keyof UserDoc; date: boolean; nullAs?: string | number; unique?: boolean }> = {
  username: { field: 'usernameNorm', date: false, unique: true },
  email: { field: 'emailNorm', date: false, nullAs: '' },
  name: { field: 'nameNorm', date: false },
  createdAt: { field: 'createdAt', date: true },
  lastLoginAt: { field: 'lastLoginAt', date: true, nullAs: 0 },
  state: { field: 'state', date: false },
};

type Clause = Record<string, unknown>;

/** Where `field` starts with `prefix`: an anchored, case-sensitive regex reads the index as a range. */
const startsWith = (field: string, prefix: string): Clause => ({ [field]: { $regex: `^${escapeRegex(prefix)}` } });

/** The clauses of a filter, the realm first. */
function clausesOf(realmId: string, filter: UserFilter): Clause[] {
  const and: Clause[] = [{ realmId }];
  if (filter.userType) and.push({ userType: filter.userType });
  if (filter.state) and.push({ state: filter.state });
  if (filter.emailVerification) and.push({ emailVerification: filter.emailVerification });
  if (filter.createdAfter) and.push({ createdAt: { $gt: filter.createdAfter } });
  if (filter.createdBefore) and.push({ createdAt: { $lt: filter.createdBefore } });
  if (filter.reference !== undefined) and.push({ reference: filter.reference });
  if (filter.q !== undefined) {
    // The username, the email and the name (nameNormOf) are all folded as logins are; the reference, an
    // app's id, is matched as stored (case-sensitive, on users_realm_reference), only the search's ends trimmed.
    const prefix = normalizeLogin(filter.q);
    and.push({ $or: [startsWith('usernameNorm', prefix), startsWith('emailNorm', prefix), startsWith('nameNorm', prefix), startsWith('reference', filter.q.trim())] });
  }
  return and;
}

const whereOf = (realmId: string, filter: UserFilter): QueryFilter<UserDoc> => ({ $and: clausesOf(realmId, filter) });

/** The users after `after` in `sort` order: past its value, or at its value past its _id; null being the lowest value. */
function seekOf(sort: UserSort, after: UserCursor): Clause {
  const key = SORT_FIELD[sort.key];
  const past = sort.direction === 'desc' ? '$lt' : '$gt';
  const field = key.field;
  // A time in ms; a forged cursor that is none reads as the lowest, not as a cast error.
  const value = key.date ? new Date(Number(after.value) || 0) : String(after.value);
  if (key.unique) return { [field]: { [past]: value } };
  const tie = { _id: { [past]: after.id } };
  if (key.nullAs !== undefined && after.value === key.nullAs) {
    // From a null: ascending, the rest of the nulls and every value; descending, the rest of the nulls only.
    return sort.direction === 'asc' ? { $or: [{ [field]: null, ...tie }, { [field]: { $ne: null } }] } : { [field]: null, ...tie };
  }
  // $gt and $lt compare within the value's type: a null is never past a value, and comes after every value descending.
  const branches: Clause[] = [{ [field]: { [past]: value } }, { [field]: value, ...tie }];
  if (key.nullAs !== undefined && sort.direction === 'desc') branches.push({ [field]: null });
  return { $or: branches };
}

/** Where a page ends: the last user's sort value (a time in ms, null as `nullAs`) and _id. */
function cursorOf(sort: UserSort, d: UserDoc): UserCursor {
  const key = SORT_FIELD[sort.key];
  const raw = d[key.field] as string | Date | null | undefined;
  const value = raw == null ? (key.nullAs ?? '') : raw instanceof Date ? raw.getTime() : raw;
  return { value, id: d._id };
}

/**
 * The management side's queries on the users, on the MongoDB store's collections. Whole-user deletes are
 * transactions; everything else is one operation whose filter carries the realm.
 */
export class MongoUsersAdmin implements UsersAdminPort {
  private readonly m: Models;
  private readonly connection: Connection;
  private readonly events: MongoEvents;

  /** On the store's connection and models: its ensureIndexes made the collections and indexes. */
  constructor(store: MongoStore) {
    this.m = store.models;
    this.connection = store.connection;
    this.events = store.events;
  }

  async queryUsers(realmId: string, filter: UserFilter, sort: UserSort, after: UserCursor | null, limit: number): Promise<{ users: User[]; next: UserCursor | null }> {
    if (limit < 1) return { users: [], next: null }; // MongoDB reads limit(0) as "no limit"
    const key = SORT_FIELD[sort.key];
    const direction: SortOrder = sort.direction === 'desc' ? -1 : 1;
    const and = clausesOf(realmId, filter);
    if (after) and.push(seekOf(sort, after));
    const order: Record<string, SortOrder> = key.unique ? { [key.field]: direction } : { [key.field]: direction, _id: direction };
    const docs = await this.m.users
      .find({ $and: and })
      .sort(order)
      .limit(limit + 1)
      .lean<UserDoc[]>();
    const page = docs.slice(0, limit);
    return { users: page.map(toUser), next: docs.length > limit ? cursorOf(sort, page.at(-1)!) : null };
  }

  async countUsers(realmId: string, filter: UserFilter): Promise<number> {
    return this.m.users.countDocuments(whereOf(realmId, filter));
  }

  async recordsOf(realmId: string, users: User[]): Promise<UserRecord[]> {
    if (users.length === 0) return [];
    const ids = users.map((u) => u.id);
    const [hashes, identities] = await Promise.all([
      this.m.users.find({ realmId, _id: { $in: ids } }, { passwordHash: 1 }).lean<Pick<UserDoc, '_id' | 'passwordHash'>[]>(),
      this.m.identities.find({ realmId, userId: { $in: ids } }).sort({ createdAt: 1, provider: 1 }).lean<IdentityDoc[]>(),
    ]);
    const hashOf = new Map(hashes.map((d) => [d._id, d.passwordHash ?? null]));
    return users.map((user) => ({
      user,
      passwordHash: hashOf.get(user.id) ?? null,
      identities: identities.filter((i) => i.userId === user.id).map(toIdentity),
    }));
  }

  async patchUser(realmId: string, userId: string, patch: AdminUserPatch, at: Date, emit?: Emit<User | null>): Promise<User | null> {
    const set: Record<string, unknown> = { updatedAt: at };
    for (const k of ['firstName', 'lastName', 'name', 'locale', 'state', 'reference', 'emailVerification', 'passwordHash', 'customAttributes'] as const) {
      if (patch[k] !== undefined) set[k] = patch[k];
    }
    if (patch.username !== undefined) Object.assign(set, { username: patch.username, usernameNorm: normalizeLogin(patch.username) });
    if (patch.email !== undefined) {
      const emailNorm = patch.email === null ? null : normalizeLogin(patch.email);
      Object.assign(set, { email: patch.email, emailNorm, emailUniqueKey: patch.emailUnique ? emailNorm : null });
    }
    const namesChange = patch.username !== undefined || patch.firstName !== undefined || patch.lastName !== undefined || patch.name !== undefined;
    const append = emit && (async (d: UserDoc | null, session: ClientSession) => this.events.insertAll(emitted(emit, d ? toUser(d) : null), session));
    const doc = await updateUser(this.connection, this.m.users, { _id: userId, realmId }, { $set: set }, namesChange, append);
    return doc ? toUser(doc) : null;
  }

  /** Deletes the users of `docs` and everything that hangs off them, inside the caller's transaction. */
  private async deleteWhole(realmId: string, docs: UserDoc[], session: ClientSession): Promise<User[]> {
    if (docs.length === 0) return [];
    const ids = docs.map((d) => d._id);
    const theirs = { realmId, userId: { $in: ids } };
    await this.m.users.deleteMany({ realmId, _id: { $in: ids } }, { session });
    await this.m.loginSessions.deleteMany(theirs, { session });
    await this.m.identities.deleteMany(theirs, { session });
    await this.m.totp.deleteMany(theirs, { session });
    await this.m.recoveryCodes.deleteMany(theirs, { session });
    await this.m.oneTimeTokens.deleteMany(theirs, { session });
    await this.m.userApiKeys.deleteMany(theirs, { session });
    await this.m.memberships.deleteMany(theirs, { session });
    await this.m.groupMembers.deleteMany(theirs, { session });
    // An operator's grants (a user of the console realm; realmId there is the realm granted, and user ids are unique across realms).
    await this.m.operatorRoles.deleteMany({ operatorId: { $in: ids } }, { session });
    return docs.map(toUser);
  }

  async deleteUsers(realmId: string, userIds: string[], emit?: Emit<User[]>): Promise<User[]> {
    if (userIds.length === 0) return [];
    // The transaction may run again on a write conflict: what it deletes is read inside it.
    return this.connection.transaction(async (session) => {
      const docs = await this.m.users.find({ realmId, _id: { $in: userIds } }).session(session).lean<UserDoc[]>();
      const byId = new Map(docs.map((d) => [d._id, d]));
      const found = [...new Set(userIds)].map((id) => byId.get(id)).filter((d): d is UserDoc => d !== undefined);
      const deleted = await this.deleteWhole(realmId, found, session);
      await this.events.insertAll(emitted(emit, deleted), session);
      return deleted;
    });
  }

  async deleteMatching(realmId: string, filter: UserFilter, expect: number, emit?: Emit<User[]>): Promise<DeleteMatching> {
    // One snapshot: the users counted are the users deleted; a change to one of them meanwhile conflicts and the transaction runs again.
    return this.connection.transaction(async (session): Promise<DeleteMatching> => {
      const docs = await this.m.users.find(whereOf(realmId, filter)).sort({ _id: 1 }).session(session).lean<UserDoc[]>();
      if (docs.length !== expect) return { mismatch: docs.length };
      const deleted = await this.deleteWhole(realmId, docs, session);
      await this.events.insertAll(emitted(emit, deleted), session);
      return { deleted };
    });
  }

  async setApiKey(realmId: string, userId: string, key: Omit<StoredApiKey, 'createdAt'>, at: Date, emit?: Emit): Promise<void> {
    // One document per user, replaced in one update: the old lookupHash is gone in the same step.
    const replace = { $set: { lookupHash: key.lookupHash, sealed: key.sealed, createdAt: at } };
    try {
      await this.events.withEvents(async (session) => void (await this.m.userApiKeys.updateOne({ realmId, userId }, replace, { upsert: true, session })), emit);
    } catch (err) {
      if (isDuplicate(err) && 'lookupHash' in ((err as { keyPattern?: object }).keyPattern ?? {})) throw new Error('api key collision');
      throw err;
    }
  }

  async getApiKey(realmId: string, userId: string): Promise<StoredApiKey | null> {
    const d = await this.m.userApiKeys.findOne({ realmId, userId }).lean<UserApiKeyDoc>();
    return d ? { lookupHash: d.lookupHash, sealed: d.sealed ?? null, createdAt: d.createdAt } : null;
  }

  async deleteApiKey(realmId: string, userId: string): Promise<boolean> {
    return (await this.m.userApiKeys.deleteOne({ realmId, userId })).deletedCount > 0;
  }

  async findUserByApiKey(realmId: string, lookupHash: string): Promise<User | null> {
    const key = await this.m.userApiKeys.findOne({ realmId, lookupHash }, { userId: 1 }).lean<Pick<UserApiKeyDoc, 'userId'>>();
    if (!key) return null;
    const doc = await this.m.users.findOne({ _id: key.userId, realmId }).lean<UserDoc>();
    return doc ? toUser(doc) : null;
  }
}

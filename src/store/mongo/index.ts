import { randomUUID } from 'node:crypto';
import mongoose, { Types, type AnyBulkWriteOperation, type ClientSession, type Connection, type Model, type UpdateQuery } from 'mongoose';
import type { EmailVerification, User } from '../../identity/user.ts';
import { nameNormOf, normalizeLogin } from '../../identity/user.ts';
import {
  UniqueViolation,
  type CodeCheck,
  type ExternalIdentity,
  type LoginSession,
  type NewOneTimeToken,
  type NewOutboxMail,
  type NewSms,
  type NewUser,
  type OneTimeToken,
  type OutboxMail,
  type PasswordReplacement,
  type ProfilePatch,
  type SigningKeyRecord,
  type SmsRecord,
  type Store,
  type TotpCredential,
  type UserRecord,
  type UserWithPassword,
} from '../port.ts';
import {
  createModels,
  type IdentityDoc,
  type LoginSessionDoc,
  type MailDoc,
  type Models,
  type OneTimeTokenDoc,
  type RealmStateDoc,
  type SecretDoc,
  type SigningKeyDoc,
  type SmsDoc,
  type TotpDoc,
  type UserDoc,
} from './schemas.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import { MongoEvents } from './events.ts';
import { MongoInvitations } from './invitations.ts';
import { MongoInvitationLinks } from './invitation-links.ts';
import { MongoOrgs } from './orgs.ts';

/** Marks a database whose events carry the catalogue's names (SQLite: migration 009). */
const EVENTS_RENAMED = 'migration:009_events';
/** Marks a database whose users all have their nameNorm as nameNormOf folds it now (SQLite: migration 010). */
const NAME_NORMS_FILLED = 'migration:010_name_norm';

/** The port's user from its document. */
export function toUser(d: UserDoc): User {
  return {
    id: d._id,
    realmId: d.realmId,
    userType: d.userType,
    username: d.username,
    email: d.email ?? null,
    emailVerification: d.emailVerification,
    phone: d.phone ?? null,
    phoneVerified: d.phoneVerified === true,
    firstName: d.firstName ?? null,
    lastName: d.lastName ?? null,
    name: d.name ?? null,
    nickname: d.nickname ?? null,
    photo: d.photo ?? null,
    locale: d.locale ?? null,
    state: d.state,
    reference: d.reference ?? null,
    customAttributes: d.customAttributes ?? {},
    loginsCount: d.loginsCount ?? 0,
    lastLoginAt: d.lastLoginAt ?? null,
    lastLoginIp: d.lastLoginIp ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

const withPassword = (d: UserDoc): UserWithPassword => ({ user: toUser(d), passwordHash: d.passwordHash ?? null });

function toSession(d: LoginSessionDoc): LoginSession {
  return {
    id: d._id,
    realmId: d.realmId,
    userId: d.userId,
    createdAt: d.createdAt,
    lastSeenAt: d.lastSeenAt,
    ip: d.ip ?? null,
    userAgent: d.userAgent ?? null,
    amr: [...d.amr],
    aal: d.aal,
    endedAt: d.endedAt ?? null,
    act: d.act ? { sub: d.act.sub, iss: d.act.iss, realmId: d.act.realmId, sid: d.act.sid, reason: d.act.reason, expiresAt: d.act.expiresAt } : null,
    selectedOrgId: d.selectedOrgId ?? null,
  };
}

export function toIdentity(d: IdentityDoc): ExternalIdentity {
  return {
    realmId: d.realmId,
    provider: d.provider,
    subject: d.subject,
    userId: d.userId,
    displayName: d.displayName ?? null,
    email: d.email ?? null,
    createdAt: d.createdAt,
  };
}

/** The document written for an identity of user `userId` in `realmId`. */
type LinkedIdentity = Pick<ExternalIdentity, 'provider' | 'subject' | 'displayName' | 'email'>;

function identityDoc(i: LinkedIdentity, realmId: string, userId: string, createdAt: Date): IdentityDoc {
  return { realmId, provider: i.provider, subject: i.subject, userId, displayName: i.displayName ?? null, email: i.email ?? null, createdAt };
}

function toToken(d: OneTimeTokenDoc): OneTimeToken {
  return {
    realmId: d.realmId,
    purpose: d.purpose,
    tokenHash: d.tokenHash,
    userId: d.userId,
    expiresAt: d.expiresAt,
    consumedAt: d.consumedAt ?? null,
    createdAt: d.createdAt,
    attempts: d.attempts ?? 0,
    data: d.data ?? null,
  };
}

function toMail(d: MailDoc): OutboxMail {
  return {
    id: d._id,
    realmId: d.realmId,
    kind: d.kind,
    userId: d.userId ?? null,
    to: { address: d.to.address, name: d.to.name ?? null },
    from: d.from,
    subject: d.subject,
    text: d.text,
    html: d.html,
    link: d.link ?? null,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt,
    lastError: d.lastError ?? null,
    createdAt: d.createdAt,
    sentAt: d.sentAt ?? null,
  };
}

function toSms(d: SmsDoc): SmsRecord {
  return { id: d._id, realmId: d.realmId, kind: d.kind, userId: d.userId ?? null, to: d.to, text: d.text, createdAt: d.createdAt };
}

/** An id in creation order (ObjectId hex): listMail and listSms break ties of equal times with it. */
const orderedId = () => new Types.ObjectId().toHexString();

/** A signing key's fields, from record to document and back. */
function signingKey(k: SigningKeyRecord | SigningKeyDoc): SigningKeyRecord {
  return { kid: k.kid, realmId: k.realmId, alg: k.alg, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: k.createdAt, retiredAt: k.retiredAt ?? null };
}

export const isDuplicate = (err: unknown) => (err as { code?: unknown } | null)?.code === 11000;

/** Which UniqueViolation a duplicate-key error is, by the index's key fields (or, from older servers, its name in the message). */
const FIELD_OF_KEY: Record<string, UniqueViolation['field']> = {
  usernameNorm: 'username',
  emailUniqueKey: 'email',
  phone: 'phone',
  provider: 'identity',
  _id: 'id',
};
const FIELD_OF_INDEX: Record<string, UniqueViolation['field']> = {
  users_realm_username: 'username',
  users_realm_email_unique: 'email',
  users_realm_phone: 'phone',
  external_identities_subject: 'identity',
  external_identities_user_provider: 'identity',
  _id_: 'id',
};

function duplicateField(err: unknown): UniqueViolation['field'] | null {
  if (!isDuplicate(err)) return null;
  const e = err as { keyPattern?: Record<string, unknown>; message?: string };
  for (const key of Object.keys(e.keyPattern ?? {})) if (FIELD_OF_KEY[key]) return FIELD_OF_KEY[key];
  const index = /index: (\S+) dup key/.exec(e.message ?? '')?.[1];
  return (index && FIELD_OF_INDEX[index]) || null;
}

/** Runs a write, turning a unique-index violation into UniqueViolation. */
export async function unique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const field = duplicateField(err);
    throw field ? new UniqueViolation(field) : err;
  }
}

/**
 * Updates one user and returns the new document (null when there is none); UniqueViolation when taken. When the
 * update may change what nameNorm is made of (`namesChange`), nameNorm is rewritten from the result in the same
 * transaction: it is folded by JavaScript (nameNormOf), which no update expression of MongoDB matches.
 */
export async function updateUser(
  connection: Connection,
  users: Model<UserDoc>,
  filter: { _id: string; realmId: string },
  update: UpdateQuery<UserDoc>,
  namesChange: boolean,
  /** The events of the change, appended in its transaction (`appendFor`). */
  append?: (doc: UserDoc | null, session: ClientSession) => Promise<void>,
): Promise<UserDoc | null> {
  const write = (session: ClientSession | null) => users.findOneAndUpdate(filter, update, { session, returnDocument: 'after' }).lean<UserDoc>();
  if (!namesChange && !append) return unique(() => write(null));
  return unique(() =>
    connection.transaction(async (session) => {
      let doc = await write(session);
      if (doc && namesChange) {
        const nameNorm = nameNormOf(doc);
        if (doc.nameNorm !== nameNorm) await users.updateOne(filter, { $set: { nameNorm } }, { session });
        doc = { ...doc, nameNorm };
      }
      await append?.(doc, session);
      return doc;
    }),
  );
}

/** updateUser's `append` for an `emit` of the updated user (none when there was no user to update). */
export function appendFor(events: MongoEvents, emit: Emit<User> | undefined): ((doc: UserDoc | null, session: ClientSession) => Promise<void>) | undefined {
  if (emit === undefined) return undefined;
  return async (doc, session) => {
    if (doc) await events.insertAll(emitted(emit, toUser(doc)), session);
  };
}

/**
 * The MongoDB store (mongoose), for several instances behind a load balancer; browser sessions and
 * rate limits then live in Redis. Every single-document change is one atomic operation whose filter
 * carries its precondition; the multi-document ones (a user with its identity, an import, the last-way-in
 * check of an unlink) are transactions, so the server must be a replica set (a single-node one will do).
 * A write given events (`emit`, ports/events.ts) appends them in its transaction (MongoEvents.withEvents):
 * since openMongoStore opens no standalone server, that holds on every deployment the store runs on.
 */
export class MongoStore implements Store {
  private readonly m: Models;
  readonly events: MongoEvents;
  readonly orgs: MongoOrgs;
  readonly invitations: MongoInvitations;
  readonly invitationLinks: MongoInvitationLinks;

  /** The collections' models, shared with the management side's adapters on this store. */
  get models(): Models {
    return this.m;
  }

  /** `connection` is mongoose's, open or opening; openMongoStore is the way in. */
  constructor(readonly connection: Connection) {
    this.m = createModels(connection);
    this.events = new MongoEvents(this.m.events);
    this.orgs = new MongoOrgs(connection, this.m, this.events);
    this.invitations = new MongoInvitations(connection, this.m, this.events);
    this.invitationLinks = new MongoInvitationLinks(connection, this.m, this.events);
  }

  /** Creates every collection (a transaction cannot create one on older servers) and the indexes that keep values unique. */
  async ensureIndexes(): Promise<void> {
    // createIndexes, not syncIndexes: that would drop any index an operator (or a newer version, mid-deploy) added.
    await Promise.all(
      (Object.values(this.m) as Model<unknown>[]).map(async (model) => {
        await model.createCollection();
        await model.createIndexes();
      }),
    );
    // Once per database (the marker): the rename would otherwise scan a big log at every start. An older
    // instance still writing old names mid-deploy leaves those behind; re-running the rename after
    // removing the marker fixes them.
    if (!(await this.m.secrets.exists({ _id: EVENTS_RENAMED }))) {
      await this.events.renameLegacyTypes();
      await this.getOrCreateSecret(EVENTS_RENAMED, () => new Date().toISOString());
    }
    if (!(await this.m.secrets.exists({ _id: NAME_NORMS_FILLED }))) {
      await this.fillNameNorms();
      await this.getOrCreateSecret(NAME_NORMS_FILLED, () => new Date().toISOString());
    }
  }

  /**
   * Gives each user the nameNorm nameNormOf makes, in batches: those stored before the users list had none,
   * those stored before it was Unicode-aware (NFKC) may have another. A user written meanwhile keeps the one it got.
   */
  private async fillNameNorms(): Promise<void> {
    let batch: AnyBulkWriteOperation<UserDoc>[] = [];
    const flush = async () => {
      if (batch.length > 0) await this.m.users.bulkWrite(batch, { ordered: false });
      batch = [];
    };
    for await (const d of this.m.users.find({}, { name: 1, firstName: 1, lastName: 1, username: 1, nameNorm: 1 }).lean<UserDoc>().cursor()) {
      const nameNorm = nameNormOf(d);
      if (d.nameNorm === nameNorm) continue;
      // null matches a missing field too.
      batch.push({ updateOne: { filter: { _id: d._id, nameNorm: d.nameNorm ?? null }, update: { $set: { nameNorm } } } });
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  async createUser(input: NewUser, at: Date, emit?: Emit<User>): Promise<User> {
    const emailNorm = input.email == null ? null : normalizeLogin(input.email);
    const doc: UserDoc = {
      _id: randomUUID(),
      realmId: input.realmId,
      userType: input.userType,
      username: input.username,
      usernameNorm: normalizeLogin(input.username),
      email: input.email,
      emailNorm,
      emailUniqueKey: input.emailUnique ? emailNorm : null,
      emailVerification: input.emailVerification,
      phone: null,
      phoneVerified: false,
      firstName: input.firstName,
      lastName: input.lastName,
      name: input.name ?? null,
      nickname: null,
      photo: input.photo ?? null,
      locale: input.locale,
      state: input.state ?? 'active',
      reference: input.reference ?? null,
      customAttributes: structuredClone(input.customAttributes ?? {}),
      passwordHash: input.passwordHash,
      loginsCount: 0,
      lastLoginAt: null,
      lastLoginIp: null,
      createdAt: at,
      updatedAt: at,
    };
    doc.nameNorm = nameNormOf(doc);
    const identity = input.identity;
    await unique(async () => {
      if (!identity && emit === undefined) return void (await this.m.users.create(doc));
      await this.connection.transaction(async (session) => {
        await this.m.users.create([doc], { session });
        if (identity) await this.m.identities.create([identityDoc(identity, input.realmId, doc._id, at)], { session });
        await this.events.insertAll(emitted(emit, toUser(doc)), session);
      });
    });
    return toUser(doc);
  }

  async findUserById(realmId: string, id: string): Promise<User | null> {
    const doc = await this.m.users.findOne({ _id: id, realmId }).lean<UserDoc>();
    return doc ? toUser(doc) : null;
  }

  async findUserByLogin(realmId: string, login: string): Promise<UserWithPassword | null> {
    const norm = normalizeLogin(login);
    // At most two: one by username, one by unique email (an email that is not unique in the realm is no login). The username wins.
    const docs = await this.m.users
      .find({ $or: [{ realmId, usernameNorm: norm }, { realmId, emailNorm: norm, emailUniqueKey: norm }] })
      .limit(2)
      .lean<UserDoc[]>();
    const doc = docs.find((d) => d.usernameNorm === norm) ?? docs[0];
    return doc ? withPassword(doc) : null;
  }

  async passwordHashOf(realmId: string, userId: string): Promise<string | null> {
    const doc = await this.m.users.findOne({ _id: userId, realmId }, { passwordHash: 1 }).lean<Pick<UserDoc, 'passwordHash'>>();
    return doc?.passwordHash ?? null;
  }

  async findUsersByEmail(realmId: string, email: string): Promise<UserWithPassword[]> {
    const docs = await this.m.users.find({ realmId, emailNorm: normalizeLogin(email) }).sort({ createdAt: 1, _id: 1 }).lean<UserDoc[]>();
    return docs.map(withPassword);
  }

  async recordLogin(realmId: string, userId: string, at: Date, ip: string | null): Promise<void> {
    await this.m.users.updateOne({ _id: userId, realmId }, { $inc: { loginsCount: 1 }, $set: { lastLoginAt: at, lastLoginIp: ip } });
  }

  async setEmailVerification(realmId: string, userId: string, state: EmailVerification, at: Date, emit?: Emit): Promise<void> {
    await this.events.withEvents(async (session) => void (await this.m.users.updateOne({ _id: userId, realmId }, { $set: { emailVerification: state, updatedAt: at } }, { session })), emit);
  }

  async changeEmail(
    realmId: string,
    userId: string,
    change: { email: string; emailUnique: boolean; syncUsername: boolean; verification: EmailVerification },
    at: Date,
    emit?: Emit<User>,
  ): Promise<User> {
    const emailNorm = normalizeLogin(change.email);
    const set: Partial<UserDoc> = {
      email: change.email,
      emailNorm,
      emailUniqueKey: change.emailUnique ? emailNorm : null,
      emailVerification: change.verification,
      updatedAt: at,
    };
    if (change.syncUsername) Object.assign(set, { username: change.email, usernameNorm: emailNorm });
    const doc = await updateUser(this.connection, this.m.users, { _id: userId, realmId }, { $set: set }, change.syncUsername, appendFor(this.events, emit));
    if (!doc) throw new Error(`changeEmail: no user ${userId} in realm ${realmId}`);
    return toUser(doc);
  }

  async setPasswordHash(realmId: string, userId: string, passwordHash: string | null, at: Date): Promise<void> {
    await this.m.users.updateOne({ _id: userId, realmId }, { $set: { passwordHash, updatedAt: at } });
  }

  async replacePassword(realmId: string, userId: string, change: PasswordReplacement, at: Date, emit?: Emit<string[]>): Promise<string[]> {
    return this.connection.transaction(async (session) => {
      await this.m.users.updateOne({ _id: userId, realmId }, { $set: { passwordHash: change.passwordHash, updatedAt: at } }, { session });
      await this.m.oneTimeTokens.updateMany(
        { realmId, userId, purpose: { $in: [...change.revokePurposes] }, ...MongoStore.live(at) },
        { $set: { consumedAt: at } },
        { session },
      );
      const sids = await this.endSessionsIn(session, realmId, userId, at, change.keepSid);
      await this.events.insertAll(emitted(emit, sids), session);
      return sids;
    });
  }

  /** Ends the user's live sessions but `exceptId` inside a transaction: a parallel end of one of them conflicts, and the transaction runs again. */
  private async endSessionsIn(session: ClientSession, realmId: string, userId: string, at: Date, exceptId: string | undefined): Promise<string[]> {
    const live = await this.m.loginSessions
      .find({ realmId, userId, endedAt: null, ...(exceptId === undefined ? {} : { _id: { $ne: exceptId } }) }, { _id: 1 })
      .session(session)
      .lean<Pick<LoginSessionDoc, '_id'>[]>();
    const sids = live.map((d) => d._id);
    if (sids.length > 0) await this.m.loginSessions.updateMany({ realmId, _id: { $in: sids }, endedAt: null }, { $set: { endedAt: at } }, { session });
    return sids;
  }

  async updateProfile(realmId: string, userId: string, patch: ProfilePatch, at: Date, emit?: Emit<User>): Promise<User> {
    const set: Record<string, unknown> = { updatedAt: at };
    const unset: Record<string, ''> = {};
    for (const key of ['firstName', 'lastName', 'nickname', 'photo', 'locale'] as const) if (patch[key] !== undefined) set[key] = patch[key];
    if (patch.username !== undefined) Object.assign(set, { username: patch.username, usernameNorm: normalizeLogin(patch.username) });
    // Merged key by key inside the one update (no read-modify-write). Keys are the realm's attribute names (letters,
    // digits, _): a dot or a leading $ would address another path, so such a key is refused rather than misfiled.
    for (const [key, value] of Object.entries(patch.customAttributes ?? {})) {
      if (key === '' || key.includes('.') || key.startsWith('$')) throw new Error(`updateProfile: unusable attribute key ${JSON.stringify(key)}`);
      if (value === null) unset[`customAttributes.${key}`] = '';
      else set[`customAttributes.${key}`] = value;
    }
    const update = Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
    const namesChange = patch.username !== undefined || patch.firstName !== undefined || patch.lastName !== undefined;
    const doc = await updateUser(this.connection, this.m.users, { _id: userId, realmId }, update, namesChange, appendFor(this.events, emit));
    if (!doc) throw new Error(`updateProfile: no user ${userId} in realm ${realmId}`);
    return toUser(doc);
  }

  async setPhone(realmId: string, userId: string, phone: string | null, verified: boolean, at: Date, emit?: Emit<User>): Promise<User> {
    const update = { $set: { phone, phoneVerified: phone !== null && verified, updatedAt: at } };
    const doc = await updateUser(this.connection, this.m.users, { _id: userId, realmId }, update, false, appendFor(this.events, emit));
    if (!doc) throw new Error(`setPhone: no user ${userId} in realm ${realmId}`);
    return toUser(doc);
  }

  async getTotp(realmId: string, userId: string): Promise<TotpCredential | null> {
    const d = await this.m.totp.findOne({ realmId, userId }).lean<TotpDoc>();
    return d ? { realmId, userId, secret: d.secret, confirmedAt: d.confirmedAt ?? null, lastStep: d.lastStep, createdAt: d.createdAt } : null;
  }

  async beginTotp(realmId: string, userId: string, secret: string, at: Date): Promise<boolean> {
    const pending = { realmId, userId, confirmedAt: null };
    const restart = { $set: { secret, createdAt: at, lastStep: 0 } };
    try {
      const r = await this.m.totp.updateOne(pending, restart, { upsert: true });
      return r.matchedCount + r.upsertedCount === 1;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      // The insert met the user's existing authenticator: a confirmed one (false), or one a parallel call just began (restarted here).
      return (await this.m.totp.updateOne(pending, restart)).matchedCount === 1;
    }
  }

  async confirmTotp(realmId: string, userId: string, step: number, at: Date, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(
      async (session) => (await this.m.totp.updateOne({ realmId, userId, confirmedAt: null }, { $set: { confirmedAt: at, lastStep: step } }, { session })).modifiedCount === 1,
      emit,
    );
  }

  async useTotpStep(realmId: string, userId: string, step: number): Promise<boolean> {
    // The filter is the check: of two racing calls with one step, the second no longer matches.
    const r = await this.m.totp.updateOne({ realmId, userId, confirmedAt: { $ne: null }, lastStep: { $lt: step } }, { $set: { lastStep: step } });
    return r.modifiedCount === 1;
  }

  async deleteTotp(realmId: string, userId: string, emit?: Emit<boolean>): Promise<boolean> {
    return this.connection.transaction(async (session) => {
      await this.m.recoveryCodes.deleteMany({ realmId, userId }, { session });
      const removed = (await this.m.totp.deleteOne({ realmId, userId }, { session })).deletedCount === 1;
      await this.events.insertAll(emitted(emit, removed), session);
      return removed;
    });
  }

  async replaceRecoveryCodes(realmId: string, userId: string, codeHashes: string[], at: Date, emit?: Emit): Promise<void> {
    const docs = [...new Set(codeHashes)].map((codeHash) => ({ realmId, userId, codeHash, usedAt: null, createdAt: at }));
    await this.connection.transaction(async (session) => {
      await this.m.recoveryCodes.deleteMany({ realmId, userId }, { session });
      if (docs.length > 0) await this.m.recoveryCodes.insertMany(docs, { session });
      await this.events.insertAll(emitted(emit, undefined), session);
    });
  }

  async useRecoveryCode(realmId: string, userId: string, codeHash: string, at: Date): Promise<boolean> {
    const r = await this.m.recoveryCodes.updateOne({ realmId, userId, codeHash, usedAt: null }, { $set: { usedAt: at } });
    return r.modifiedCount === 1;
  }

  async countRecoveryCodes(realmId: string, userId: string): Promise<number> {
    return this.m.recoveryCodes.countDocuments({ realmId, userId, usedAt: null });
  }

  async listExternalIdentities(realmId: string, userId: string): Promise<ExternalIdentity[]> {
    return (await this.m.identities.find({ realmId, userId }).sort({ createdAt: 1, provider: 1 }).lean<IdentityDoc[]>()).map(toIdentity);
  }

  async listUsers(realmId: string, afterId: string | null, limit: number): Promise<UserRecord[]> {
    if (limit < 1) return []; // MongoDB reads limit(0) as "no limit"
    const users = await this.m.users.find({ realmId, _id: { $gt: afterId ?? '' } }).sort({ _id: 1 }).limit(limit).lean<UserDoc[]>();
    if (users.length === 0) return [];
    const identities = await this.m.identities
      .find({ realmId, userId: { $in: users.map((u) => u._id) } })
      .sort({ createdAt: 1, provider: 1 })
      .lean<IdentityDoc[]>();
    return users.map((u) => ({ ...withPassword(u), identities: identities.filter((i) => i.userId === u._id).map(toIdentity) }));
  }

  async countUsers(realmId: string): Promise<number> {
    return this.m.users.countDocuments({ realmId });
  }

  async putUser(record: UserRecord, emailUnique: boolean): Promise<'created' | 'updated'> {
    const u = record.user;
    const emailNorm = u.email == null ? null : normalizeLogin(u.email);
    const doc: UserDoc = {
      _id: u.id,
      realmId: u.realmId,
      userType: u.userType,
      username: u.username,
      usernameNorm: normalizeLogin(u.username),
      email: u.email,
      emailNorm,
      emailUniqueKey: emailUnique ? emailNorm : null,
      emailVerification: u.emailVerification,
      phone: u.phone,
      phoneVerified: u.phoneVerified,
      firstName: u.firstName,
      lastName: u.lastName,
      name: u.name,
      nickname: u.nickname,
      photo: u.photo,
      locale: u.locale,
      state: u.state,
      reference: u.reference,
      customAttributes: u.customAttributes ?? {},
      passwordHash: record.passwordHash,
      loginsCount: u.loginsCount,
      lastLoginAt: u.lastLoginAt,
      lastLoginIp: u.lastLoginIp,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
    };
    doc.nameNorm = nameNormOf(doc);
    return unique(() =>
      this.connection.transaction(async (session) => {
        // The realm is in the filter: an id of another realm's user makes the upsert's insert hit _id (UniqueViolation 'id').
        const put = await this.m.users.replaceOne({ _id: u.id, realmId: u.realmId }, doc, { upsert: true, session });
        await this.m.identities.deleteMany({ realmId: u.realmId, userId: u.id }, { session });
        for (const i of record.identities) await this.m.identities.create([identityDoc(i, u.realmId, u.id, i.createdAt)], { session });
        return put.upsertedCount === 1 ? 'created' : 'updated';
      }),
    );
  }

  async findExternalIdentity(realmId: string, provider: string, subject: string): Promise<ExternalIdentity | null> {
    const doc = await this.m.identities.findOne({ realmId, provider, subject }).lean<IdentityDoc>();
    return doc ? toIdentity(doc) : null;
  }

  async linkExternalIdentity(identity: ExternalIdentity, emit?: Emit): Promise<void> {
    const doc = identityDoc(identity, identity.realmId, identity.userId, identity.createdAt);
    await unique(() => this.events.withEvents(async (session) => void (await this.m.identities.create([doc], { session })), emit));
  }

  async unlinkExternalIdentity(realmId: string, userId: string, provider: string, unlessLast?: { providers: string[] }, emit?: Emit<boolean>): Promise<boolean> {
    const mine = { realmId, userId, provider };
    if (!unlessLast) return this.events.withEvents(async (session) => (await this.m.identities.deleteOne(mine, { session })).deletedCount > 0, emit);
    return this.connection.transaction(async (session) => {
      const removed = await this.unlinkUnlessLast(session, mine, unlessLast.providers);
      await this.events.insertAll(emitted(emit, removed), session);
      return removed;
    });
  }

  /** The last-way-in check and the delete, inside the caller's transaction. */
  private async unlinkUnlessLast(session: ClientSession, mine: { realmId: string; userId: string; provider: string }, providers: string[]): Promise<boolean> {
    const { realmId, userId, provider } = mine;
    // Written first, so that two unlinks (or a password removal) of this user conflict and one of them retries after the other.
    const user = await this.m.users
      .findOneAndUpdate({ _id: userId, realmId }, { $inc: { identityRev: 1 } }, { session, returnDocument: 'after', projection: { passwordHash: 1 } })
      .lean<Pick<UserDoc, 'passwordHash'>>();
    const keepsWayIn =
      user?.passwordHash != null ||
      (await this.m.identities.exists({ realmId, userId, provider: { $ne: provider, $in: providers } }).session(session)) !== null;
    if (!keepsWayIn) return false;
    return (await this.m.identities.deleteOne(mine, { session })).deletedCount > 0;
  }


  async createLoginSession(s: LoginSession, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents((session) => this.insertLoginSession(s, session), emit);
  }

  private async insertLoginSession(s: LoginSession, session: ClientSession | undefined): Promise<boolean> {
    const doc = {
      _id: s.id,
      realmId: s.realmId,
      userId: s.userId,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      ip: s.ip,
      userAgent: s.userAgent,
      amr: s.amr,
      aal: s.aal,
      endedAt: s.endedAt,
      act: s.act ? { ...s.act } : null,
      selectedOrgId: s.selectedOrgId,
    };
    await this.m.loginSessions.create([doc], { session });
    // Looked at after the write: a delete or deactivation that committed before it is seen here, and one after
    // it removes or ends the session itself. (Only a delete whose transaction overlaps this write can miss
    // the new row; resume() refuses it, since its user is gone.)
    if (await this.m.users.exists({ _id: s.userId, realmId: s.realmId, state: 'active' }).session(session ?? null)) return true;
    await this.m.loginSessions.deleteOne({ _id: s.id, realmId: s.realmId }, { session });
    return false;
  }

  async findLoginSession(realmId: string, id: string): Promise<LoginSession | null> {
    const doc = await this.m.loginSessions.findOne({ _id: id, realmId }).lean<LoginSessionDoc>();
    return doc ? toSession(doc) : null;
  }

  async touchLoginSession(realmId: string, id: string, at: Date): Promise<void> {
    await this.m.loginSessions.updateOne({ _id: id, realmId, endedAt: null }, { $set: { lastSeenAt: at } });
  }

  async setSelectedOrg(realmId: string, id: string, orgId: string | null): Promise<boolean> {
    return (await this.m.loginSessions.updateOne({ _id: id, realmId, endedAt: null }, { $set: { selectedOrgId: orgId } })).matchedCount === 1;
  }

  async endLoginSession(realmId: string, id: string, at: Date, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(
      async (session) => (await this.m.loginSessions.updateOne({ _id: id, realmId, endedAt: null }, { $set: { endedAt: at } }, { session })).modifiedCount === 1,
      emit,
    );
  }

  async listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]> {
    return (await this.m.loginSessions.find({ realmId, userId }).sort({ createdAt: -1 }).lean<LoginSessionDoc[]>()).map(toSession);
  }

  async countLive(realmId: string, idleSince: Date, createdSince: Date): Promise<number> {
    // From the index login_sessions_live; endedAt: null also matches a document without the field.
    return this.m.loginSessions.countDocuments({ realmId, endedAt: null, lastSeenAt: { $gte: idleSince }, createdAt: { $gte: createdSince } });
  }

  async endLoginSessionsOfUser(realmId: string, userId: string, at: Date, exceptId?: string, emit?: Emit<string[]>): Promise<string[]> {
    if (emit !== undefined) {
      return this.connection.transaction(async (session) => {
        const sids = await this.endSessionsIn(session, realmId, userId, at, exceptId);
        await this.events.insertAll(emitted(emit, sids), session);
        return sids;
      });
    }
    const live = await this.m.loginSessions
      .find({ realmId, userId, endedAt: null, ...(exceptId === undefined ? {} : { _id: { $ne: exceptId } }) }, { _id: 1 })
      .lean<Pick<LoginSessionDoc, '_id'>[]>();
    // Each ended by its own conditional update: a session a parallel call ended first is not reported twice.
    const ended = await Promise.all(
      live.map(async ({ _id }) => ((await this.m.loginSessions.updateOne({ _id, endedAt: null }, { $set: { endedAt: at } })).modifiedCount === 1 ? _id : null)),
    );
    return ended.filter((id): id is string => id !== null);
  }

  async listSigningKeys(realmId: string): Promise<SigningKeyRecord[]> {
    const docs = await this.m.signingKeys.find({ realmId }).sort({ createdAt: -1, kid: 1 }).lean<SigningKeyDoc[]>();
    return docs.map(signingKey);
  }

  async addSigningKey(k: SigningKeyRecord): Promise<void> {
    const doc: SigningKeyDoc = signingKey(k);
    try {
      await this.m.signingKeys.create(doc);
    } catch (err) {
      // A key of that kid exists: it stays as it is (two instances may add the same new key).
      if (!isDuplicate(err)) throw err;
    }
  }

  async retireSigningKey(realmId: string, kid: string, at: Date): Promise<void> {
    await this.m.signingKeys.updateOne({ realmId, kid, retiredAt: null }, { $set: { retiredAt: at } });
  }

  async createOneTimeToken(t: NewOneTimeToken, emit?: Emit): Promise<void> {
    const key = { realmId: t.realmId, purpose: t.purpose, tokenHash: t.tokenHash };
    const doc: OneTimeTokenDoc = {
      ...key,
      userId: t.userId,
      expiresAt: t.expiresAt,
      consumedAt: null,
      createdAt: t.createdAt,
      attempts: 0,
      data: t.data ?? null,
    };
    await this.events.withEvents(async (session) => void (await this.m.oneTimeTokens.replaceOne(key, doc, { upsert: true, session })), emit);
  }

  /** The filter of a live token: not consumed, not expired (at the expiry it is expired). */
  private static live(at: Date) {
    return { consumedAt: null, expiresAt: { $gt: at } };
  }

  async findOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null> {
    const doc = await this.m.oneTimeTokens.findOne({ realmId, purpose, tokenHash, ...MongoStore.live(at) }).lean<OneTimeTokenDoc>();
    return doc ? toToken(doc) : null;
  }

  async consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date, emit?: Emit<OneTimeToken | null>): Promise<OneTimeToken | null> {
    return this.events.withEvents(async (session) => {
      const doc = await this.m.oneTimeTokens
        .findOneAndUpdate({ realmId, purpose, tokenHash, ...MongoStore.live(at) }, { $set: { consumedAt: at } }, { session, returnDocument: 'after' })
        .lean<OneTimeTokenDoc>();
      return doc ? toToken(doc) : null;
    }, emit);
  }

  async checkOneTimeCode(realmId: string, purpose: string, userId: string, codeHash: string, at: Date, maxAttempts: number): Promise<CodeCheck> {
    // One findOneAndUpdate on the user's newest live code: a pipeline update decides from that document's own fields,
    // so picking the code, comparing it and spending it (or a try) cannot be split by a parallel check.
    const triesLeft = { $lt: ['$attempts', maxAttempts] };
    const matches = { $eq: ['$tokenHash', { $literal: codeHash }] };
    const doc = await this.m.oneTimeTokens
      .findOneAndUpdate(
        { realmId, purpose, userId, ...MongoStore.live(at) },
        [
          {
            $set: {
              consumedAt: { $cond: [{ $and: [triesLeft, matches] }, at, '$consumedAt'] },
              attempts: { $cond: [{ $and: [triesLeft, { $not: [matches] }] }, { $add: ['$attempts', 1] }, '$attempts'] },
            },
          },
        ],
        { sort: { createdAt: -1, _id: -1 }, returnDocument: 'after', updatePipeline: true },
      )
      .lean<OneTimeTokenDoc>();
    if (!doc) return { result: 'none' };
    // consumedAt was null before (the filter): set now, it is this call that consumed the code.
    if (doc.consumedAt) return { result: 'ok', token: toToken(doc) };
    return { result: doc.attempts < maxAttempts ? 'wrong' : 'exhausted' };
  }

  async revokeOneTimeTokens(realmId: string, userId: string, purposes: string[], at: Date): Promise<number> {
    const r = await this.m.oneTimeTokens.updateMany({ realmId, userId, purpose: { $in: purposes }, ...MongoStore.live(at) }, { $set: { consumedAt: at } });
    return r.modifiedCount;
  }

  async enqueueMail(m: NewOutboxMail, at: Date): Promise<string> {
    const doc: MailDoc = {
      _id: orderedId(),
      realmId: m.realmId,
      kind: m.kind,
      userId: m.userId,
      to: { address: m.to.address, name: m.to.name },
      from: m.from,
      subject: m.subject,
      text: m.text,
      html: m.html,
      link: m.link,
      status: 'queued',
      attempts: 0,
      nextAttemptAt: at,
      leaseUntil: null,
      lastError: null,
      createdAt: at,
      sentAt: null,
    };
    await this.m.outbox.create(doc);
    return doc._id;
  }

  async claimDueMail(at: Date, leaseMs: number, limit: number): Promise<OutboxMail[]> {
    const claimed: OutboxMail[] = [];
    // One mail per atomic findOneAndUpdate: a mail another worker leased a moment ago no longer matches the filter.
    while (claimed.length < limit) {
      const doc = await this.m.outbox
        .findOneAndUpdate(
          { status: 'queued', nextAttemptAt: { $lte: at }, $or: [{ leaseUntil: null }, { leaseUntil: { $lte: at } }] },
          { $set: { leaseUntil: new Date(at.getTime() + leaseMs) }, $inc: { attempts: 1 } },
          { sort: { nextAttemptAt: 1, createdAt: 1, _id: 1 }, returnDocument: 'after' },
        )
        .lean<MailDoc>();
      if (!doc) break;
      claimed.push(toMail(doc));
    }
    return claimed;
  }

  async markMailSent(id: string, at: Date): Promise<void> {
    await this.m.outbox.updateOne({ _id: id }, { $set: { status: 'sent', sentAt: at, leaseUntil: null, lastError: null } });
  }

  async markMailRetry(id: string, nextAttemptAt: Date, error: string): Promise<void> {
    await this.m.outbox.updateOne({ _id: id, status: 'queued' }, { $set: { nextAttemptAt, lastError: error.slice(0, 1000), leaseUntil: null } });
  }

  async markMailFailed(id: string, error: string): Promise<void> {
    await this.m.outbox.updateOne({ _id: id }, { $set: { status: 'failed', lastError: error.slice(0, 1000), leaseUntil: null } });
  }

  async listMail(limit: number): Promise<OutboxMail[]> {
    if (limit < 1) return [];
    return (await this.m.outbox.find().sort({ createdAt: -1, _id: -1 }).limit(limit).lean<MailDoc[]>()).map(toMail);
  }

  async getMail(id: string): Promise<OutboxMail | null> {
    const doc = await this.m.outbox.findOne({ _id: id }).lean<MailDoc>();
    return doc ? toMail(doc) : null;
  }

  async recordSms(sms: NewSms, at: Date): Promise<string> {
    const doc: SmsDoc = { _id: orderedId(), realmId: sms.realmId, kind: sms.kind, userId: sms.userId, to: sms.to, text: sms.text, createdAt: at };
    await this.m.sms.create(doc);
    return doc._id;
  }

  async listSms(limit: number): Promise<SmsRecord[]> {
    if (limit < 1) return [];
    return (await this.m.sms.find().sort({ createdAt: -1, _id: -1 }).limit(limit).lean<SmsDoc[]>()).map(toSms);
  }

  async getRealmState(realmId: string, key: string): Promise<string | null> {
    return (await this.m.realmState.findOne({ realmId, key }).lean<RealmStateDoc>())?.value ?? null;
  }

  async setRealmState(realmId: string, key: string, value: string): Promise<void> {
    await this.m.realmState.updateOne({ realmId, key }, { $set: { value } }, { upsert: true });
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const value = create();
    try {
      // $setOnInsert: whoever inserts first wins, every later call gets that value back.
      const doc = await this.m.secrets
        .findOneAndUpdate({ _id: name }, { $setOnInsert: { value } }, { upsert: true, returnDocument: 'after' })
        .lean<SecretDoc>();
      if (doc) return doc.value;
    } catch (err) {
      if (!isDuplicate(err)) throw err; // two first inserts raced: the other one's value stands
    }
    const doc = await this.m.secrets.findOne({ _id: name }).lean<SecretDoc>();
    if (!doc) throw new Error(`getOrCreateSecret: secret ${name} vanished`);
    return doc.value;
  }

  async ping(): Promise<void> {
    await this.database().command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private database() {
    const db = this.connection.db;
    if (!db) throw new Error('MongoDB store: the connection is not open');
    return db;
  }
}

/** The URL with its password hidden, for error messages and logs. */
function redact(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** The database named in the URL's path (mongodb://host/name), if any. */
function databaseOf(url: string): string | null {
  const name = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(url)?.[1];
  return name ? decodeURIComponent(name) : null;
}

/**
 * Connects its own mongoose connection (never the global one), checks that the server can run transactions,
 * and creates the collections and unique indexes before the store is used. Rejects with one clear Error
 * (password hidden) when the URL is wrong or the server is unreachable within serverSelectionTimeoutMS.
 * The database is `dbName`, else the URL's path, else "gatehouse" (not the driver's default "test").
 */
export async function openMongoStore(url: string, options: { dbName?: string; serverSelectionTimeoutMS?: number } = {}): Promise<MongoStore> {
  const serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? 5000;
  let connection: Connection | undefined;
  try {
    connection = mongoose.createConnection(url, {
      dbName: options.dbName ?? databaseOf(url) ?? 'gatehouse',
      serverSelectionTimeoutMS,
      // Collections and indexes are made by ensureIndexes below, awaited, not in the background.
      autoCreate: false,
      autoIndex: false,
      // Fail at once instead of queueing operations while mongoose thinks it is disconnected.
      bufferCommands: false,
    });
    await connection.asPromise();
    const store = new MongoStore(connection);
    const hello = (await connection.db!.admin().command({ hello: 1 })) as { setName?: string; msg?: string };
    if (!hello.setName && hello.msg !== 'isdbgrid') {
      throw new Error('the server is a standalone mongod, and the store needs transactions: run it as a replica set (a single-node one will do)');
    }
    await store.ensureIndexes();
    return store;
  } catch (err) {
    await connection?.close().catch(() => {});
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
    const waited = (err as Error | null)?.name === 'MongooseServerSelectionError' ? ` (no usable server within ${serverSelectionTimeoutMS} ms)` : '';
    throw new Error(`Cannot open the MongoDB store at ${redact(url)}: ${reason}${waited}`, { cause: err });
  }
}

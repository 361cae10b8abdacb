import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import type { UserCursor, UserFilter, UserSort } from '../domain/user-query.ts';
import type { EventType, NewEvent } from '../domain/events.ts';
import { eventOf } from '../events/publish.ts';
import type { LoginSessions } from '../identity/login-sessions.ts';
import { setNewPassword, type NewPasswordTools } from '../identity/new-password.ts';
import type { PasswordHasher } from '../identity/password.ts';
import { checkPassword } from '../identity/password-policy.ts';
import { normalizeLogin, type AttributeValue, type EmailVerification, type User } from '../identity/user.ts';
import type { AdminUserPatch, UsersAdminPort } from '../ports/users-admin.ts';
import { UniqueViolation, type Store } from '../store/port.ts';
import type { ApiUserKeys } from './api-user-keys.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';
import { checkCustomAttributes, isEmail, resolveUsername } from './user-rules.ts';

export interface NewUserInput {
  userType: 'human' | 'api';
  username?: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  /** API users only: a human's name is derived. */
  name?: string | null;
  password?: string;
  emailVerification?: EmailVerification;
  locale?: string | null;
  reference?: string | null;
  custom?: Record<string, AttributeValue>;
  state?: 'active' | 'inactive';
  /** API users only: the key to use instead of a generated one. */
  apiKey?: string;
}

export interface UserChange {
  username?: string;
  email?: string | null;
  emailVerification?: EmailVerification;
  firstName?: string | null;
  lastName?: string | null;
  name?: string | null;
  locale?: string | null;
  state?: 'active' | 'inactive';
  reference?: string | null;
  custom?: Record<string, AttributeValue>;
  password?: string;
}

/** Bulk deletes by id take at most this many; by filter, the count must be expected. */
export const BULK_DELETE_MAX_IDS = 1000;

/** What the users service needs besides its ports: the verification mail, and the tools a new password owes. */
export interface UsersServiceDeps {
  store: Store;
  admin: UsersAdminPort;
  hasher: PasswordHasher;
  apiKeys: ApiUserKeys;
  audit: AuditLog;
  sessions: LoginSessions;
  passwordTools: NewPasswordTools;
  sendVerification: (realm: RealmConfig, user: User) => Promise<void>;
  revokeVerification: (realm: RealmConfig, userId: string) => Promise<void>;
  clock: () => Date;
}

/** A UniqueViolation as the 409 the API answers (with emails as usernames, a taken username is a taken email). */
function conflictOf(err: UniqueViolation, realm: RealmConfig, userType: 'human' | 'api'): ConflictError {
  // A user's own writes touch no membership or group: those are the memberships and groups services' to map.
  if (err.field === 'membership' || err.field === 'group') throw err;
  const field = err.field === 'username' && realm.fields.usernames === 'email' && userType === 'human' ? 'email' : err.field;
  return new ConflictError(`${field}.taken`, `${field} is already taken in this realm`, { field });
}

function passwordRule(realm: RealmConfig, password: string, ids: Array<string | null | undefined>): void {
  const problem = checkPassword(password, realm.password, ids);
  if (problem) throw new RuleViolation([{ field: 'password', code: problem, message: `${problem} (length ${realm.password.minLength}–${realm.password.maxLength}${realm.password.rejectCommon ? ', not a common password' : ''}, not the username)` }]);
}

/**
 * The operator's and the apps' user operations (AuthRocket "Users", GenAuth
 * administrator operations), shared by the management API, the console and
 * the CLI. Not limited by the realm's sign-up policy; every rule of the realm's
 * fields applies. Each write is audited, and its event is written in the
 * same store transaction as the change (the audit entry after it: see
 * docs/events.md).
 */
export class UsersService {
  constructor(private readonly d: UsersServiceDeps) {}

  /** The event of a change made by `ctx`, for the store write that makes it. */
  private event(realm: RealmConfig, type: EventType, userId: string, ctx: RequestContext, data?: Record<string, unknown>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data: data as never });
  }

  /** One user.deleted per user a delete removed, written with the delete. */
  private deletedEvents(realm: RealmConfig, ctx: RequestContext): (users: User[]) => NewEvent[] {
    return (users) => users.map((user) => this.event(realm, 'user.deleted', user.id, ctx, { username: user.username }));
  }

  list(realm: RealmConfig, filter: UserFilter, sort: UserSort, after: UserCursor | null, limit: number) {
    return this.d.admin.queryUsers(realm.id, filter, sort, after, limit);
  }

  /** The users with password hashes and identities: the export's rows. */
  records(realm: RealmConfig, users: User[]) {
    return this.d.admin.recordsOf(realm.id, users);
  }

  count(realm: RealmConfig, filter: UserFilter): Promise<number> {
    return this.d.admin.countUsers(realm.id, filter);
  }

  async get(realm: RealmConfig, id: string): Promise<User> {
    const user = await this.d.store.findUserById(realm.id, id);
    if (!user) throw new NotFoundError('user');
    return user;
  }

  /** A human (with a password, or none: they set one by a reset link) or an API user (with a key, returned once). */
  async create(realm: RealmConfig, input: NewUserInput, ctx: RequestContext): Promise<{ user: User; apiKey: string | null }> {
    const human = input.userType === 'human';
    if (human && input.name !== undefined && input.name !== null) {
      throw new RuleViolation([{ field: 'name', code: 'read_only', message: 'set firstName and lastName; name is their combination' }]);
    }
    if (human && input.apiKey !== undefined) throw new RuleViolation([{ field: 'apiKey', code: 'api_only', message: 'only for userType "api"' }]);
    if (input.email && !isEmail(input.email)) throw new RuleViolation([{ field: 'email', code: 'email.invalid', message: 'not an email address' }]);
    const username = resolveUsername(realm, input.userType, input.username, input.email);
    if (input.password !== undefined) passwordRule(realm, input.password, [username, input.email]);
    if (input.custom) checkCustomAttributes(realm, input.custom);
    const verification = input.emailVerification ?? 'none';
    if (verification !== 'none' && !input.email) throw new RuleViolation([{ field: 'emailVerification', code: 'email.missing', message: `${verification} needs an email` }]);
    let apiKey: string | null = null;
    if (!human) {
      apiKey = input.apiKey ?? this.d.apiKeys.generate(realm);
      if (input.apiKey !== undefined) this.d.apiKeys.checkGiven(input.apiKey);
    }
    const at = this.d.clock();
    let user: User;
    try {
      user = await this.d.store.createUser(
        {
          realmId: realm.id,
          userType: input.userType,
          username,
          email: input.email ?? null,
          emailUnique: realm.fields.emails === 'unique',
          emailVerification: verification,
          firstName: input.firstName ?? null,
          lastName: input.lastName ?? null,
          name: human ? null : (input.name ?? null),
          reference: input.reference ?? null,
          locale: input.locale ?? null,
          passwordHash: input.password !== undefined ? await this.d.hasher.hash(input.password) : null,
          customAttributes: input.custom ?? {},
          ...(input.state ? { state: input.state } : {}),
        },
        at,
        (created) => [this.event(realm, 'user.created', created.id, ctx, { userType: created.userType })],
      );
    } catch (err) {
      if (err instanceof UniqueViolation) throw conflictOf(err, realm, input.userType);
      throw err;
    }
    // The key is a write of its own, after the user and its event.
    if (apiKey) await this.d.admin.setApiKey(realm.id, user.id, this.d.apiKeys.stored(realm, apiKey), at);
    if (verification === 'requested') await this.d.sendVerification(realm, user);
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.create', target: { type: 'user', id: user.id }, after: user });
    return { user, apiKey };
  }

  /** Applies an operator's change: every field of the seed, each by the realm's rules. */
  async update(realm: RealmConfig, id: string, change: UserChange, ctx: RequestContext): Promise<User> {
    const before = await this.get(realm, id);
    const human = before.userType === 'human';
    const patch: AdminUserPatch = {};
    if (change.name !== undefined) {
      if (human) throw new RuleViolation([{ field: 'name', code: 'read_only', message: 'set firstName and lastName; name is their combination' }]);
      patch.name = change.name;
    }
    for (const k of ['firstName', 'lastName', 'locale', 'reference', 'state'] as const) if (change[k] !== undefined) (patch as Record<string, unknown>)[k] = change[k];
    const emailChanged = change.email !== undefined && (change.email === null ? before.email !== null : normalizeLogin(change.email) !== normalizeLogin(before.email ?? ''));
    if (change.email !== undefined) {
      if (change.email !== null && !isEmail(change.email)) throw new RuleViolation([{ field: 'email', code: 'email.invalid', message: 'not an email address' }]);
      patch.email = change.email;
      patch.emailUnique = realm.fields.emails === 'unique';
      // A new address is not the verified one: unverified until it is verified again (unless the operator says so in this change).
      if (emailChanged) patch.emailVerification = 'none';
    }
    const email = change.email !== undefined ? change.email : before.email;
    if (human && realm.fields.usernames === 'email') {
      if (change.username !== undefined || emailChanged) patch.username = resolveUsername(realm, 'human', change.username, email);
    } else if (change.username !== undefined) {
      patch.username = resolveUsername(realm, before.userType, change.username, email);
    }
    if (change.emailVerification !== undefined) {
      if (change.emailVerification !== 'none' && !email) throw new RuleViolation([{ field: 'emailVerification', code: 'email.missing', message: `${change.emailVerification} needs an email` }]);
      patch.emailVerification = change.emailVerification;
    }
    if (change.custom !== undefined) {
      checkCustomAttributes(realm, change.custom);
      patch.customAttributes = change.custom;
    }
    if (change.password !== undefined) {
      passwordRule(realm, change.password, [patch.username ?? before.username, email]);
      // Written with the other fields (and their event); what a new password owes follows below.
      patch.passwordHash = await this.d.hasher.hash(change.password);
    }

    const changed = Object.keys(change).filter((k) => k !== 'password');
    const fields = change.password !== undefined ? [...changed, 'password'] : changed;
    let after: User | null;
    try {
      after = await this.d.admin.patchUser(realm.id, id, patch, this.d.clock(), (u) => (u ? [this.event(realm, 'user.updated', id, ctx, { fields })] : []));
    } catch (err) {
      if (err instanceof UniqueViolation) throw conflictOf(err, realm, before.userType);
      throw err;
    }
    if (!after) throw new NotFoundError('user');
    const origin = { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null };
    if (emailChanged) await this.d.revokeVerification(realm, id);
    if (patch.passwordHash) {
      // The same as any new password: reset links die, sessions end, the address on file is told.
      await setNewPassword(this.d.passwordTools, realm, after, { passwordHash: patch.passwordHash }, { reason: 'password_changed', origin, locale: after.locale ?? 'en' });
    }
    if (change.state === 'inactive' && before.state === 'active') await this.d.sessions.endAllOf(realm, id, 'deactivated', origin);
    if (change.emailVerification === 'requested' && after.email) await this.d.sendVerification(realm, after);
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.update', target: { type: 'user', id }, before, after: change.password !== undefined ? { ...after, password: '(set)' } : after });
    return after;
  }

  async delete(realm: RealmConfig, id: string, ctx: RequestContext): Promise<void> {
    const [deleted] = await this.d.admin.deleteUsers(realm.id, [id], this.deletedEvents(realm, ctx));
    if (!deleted) throw new NotFoundError('user');
    await this.audited(realm, [deleted], ctx);
  }

  private async audited(realm: RealmConfig, users: User[], ctx: RequestContext): Promise<void> {
    for (const user of users) {
      await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.delete', target: { type: 'user', id: user.id }, before: user });
    }
  }

  /** By ids: those that exist are deleted (the rest are reported missing). */
  async bulkDeleteIds(realm: RealmConfig, ids: string[], ctx: RequestContext): Promise<{ deleted: string[]; missing: string[] }> {
    const unique = [...new Set(ids)];
    const users = await this.d.admin.deleteUsers(realm.id, unique, this.deletedEvents(realm, ctx));
    await this.audited(realm, users, ctx);
    const gone = new Set(users.map((u) => u.id));
    return { deleted: [...gone], missing: unique.filter((i) => !gone.has(i)) };
  }

  /**
   * By filter: without `expect`, a dry run that counts; with it, deletes only
   * while exactly that many match (in one transaction), else a 409 with the count now.
   */
  async bulkDeleteFilter(realm: RealmConfig, filter: UserFilter, expect: number | undefined, ctx: RequestContext): Promise<{ count: number; deleted: boolean }> {
    if (expect === undefined) return { count: await this.count(realm, filter), deleted: false };
    const result = await this.d.admin.deleteMatching(realm.id, filter, expect, this.deletedEvents(realm, ctx));
    if ('mismatch' in result) throw new ConflictError('expect.mismatch', `${result.mismatch} users match the filter now, not ${expect}: nothing was deleted`, { field: 'expect' });
    await this.audited(realm, result.deleted, ctx);
    return { count: result.deleted.length, deleted: true };
  }
}

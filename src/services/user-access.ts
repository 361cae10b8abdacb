import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import type { EventType, NewEvent } from '../domain/events.ts';
import type { ReturnTo } from '../domain/return-to.ts';
import { eventOf } from '../events/publish.ts';
import type { LoginSessions } from '../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../identity/one-time.ts';
import { mailName, type User } from '../identity/user.ts';
import { realmLink, type Mailer } from '../mail/mailer.ts';
import type { UsersAdminPort } from '../ports/users-admin.ts';
import type { LoginSession, Store } from '../store/port.ts';
import type { ApiUserKeys } from './api-user-keys.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';

/** A credential as the management API lists it: never the secret itself. */
export interface CredentialView {
  /** Stable per user: "password", "totp", "api_key", "identity:<provider>". */
  id: string;
  type: 'password' | 'totp' | 'api_key' | 'identity';
  createdAt: Date | null;
  provider?: string;
  displayName?: string | null;
  confirmed?: boolean;
}

export interface UserAccessDeps {
  store: Store;
  admin: UsersAdminPort;
  apiKeys: ApiUserKeys;
  audit: AuditLog;
  sessions: LoginSessions;
  secrets: OneTimeSecrets;
  mailer: Mailer;
  clock: () => Date;
}

/**
 * How a user gets in, from the operator's side: credentials (list, delete an
 * authenticator or a social connection), API keys (regenerate, show under the
 * encrypt policy, authenticate), login sessions (list, end one, force offline
 * everywhere) and password-reset links.
 */
export class UserAccessService {
  constructor(private readonly d: UserAccessDeps) {}

  private async user(realm: RealmConfig, id: string): Promise<User> {
    const user = await this.d.store.findUserById(realm.id, id);
    if (!user) throw new NotFoundError('user');
    return user;
  }

  private origin(ctx: RequestContext) {
    return { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null };
  }

  /** The event of a change made by `ctx`, for the store write that makes it (the audit entry follows that write). */
  private event(realm: RealmConfig, type: EventType, userId: string, ctx: RequestContext, data?: Record<string, unknown>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ...this.origin(ctx), requestId: ctx.requestId }, at: this.d.clock(), data: data as never });
  }

  async credentials(realm: RealmConfig, userId: string): Promise<CredentialView[]> {
    const user = await this.user(realm, userId);
    const [hash, totp, key, identities] = await Promise.all([
      this.d.store.passwordHashOf(realm.id, userId),
      this.d.store.getTotp(realm.id, userId),
      this.d.admin.getApiKey(realm.id, userId),
      this.d.store.listExternalIdentities(realm.id, userId),
    ]);
    const out: CredentialView[] = [];
    if (hash) out.push({ id: 'password', type: 'password', createdAt: null });
    if (totp) out.push({ id: 'totp', type: 'totp', createdAt: totp.createdAt, confirmed: totp.confirmedAt !== null });
    if (key && user.userType === 'api') out.push({ id: 'api_key', type: 'api_key', createdAt: key.createdAt });
    for (const i of identities) out.push({ id: `identity:${i.provider}`, type: 'identity', provider: i.provider, displayName: i.displayName, createdAt: i.createdAt });
    return out;
  }

  /** "Delete the old device" (the authenticator, with its recovery codes) or a social connection; re-adding by email matching stays possible. */
  async deleteCredential(realm: RealmConfig, userId: string, credentialId: string, ctx: RequestContext): Promise<void> {
    await this.user(realm, userId);
    let removed = false;
    const when = (type: EventType) => (gone: boolean) => (gone ? [this.event(realm, type, userId, ctx, { credentialId })] : []);
    if (credentialId === 'totp') {
      removed = await this.d.store.deleteTotp(realm.id, userId, when('user.mfa.removed'));
    } else if (credentialId.startsWith('identity:')) {
      removed = await this.d.store.unlinkExternalIdentity(realm.id, userId, credentialId.slice('identity:'.length), undefined, when('user.identity.unlinked'));
    } else if (credentialId === 'password' || credentialId === 'api_key') {
      throw new RuleViolation([{ field: 'credentialId', code: 'credential.not_removable', message: credentialId === 'password' ? 'set a new password with PATCH …/users/{id}' : 'regenerate it with POST …/users/{id}/api-key' }]);
    } else {
      throw new NotFoundError('credential');
    }
    if (!removed) throw new NotFoundError('credential');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.credential.delete', target: { type: 'user', id: userId }, before: { credentialId } });
  }

  /** A new key for an API user (generated, or the one given): the old one stops working in the same store step. */
  async regenerateApiKey(realm: RealmConfig, userId: string, given: string | undefined, ctx: RequestContext): Promise<string> {
    const user = await this.user(realm, userId);
    if (user.userType !== 'api') throw new ConflictError('user.not_api', 'only API users have API keys', { field: 'userType' });
    if (given !== undefined) this.d.apiKeys.checkGiven(given);
    const key = given ?? this.d.apiKeys.generate(realm);
    await this.d.admin.setApiKey(realm.id, userId, this.d.apiKeys.stored(realm, key), this.d.clock(), [this.event(realm, 'user.api_key.created', userId, ctx)]);
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.api_key.regenerate', target: { type: 'user', id: userId }, after: { apiKey: key } });
    return key;
  }

  /** The key again: only under the realm's "encrypt" policy (and only for a key sealed under it). */
  async revealApiKey(realm: RealmConfig, userId: string, ctx: RequestContext): Promise<string> {
    const user = await this.user(realm, userId);
    if (user.userType !== 'api') throw new ConflictError('user.not_api', 'only API users have API keys', { field: 'userType' });
    if (realm.fields.apiKeys.policy !== 'encrypt') {
      throw new ConflictError('api_key.hashed', 'this realm keeps API keys hashed (fields.apiKeys.policy "hash"): they cannot be shown again; regenerate one instead');
    }
    const stored = await this.d.admin.getApiKey(realm.id, userId);
    if (!stored) throw new NotFoundError('api key');
    const key = stored.sealed ? this.d.apiKeys.open(realm.id, stored.sealed) : null;
    if (!key) throw new ConflictError('api_key.not_sealed', 'this key was stored before the realm encrypted keys: it cannot be shown; regenerate one instead');
    // Showing a secret is audited like a write.
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.api_key.reveal', target: { type: 'user', id: userId } });
    return key;
  }

  /** The active API user `apiKey` belongs to, or null (unknown, replaced, or the user is inactive). */
  async authenticateKey(realm: RealmConfig, apiKey: string): Promise<User | null> {
    const user = await this.d.admin.findUserByApiKey(realm.id, this.d.apiKeys.lookupHash(realm.id, apiKey));
    return user && user.state === 'active' && user.userType === 'api' ? user : null;
  }

  /**
   * A link for the user to set their own password (AuthRocket's password token), mailed when asked; it lives the
   * realm's `recovery.ttlMinutes`. `ret`: the app the "done" page's sign-in link goes on to (checked against the
   * realm's apps when used, like a return target kept in a session); none by default.
   */
  async passwordToken(
    realm: RealmConfig,
    userId: string,
    send: boolean,
    ctx: RequestContext,
    options: { ret?: ReturnTo | null; ttlMs?: number } = {},
  ): Promise<{ link: string; expiresAt: Date; mailed: boolean }> {
    const user = await this.user(realm, userId);
    if (user.userType !== 'human') throw new ConflictError('user.not_human', 'API users have no password', { field: 'userType' });
    if (send && !user.email) throw new RuleViolation([{ field: 'send', code: 'email.missing', message: 'the user has no email' }]);
    // A welcome mail's link (invitation links, orgs.md §3.3) lives longer than a reset's: the caller says how long.
    const ttlMs = options.ttlMs ?? realm.recovery.ttlMinutes * 60_000;
    const created = this.event(realm, 'user.password_token.created', userId, ctx, { mailed: send });
    const { token, code } = await this.d.secrets.issue(realm.id, userId, 'reset-password', { linkMs: ttlMs, codeMs: ttlMs }, { ret: options.ret ?? null }, [created]);
    const link = realmLink(realm, '/reset-password', { token });
    if (send) {
      await this.d.mailer.send({
        realm,
        kind: 'reset-password',
        to: { address: user.email!, name: mailName(user) },
        userId,
        locale: user.locale ?? 'en',
        link,
        model: { code, minutes: realm.recovery.ttlMinutes, username: user.username, ip: null },
      });
    }
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.password_token.create', target: { type: 'user', id: userId }, after: { mailed: send } });
    return { link, expiresAt: new Date(this.d.clock().getTime() + ttlMs), mailed: send };
  }

  async listSessions(realm: RealmConfig, userId: string): Promise<LoginSession[]> {
    await this.user(realm, userId);
    return this.d.sessions.listLive(realm, userId);
  }

  async endSession(realm: RealmConfig, sid: string, ctx: RequestContext): Promise<void> {
    const session = await this.d.store.findLoginSession(realm.id, sid);
    if (!session || session.endedAt) throw new NotFoundError('session');
    await this.d.sessions.end(realm, session, 'ended_by_operator', this.origin(ctx));
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'session.delete', target: { type: 'session', id: sid }, before: { userId: session.userId } });
  }

  /** Force offline everywhere (GenAuth): every live session of the user ends. */
  async endAllSessions(realm: RealmConfig, userId: string, ctx: RequestContext): Promise<number> {
    await this.user(realm, userId);
    const ended = await this.d.sessions.endAllOf(realm, userId, 'ended_by_operator', this.origin(ctx));
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'user.sessions.delete', target: { type: 'user', id: userId }, after: { ended: ended.length } });
    return ended.length;
  }
}

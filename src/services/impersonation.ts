import { z } from 'zod';
import type { RealmConfig } from '../config/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import type { EventOrigin } from '../events/publish.ts';
import { impersonationEvent, type LoginSessions, type SessionActor, type SessionOrigin } from '../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../identity/one-time.ts';
import type { User } from '../identity/user.ts';
import { realmLink } from '../mail/mailer.ts';
import type { LoginSession } from '../ports/login-sessions.ts';
import type { UsersPort } from '../ports/users.ts';
import type { AuditLog } from './audit-log.ts';
import type { RequestContext } from './context.ts';

/** How long the link the console hands the operator's browser lives: it is followed at once. */
export const IMPERSONATION_LINK_MS = 60_000;
/** An impersonated session's longest life unless begin() is given another (docs/design/console.md §7, question 3). */
export const DEFAULT_IMPERSONATION_MINUTES = 30;
const MAX_IMPERSONATION_MINUTES = 240;

/** The operator who asks, as the console knows them: their console-realm user, that realm, their session there, its issuer. */
export interface ImpersonationActor {
  operatorId: string;
  consoleRealmId: string;
  consoleSid: string;
  /** The console realm's issuer (its publicUrl): the JWTs' `act.iss`. */
  iss: string;
}

/** What the link's token carries, checked when it is read back. */
const linkData = z.object({
  act: z.object({ sub: z.string(), iss: z.string(), realmId: z.string(), sid: z.string() }),
  reason: z.string(),
  maxMinutes: z.number().int().positive(),
  operator: z.string(),
});
type LinkData = z.infer<typeof linkData>;

/** What the confirmation page shows before the operator goes on. */
export interface ImpersonationPreview {
  user: User;
  /** The operator's email (or username, or id). */
  operator: string;
  reason: string;
  /** The session's longest life. */
  maxMinutes: number;
}

/** How accept() went: the new session, or why there is none (the page says which). */
export type ImpersonationAccepted =
  | { ok: true; user: User; session: LoginSession; operator: string }
  /** invalid: unknown, expired or used link; operator_gone: the console session that asked has ended; user_unavailable: deleted, deactivated meanwhile. */
  | { ok: false; reason: 'invalid' | 'operator_gone' | 'user_unavailable' };

export interface ImpersonationDeps {
  store: Pick<UsersPort, 'findUserById'>;
  sessions: LoginSessions;
  secrets: OneTimeSecrets;
  audit: AuditLog;
  clock: () => Date;
}

/** 3–200 characters once trimmed, no control characters (it is shown on pages and in the log). */
export function checkReason(value: string): string {
  const reason = value.trim();
  const length = [...reason].length;
  if (length < 3 || length > 200 || /\p{Cc}/u.test(reason)) {
    throw new RuleViolation([{ field: 'reason', code: 'reason.invalid', message: 'give a reason of 3 to 200 characters, without control characters' }]);
  }
  return reason;
}

/**
 * "Sign in as this user" (docs/design/console.md §3, RFC 8693 `act`): the console asks for a one-time link
 * (begin), the operator's browser follows it on the user's realm and confirms (preview, accept), and the
 * session it gets is the user's with the operator named in it and its JWTs — not the user's login, refused
 * every sensitive change, over when the operator's console session is or at its time limit, or ended (end).
 */
export class ImpersonationService {
  constructor(private readonly d: ImpersonationDeps) {}

  /**
   * A link (single use, 60 s) that signs the operator's browser in as the user, on the user's realm.
   * Refuses an unknown id (NotFoundError), an API or inactive user (ConflictError user.not_human /
   * user.inactive), a bad reason or maxMinutes (RuleViolation), an operator session that is not live or
   * a user of the console realm itself (ForbiddenError). Audited `user.impersonate`, with the reason.
   */
  async begin(
    realm: RealmConfig,
    userId: string,
    actor: ImpersonationActor,
    reason: string,
    ctx: RequestContext,
    options: { maxMinutes?: number } = {},
  ): Promise<{ url: string; expiresAt: Date }> {
    const why = checkReason(reason);
    const maxMinutes = options.maxMinutes ?? DEFAULT_IMPERSONATION_MINUTES;
    if (!Number.isInteger(maxMinutes) || maxMinutes < 1 || maxMinutes > MAX_IMPERSONATION_MINUTES) {
      throw new RuleViolation([{ field: 'maxMinutes', code: 'maxMinutes.invalid', message: `a whole number of minutes from 1 to ${MAX_IMPERSONATION_MINUTES}` }]);
    }
    // An operator posing as another operator would gain that one's grants.
    if (realm.id === actor.consoleRealmId) throw new ForbiddenError('operators of the console cannot be impersonated');
    const user = await this.d.store.findUserById(realm.id, userId);
    if (!user) throw new NotFoundError('user');
    if (user.userType !== 'human') throw new ConflictError('user.not_human', 'API users cannot be impersonated', { field: 'userType' });
    if (user.state !== 'active') throw new ConflictError('user.inactive', 'an inactive user cannot be impersonated', { field: 'state' });
    const operatorSession = await this.d.sessions.peek(actor.consoleRealmId, actor.consoleSid);
    if (!operatorSession || operatorSession.user.id !== actor.operatorId) throw new ForbiddenError('the operator’s console session has ended');
    const data: LinkData = {
      act: { sub: actor.operatorId, iss: actor.iss, realmId: actor.consoleRealmId, sid: actor.consoleSid },
      reason: why,
      maxMinutes,
      operator: operatorSession.user.email ?? operatorSession.user.username ?? actor.operatorId,
    };
    const expiresAt = new Date(this.d.clock().getTime() + IMPERSONATION_LINK_MS);
    const token = await this.d.secrets.issueLink(realm.id, user.id, 'impersonate', IMPERSONATION_LINK_MS, data);
    await this.d.audit.record(ctx, {
      realmId: realm.id,
      operation: 'user.impersonate',
      target: { type: 'user', id: user.id },
      after: { reason: why, operatorId: actor.operatorId, consoleRealmId: actor.consoleRealmId, maxMinutes, linkExpiresAt: expiresAt },
    });
    return { url: realmLink(realm, '/impersonate', { token }), expiresAt };
  }

  /** What the link stands for, left unused (the confirmation page); null when it is not a live one. */
  async preview(realm: RealmConfig, token: string): Promise<ImpersonationPreview | null> {
    const live = await this.d.secrets.peek(realm.id, 'impersonate', token);
    const data = live ? linkData.safeParse(live.data) : null;
    if (!live || !data?.success) return null;
    const user = await this.d.store.findUserById(realm.id, live.userId);
    return user ? { user, operator: data.data.operator, reason: data.data.reason, maxMinutes: data.data.maxMinutes } : null;
  }

  /**
   * Uses the link (once: of two tries, one gets it) and starts the user's session with the operator in it:
   * the operator's methods (amr) from their console session, at most `maxMinutes` long, and its
   * `user.impersonation.started` written with it.
   */
  async accept(realm: RealmConfig, token: string, origin: SessionOrigin & EventOrigin): Promise<ImpersonationAccepted> {
    const used = await this.d.secrets.consume(realm.id, 'impersonate', token);
    const data = used ? linkData.safeParse(used.data) : null;
    if (!used || !data?.success) return { ok: false, reason: 'invalid' };
    const { act, reason, maxMinutes, operator } = data.data;
    const operatorSession = await this.d.sessions.peek(act.realmId, act.sid);
    if (!operatorSession || operatorSession.user.id !== act.sub) return { ok: false, reason: 'operator_gone' };
    const user = await this.d.store.findUserById(realm.id, used.userId);
    if (!user || user.state !== 'active' || user.userType !== 'human') return { ok: false, reason: 'user_unavailable' };
    const now = this.d.clock();
    const actor: SessionActor = { ...act, reason, expiresAt: new Date(now.getTime() + maxMinutes * 60_000) };
    const session = await this.d.sessions.start(
      realm,
      user,
      origin,
      operatorSession.session.amr,
      (s) => [impersonationEvent(realm, { ...s, act: actor }, 'user.impersonation.started', origin, s.createdAt)],
      { act: actor, recordLogin: false },
    );
    return session ? { ok: true, user, session, operator } : { ok: false, reason: 'user_unavailable' };
  }

  /** The operator ends the session they started as the user; false when it had ended already or is not an impersonated one. */
  end(realm: RealmConfig, session: LoginSession, origin: EventOrigin): Promise<boolean> {
    return this.d.sessions.endImpersonation(realm, session, origin);
  }
}

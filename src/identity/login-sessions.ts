import type { RealmConfig } from '../config/index.ts';
import type { Actor, NewEvent } from '../domain/events.ts';
import type { LoginSession, LoginSessionsPort, SessionActor } from '../ports/login-sessions.ts';
import type { UsersPort } from '../ports/users.ts';
import { eventOf, type EventOrigin } from '../events/publish.ts';
import { randomId } from './random.ts';
import type { User } from './user.ts';

export interface SessionOrigin {
  ip: string | null;
  userAgent: string | null;
}

/** Only record activity once a minute: a page view should not always be a write. */
const TOUCH_EVERY_MS = 60 * 1000;

/** What login sessions need of the store: the sessions and the user behind one (their events go with their writes). */
type LoginSessionsStore = LoginSessionsPort & Pick<UsersPort, 'findUserById' | 'recordLogin'>;

export type { SessionActor };

/** Options of LoginSessions.start. */
export interface StartOptions {
  /** An operator starts the session as the user (impersonation): its JWTs carry `act`, and it ends with their console session. */
  act?: SessionActor;
  /** Whether the start counts as the user's login (loginsCount, lastLoginAt); never with `act`. Default true. */
  recordLogin?: boolean;
}

/** The reason an impersonated session is ended with when its operator's console session is gone or its time ran out. */
export const IMPERSONATION_ENDED = 'impersonation_ended';

/** The operator of an impersonated session, as an event's actor. */
export function operatorActor(act: SessionActor): Actor {
  return { type: 'operator', id: act.sub };
}

/**
 * The events of an impersonation, data the session, reason and operator; `actor` by default the operator
 * (with no origin: Gatehouse, which ended it on its own).
 */
export function impersonationEvent(
  realm: RealmConfig,
  session: LoginSession & { act: SessionActor },
  type: 'user.impersonation.started' | 'user.impersonation.ended',
  origin: EventOrigin | null,
  at: Date,
  cause?: string,
  actor: Actor | undefined = origin ? operatorActor(session.act) : undefined,
): NewEvent {
  const base = { sid: session.id, reason: session.act.reason, operatorId: session.act.sub };
  return type === 'user.impersonation.started'
    ? eventOf({ realm, userId: session.userId, type, actor, origin, at, data: base })
    : eventOf({ realm, userId: session.userId, type, actor, origin, at, data: { ...base, cause: cause ?? IMPERSONATION_ENDED } });
}

const impersonated = (session: LoginSession): session is LoginSession & { act: SessionActor } => session.act !== null;

/** The `session.deleted` of sessions of the user ended together, and why. */
export function sessionsEnded(realm: RealmConfig, userId: string, sids: string[], reason: string, origin: EventOrigin, at: Date): NewEvent {
  return eventOf({ realm, userId, type: 'session.deleted', origin, at, data: { sids, reason } });
}

/**
 * The oldest last-seen and creation times a live session may have at `now` (ms): the realm's idle and
 * absolute timeouts. A session seen or created exactly then is still live.
 */
export function liveSince(realm: RealmConfig, now: number): { idleSince: Date; createdSince: Date } {
  return { idleSince: new Date(now - realm.sessions.idleMinutes * 60_000), createdSince: new Date(now - realm.sessions.absoluteHours * 3600_000) };
}

/**
 * Login sessions (DESIGN.md §2): one per browser login. The browser's cookie
 * points at one; ending it here ends it for every instance at once.
 */
export class LoginSessions {
  constructor(
    private readonly store: LoginSessionsStore,
    private readonly clock: () => Date,
    /** The served realm of an id (Realms.byIdOrNull): where an impersonated session's operator session lives. */
    private readonly realmOf: (id: string) => RealmConfig | null = () => null,
  ) {}

  /**
   * The new session; null when the user was deleted or deactivated while signing in (the store refused it).
   * Its `session.created`, and the events `also` makes of it (the caller's user.login.succeeded), are written
   * with it: in one store transaction, or not at all. With `options.act` an operator starts it as the user:
   * not the user's login (loginsCount and lastLoginAt stay), and its `session.created` is the operator's.
   */
  async start(
    realm: RealmConfig,
    user: User,
    origin: SessionOrigin,
    amr: string[],
    also?: (session: LoginSession) => readonly NewEvent[],
    options: StartOptions = {},
  ): Promise<LoginSession | null> {
    const now = this.clock();
    const act = options.act ?? null;
    const session: LoginSession = {
      id: randomId(16),
      realmId: realm.id,
      userId: user.id,
      createdAt: now,
      lastSeenAt: now,
      ip: origin.ip,
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
      amr,
      aal: amr.length > 1 ? 2 : 1,
      endedAt: null,
      act,
      selectedOrgId: null,
    };
    const actor = act ? { type: 'operator' as const, id: act.sub } : undefined;
    const created = eventOf({ realm, type: 'session.created', userId: user.id, actor, origin, at: now, data: { sid: session.id, amr, aal: session.aal } });
    if (!(await this.store.createLoginSession(session, (ok) => (ok ? [created, ...(also?.(session) ?? [])] : [])))) return null;
    if (!act && options.recordLogin !== false) await this.store.recordLogin(realm.id, user.id, now, origin.ip);
    return session;
  }

  /** The live session `sid` and its user, or null when it has ended, timed out, or its user may no longer log in. */
  /**
   * An impersonated session also needs its operator's console session live (looked at, not touched): when
   * that one has ended, this one is ended here (reason `impersonation_ended`), on whichever instance asks first.
   */
  async resume(realm: RealmConfig, sid: string): Promise<{ user: User; session: LoginSession } | null> {
    const session = await this.store.findLoginSession(realm.id, sid);
    if (!session || session.endedAt) return null;
    const now = this.clock();
    if (impersonated(session)) {
      const cause = !this.withinLifetime(realm, session, now.getTime()) ? 'impersonation_expired' : (await this.operatorLive(session.act)) ? null : 'console_session_ended';
      if (cause) {
        await this.endImpersonated(realm, session, IMPERSONATION_ENDED, null, now, cause);
        return null;
      }
    } else if (!this.withinLifetime(realm, session, now.getTime())) {
      await this.store.endLoginSession(realm.id, sid, now);
      return null;
    }
    const user = await this.store.findUserById(realm.id, session.userId);
    if (!user || user.state !== 'active') return null;
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.store.touchLoginSession(realm.id, sid, now);
      session.lastSeenAt = now;
    }
    return { user, session };
  }

  /** The user's sessions that still work (not ended, not idle or past their absolute lifetime), newest first. */
  async listLive(realm: RealmConfig, userId: string): Promise<LoginSession[]> {
    const now = this.clock().getTime();
    const all = await this.store.listLoginSessions(realm.id, userId);
    return all.filter((s) => !s.endedAt && this.withinLifetime(realm, s, now));
  }

  /** Whether `session` has neither idled out nor passed its absolute lifetime (nor, impersonated, its cap) at `now` (ms). */
  withinLifetime(realm: RealmConfig, session: LoginSession, now: number): boolean {
    if (session.act && now >= session.act.expiresAt.getTime()) return false;
    const { idleSince, createdSince } = liveSince(realm, now);
    return session.lastSeenAt.getTime() >= idleSince.getTime() && session.createdAt.getTime() >= createdSince.getTime();
  }

  /** How many of the realm's sessions are live at `now` (withinLifetime's rule, counted by the store). */
  countLive(realm: RealmConfig, now: Date = this.clock()): Promise<number> {
    const { idleSince, createdSince } = liveSince(realm, now.getTime());
    return this.store.countLive(realm.id, idleSince, createdSince);
  }

  /**
   * The live login session `sid` of realm `realmId` and its user, looked at without being touched (a
   * page view elsewhere does not keep it alive): null when ended, timed out, or its user may no longer log in.
   */
  async peek(realmId: string, sid: string): Promise<{ user: User; session: LoginSession } | null> {
    const realm = this.realmOf(realmId);
    if (!realm) return null;
    const session = await this.store.findLoginSession(realm.id, sid);
    if (!session || session.endedAt || !this.withinLifetime(realm, session, this.clock().getTime())) return null;
    const user = await this.store.findUserById(realm.id, session.userId);
    return user && user.state === 'active' ? { user, session } : null;
  }

  /**
   * What an app's back end may rely on (GET /api/sessions/:sid, POST /api/v1/apps/token): `peek`, and for an
   * impersonated session its operator's console session still standing. Looked at, never touched: a back end
   * asking is not the user being active, so the idle timeout still ends an abandoned session.
   */
  async liveForApp(realm: RealmConfig, sid: string): Promise<{ user: User; session: LoginSession } | null> {
    const live = await this.peek(realm.id, sid);
    return live && (await this.actorPresent(live.session)) ? live : null;
  }

  /** Remembers the org the user picked for this session (`org=select`); false when the session has ended meanwhile. */
  async selectOrg(realm: RealmConfig, session: LoginSession, orgId: string | null): Promise<boolean> {
    const ok = await this.store.setSelectedOrg(realm.id, session.id, orgId);
    if (ok) session.selectedOrgId = orgId;
    return ok;
  }

  /** False for an impersonated session whose operator's console session is over (not touched, not ended here); true otherwise. */
  async actorPresent(session: LoginSession): Promise<boolean> {
    return session.act === null || this.operatorLive(session.act);
  }

  /** Whether the operator's console session behind an impersonation still stands, as theirs. */
  private async operatorLive(act: SessionActor): Promise<boolean> {
    const live = await this.peek(act.realmId, act.sid);
    return live !== null && live.user.id === act.sub;
  }

  /**
   * Ends an impersonated session with its `session.deleted` and `user.impersonation.ended`; `origin` null:
   * Gatehouse ended it; `actor` undefined: whoever the origin stands for (eventOf's default).
   */
  private endImpersonated(
    realm: RealmConfig,
    session: LoginSession & { act: SessionActor },
    reason: string,
    origin: EventOrigin | null,
    at: Date,
    cause: string,
    actor?: Actor,
  ): Promise<boolean> {
    const events = [
      eventOf({ realm, userId: session.userId, type: 'session.deleted', actor, origin, at, data: { sid: session.id, reason } }),
      impersonationEvent(realm, session, 'user.impersonation.ended', origin, at, cause, actor),
    ];
    return this.store.endLoginSession(realm.id, session.id, at, (ended) => (ended ? events : []));
  }

  /**
   * The operator ends the session they started as the user (the banner's button): `session.deleted` (reason
   * `impersonation_ended`) and `user.impersonation.ended`, both theirs. False when it had already ended or is not one.
   */
  async endImpersonation(realm: RealmConfig, session: LoginSession, origin: EventOrigin): Promise<boolean> {
    if (!impersonated(session)) return false;
    return this.endImpersonated(realm, session, IMPERSONATION_ENDED, origin, this.clock(), IMPERSONATION_ENDED, operatorActor(session.act));
  }

  /** Ends the session and records why; false when it had already ended. An impersonated one also records `user.impersonation.ended` (cause: `reason`). */
  async end(realm: RealmConfig, session: LoginSession, reason: string, origin: SessionOrigin & { clientId: string | null }): Promise<boolean> {
    const at = this.clock();
    // Ended as any session is (a logout, the user's sessions page, an operator's force-logout): by the browser's user, as eventOf has it.
    if (impersonated(session)) return this.endImpersonated(realm, session, reason, origin, at, reason, { type: 'user', id: session.userId });
    const deleted = eventOf({ realm, userId: session.userId, type: 'session.deleted', origin, at, data: { sid: session.id, reason } });
    return this.store.endLoginSession(realm.id, session.id, at, (ended) => (ended ? [deleted] : []));
  }

  /**
   * Ends every live session of the user (but `keepSid`) and records one
   * `session.deleted` with their ids and why; returns the ids.
   */
  async endAllOf(realm: RealmConfig, userId: string, reason: string, origin: EventOrigin, keepSid?: string): Promise<string[]> {
    const at = this.clock();
    return this.store.endLoginSessionsOfUser(realm.id, userId, at, keepSid, (sids) => (sids.length > 0 ? [sessionsEnded(realm, userId, sids, reason, origin, at)] : []));
  }
}

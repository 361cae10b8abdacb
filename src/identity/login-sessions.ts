import type { RealmConfig } from '../config/index.ts';
import type { NewEvent } from '../domain/events.ts';
import type { LoginSession, LoginSessionsPort } from '../ports/login-sessions.ts';
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
  ) {}

  /**
   * The new session; null when the user was deleted or deactivated while signing in (the store refused it).
   * Its `session.created`, and the events `also` makes of it (the caller's user.login.succeeded), are written
   * with it: in one store transaction, or not at all.
   */
  async start(realm: RealmConfig, user: User, origin: SessionOrigin, amr: string[], also?: (session: LoginSession) => readonly NewEvent[]): Promise<LoginSession | null> {
    const now = this.clock();
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
    };
    const created = eventOf({ realm, type: 'session.created', userId: user.id, origin, at: now, data: { sid: session.id, amr, aal: session.aal } });
    if (!(await this.store.createLoginSession(session, (ok) => (ok ? [created, ...(also?.(session) ?? [])] : [])))) return null;
    await this.store.recordLogin(realm.id, user.id, now, origin.ip);
    return session;
  }

  /** The live session `sid` and its user, or null when it has ended, timed out, or its user may no longer log in. */
  async resume(realm: RealmConfig, sid: string): Promise<{ user: User; session: LoginSession } | null> {
    const session = await this.store.findLoginSession(realm.id, sid);
    if (!session || session.endedAt) return null;
    const now = this.clock();
    if (!this.withinLifetime(realm, session, now.getTime())) {
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

  /** Whether `session` has neither idled out nor passed its absolute lifetime at `now` (ms). */
  withinLifetime(realm: RealmConfig, session: LoginSession, now: number): boolean {
    const { idleSince, createdSince } = liveSince(realm, now);
    return session.lastSeenAt.getTime() >= idleSince.getTime() && session.createdAt.getTime() >= createdSince.getTime();
  }

  /** How many of the realm's sessions are live at `now` (withinLifetime's rule, counted by the store). */
  countLive(realm: RealmConfig, now: Date = this.clock()): Promise<number> {
    const { idleSince, createdSince } = liveSince(realm, now.getTime());
    return this.store.countLive(realm.id, idleSince, createdSince);
  }

  /** Ends the session and records why; false when it had already ended. */
  async end(realm: RealmConfig, session: LoginSession, reason: string, origin: SessionOrigin & { clientId: string | null }): Promise<boolean> {
    const at = this.clock();
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

import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import { describeUserAgent, type DeviceDescription } from '../../identity/user-agent.ts';
import type { LoginSession, Store } from '../../store/port.ts';
import { FlowError } from '../../http/flow-error.ts';

export interface SessionView {
  id: string;
  device: DeviceDescription;
  ip: string | null;
  startedAt: Date;
  lastActiveAt: Date;
  amr: string[];
  current: boolean;
}

/** What an app learns about a `sid` from GET /api/sessions/:sid. */
export type SessionStatus =
  | { active: false }
  | { active: true; sid: string; sub: string; amr: string[]; aal: number; createdAt: Date; lastSeenAt: Date };

/**
 * The personal center's devices page and the apps' session check. A user
 * sees and ends only their own sessions: another user's id is "not found",
 * the same answer as an id that never existed.
 */
export class SessionsService {
  constructor(
    private readonly store: Store,
    private readonly sessions: LoginSessions,
    private readonly clock: () => Date,
  ) {}

  async list(realm: RealmConfig, userId: string, currentSid: string): Promise<SessionView[]> {
    const live = await this.sessions.listLive(realm, userId);
    const views = live.map((s) => ({
      id: s.id,
      device: describeUserAgent(s.userAgent),
      ip: s.ip,
      startedAt: s.createdAt,
      lastActiveAt: s.lastSeenAt,
      amr: s.amr,
      current: s.id === currentSid,
    }));
    // This device first, then the most recently active.
    return views.sort((a, b) => Number(b.current) - Number(a.current) || b.lastActiveAt.getTime() - a.lastActiveAt.getTime());
  }

  /** Ends one of the user's other sessions ("sign out that device"). */
  async end(realm: RealmConfig, userId: string, sid: string, currentSid: string, origin: SessionOrigin): Promise<void> {
    const session = await this.store.findLoginSession(realm.id, sid);
    if (!session || session.userId !== userId || session.endedAt) throw new FlowError(404, 'sessions.notFound');
    // This device signs out with the sign-out button, which also clears the browser's cookie.
    if (sid === currentSid) throw new FlowError(400, 'sessions.isCurrent');
    await this.sessions.end(realm, session, 'ended_by_user', { ...origin, clientId: null });
  }

  /** "Sign out everywhere else": ends every session of the user but this one. Returns how many ended. */
  async endOthers(realm: RealmConfig, userId: string, currentSid: string, origin: SessionOrigin): Promise<number> {
    return (await this.sessions.endAllOf(realm, userId, 'ended_others_by_user', origin, currentSid)).length;
  }

  /** Whether `sid` is a live session of this realm: what an app asks before trusting a JWT's `sid` further. */
  async status(realm: RealmConfig, sid: string): Promise<SessionStatus> {
    const live = await this.sessions.liveForApp(realm, sid);
    if (!live) return { active: false };
    const { session } = live;
    return { active: true, sid: session.id, sub: session.userId, amr: session.amr, aal: session.aal, createdAt: session.createdAt, lastSeenAt: session.lastSeenAt };
  }
}

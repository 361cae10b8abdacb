import type { Emit } from './events.ts';

/**
 * Login sessions (DESIGN.md §2): one per browser login, shared by every instance (identity/login-sessions.ts
 * is their use). Part of the Store (src/store/port.ts), whose adapters pass test/contract/login-sessions.contract.ts.
 * An `emit` is appended in the same transaction as the change (ports/events.ts).
 */

/**
 * The operator behind an impersonated session (docs/design/console.md §3): RFC 8693's `act` (their subject and
 * issuer, carried in the session's JWTs), the console-realm login session it lasts no longer than, the reason
 * they gave, and when it stops at the latest.
 */
export interface SessionActor {
  /** The operator's user id in the console realm. */
  sub: string;
  /** The console realm's issuer (its public URL). */
  iss: string;
  /** The console realm's id and the operator's login session there. */
  realmId: string;
  sid: string;
  reason: string;
  expiresAt: Date;
}

export interface LoginSession {
  id: string;
  realmId: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
  amr: string[];
  /** Authenticator assurance level: 1 for one factor, 2 with MFA. */
  aal: number;
  endedAt: Date | null;
  /** Set when an operator started this session as the user (impersonation); null for the user's own. */
  act: SessionActor | null;
  /** The org the user picked for this session (`/login?…&org=select`, docs/design/orgs.md §7.1); null: none. */
  selectedOrgId: string | null;
}

export interface LoginSessionsPort {
  /**
   * Starts a login session; false, and nothing written, when its user no longer
   * exists or is not active at that moment (deleted or deactivated while signing in).
   */
  createLoginSession(session: LoginSession, emit?: Emit<boolean>): Promise<boolean>;
  findLoginSession(realmId: string, id: string): Promise<LoginSession | null>;
  touchLoginSession(realmId: string, id: string, at: Date): Promise<void>;
  /** Remembers the org picked for a live session (null forgets it); false when the session has ended or is unknown. */
  setSelectedOrg(realmId: string, id: string, orgId: string | null): Promise<boolean>;
  endLoginSession(realmId: string, id: string, at: Date, emit?: Emit<boolean>): Promise<boolean>;
  listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]>;
  /**
   * How many of the realm's sessions are live: not ended, last seen at or after `idleSince` and created at or
   * after `createdSince` (identity/login-sessions.ts's liveSince gives both from the realm's idle and absolute timeouts:
   * the rule of LoginSessions.withinLifetime, so the count agrees with the users' own session lists).
   */
  countLive(realmId: string, idleSince: Date, createdSince: Date): Promise<number>;
  /** Ends every live session of the user except `exceptId`; returns the ids ended. */
  endLoginSessionsOfUser(realmId: string, userId: string, at: Date, exceptId?: string, emit?: Emit<string[]>): Promise<string[]>;
}

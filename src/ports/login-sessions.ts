import type { Emit } from './events.ts';

/**
 * Login sessions (DESIGN.md §2): one per browser login, shared by every instance (identity/login-sessions.ts
 * is their use). Part of the Store (src/store/port.ts), whose adapters pass test/contract/login-sessions.contract.ts.
 * An `emit` is appended in the same transaction as the change (ports/events.ts).
 */

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
}

export interface LoginSessionsPort {
  /**
   * Starts a login session; false, and nothing written, when its user no longer
   * exists or is not active at that moment (deleted or deactivated while signing in).
   */
  createLoginSession(session: LoginSession, emit?: Emit<boolean>): Promise<boolean>;
  findLoginSession(realmId: string, id: string): Promise<LoginSession | null>;
  touchLoginSession(realmId: string, id: string, at: Date): Promise<void>;
  endLoginSession(realmId: string, id: string, at: Date, emit?: Emit<boolean>): Promise<boolean>;
  listLoginSessions(realmId: string, userId: string): Promise<LoginSession[]>;
  /** Ends every live session of the user except `exceptId`; returns the ids ended. */
  endLoginSessionsOfUser(realmId: string, userId: string, at: Date, exceptId?: string, emit?: Emit<string[]>): Promise<string[]>;
}

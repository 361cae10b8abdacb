import type { RealmConfig } from '../config/index.ts';
import type { User } from '../identity/user.ts';
import type { LoginSession } from '../store/port.ts';

declare global {
  namespace Express {
    interface Request {
      realm: RealmConfig;
      locale: string;
      /** Set by loadLogin when the browser holds a live login session. */
      login?: { user: User; session: LoginSession };
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    realmId: string;
    userId: string;
    /** The login session's id (the JWT's `sid`); distinct from the cookie's secret session id. */
    sid: string;
    /** When the user authenticated, for the absolute lifetime and recent-auth checks. */
    authAt: number;
  }
}

export {};

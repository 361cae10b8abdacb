import type { RealmConfig } from '../config/index.ts';
import type { User as GatehouseUser } from '../identity/user.ts';
import type { LoginSession } from '../ports/login-sessions.ts';

// The plumbing's own request and session fields; the pages' flows declare theirs in their session-data.d.ts.

declare global {
  namespace Express {
    interface Request {
      realm: RealmConfig;
      locale: string;
      /** Set by loadLogin when the browser holds a live login session (not `login`: Passport owns req.login). */
      signedIn?: { user: GatehouseUser; session: LoginSession };
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
    /** Who the banner names while an operator acts as the user in this browser (the login session `sid` they started). */
    impersonator: { sid: string; operator: string };
    /** A message for the next page (post-redirect-get). */
    flash: { key: string; params: Record<string, string | number> };
  }
}

export {};

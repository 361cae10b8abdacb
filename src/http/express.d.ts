import type { RealmConfig } from '../config/index.ts';
import type { User as GatehouseUser } from '../identity/user.ts';
import type { LoginSession } from '../store/port.ts';
import type { ReturnInfo } from '../flows/handoff/handoff.service.ts';
import type { PendingSecondFactor } from '../flows/login/login.service.ts';
import type { PendingSocial } from '../flows/social/social.routes.ts';
import type { SocialFlow } from '../flows/social/strategies.ts';

declare global {
  namespace Express {
    interface Request {
      realm: RealmConfig;
      locale: string;
      /** Set by loadLogin when the browser holds a live login session (not `login`: Passport owns req.login). */
      signedIn?: { user: GatehouseUser; session: LoginSession };
      /** On a provider's callback: the flow whose state it matched (taken out of the session). */
      socialFlow?: SocialFlow;
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
    /**
     * Signed up or logged in, but the realm wants the email verified first (no login session yet).
     * userId null: a signup with an address that already has an account (the page must not tell).
     */
    pendingVerification: { realmId: string; userId: string | null; email?: string; ret: ReturnInfo | null; /** The first factor's methods (default ["pwd"]). */ amr?: string[] };
    /** After POST /forgot: who may type a reset code in this browser (never shown to it). */
    recovery: { realmId: string; userIds: string[]; ret: ReturnInfo | null };
    /** A message for the next page (post-redirect-get). */
    flash: { key: string; params: Record<string, string | number> };
    /** A reset link opened in this browser (the token moved off the URL), or a reset code accepted. */
    reset: { realmId: string; token: string };
    /** The new address this browser's user asked to change to, while the code is awaited (/account/email/verify). */
    emailChange: { realmId: string; userId: string; email: string };
    /** An email-change link opened in this browser: the token moved off the URL, spent by the confirm POST. */
    emailConfirm: { realmId: string; token: string };
    /** A change just confirmed by link in a browser not signed in as its user: the "address changed" page, shown once. */
    emailConfirmed: { realmId: string; email: string; usernameFollows: boolean };
    /** The phone number a code was sent to, while it is awaited (/account/phone/verify). */
    phoneChange: { realmId: string; userId: string; phone: string };
    /** A first factor was proved and the sign-in waits for the second (no login session yet): see PendingSecondFactor. */
    mfaPending: PendingSecondFactor;
    /** Recovery codes just made in the personal center, shown (and downloadable) until the user says they are saved. */
    mfaRecoveryCodes: { realmId: string; userId: string; codes: string[] };
    /** A round trip to a social provider, from the button to its callback. */
    socialFlow: SocialFlow;
    /** A provider sign-in that waits for the user: fields to complete, or an existing account to prove. */
    socialPending: PendingSocial;
  }
}

export {};

import type { ReturnTo } from '../domain/return-to.ts';
import type { PendingSecondFactor } from './login/login.service.ts';
import type { PendingSocial } from './social/social.routes.ts';
import type { SocialFlow } from './social/strategies.ts';

// What the flows keep in the request and the browser's session; the plumbing's own fields are in ../http/express.d.ts.

declare global {
  namespace Express {
    interface Request {
      /** On a provider's callback: the flow whose state it matched (taken out of the session). */
      socialFlow?: SocialFlow;
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    /**
     * Signed up or logged in, but the realm wants the email verified first (no login session yet).
     * userId null: a signup with an address that already has an account (the page must not tell).
     */
    pendingVerification: { realmId: string; userId: string | null; email?: string; ret: ReturnTo | null; /** The first factor's methods (default ["pwd"]). */ amr?: string[]; /** An org the sign-up joined: the login session's pick once verified here. */ selectOrgId?: string };
    /** After POST /forgot: who may type a reset code in this browser (never shown to it). */
    recovery: { realmId: string; userIds: string[]; ret: ReturnTo | null };
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
    /** An impersonation link opened in this browser: the token moved off the URL, spent by the confirm POST. */
    impersonation: { realmId: string; token: string };
    /** A round trip to a social provider, from the button to its callback. */
    socialFlow: SocialFlow;
    /** A provider sign-in that waits for the user: fields to complete, or an existing account to prove. */
    socialPending: PendingSocial;
    /** An org invitation's link opened in this browser (the token moved off the URL): kept across the sign-in or sign-up it waits for, spent by accepting. */
    invitation: { realmId: string; token: string };
    /** An invitation link opened in this browser (the token moved off the URL): kept across the sign-in or sign-up it waits for, spent by joining. */
    joinLink: { realmId: string; token: string };
    /** Signed in, and the app asked `org=select`: the user picks an org on /login/org before the token goes to `ret`. */
    orgPick: { realmId: string; sid: string; ret: ReturnTo };
  }
}

export {};

import type { Request, Response } from 'express';
import type { User } from '../../identity/user.ts';
import type { ReturnTarget } from '../handoff/handoff.service.ts';
import { toReturnInfo } from '../handoff/handoff.service.ts';
import type { PendingSecondFactor } from './login.service.ts';

export interface FirstFactorProved {
  user: User;
  /** What `secondFactorStep` (identity/totp.ts) answered for the user. */
  step: 'otp' | 'enrol';
  /** When the first factor was proved, by the app's clock: the pending sign-in expires from then. */
  at: Date;
  /** `passwordTag` of the password hash the first factor was proved against (identity/totp.ts). */
  passwordTag: string;
  /** The first factor's methods (RFC 8176): ["pwd"], later e.g. ["ext"] for a social provider. */
  amr: string[];
  target: ReturnTarget | null;
  /** A personal-center page to return to (already checked with safeNext). */
  next?: string | null;
  /** Added to the login.succeeded event (e.g. { after: 'email.verified' }). */
  context?: Record<string, string>;
}

/**
 * The hook every first factor calls when `secondFactorStep` says one is
 * owed (password login, sign-up, the verified-mailbox login, later social
 * login): no login session is made; the browser holds the pending sign-in
 * under a new session id (no fixation, ASVS 7.2.4) and goes to /login/mfa.
 */
export async function startSecondFactor(req: Request, res: Response, proved: FirstFactorProved): Promise<void> {
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
  const pending: PendingSecondFactor = {
    realmId: req.realm.id,
    userId: proved.user.id,
    ret: toReturnInfo(proved.target),
    next: proved.next ?? null,
    amr: proved.amr,
    step: proved.step,
    startedAt: proved.at.getTime(),
    passwordTag: proved.passwordTag,
    tries: 0,
    ...(proved.context ? { context: proved.context } : {}),
  };
  req.session.mfaPending = pending;
  res.redirect(303, '/login/mfa');
}

/** The sign-in this browser has pending in this realm, if any. */
export function pendingSecondFactor(req: Request): PendingSecondFactor | null {
  const pending = req.session?.mfaPending;
  return pending && pending.realmId === req.realm.id ? pending : null;
}

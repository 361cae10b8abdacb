import type { Request, Response } from 'express';
import { regenerateBrowserSession } from '../../http/session.ts';
import type { PendingLink } from '../social/social.service.ts';
import type { SecondFactorOwed } from '../../identity/totp.ts';
import type { ReturnTarget } from '../handoff/handoff.service.ts';
import { toReturnInfo } from '../handoff/handoff.service.ts';
import type { PendingSecondFactor } from './login.service.ts';

/** A second factor owed (`secondFactorOwed`, identity/totp.ts), with what the route adds: how and where to. */
export interface FirstFactorProved extends SecondFactorOwed {
  /** The first factor's methods: ["pwd"] (RFC 8176), or a social provider's id (["github"]). */
  amr: string[];
  target: ReturnTarget | null;
  /** A personal-center page to return to (already checked with safeNext). */
  next?: string | null;
  /** Added to the user.login.succeeded event (e.g. { after: 'user.email.verified' }). */
  context?: Record<string, string>;
  /** A provider identity to link once the second factor is proved. */
  link?: PendingLink;
  /** The provider identity that proved the first factor: it must still be the user's when the second is typed. */
  identity?: { provider: string; subject: string };
  /** An org the sign-in joined (an invitation at sign-up): the new login session's pick. */
  selectOrgId?: string;
}

/**
 * The hook every first factor calls when `secondFactorOwed` says one is
 * owed (password login, sign-up, the verified-mailbox login, later social
 * login): no login session is made; the browser holds the pending sign-in
 * under a new session id (no fixation, ASVS 7.2.4) and goes to /login/mfa.
 */
export async function startSecondFactor(req: Request, res: Response, proved: FirstFactorProved): Promise<void> {
  await regenerateBrowserSession(req);
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
    ...(proved.link ? { link: proved.link } : {}),
    ...(proved.identity ? { identity: proved.identity } : {}),
    ...(proved.selectOrgId ? { selectOrgId: proved.selectOrgId } : {}),
  };
  req.session.mfaPending = pending;
  res.redirect(303, '/login/mfa');
}

/** The sign-in this browser has pending in this realm, if any. */
export function pendingSecondFactor(req: Request): PendingSecondFactor | null {
  const pending = req.session?.mfaPending;
  return pending && pending.realmId === req.realm.id ? pending : null;
}

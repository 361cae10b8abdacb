import type { Request, Response } from 'express';
import { allowFormAction } from '../../http/csp.ts';
import type { User } from '../../identity/user.ts';
import type { LoginSession } from '../../ports/login-sessions.ts';
import type { HandoffService } from '../../services/handoff.ts';
import { toReturnInfo, withParams, type ReturnTarget } from './handoff.service.ts';

/**
 * Sends the user back to the app with a fresh JWT, by the app's delivery mode
 * (DESIGN.md §3): an auto-submitting form (form_post), or a 302 with the token
 * in the fragment or the query. When the app asked `org=select` and the user
 * has several orgs, the org picker (/login/org) comes first.
 */
export async function deliverToken(
  req: Request,
  res: Response,
  handoff: HandoffService,
  target: ReturnTarget,
  user: User,
  session: LoginSession,
): Promise<void> {
  const prepared = await handoff.prepare(req.realm, target.app, user, session, { pick: target.pickOrg === true });
  if (prepared.kind === 'pick') {
    req.session.orgPick = { realmId: req.realm.id, sid: session.id, ret: toReturnInfo(target)! };
    res.redirect(303, '/login/org');
    return;
  }
  sendToken(res, target, prepared.token);
}

/** The token on its way to the app, by the app's delivery mode. */
export function sendToken(res: Response, target: ReturnTarget, token: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (target.app.delivery === 'form_post') {
    allowFormAction(res, target.redirectUri);
    res.render('handoff/form-post', { action: target.redirectUri, token, state: target.state, appName: target.app.name });
    return;
  }
  res.redirect(302, withParams(target.redirectUri, { token, state: target.state }, target.app.delivery));
}

/** Where a signed-in user goes next: the app that sent them, or the personal center. */
export async function continueAfterLogin(
  req: Request,
  res: Response,
  handoff: HandoffService,
  target: ReturnTarget | null,
  user: User,
  session: LoginSession,
  /** A personal-center page the user was sent away from (already checked with safeNext). */
  next: string | null = null,
): Promise<void> {
  if (target) return deliverToken(req, res, handoff, target, user, session);
  res.redirect(303, next ?? '/account');
}

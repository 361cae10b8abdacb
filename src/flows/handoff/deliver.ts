import type { Request, Response } from 'express';
import { allowFormAction } from '../../http/csp.ts';
import type { User } from '../../identity/user.ts';
import type { LoginSession } from '../../ports/login-sessions.ts';
import type { HandoffService, Issued } from '../../services/handoff.ts';
import { renderPage } from '../../http/render.ts';
import { originOf } from '../../http/session.ts';
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
  const prepared = await handoff.prepare(req.realm, target.app, user, session, { pick: target.pickOrg === true, origin: originOf(req) });
  if (prepared.kind === 'pick') {
    req.session.orgPick = { realmId: req.realm.id, sid: session.id, ret: toReturnInfo(target)! };
    res.redirect(303, '/login/org');
    return;
  }
  sendIssued(res, target, prepared);
}

/**
 * The token on its way to the app, by the app's delivery mode; or, when the app's access rule refused the user,
 * a page saying so (403). The login session stands: the realm's other apps still sign them in.
 */
export function sendIssued(res: Response, target: ReturnTarget, issued: Issued): void {
  res.setHeader('Cache-Control', 'no-store');
  if (issued.kind === 'denied') {
    renderPage(res, 'handoff/no-access', { title: res.locals.t('handoff.noAccess.title', { app: target.app.name }), appName: target.app.name }, 403);
    return;
  }
  const token = issued.token;
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

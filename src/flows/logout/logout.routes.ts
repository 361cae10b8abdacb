import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import type { TokenIssuer } from '../../identity/token-issuer.ts';
import { allowFormAction } from '../../http/csp.ts';
import { renderPage } from '../../http/render.ts';
import { destroyBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { resolveReturnTarget, withParams, type ReturnTarget } from '../handoff/handoff.service.ts';

const hintSchema = z.object({ token_hint: z.string().max(8192).optional() });

async function endAndLeave(req: Request, res: Response, sessions: LoginSessions, target: ReturnTarget | null): Promise<void> {
  if (req.signedIn) await sessions.end(req.realm, req.signedIn.session, 'logout', { ...originOf(req), clientId: target?.app.clientId ?? null });
  if (req.session?.sid) await destroyBrowserSession(req);
  if (target) return res.redirect(303, withParams(target.redirectUri, { state: target.state }, 'query'));
  renderPage(res, 'logout/done', { title: res.locals.t('logout.doneTitle'), loginHref: '/login' });
}

/**
 * Logout (DESIGN.md §3). A GET shows a confirmation and ends nothing, unless
 * it carries a token_hint this realm issued for the current session.
 */
export function logoutRoutes(sessions: LoginSessions, issuer: TokenIssuer): Router {
  const router = Router();

  /** GET /logout */
  router.get('/logout', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query, 'logout');
    const hint = hintSchema.safeParse(req.query);
    if (!hint.success) throw new FlowError(400, 'redirect.invalidParams');
    if (!req.signedIn) return endAndLeave(req, res, sessions, target);
    const hinted = hint.data.token_hint ? await issuer.sessionIdOf(req.realm, hint.data.token_hint) : null;
    if (hinted && hinted === req.signedIn.session.id) return endAndLeave(req, res, sessions, target);
    if (target) allowFormAction(res, target.redirectUri);
    renderPage(res, 'logout/confirm', {
      title: res.locals.t('logout.title'),
      appName: target?.app.name,
      username: req.signedIn.user.username,
    });
  });

  /** POST /logout */
  router.post('/logout', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query, 'logout');
    await endAndLeave(req, res, sessions, target);
  });

  return router;
}

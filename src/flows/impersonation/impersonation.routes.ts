import { Router, type Response } from 'express';
import { FlowError } from '../../http/flow-error.ts';
import { renderPage } from '../../http/render.ts';
import { bindBrowserSession, destroyBrowserSession, originOf, takeTokenIntoSession, tokenInSession } from '../../http/session.ts';
import { displayName } from '../../identity/user.ts';
import type { ImpersonationAccepted, ImpersonationService } from '../../services/impersonation.ts';

const INVALID_LINK = 'impersonation.invalidLink';

/** The page and status for an accept() that gave no session. */
const REFUSED: Record<Extract<ImpersonationAccepted, { ok: false }>['reason'], [number, string]> = {
  invalid: [400, INVALID_LINK],
  operator_gone: [403, 'impersonation.operatorGone'],
  user_unavailable: [409, 'impersonation.userUnavailable'],
};

function noReferrer(res: Response): void {
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/**
 * "Sign in as this user", on the user's realm (docs/design/console.md §3): the console's link
 * (/impersonate?token=…) moves its token into this browser's session and asks the operator to go on;
 * going on signs the browser in as the user with the operator named in the session; the banner's
 * button (/impersonate/end) ends it.
 */
export function impersonationRoutes(service: ImpersonationService): Router {
  const router = Router();

  /** GET /impersonate — with ?token=: keep it in the session, reload without it; then the confirmation. */
  router.get('/impersonate', async (req, res) => {
    noReferrer(res);
    if (await takeTokenIntoSession(req, res, 'impersonation', async (token) => (await service.preview(req.realm, token)) !== null, INVALID_LINK)) return;
    const token = tokenInSession(req, 'impersonation');
    const preview = token ? await service.preview(req.realm, token) : null;
    if (!preview) throw new FlowError(400, INVALID_LINK);
    renderPage(res, 'impersonation/confirm', {
      title: res.locals.t('impersonation.title'),
      user: { name: displayName(preview.user), username: preview.user.username },
      operator: preview.operator,
      reason: preview.reason,
      minutes: preview.maxMinutes,
    });
  });

  /** POST /impersonate — uses the link: this browser is signed in as the user, the operator named in its session. */
  router.post('/impersonate', async (req, res) => {
    noReferrer(res);
    const token = tokenInSession(req, 'impersonation');
    if (!token) throw new FlowError(400, INVALID_LINK);
    delete req.session.impersonation;
    const outcome = await service.accept(req.realm, token, originOf(req));
    if (!outcome.ok) {
      const [status, key] = REFUSED[outcome.reason];
      throw new FlowError(status, key);
    }
    await bindBrowserSession(req, outcome.session);
    req.session.impersonator = { sid: outcome.session.id, operator: outcome.operator };
    res.redirect(303, '/account');
  });

  /** POST /impersonate/end — the banner's button: the session ends, and so does this browser's. */
  router.post('/impersonate/end', async (req, res) => {
    const signed = req.signedIn;
    if (signed && !signed.session.act) throw new FlowError(400, 'impersonation.notImpersonating');
    // Already over (the console session ended, or another tab ended it): the same page.
    if (signed) await service.end(req.realm, signed.session, originOf(req));
    await destroyBrowserSession(req);
    delete res.locals.impersonation;
    delete res.locals.signedIn;
    renderPage(res, 'impersonation/ended', { title: res.locals.t('impersonation.endedTitle') });
  });

  return router;
}

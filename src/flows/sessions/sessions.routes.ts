import { Router, type Request, type RequestHandler } from 'express';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { SessionsService } from './sessions.service.ts';
import { appClient, SESSION_ID, type AppSecretCheck } from '../../http/app-client.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';


/**
 * The personal center's devices page: every live login session, ending one,
 * ending all others. Ending needs a recent authentication (ASVS 7.5.2): a
 * stolen session must not be able to sign its owner out everywhere.
 */
export function sessionsRoutes(service: SessionsService, recentAuth: RequestHandler): Router {
  const router = Router();
  async function show(req: Request, res: import('express').Response, error: FormError | null = null, status = 200) {
    const { user, session } = req.signedIn!;
    const sessions = await service.list(req.realm, user.id, session.id);
    renderAccountPage(res, '/account/sessions', 'account/sessions', { title: res.locals.t('sessions.title'), sessions, error }, status);
  }

  /** GET /account/sessions */
  router.get('/account/sessions', requireLogin, async (req, res) => {
    await show(req, res);
  });

  /** POST /account/sessions/end-others — "sign out everywhere else" (GenAuth's force offline). */
  router.post('/account/sessions/end-others', recentAuth, async (req, res) => {
    const { user, session } = req.signedIn!;
    const count = await service.endOthers(req.realm, user.id, session.id, originOf(req));
    flash(req, count > 0 ? 'sessions.endedOthers' : 'sessions.noOthers', { count });
    res.redirect(303, '/account/sessions');
  });

  /** POST /account/sessions/:sid/end */
  router.post('/account/sessions/:sid/end', recentAuth, async (req, res) => {
    const { user, session } = req.signedIn!;
    const sid = typeof req.params.sid === 'string' ? req.params.sid : '';
    try {
      if (!SESSION_ID.test(sid)) throw new FlowError(404, 'sessions.notFound');
      await service.end(req.realm, user.id, sid, session.id, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, error, status));
    }
    flash(req, 'sessions.ended');
    res.redirect(303, '/account/sessions');
  });

  return router;
}

/**
 * The apps' back channel: GET /api/sessions/:sid tells an app whether the
 * login session its JWT names (`sid`) is still alive, so it can end its own
 * session when the user signs out elsewhere or ends it in the personal center.
 * Mounted at /api.
 */
export function sessionsApiRoutes(service: SessionsService, secretMatches: AppSecretCheck, limiters: LimiterFactory): Router {
  const router = Router();
  const app = appClient({ secretMatches, limiters, realmOf: (req) => req.realm.id }, (res, retryAfter) =>
    retryAfter
      ? res.status(429).json({ error: 'rate_limited', error_description: 'Too many failed authentications from this address' })
      : res.status(401).json({ error: 'invalid_client', error_description: 'HTTP Basic authentication with the app’s client id and secret is required' }),
  );

  /** GET /api/sessions/:sid */
  router.get('/sessions/:sid', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  }, app, async (req, res) => {
    const sid = typeof req.params.sid === 'string' ? req.params.sid : '';
    const status = SESSION_ID.test(sid) ? await service.status(req.realm, sid) : { active: false as const };
    if (!status.active) return res.json({ active: false });
    res.json({
      active: true,
      sid: status.sid,
      sub: status.sub,
      amr: status.amr,
      aal: status.aal,
      iat: Math.floor(status.createdAt.getTime() / 1000),
      last_seen_at: Math.floor(status.lastSeenAt.getTime() / 1000),
    });
  });

  return router;
}

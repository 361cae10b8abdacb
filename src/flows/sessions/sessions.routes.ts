import { Router, type Request, type RequestHandler } from 'express';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { SessionsService } from './sessions.service.ts';

/** Session ids are 16 random bytes, base64url; anything else cannot be one. */
const SID = /^[A-Za-z0-9_-]{10,64}$/;

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
      if (!SID.test(sid)) throw new FlowError(404, 'sessions.notFound');
      await service.end(req.realm, user.id, sid, session.id, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, error, status));
    }
    flash(req, 'sessions.ended');
    res.redirect(303, '/account/sessions');
  });

  return router;
}

/** Whether `secret` is the secret of app `clientId` of realm `realmId` (Realms.appSecretMatches: env var or generated). */
export type AppSecretCheck = (realmId: string, clientId: string, secret: string) => boolean;

/** The app named by HTTP Basic `clientId:secret`, when the secret matches the app's. */
function authenticatedApp(req: Request, secretMatches: AppSecretCheck): string | null {
  const header = req.get('authorization') ?? '';
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
  let clientId: string;
  let secret: string;
  try {
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return null;
  }
  // Compared as digests: constant time whatever the lengths (ASVS 11.2.4-style timing safety).
  return secretMatches(req.realm.id, clientId, secret) ? clientId : null;
}

/**
 * The apps' back channel: GET /api/sessions/:sid tells an app whether the
 * login session its JWT names (`sid`) is still alive, so it can end its own
 * session when the user signs out elsewhere or ends it in the personal center.
 * Mounted at /api.
 */
export function sessionsApiRoutes(service: SessionsService, secretMatches: AppSecretCheck): Router {
  const router = Router();

  /** GET /api/sessions/:sid */
  router.get('/sessions/:sid', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const clientId = authenticatedApp(req, secretMatches);
    if (!clientId) {
      res.setHeader('WWW-Authenticate', `Basic realm="${req.realm.id}", charset="UTF-8"`);
      return res.status(401).json({ error: 'invalid_client', error_description: 'HTTP Basic authentication with the app’s client id and secret is required' });
    }
    const sid = typeof req.params.sid === 'string' ? req.params.sid : '';
    const status = SID.test(sid) ? await service.status(req.realm, sid) : { active: false as const };
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

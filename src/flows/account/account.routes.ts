import { Router, type RequestHandler } from 'express';
import { displayName } from '../../identity/user.ts';
import { renderPage } from '../../http/render.ts';

/** Pages that need a signed-in user send everyone else to the login page, and back afterwards. */
export const requireLogin: RequestHandler = (req, res, next) => {
  if (req.login) return next();
  res.redirect(303, '/login');
};

/**
 * The personal center's landing page. The full center (profile, password,
 * binding, MFA, sessions, history) is its own issue; this page is where a user
 * without a redirect_uri lands after logging in.
 */
export function accountRoutes(): Router {
  const router = Router();

  /** GET /u — GenAuth's path for the personal center. */
  router.get('/u', (_req, res) => res.redirect(301, '/account'));

  /** GET /account */
  router.get('/account', requireLogin, (req, res) => {
    const { user, session } = req.login!;
    renderPage(res, 'account/overview', {
      title: res.locals.t('account.title'),
      profile: {
        name: displayName(user),
        username: user.username,
        email: user.email,
        emailVerified: user.emailVerification === 'verified',
        memberSince: user.createdAt,
      },
      session: { startedAt: session.createdAt, ip: session.ip },
    });
  });

  return router;
}

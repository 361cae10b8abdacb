import { Router } from 'express';
import { z } from 'zod';
import { avatarOf, renderAccountPage, requireLogin, safeNext } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { originOf, renewBrowserSession } from '../../http/session.ts';
import { displayName } from '../../identity/user.ts';
import { formatPhone } from '../phone/phone.service.ts';
import type { OverviewService } from './overview.service.ts';
import type { ReauthService } from '../../services/step-up.ts';
import type { SocialService } from '../social/social.service.ts';
import { allowProviderForms, providerButtons } from '../social/buttons.ts';

/** `code`: the authenticator's code or a recovery code, asked of users with an authenticator. */
const reauthForm = z.object({ password: field.password(), code: field.optionalText(40) });

/**
 * The personal center's landing page and its "confirm it's you" step. Each
 * further page (profile, password, sessions, …) is its own route module
 * behind requireLogin, listed in ACCOUNT_NAV.
 */
export function accountRoutes(reauth: ReauthService, social: SocialService, overview: OverviewService, clock: () => Date): Router {
  const router = Router();

  /** GET /u — GenAuth's path for the personal center. */
  router.get('/u', (_req, res) => res.redirect(301, '/account'));

  /** GET /account */
  router.get('/account', requireLogin, async (req, res) => {
    const { user, session } = req.signedIn!;
    renderAccountPage(res, '/account', 'account/overview', {
      title: res.locals.t('account.title'),
      profile: {
        name: displayName(user),
        avatar: avatarOf(user, displayName(user)),
        email: user.email,
        phone: user.phone ? formatPhone(user.phone) : null,
        memberSince: user.createdAt,
      },
      summary: await overview.summary(req.realm, user),
      session: { startedAt: session.createdAt, ip: session.ip },
    });
  });

  async function showReauth(res: import('express').Response, next: string, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const { realm, signedIn } = res.req;
    const user = signedIn!.user;
    const [askCode, hasPassword] = await Promise.all([reauth.asksForCode(realm, user), reauth.hasPassword(realm, user)]);
    // Without a password, a linked provider confirms it's them (with the code, where they have an authenticator). Not
    // with one: most providers sign an open session in again without asking, which proves less than the password.
    const providers = hasPassword ? [] : await social.reauthProviders(realm, user);
    const buttons = providerButtons(realm, (id) => `/account/reauth/${id}?next=${encodeURIComponent(next)}`, (id) => providers.includes(id));
    allowProviderForms(res, realm, buttons);
    renderPage(res, 'account/reauth', { title: res.locals.t('reauth.title'), next, username: user.username, askCode, hasPassword, providers: buttons, cancelHref: '/account', error: null, ...extra }, status);
  }

  /** GET /account/reauth?next=… */
  router.get('/account/reauth', requireLogin, async (req, res) => {
    await showReauth(res, safeNext(req.query.next) ?? '/account');
  });

  /** POST /account/reauth?next=… */
  router.post('/account/reauth', requireLogin, async (req, res) => {
    const next = safeNext(req.query.next) ?? '/account';
    const form = parseForm(reauthForm, req.body, []);
    if (!form.ok) return showReauth(res, next, { error: { field: form.field, message: form.messageKey } }, 400);
    try {
      await reauth.confirm(req.realm, req.signedIn!.user, form.data.password, originOf(req), form.data.code);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showReauth(res, next, { error }, status));
    }
    await renewBrowserSession(req, clock().getTime());
    res.redirect(303, next);
  });

  return router;
}

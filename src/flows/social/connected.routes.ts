import { Router, type RequestHandler } from 'express';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { rerenderOnFlowError } from '../../http/forms.ts';
import { originOf } from '../../http/session.ts';
import { allowProviderForms } from './buttons.ts';
import type { ConnectedAccountsService } from './connected.service.ts';
import type { SocialService } from './social.service.ts';

/**
 * Personal center → Connected accounts: the social identities linked to the
 * user, a button per provider to link (POST /account/connected/:provider,
 * in social.routes.ts: it goes through the provider), and unlinking.
 */
export function connectedRoutes(service: ConnectedAccountsService, social: SocialService, recentAuth: RequestHandler): Router {
  const router = Router();

  async function show(res: import('express').Response, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const accounts = await service.overview(res.req.realm, res.req.signedIn!.user.id);
    allowProviderForms(res, res.req.realm, accounts.available.map((p) => ({ ...p, action: '' })));
    renderAccountPage(res, '/account/connected', 'account/connected', { title: res.locals.t('connected.title'), ...accounts, error: null, ...extra }, status);
  }

  /** GET /account/connected */
  router.get('/account/connected', requireLogin, async (_req, res) => {
    await show(res);
  });

  /** POST /account/connected/:provider/unlink — refused when it is the user's last way to sign in. */
  router.post('/account/connected/:provider/unlink', recentAuth, async (req, res) => {
    const provider = String(req.params.provider);
    try {
      await social.unlink(req.realm, req.signedIn!.user, provider, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(res, { error }, status));
    }
    flash(req, 'connected.unlinkedNotice', { provider: social.nameOf(req.realm, provider) });
    res.redirect(303, '/account/connected');
  });

  return router;
}

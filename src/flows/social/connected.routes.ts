import { Router } from 'express';
import { renderAccountPage, requireLogin } from '../../http/account.ts';
import type { ConnectedAccountsService } from './connected.service.ts';

/**
 * Personal center → Connected accounts: the social identities linked to the
 * user. Linking and unlinking come with social login; until then the page
 * lists what the store holds (the empty state).
 */
export function connectedRoutes(service: ConnectedAccountsService): Router {
  const router = Router();

  /** GET /account/connected */
  router.get('/account/connected', requireLogin, async (req, res) => {
    const identities = await service.list(req.realm, req.login!.user.id);
    renderAccountPage(res, '/account/connected', 'account/connected', { title: res.locals.t('connected.title'), identities });
  });

  return router;
}

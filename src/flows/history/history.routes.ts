import { Router } from 'express';
import { z } from 'zod';
import { renderAccountPage, requireLogin } from '../../http/account.ts';
import { FlowError } from '../flow-error.ts';
import type { HistoryService } from './history.service.ts';

const pageQuery = z.object({ page: z.string().regex(/^[1-9]\d{0,3}$/).transform(Number).optional() });

/** The personal center's sign-in history. */
export function historyRoutes(service: HistoryService): Router {
  const router = Router();

  /** GET /account/history?page=N */
  router.get('/account/history', requireLogin, async (req, res) => {
    const query = pageQuery.safeParse(req.query);
    if (!query.success) throw new FlowError(400, 'history.badPage');
    const page = query.data.page ?? 1;
    const { entries, hasNext } = await service.page(req.realm, req.signedIn!.user.id, page);
    renderAccountPage(res, '/account/history', 'account/history', {
      title: res.locals.t('history.title'),
      entries,
      page,
      prevHref: page > 1 ? `/account/history${page > 2 ? `?page=${page - 1}` : ''}` : null,
      nextHref: hasNext ? `/account/history?page=${page + 1}` : null,
    });
  });

  return router;
}

import { Router } from 'express';
import { z } from 'zod';
import { InvalidEventCursor } from '../../domain/events.ts';
import { renderAccountPage, requireLogin } from '../../http/account.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { SignInHistory } from '../../services/sign-in-history.ts';

const pageQuery = z.object({ after: z.string().min(1).max(200).optional() });

/** The personal center's sign-in history. */
export function historyRoutes(service: SignInHistory): Router {
  const router = Router();

  /** GET /account/history?after=<cursor> */
  router.get('/account/history', requireLogin, async (req, res) => {
    const query = pageQuery.safeParse(req.query);
    if (!query.success) throw new FlowError(400, 'history.badPage');
    const after = query.data.after;
    const { entries, next } = await service.page(req.realm, req.signedIn!.user.id, after).catch((err: unknown) => {
      throw err instanceof InvalidEventCursor ? new FlowError(400, 'history.badPage') : err;
    });
    renderAccountPage(res, '/account/history', 'account/history', {
      title: res.locals.t('history.title'),
      entries,
      // Keyset pages have no number and no way back but to the start.
      newestHref: after ? '/account/history' : null,
      nextHref: next ? `/account/history?after=${encodeURIComponent(next)}` : null,
    });
  });

  return router;
}

import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ORG_ID } from '../../domain/ids.ts';
import { FlowError } from '../../http/flow-error.ts';
import { parseForm, type FormError } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import type { HandoffService, OrgChoices } from '../../services/handoff.ts';
import { sendIssued } from '../handoff/deliver.ts';
import { originOf } from '../../http/session.ts';
import { fromReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';

const pickForm = z.object({ oid: z.string().regex(ORG_ID) });

/**
 * The org picker (docs/design/orgs.md §7.1): the app asked `org=select` and the signed-in user holds live
 * memberships of two or more active orgs. GET lists them by name (the session's current pick checked);
 * POST remembers the pick for the login session and sends the token, marked `selected: true`, to the app.
 */
export function orgPickerRoutes(handoff: HandoffService): Router {
  const router = Router();

  /** The pending pick and where it leads, or a 400 page when this browser has none (or no longer the session it was for). */
  function pending(req: Request): { target: ReturnTarget; signedIn: NonNullable<Request['signedIn']> } {
    const pick = req.session?.orgPick;
    const signedIn = req.signedIn;
    if (!pick || pick.realmId !== req.realm.id || !signedIn || signedIn.session.id !== pick.sid) throw new FlowError(400, 'login.org.expired');
    const target = fromReturnInfo(req.realm, pick.ret);
    if (!target) throw new FlowError(400, 'redirect.unknownApp');
    const { pickOrg: _asked, ...rest } = target;
    return { target: rest, signedIn };
  }

  function show(res: Response, target: ReturnTarget, choices: OrgChoices, error: FormError | null = null, status = 200) {
    const t = res.locals.t;
    res.setHeader('Cache-Control', 'no-store');
    renderPage(res, 'login/org-picker', { title: t('login.org.title'), appName: target.app.name, ...choices, error }, status);
  }

  /** GET /login/org */
  router.get('/login/org', async (req, res) => {
    const { target, signedIn } = pending(req);
    const choices = await handoff.orgChoices(req.realm, signedIn.user, signedIn.session);
    // The memberships changed since the sign-in: with fewer than two there is nothing to ask.
    if (choices.choices.length < 2) return finish(req, res, target, signedIn, choices.choices[0]?.orgId ?? null);
    show(res, target, choices);
  });

  /** POST /login/org — `oid`, the org picked. */
  router.post('/login/org', async (req, res) => {
    const { target, signedIn } = pending(req);
    const form = parseForm(pickForm, req.body, []);
    const picked = form.ok && (await handoff.select(req.realm, signedIn.user, signedIn.session, form.data.oid));
    if (!picked) {
      const choices = await handoff.orgChoices(req.realm, signedIn.user, signedIn.session);
      return show(res, target, choices, { field: 'oid', message: form.ok ? 'login.org.notYours' : 'login.org.required' }, 400);
    }
    await finish(req, res, target, signedIn, null);
  });

  /** Picks `orgId` when given (the one org left), ends the pending pick and sends the token. */
  async function finish(req: Request, res: Response, target: ReturnTarget, signedIn: NonNullable<Request['signedIn']>, orgId: string | null) {
    if (orgId) await handoff.select(req.realm, signedIn.user, signedIn.session, orgId);
    delete req.session.orgPick;
    sendIssued(res, target, await handoff.issue(req.realm, target.app, signedIn.user, signedIn.session, originOf(req)));
  }

  return router;
}

import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { allowFormAction } from '../../http/csp.ts';
import type { PageCache } from '../../http/page-cache.ts';
import { anonymousPage, renderPage, type Cacheable } from '../../http/render.ts';
import { bindBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { startSecondFactor } from '../login/second-factor.ts';
import { resolveReturnTarget, returnQuery, toReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';
import { allowProviderForms, loginButtons } from '../social/buttons.ts';
import type { SignupService } from './signup.service.ts';
import type { HandoffService } from '../../services/handoff.ts';

const signupForm = z.object({
  email: field.email(),
  username: field.username().optional(),
  password: field.password(),
  firstName: field.optionalText(100),
  lastName: field.optionalText(100),
});

const KEEP = ['email', 'username', 'firstName', 'lastName'] as const;

function show(req: Request, res: Response, target: ReturnTarget | null, extra: Record<string, unknown> = {}, status = 200, cacheable?: Cacheable): void {
  const t = res.locals.t;
  if (target) allowFormAction(res, target.redirectUri);
  const socialButtons = loginButtons(req.realm, target);
  allowProviderForms(res, req.realm, socialButtons);
  renderPage(
    res,
    'signup/signup',
    {
      title: t('signup.title'),
      appName: target?.app.name,
      loginHref: `/login${returnQuery(target)}`,
      usernames: req.realm.fields.usernames,
      passwordMin: req.realm.password.minLength,
      socialButtons,
      socialOnly: req.realm.social.only,
      values: {},
      error: null,
      ...extra,
    },
    status,
    cacheable,
  );
}

export function signupRoutes(service: SignupService, handoff: HandoffService, pages?: PageCache): Router {
  const router = Router();

  /** GET /signup */
  router.get('/signup', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    if (req.signedIn) return continueAfterLogin(req, res, handoff, target, req.signedIn.user, req.signedIn.session);
    if (req.realm.signup.policy !== 'open') throw new FlowError(403, 'signup.closed');
    show(req, res, target, {}, 200, anonymousPage(pages, req, 'signup/signup'));
  });

  /** POST /signup */
  router.post('/signup', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    const form = parseForm(signupForm, req.body, KEEP);
    if (!form.ok) return show(req, res, target, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    try {
      const outcome = await service.signup(req.realm, { ...form.data, locale: req.locale, clientId: target?.app.clientId ?? null }, originOf(req), toReturnInfo(target));
      if ('verify' in outcome) {
        req.session.pendingVerification = outcome.verify
          ? { realmId: req.realm.id, userId: outcome.verify.id, ret: toReturnInfo(target) }
          : { realmId: req.realm.id, userId: null, email: 'email' in outcome ? outcome.email : undefined, ret: toReturnInfo(target) };
        return res.redirect(303, '/verify-email');
      }
      if ('secondFactor' in outcome) return startSecondFactor(req, res, { ...outcome.secondFactor, amr: ['pwd'], target });
      await bindBrowserSession(req, outcome.session);
      await continueAfterLogin(req, res, handoff, target, outcome.user, outcome.session);
    } catch (err) {
      const values = Object.fromEntries(KEEP.map((k) => [k, form.data[k] ?? '']));
      rerenderOnFlowError(res, err, (error, status) => show(req, res, target, { values, error }, status));
    }
  });

  return router;
}

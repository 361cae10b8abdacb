import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { TokenIssuer } from '../../identity/token-issuer.ts';
import { field, parseForm } from '../../http/forms.ts';
import { safeNext } from '../../http/account.ts';
import { allowFormAction } from '../../http/csp.ts';
import type { PageCache } from '../../http/page-cache.ts';
import { anonymousPage, renderPage, type Cacheable } from '../../http/render.ts';
import { bindBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../flow-error.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { resolveReturnTarget, returnQuery, toReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';
import type { LoginService } from './login.service.ts';

const loginForm = z.object({
  identifier: field.requiredText(320),
  password: field.password(),
});

function show(req: Request, res: Response, target: ReturnTarget | null, extra: Record<string, unknown> = {}, status = 200, cacheable?: Cacheable): void {
  const t = res.locals.t;
  if (target) allowFormAction(res, target.redirectUri);
  renderPage(
    res,
    'login/login',
    {
      title: t('login.title'),
      appName: target?.app.name,
      signupHref: req.realm.signup.policy === 'open' ? `/signup${returnQuery(target)}` : null,
      forgotHref: `/forgot${returnQuery(target)}`,
      usernames: req.realm.fields.usernames,
      values: {},
      error: null,
      ...extra,
    },
    status,
    cacheable,
  );
}

export function loginRoutes(service: LoginService, issuer: TokenIssuer, pages?: PageCache): Router {
  const router = Router();

  /** GET /login — the form, or straight back to the app when a login session exists. */
  router.get('/login', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    if (req.login) return continueAfterLogin(req, res, issuer, target, req.login.user, req.login.session, safeNext(req.query.next));
    show(req, res, target, {}, 200, anonymousPage(pages, req, 'login/login'));
  });

  /** POST /login */
  router.post('/login', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    const form = parseForm(loginForm, req.body, ['identifier']);
    if (!form.ok) return show(req, res, target, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    try {
      const outcome = await service.login(req.realm, { ...form.data, clientId: target?.app.clientId ?? null }, originOf(req));
      if ('verify' in outcome) {
        // Right password, unverified address in a realm that requires it: no JWT, a way to verify instead.
        req.session.pendingVerification = { realmId: req.realm.id, userId: outcome.verify.id, ret: toReturnInfo(target) };
        return res.redirect(303, '/verify-email');
      }
      await bindBrowserSession(req, outcome.session);
      await continueAfterLogin(req, res, issuer, target, outcome.user, outcome.session, safeNext(req.query.next));
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      show(req, res, target, { values: { identifier: form.data.identifier }, error: { field: err.field ?? null, message: err.messageKey, params: err.params } }, err.status);
    }
  });

  return router;
}

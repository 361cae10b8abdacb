import type { AfterResponse } from '../../http/after-response.ts';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { originOf, takeTokenIntoSession, tokenInSession } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { fromReturnInfo, resolveReturnTarget, returnQuery, toReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';
import type { RecoveryService } from './recovery.service.ts';

const forgotForm = z.object({ identifier: field.requiredText(320) });
const codeForm = z.object({ code: field.code() });
const resetForm = z.object({ password: field.password() });

/**
 * Password recovery pages: ask (/forgot), prove the mailbox (link or code),
 * choose a new password (/reset-password). The reset token never stays in the
 * address bar: it moves into the session and the page reloads without it.
 */
export function recoveryRoutes(service: RecoveryService, logger: Logger, afterResponse: AfterResponse): Router {
  const router = Router();

  function showForgot(req: Request, res: Response, target: ReturnTarget | null, extra: Record<string, unknown> = {}, status = 200): void {
    renderPage(
      res,
      'recovery/forgot',
      { title: res.locals.t('recovery.title'), loginHref: `/login${returnQuery(target)}`, usernames: req.realm.fields.usernames, values: {}, error: null, ...extra },
      status,
    );
  }

  function showSent(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200): void {
    const recovery = req.session?.recovery?.realmId === req.realm.id ? req.session.recovery : null;
    renderPage(
      res,
      'recovery/sent',
      {
        title: res.locals.t('recovery.sentTitle'),
        minutes: req.realm.recovery.ttlMinutes,
        loginHref: `/login${returnQuery(fromReturnInfo(req.realm, recovery?.ret))}`,
        againHref: `/forgot${returnQuery(fromReturnInfo(req.realm, recovery?.ret))}`,
        error: null,
        ...extra,
      },
      status,
    );
  }

  /** The reset this browser may do: a link token moved into the session, or the token an accepted code gave it. */
  function resetOf(req: Request): { token: string } | null {
    const token = tokenInSession(req, 'reset');
    return token ? { token } : null;
  }

  function showReset(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200): void {
    res.setHeader('Referrer-Policy', 'no-referrer');
    renderPage(res, 'recovery/reset', { title: res.locals.t('recovery.resetTitle'), passwordMin: req.realm.password.minLength, error: null, ...extra }, status);
  }

  /** GET /forgot */
  router.get('/forgot', (req, res) => {
    showForgot(req, res, resolveReturnTarget(req.realm, req.query));
  });

  /** POST /forgot — the same answer whether or not the account exists; mail goes out after the answer. */
  router.post('/forgot', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    const form = parseForm(forgotForm, req.body, ['identifier']);
    if (!form.ok) return showForgot(req, res, target, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    const origin = originOf(req);
    let users;
    try {
      users = await service.request(req.realm, form.data.identifier, origin);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showForgot(req, res, target, { values: { identifier: form.data.identifier }, error }, status));
    }
    const ret = toReturnInfo(target);
    req.session.recovery = { realmId: req.realm.id, userIds: users.map((u) => u.id), ret };
    showSent(req, res);
    const realm = req.realm;
    const locale = req.locale;
    res.once('finish', () => {
      afterResponse.run(() => service.mailResetLinks(realm, users, locale, ret, origin).catch((err: unknown) => logger.error({ err }, 'recovery: could not queue the reset mail')));
    });
  });

  /** POST /forgot/code — the 6-digit code from the mail, typed in the browser that asked. */
  router.post('/forgot/code', async (req, res) => {
    const recovery = req.session?.recovery?.realmId === req.realm.id ? req.session.recovery : null;
    if (!recovery) throw new FlowError(400, 'recovery.noRequest');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showSent(req, res, { error: { field: 'code', message: form.messageKey } }, 400);
    try {
      const { token } = await service.acceptCode(req.realm, recovery.userIds, form.data.code);
      req.session.reset = { realmId: req.realm.id, token };
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showSent(req, res, { error }, status));
    }
    res.redirect(303, '/reset-password');
  });

  /** GET /reset-password — with ?token= from the mail: keep it in the session, reload without it. */
  router.get('/reset-password', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (await takeTokenIntoSession(req, res, 'reset', (token) => service.linkIsLive(req.realm, token), 'recovery.invalidLink')) return;
    const by = resetOf(req);
    if (!by || !(await service.linkIsLive(req.realm, by.token))) throw new FlowError(400, 'recovery.invalidLink');
    showReset(req, res);
  });

  /** POST /reset-password — the new password. */
  router.post('/reset-password', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    const by = resetOf(req);
    if (!by) throw new FlowError(400, 'recovery.invalidLink');
    const form = parseForm(resetForm, req.body, []);
    if (!form.ok) return showReset(req, res, { error: { field: form.field, message: form.messageKey } }, 400);
    let ret;
    try {
      ({ ret } = await service.reset(req.realm, by, form.data.password, originOf(req), req.locale));
    } catch (err) {
      // Only the password is the form's to fix; a spent or expired token is an error page.
      return rerenderOnFlowError(res, err, (error, status) => showReset(req, res, { error }, status), (e) => e.field === 'password');
    }
    // The token carries the app it was asked from; the request's session is the fallback.
    const target = fromReturnInfo(req.realm, ret ?? req.session.recovery?.ret ?? null);
    delete req.session.reset;
    delete req.session.recovery;
    renderPage(res, 'recovery/done', { title: res.locals.t('recovery.doneTitle'), loginHref: `/login${returnQuery(target)}` });
  });

  return router;
}

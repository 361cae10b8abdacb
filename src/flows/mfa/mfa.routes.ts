import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { flash, ownPending, renderAccountPage } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { MfaService } from './mfa.service.ts';
import { sendRecoveryCodes } from './recovery-codes-file.ts';

const confirmForm = z.object({ code: field.totp() });
/** Either a 6-digit code or a recovery code: the service tells them apart. */
const removeForm = z.object({ code: field.requiredText(40) });

const PAGE = '/account/mfa';

/** The recovery codes this browser was just shown, while they are its user's. */
function shownCodes(req: Request): string[] | null {
  return ownPending(req, req.session.mfaRecoveryCodes)?.codes ?? null;
}

/**
 * /account/mfa: the authenticator app (TOTP) and its recovery codes. Every
 * page and change needs a recent authentication. New recovery codes wait in
 * the browser's session, shown on the page (and downloadable) until the user
 * says they are saved; the store only ever has their HMACs.
 */
export function mfaRoutes(service: MfaService, recent: RequestHandler): Router {
  const router = Router();

  async function show(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const t = res.locals.t;
    const { user } = req.signedIn!;
    const codes = shownCodes(req);
    if (codes) {
      return renderAccountPage(res, PAGE, 'account/mfa-codes', { title: t('mfa.codes.title'), codes, account: user.email ?? user.username, ...extra }, status);
    }
    const overview = await service.overview(req.realm, user);
    if (overview.state === 'enrolling') {
      return renderAccountPage(res, PAGE, 'account/mfa-enrol', { title: t('mfa.enrol.heading'), sheet: overview.sheet, error: null, ...extra }, status);
    }
    renderAccountPage(res, PAGE, 'account/mfa', { title: t('mfa.title'), overview, required: req.realm.mfa.policy === 'required', error: null, ...extra }, status);
  }

  function keepCodes(req: Request, codes: string[]): void {
    req.session.mfaRecoveryCodes = { realmId: req.realm.id, userId: req.signedIn!.user.id, codes };
  }

  /** GET /account/mfa */
  router.get(PAGE, recent, async (req, res) => {
    await show(req, res);
  });

  /** POST /account/mfa/enrol — a fresh secret; the QR code shows on the page. */
  router.post(`${PAGE}/enrol`, recent, async (req, res) => {
    await service.begin(req.realm, req.signedIn!.user, originOf(req));
    res.redirect(303, PAGE);
  });

  /** POST /account/mfa/cancel — drops an enrolment that was not confirmed. */
  router.post(`${PAGE}/cancel`, recent, async (req, res) => {
    await service.cancel(req.realm, req.signedIn!.user, originOf(req));
    flash(req, 'mfa.flash.cancelled');
    res.redirect(303, PAGE);
  });

  /** POST /account/mfa/confirm — only a right code turns it on; then the recovery codes, once. */
  router.post(`${PAGE}/confirm`, recent, async (req, res) => {
    const form = parseForm(confirmForm, req.body, []);
    if (!form.ok) return show(req, res, { error: { field: 'code', message: form.messageKey } }, 400);
    try {
      keepCodes(req, await service.confirm(req.realm, req.signedIn!.user, form.data.code, originOf(req)));
    } catch (err) {
      // Only a wrong code is the form's to show; "already on" (another tab) is an error page.
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, { error }, status), (e) => e.field === 'code');
    }
    flash(req, 'mfa.flash.enrolled');
    res.redirect(303, PAGE);
  });

  /** POST /account/mfa/recovery-codes — new codes; the old ones stop working at once. */
  router.post(`${PAGE}/recovery-codes`, recent, async (req, res) => {
    keepCodes(req, await service.regenerateRecoveryCodes(req.realm, req.signedIn!.user, originOf(req)));
    flash(req, 'mfa.flash.regenerated');
    res.redirect(303, PAGE);
  });

  /** POST /account/mfa/recovery-codes/saved — the user has them: they leave the session. */
  router.post(`${PAGE}/recovery-codes/saved`, recent, (req, res) => {
    const had = shownCodes(req) !== null;
    delete req.session.mfaRecoveryCodes;
    if (had) flash(req, 'mfa.flash.saved');
    res.redirect(303, PAGE);
  });

  /** GET /account/mfa/recovery-codes.txt — only while the codes are on the page. */
  router.get(`${PAGE}/recovery-codes.txt`, recent, (req, res) => {
    const codes = shownCodes(req);
    if (!codes) throw new FlowError(404, 'errors.notFound');
    const { user } = req.signedIn!;
    sendRecoveryCodes(req, res, user.email ?? user.username, codes);
  });

  /** POST /account/mfa/remove — needs a current code or a recovery code. */
  router.post(`${PAGE}/remove`, recent, async (req, res) => {
    const form = parseForm(removeForm, req.body, []);
    if (!form.ok) return show(req, res, { error: { field: 'code', message: form.messageKey } }, 400);
    try {
      await service.remove(req.realm, req.signedIn!.user, form.data.code, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, { error }, status), (e) => e.field === 'code' || e.status === 429);
    }
    delete req.session.mfaRecoveryCodes;
    flash(req, 'mfa.flash.removed');
    res.redirect(303, PAGE);
  });

  return router;
}

import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { flash, ownPending, renderAccountPage, requireLogin } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { originOf } from '../../http/session.ts';
import { formatPhone, PHONE_CODE_TTL_MINUTES, type PhoneService } from './phone.service.ts';

const phoneForm = z.object({ phone: field.requiredText(40) });
const codeForm = z.object({ code: field.code() });

/** A code field that is not 6 digits gets the SMS wording (validation.code speaks of an email). */
const codeMessage = (messageKey: string) => (messageKey === 'validation.required' ? messageKey : 'phonePage.codeFormat');

/**
 * The personal center's phone page: bind a number, change it, or remove it.
 * A number is asked for here (after a recent authentication), a code goes to
 * it by SMS, and /account/phone/verify binds it when the code comes back.
 */
export function phoneRoutes(service: PhoneService, requireRecentAuth: RequestHandler): Router {
  const router = Router();

  /** The number this browser's user is waiting for a code on. */
  const pendingOf = (req: Request) => ownPending(req, req.session?.phoneChange);

  /** "Numbers without a country code are read as United States numbers", in the page's language. */
  function countryName(req: Request): string | null {
    const code = req.realm.account.defaultPhoneCountry;
    if (!code) return null;
    return new Intl.DisplayNames([req.locale, 'en'], { type: 'region' }).of(code) ?? code;
  }

  function showPage(req: Request, res: Response, extra: { error?: FormError; values?: Record<string, string> } = {}, status = 200): void {
    const { user } = req.signedIn!;
    const pending = pendingOf(req);
    renderAccountPage(
      res,
      '/account/phone',
      'account/phone',
      {
        title: res.locals.t('phonePage.title'),
        current: user.phone ? { phone: user.phone, display: formatPhone(user.phone), verified: user.phoneVerified } : null,
        pending: pending ? { display: formatPhone(pending.phone) } : null,
        country: countryName(req),
        values: extra.values ?? {},
        error: extra.error ?? null,
      },
      status,
    );
  }

  function showVerify(req: Request, res: Response, phone: string, error: FormError | null = null, status = 200): void {
    renderAccountPage(
      res,
      '/account/phone',
      'account/phone-verify',
      { title: res.locals.t('phonePage.verifyTitle'), display: formatPhone(phone), minutes: PHONE_CODE_TTL_MINUTES, error },
      status,
    );
  }

  /** Sends the code and answers like the page the request came from (the phone page or the code page). */
  async function send(req: Request, res: Response, phone: string, onError: (error: FormError, status: number) => void): Promise<boolean> {
    try {
      await service.sendCode(req.realm, req.signedIn!.user, phone, req.locale, originOf(req));
      return true;
    } catch (err) {
      rerenderOnFlowError(res, err, onError);
      return false;
    }
  }

  /** GET /account/phone */
  router.get('/account/phone', requireLogin, (req, res) => {
    showPage(req, res);
  });

  /** POST /account/phone — a number to bind: a code goes to it by SMS; nothing changes yet. */
  router.post('/account/phone', requireRecentAuth, async (req, res) => {
    const form = parseForm(phoneForm, req.body, ['phone']);
    if (!form.ok) return showPage(req, res, { error: { field: 'phone', message: form.messageKey }, values: form.values }, 400);
    let phone: string;
    try {
      phone = service.parse(req.realm, form.data.phone);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showPage(req, res, { error, values: { phone: form.data.phone } }, status));
    }
    const sent = await send(req, res, phone, (error, status) => showPage(req, res, { error, values: { phone: form.data.phone } }, status));
    if (!sent) return;
    req.session.phoneChange = { realmId: req.realm.id, userId: req.signedIn!.user.id, phone };
    res.redirect(303, '/account/phone/verify');
  });

  /** GET /account/phone/verify — "type the code we texted". */
  router.get('/account/phone/verify', requireRecentAuth, (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/phone');
    showVerify(req, res, pending.phone);
  });

  /**
   * POST /account/phone/verify — the code, for the number this browser asked it for (kept in the
   * session, never taken from the form): checked together, so the code only ever binds the number
   * it was texted to.
   */
  router.post('/account/phone/verify', requireRecentAuth, async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/phone');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showVerify(req, res, pending.phone, { field: 'code', message: codeMessage(form.messageKey) }, 400);
    let user;
    try {
      user = await service.confirm(req.realm, req.signedIn!.user, pending.phone, form.data.code, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showVerify(req, res, pending.phone, error, status));
    }
    delete req.session.phoneChange;
    flash(req, 'phonePage.bound', { phone: formatPhone(user.phone!) });
    res.redirect(303, '/account/phone');
  });

  /** POST /account/phone/verify/resend — a new code to the same number; the older one stops working. */
  router.post('/account/phone/verify/resend', requireRecentAuth, async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/phone');
    const sent = await send(req, res, pending.phone, (error, status) => showVerify(req, res, pending.phone, error, status));
    if (!sent) return;
    flash(req, 'phonePage.resent', { phone: formatPhone(pending.phone) });
    res.redirect(303, '/account/phone/verify');
  });

  /** POST /account/phone/remove — unbinds the number. */
  router.post('/account/phone/remove', requireRecentAuth, async (req, res) => {
    const { user } = req.signedIn!;
    await service.remove(req.realm, user, originOf(req));
    delete req.session.phoneChange;
    if (user.phone) flash(req, 'phonePage.removed', { phone: formatPhone(user.phone) });
    res.redirect(303, '/account/phone');
  });

  return router;
}

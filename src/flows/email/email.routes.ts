import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { field, parseForm } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { originOf } from '../../http/session.ts';
import { FlowError } from '../flow-error.ts';
import type { VerificationService } from '../verification/verification.service.ts';
import type { EmailService } from './email.service.ts';

const emailForm = z.object({ email: field.email() });
const codeForm = z.object({ code: field.requiredText(20).pipe(z.string().regex(/^\d{6}$/, 'validation.code')) });
const tokenQuery = z.object({ token: z.string().regex(/^[\w-]{20,100}$/) });

type FormError = { field: string | null; message: string; params?: Record<string, string | number> };

function errorOf(err: FlowError): FormError {
  return { field: err.field ?? null, message: err.messageKey, params: err.params };
}

/**
 * The personal center's email page: the current address and its state,
 * verifying it, and changing (or binding) it. A change is asked for here,
 * after a recent authentication, and happens once the new address is proven:
 * by the code typed at /account/email/verify, or by the link in the same mail
 * (/account/email/confirm, which works in any browser).
 */
export function emailRoutes(service: EmailService, verification: VerificationService, requireRecentAuth: RequestHandler): Router {
  const router = Router();

  /** The change this browser's user is waiting to confirm. */
  function pendingOf(req: Request) {
    const pending = req.session?.emailChange;
    return pending && pending.realmId === req.realm.id && pending.userId === req.login?.user.id ? pending : null;
  }

  function showPage(req: Request, res: Response, extra: { error?: FormError; errorIn?: 'change' | 'current'; values?: Record<string, string> } = {}, status = 200): void {
    const { user } = req.login!;
    renderAccountPage(
      res,
      '/account/email',
      'account/email',
      {
        title: res.locals.t('emailPage.title'),
        current: user.email ? { email: user.email, verified: user.emailVerification === 'verified' } : null,
        pending: pendingOf(req),
        usernameFollows: req.realm.fields.usernames === 'email' && user.userType === 'human',
        codeMinutes: req.realm.emailVerification.codeTtlMinutes,
        values: extra.values ?? {},
        error: extra.error ?? null,
        errorIn: extra.errorIn ?? null,
      },
      status,
    );
  }

  function showVerify(req: Request, res: Response, email: string, error: FormError | null = null, status = 200): void {
    renderAccountPage(
      res,
      '/account/email',
      'account/email-verify',
      { title: res.locals.t('emailPage.verifyTitle'), email, codeMinutes: req.realm.emailVerification.codeTtlMinutes, linkHours: req.realm.emailVerification.linkTtlHours, error },
      status,
    );
  }

  /** The link's token, once moved off the URL into this browser's session. */
  function confirmTokenOf(req: Request): string | null {
    const c = req.session?.emailConfirm;
    return c && c.realmId === req.realm.id ? c.token : null;
  }

  /** GET /account/email */
  router.get('/account/email', requireLogin, (req, res) => {
    showPage(req, res);
  });

  /** POST /account/email — a new address: a code and a link go to it; nothing changes yet. */
  router.post('/account/email', requireRecentAuth, async (req, res) => {
    const form = parseForm(emailForm, req.body, ['email']);
    if (!form.ok) return showPage(req, res, { error: { field: form.field, message: form.messageKey }, errorIn: 'change', values: form.values }, 400);
    try {
      await service.requestChange(req.realm, req.login!.user, req.login!.session.id, form.data.email, req.locale, originOf(req));
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return showPage(req, res, { error: errorOf(err), errorIn: 'change', values: { email: form.data.email } }, err.status);
    }
    req.session.emailChange = { realmId: req.realm.id, userId: req.login!.user.id, email: form.data.email };
    res.redirect(303, '/account/email/verify');
  });

  /** GET /account/email/verify — "type the code we sent to the new address". */
  router.get('/account/email/verify', requireRecentAuth, (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/email');
    showVerify(req, res, pending.email);
  });

  /** POST /account/email/verify — the code: the address switches now. */
  router.post('/account/email/verify', requireRecentAuth, async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/email');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showVerify(req, res, pending.email, { field: 'code', message: form.messageKey }, 400);
    let user;
    try {
      user = await service.confirmCode(req.realm, req.login!.user, form.data.code, originOf(req), req.locale);
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      return showVerify(req, res, pending.email, errorOf(err), err.status);
    }
    delete req.session.emailChange;
    flash(req, 'emailPage.changed', { email: user.email ?? '' });
    res.redirect(303, '/account/email');
  });

  /** POST /account/email/verify/resend — a fresh code and link to the same new address; the older ones stop working. */
  router.post('/account/email/verify/resend', requireRecentAuth, async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) return res.redirect(303, '/account/email');
    try {
      await service.requestChange(req.realm, req.login!.user, req.login!.session.id, pending.email, req.locale, originOf(req));
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return showVerify(req, res, pending.email, errorOf(err), err.status);
    }
    flash(req, 'emailPage.resent', { email: pending.email });
    res.redirect(303, '/account/email/verify');
  });

  /** POST /account/email/verification — "send it again" for the current, unverified address (the verification flow's mail). */
  router.post('/account/email/verification', requireLogin, async (req, res) => {
    const { user } = req.login!;
    if (!user.email || user.emailVerification === 'verified') return res.redirect(303, '/account/email');
    try {
      await verification.resend(req.realm, user.id, req.locale, null);
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return showPage(req, res, { error: errorOf(err), errorIn: 'current' }, err.status);
    }
    flash(req, 'emailPage.verificationSent', { email: user.email });
    res.redirect(303, '/account/email');
  });

  /** POST /account/email/verification/code — the code of that verification mail. */
  router.post('/account/email/verification/code', requireLogin, async (req, res) => {
    const { user } = req.login!;
    if (!user.email || user.emailVerification === 'verified') return res.redirect(303, '/account/email');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showPage(req, res, { error: { field: 'code', message: form.messageKey }, errorIn: 'current' }, 400);
    try {
      await verification.verifyCode(req.realm, user.id, form.data.code);
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      return showPage(req, res, { error: errorOf(err), errorIn: 'current' }, err.status);
    }
    flash(req, 'emailPage.verifiedNotice', { email: user.email });
    res.redirect(303, '/account/email');
  });

  /**
   * GET /account/email/confirm — the link from the mail (?token=…): the token moves into this browser's
   * session and the page reloads without it (as /reset-password does). Opening the link changes nothing:
   * mail scanners and link previews open links too, and the address is the account's identity. The page
   * asks for one click (a POST) instead.
   */
  router.get('/account/email/confirm', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (req.query.token !== undefined) {
      const query = tokenQuery.safeParse(req.query);
      if (!query.success || !(await service.linkTarget(req.realm, query.data.token))) throw new FlowError(400, 'emailPage.invalidLink');
      req.session.emailConfirm = { realmId: req.realm.id, token: query.data.token };
      return res.redirect(303, '/account/email/confirm');
    }
    const token = confirmTokenOf(req);
    const target = token ? await service.linkTarget(req.realm, token) : null;
    if (!target) throw new FlowError(400, 'emailPage.invalidLink');
    renderPage(res, 'account/email-confirm', { title: res.locals.t('emailPage.confirmTitle'), email: target.email });
  });

  /** POST /account/email/confirm — the click: the link is spent and the address switches. */
  router.post('/account/email/confirm', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    const token = confirmTokenOf(req);
    if (!token) throw new FlowError(400, 'emailPage.invalidLink');
    // Spent whatever the outcome: a second click finds an invalid link, not the same error again.
    delete req.session.emailConfirm;
    const user = await service.confirmLink(req.realm, token, originOf(req), req.locale);
    if (req.login?.user.id === user.id) {
      delete req.session.emailChange;
      flash(req, 'emailPage.changed', { email: user.email ?? '' });
      return res.redirect(303, '/account/email');
    }
    // Another browser (or nobody signed in here): done, and the way to sign in.
    renderPage(res, 'account/email-confirmed', {
      title: res.locals.t('emailPage.confirmedTitle'),
      email: user.email,
      usernameFollows: user.username === user.email,
      loginHref: '/login?next=%2Faccount%2Femail',
    });
  });

  return router;
}

import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { flash, ownPending, renderAccountPage, requireLogin } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { originOf, takeTokenIntoSession, tokenInSession } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { VerificationService } from '../verification/verification.service.ts';
import type { EmailService } from './email.service.ts';

const emailForm = z.object({ email: field.email() });
const codeForm = z.object({ code: field.code() });

const LOGIN_TO_EMAIL = '/login?next=%2Faccount%2Femail';

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
  const pendingOf = (req: Request) => ownPending(req, req.session?.emailChange);

  function showPage(req: Request, res: Response, extra: { error?: FormError; errorIn?: 'change' | 'current'; values?: Record<string, string> } = {}, status = 200): void {
    const { user } = req.signedIn!;
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

  /** GET /account/email */
  router.get('/account/email', requireLogin, (req, res) => {
    showPage(req, res);
  });

  /** POST /account/email — a new address: a code and a link go to it; nothing changes yet. */
  router.post('/account/email', requireRecentAuth, async (req, res) => {
    const form = parseForm(emailForm, req.body, ['email']);
    if (!form.ok) return showPage(req, res, { error: { field: form.field, message: form.messageKey }, errorIn: 'change', values: form.values }, 400);
    try {
      await service.requestChange(req.realm, req.signedIn!.user, req.signedIn!.session.id, form.data.email, req.locale, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showPage(req, res, { error, errorIn: 'change', values: { email: form.data.email } }, status));
    }
    req.session.emailChange = { realmId: req.realm.id, userId: req.signedIn!.user.id, email: form.data.email };
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
      user = await service.confirmCode(req.realm, req.signedIn!.user, form.data.code, originOf(req), req.locale);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showVerify(req, res, pending.email, error, status));
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
      await service.requestChange(req.realm, req.signedIn!.user, req.signedIn!.session.id, pending.email, req.locale, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showVerify(req, res, pending.email, error, status));
    }
    flash(req, 'emailPage.resent', { email: pending.email });
    res.redirect(303, '/account/email/verify');
  });

  /** POST /account/email/verification — "send it again" for the current, unverified address (the verification flow's mail). */
  router.post('/account/email/verification', requireLogin, async (req, res) => {
    const { user } = req.signedIn!;
    if (!user.email || user.emailVerification === 'verified') return res.redirect(303, '/account/email');
    try {
      await verification.resend(req.realm, user.id, req.locale, null);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showPage(req, res, { error, errorIn: 'current' }, status));
    }
    flash(req, 'emailPage.verificationSent', { email: user.email });
    res.redirect(303, '/account/email');
  });

  /** POST /account/email/verification/code — the code of that verification mail. */
  router.post('/account/email/verification/code', requireLogin, async (req, res) => {
    const { user } = req.signedIn!;
    if (!user.email || user.emailVerification === 'verified') return res.redirect(303, '/account/email');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showPage(req, res, { error: { field: 'code', message: form.messageKey }, errorIn: 'current' }, 400);
    try {
      await verification.verifyCode(req.realm, user.id, form.data.code);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showPage(req, res, { error, errorIn: 'current' }, status));
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
    if (await takeTokenIntoSession(req, res, 'emailConfirm', (token) => service.linkTarget(req.realm, token), 'emailPage.invalidLink')) return;
    const token = tokenInSession(req, 'emailConfirm');
    const target = token ? await service.linkTarget(req.realm, token) : null;
    if (!target) throw new FlowError(400, 'emailPage.invalidLink');
    renderPage(res, 'account/email-confirm', { title: res.locals.t('emailPage.confirmTitle'), email: target.email });
  });

  /** POST /account/email/confirm — the click: the link is spent and the address switches. */
  router.post('/account/email/confirm', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    const token = tokenInSession(req, 'emailConfirm');
    if (!token) throw new FlowError(400, 'emailPage.invalidLink');
    // Spent whatever the outcome: a second click finds an invalid link, not the same error again.
    delete req.session.emailConfirm;
    const user = await service.confirmLink(req.realm, token, originOf(req), req.locale);
    if (req.signedIn?.user.id === user.id) {
      delete req.session.emailChange;
      flash(req, 'emailPage.changed', { email: user.email ?? '' });
      return res.redirect(303, '/account/email');
    }
    // Another browser (or nobody signed in here): done, and the way to sign in, on a page a refresh cannot re-post.
    req.session.emailConfirmed = { realmId: req.realm.id, email: user.email ?? '', usernameFollows: user.username === user.email };
    res.redirect(303, '/account/email/confirmed');
  });

  /** GET /account/email/confirmed — "address changed", once; afterwards (a refresh) the email page or the way to it. */
  router.get('/account/email/confirmed', (req, res) => {
    const done = req.session?.emailConfirmed?.realmId === req.realm.id ? req.session.emailConfirmed : null;
    if (!done) return res.redirect(303, req.signedIn ? '/account/email' : LOGIN_TO_EMAIL);
    delete req.session.emailConfirmed;
    renderPage(res, 'account/email-confirmed', {
      title: res.locals.t('emailPage.confirmedTitle'),
      email: done.email,
      usernameFollows: done.usernameFollows,
      loginHref: LOGIN_TO_EMAIL,
    });
  });

  return router;
}

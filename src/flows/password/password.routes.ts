import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { flash, renderAccountPage } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { originOf, regenerateBrowserSession } from '../../http/session.ts';
import type { PasswordService } from './password.service.ts';

const passwordForm = z.object({
  currentPassword: field.password().optional(),
  password: field.password(),
  // A checkbox: "true" when ticked, absent when not.
  keepSession: z.enum(['true'], { error: 'validation.invalid' }).optional(),
});

/**
 * The password page: change it (with the current one), or set a first one
 * when the account has none (social sign-up). Both GET and POST sit behind
 * requireRecentAuth. Every other device is signed out; this one too when the
 * user unticks "Stay signed in on this device".
 */
export function passwordRoutes(service: PasswordService, recentAuth: RequestHandler): Router {
  const router = Router();

  async function show(req: Request, res: Response, extra: { error?: FormError | null; keepSession?: boolean } = {}, status = 200): Promise<void> {
    const { user } = req.signedIn!;
    const hasPassword = await service.hasPassword(req.realm, user);
    const t = res.locals.t;
    renderAccountPage(
      res,
      '/account/password',
      'account/password',
      {
        title: hasPassword ? t('changePassword.title') : t('changePassword.setTitle'),
        hasPassword,
        username: user.username,
        passwordMin: req.realm.password.minLength,
        passwordMax: req.realm.password.maxLength,
        keepSession: extra.keepSession ?? true,
        error: extra.error ?? null,
      },
      status,
    );
  }

  /** GET /account/password */
  router.get('/account/password', recentAuth, async (req, res) => {
    await show(req, res);
  });

  /** POST /account/password */
  router.post('/account/password', recentAuth, async (req, res) => {
    const form = parseForm(passwordForm, req.body, []);
    // A refused form keeps the checkbox as the user left it.
    const keepSession = (req.body as Record<string, unknown> | undefined)?.keepSession === 'true';
    if (!form.ok) return show(req, res, { keepSession, error: { field: form.field, message: form.messageKey } }, 400);
    const { user, session } = req.signedIn!;
    let outcome;
    try {
      outcome = await service.change(
        req.realm,
        user,
        session.id,
        { current: form.data.currentPassword, password: form.data.password, keepThisSession: form.data.keepSession === 'true' },
        originOf(req),
        req.locale,
      );
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, { keepSession, error }, status));
    }
    if (!outcome.keptThisSession) {
      // This login session has ended too: a fresh, anonymous browser session carries the notice to the login page.
      await regenerateBrowserSession(req);
      flash(req, 'changePassword.signedOut');
      return res.redirect(303, '/login');
    }
    flash(req, outcome.firstPassword ? 'changePassword.setDone' : 'changePassword.done');
    res.redirect(303, '/account/password');
  });

  return router;
}

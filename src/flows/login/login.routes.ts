import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { User } from '../../identity/user.ts';
import type { LoginSession } from '../../ports/login-sessions.ts';
import { field, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { safeNext } from '../../http/account.ts';
import { allowFormAction } from '../../http/csp.ts';
import type { PageCache } from '../../http/page-cache.ts';
import { anonymousPage, renderPage, type Cacheable } from '../../http/render.ts';
import { bindBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { fromReturnInfo, resolveReturnTarget, returnQuery, toReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';
import { sendRecoveryCodes } from '../mfa/recovery-codes-file.ts';
import { allowProviderForms, loginButtons } from '../social/buttons.ts';
import type { LoginService, PendingSecondFactor } from './login.service.ts';
import { pendingSecondFactor, startSecondFactor } from './second-factor.ts';
import type { HandoffService } from '../../services/handoff.ts';
import { canSignUp } from '../../domain/signup-policy.ts';

const loginForm = z.object({
  identifier: field.requiredText(320),
  password: field.password(),
});

const secondFactorForm = z.discriminatedUnion('method', [
  z.object({ method: z.literal('otp'), code: field.totp() }),
  z.object({ method: z.literal('recovery_code'), code: field.requiredText(40) }),
]);
const enrolForm = z.object({ code: field.totp() });

function show(req: Request, res: Response, target: ReturnTarget | null, extra: Record<string, unknown> = {}, status = 200, cacheable?: Cacheable): void {
  const t = res.locals.t;
  if (target) allowFormAction(res, target.redirectUri);
  const socialButtons = loginButtons(req.realm, target);
  allowProviderForms(res, req.realm, socialButtons);
  renderPage(
    res,
    'login/login',
    {
      title: t('login.title'),
      appName: target?.app.name,
      // invite_only: the invitation's page links to sign-up; this page (cached for anyone) does not.
      signupHref: canSignUp(req.realm, false) ? `/signup${returnQuery(target)}` : null,
      forgotHref: `/forgot${returnQuery(target)}`,
      usernames: req.realm.fields.usernames,
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

export function loginRoutes(service: LoginService, handoff: HandoffService, pages?: PageCache): Router {
  const router = Router();

  /** GET /login — the form, or straight back to the app when a login session exists. */
  router.get('/login', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    if (req.signedIn) return continueAfterLogin(req, res, handoff, target, req.signedIn.user, req.signedIn.session, safeNext(req.query.next));
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
      if ('secondFactor' in outcome) {
        return startSecondFactor(req, res, { ...outcome.secondFactor, amr: ['pwd'], target, next: safeNext(req.query.next) });
      }
      await bindBrowserSession(req, outcome.session);
      await continueAfterLogin(req, res, handoff, target, outcome.user, outcome.session, safeNext(req.query.next));
    } catch (err) {
      rerenderOnFlowError(res, err, (error, status) => show(req, res, target, { values: { identifier: form.data.identifier }, error }, status));
    }
  });

  // ── The second factor (TOTP or a recovery code), and the enrolment a realm that requires MFA runs here ──

  /** The pending sign-in and its user, or a page saying it is over (none, too old, too many wrong codes) with a way to start again. */
  async function livePending(req: Request, res: Response): Promise<{ pending: PendingSecondFactor; user: User } | null> {
    const pending = pendingSecondFactor(req);
    const check = pending ? await service.checkPending(req.realm, pending) : null;
    const state = check?.state;
    if (pending && check?.state === 'live') return { pending, user: check.user };
    const target = pending ? fromReturnInfo(req.realm, pending.ret) : null;
    if (pending) delete req.session.mfaPending;
    showEnded(req, res, target, { message: state === 'exhausted' ? 'mfa.login.tooManyTries' : 'mfa.login.expired' }, state === 'exhausted' ? 401 : 400);
    return null;
  }

  function showEnded(req: Request, res: Response, target: ReturnTarget | null, error: Pick<FormError, 'message' | 'params'>, status: number): void {
    renderPage(res, 'login/mfa-ended', { title: res.locals.t('mfa.login.title'), error, loginHref: `/login${returnQuery(target)}` }, status);
  }

  async function showSecondFactor(req: Request, res: Response, pending: PendingSecondFactor, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const t = res.locals.t;
    const target = fromReturnInfo(req.realm, pending.ret);
    const base = { title: t('mfa.login.title'), appName: target?.app.name, cancelHref: `/login${returnQuery(target)}`, error: null };
    if (pending.step === 'otp') {
      const method = req.query.method === 'recovery' ? 'recovery_code' : 'otp';
      return renderPage(res, 'login/mfa', { ...base, method, ...extra }, status);
    }
    if (pending.codes) {
      const account = await service.pendingAccount(req.realm, pending);
      return renderPage(res, 'login/mfa-codes', { ...base, title: t('mfa.codes.title'), codes: pending.codes, account, ...extra }, status);
    }
    const sheet = await service.enrolmentSheet(req.realm, pending);
    renderPage(res, 'login/mfa-enrol', { ...base, title: t('mfa.login.enrolTitle'), sheet, ...extra }, status);
  }

  /** Logs the pending sign-in in: a new session id, then on to the app or the personal-center page it came from. */
  async function finish(req: Request, res: Response, pending: PendingSecondFactor, user: User, session: LoginSession): Promise<void> {
    delete req.session.mfaPending;
    await bindBrowserSession(req, session);
    if (pending.selectOrgId) await handoff.select(req.realm, user, session, pending.selectOrgId);
    await continueAfterLogin(req, res, handoff, fromReturnInfo(req.realm, pending.ret), user, session, pending.next);
  }

  /** GET /login/mfa — the code (or ?method=recovery: a recovery code), or the enrolment the realm requires. */
  router.get('/login/mfa', async (req, res) => {
    const pending = (await livePending(req, res))?.pending;
    if (pending) await showSecondFactor(req, res, pending);
  });

  /** POST /login/mfa */
  router.post('/login/mfa', async (req, res) => {
    const live = await livePending(req, res);
    if (!live) return;
    const { pending, user: pendingUser } = live;
    // A form of another step (an older tab): show the step this sign-in is at.
    if (pending.step !== 'otp') return res.redirect(303, '/login/mfa');
    const method = req.body?.method === 'recovery_code' ? 'recovery_code' : 'otp';
    const form = parseForm(secondFactorForm, { ...req.body, method }, []);
    if (!form.ok) return showSecondFactor(req, res, pending, { method, error: { field: 'code', message: form.messageKey } }, 400);
    try {
      const { user, session } = await service.secondFactor(req.realm, pending, pendingUser, form.data.method, form.data.code, originOf(req));
      await finish(req, res, pending, user, session);
    } catch (err) {
      await rerenderOnFlowError(res, err, async (error, status) => {
        // The wrong code may have been the last try, or the sign-in ran out meanwhile: no form to try again on.
        if (service.timelyState(pending) !== 'live') {
          delete req.session.mfaPending;
          return showEnded(req, res, fromReturnInfo(req.realm, pending.ret), { message: error.message, params: error.params }, status);
        }
        await showSecondFactor(req, res, pending, { method, error }, status);
      });
    }
  });

  /** POST /login/mfa/enrol — a fresh secret for the authenticator app the realm requires. */
  router.post('/login/mfa/enrol', async (req, res) => {
    const pending = (await livePending(req, res))?.pending;
    if (!pending) return;
    if (pending.step === 'enrol' && !pending.codes) await service.beginEnrolment(req.realm, pending, originOf(req));
    res.redirect(303, '/login/mfa');
  });

  /** POST /login/mfa/confirm — the first code from the new authenticator. */
  router.post('/login/mfa/confirm', async (req, res) => {
    const pending = (await livePending(req, res))?.pending;
    if (!pending) return;
    if (pending.step !== 'enrol' || pending.codes) return res.redirect(303, '/login/mfa');
    const form = parseForm(enrolForm, req.body, []);
    if (!form.ok) return showSecondFactor(req, res, pending, { error: { field: 'code', message: form.messageKey } }, 400);
    try {
      await service.confirmEnrolment(req.realm, pending, form.data.code, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showSecondFactor(req, res, pending, { error }, status));
    }
    res.redirect(303, '/login/mfa');
  });

  /** GET /login/mfa/recovery-codes.txt — only while the new codes are on the page. */
  router.get('/login/mfa/recovery-codes.txt', async (req, res) => {
    const pending = pendingSecondFactor(req);
    if (!pending?.codes || (await service.pendingState(req.realm, pending)) !== 'live') throw new FlowError(404, 'errors.notFound');
    sendRecoveryCodes(req, res, await service.pendingAccount(req.realm, pending), pending.codes);
  });

  /** POST /login/mfa/continue — the recovery codes are saved: the sign-in completes. */
  router.post('/login/mfa/continue', async (req, res) => {
    const pending = (await livePending(req, res))?.pending;
    if (!pending) return;
    if (pending.step !== 'enrol' || !pending.codes) return res.redirect(303, '/login/mfa');
    const { user, session } = await service.finishEnrolment(req.realm, pending, originOf(req));
    await finish(req, res, pending, user, session);
  });

  return router;
}

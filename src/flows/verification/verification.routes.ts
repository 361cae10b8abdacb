import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { allowFormAction } from '../../http/csp.ts';
import { renderPage } from '../../http/render.ts';
import { bindBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { startSecondFactor } from '../login/second-factor.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import { fromReturnInfo, returnQuery } from '../handoff/handoff.service.ts';
import type { VerificationService } from './verification.service.ts';
import type { HandoffService } from '../../services/handoff.ts';

const tokenQuery = z.object({ token: z.string().regex(/^[\w-]{20,100}$/).optional() });
const codeForm = z.object({ code: field.code() });

/** The pending verification of this browser, when it belongs to this realm. */
function pendingOf(req: Request) {
  const pending = req.session?.pendingVerification;
  return pending && pending.realmId === req.realm.id ? pending : null;
}

/**
 * Email verification pages. The browser that signed up (or tried to log in)
 * holds the pending verification in its session: there a verified address
 * goes straight on to the app. Opened anywhere else, the link verifies and
 * offers to log in, still on the way to the same app.
 */
export function verificationRoutes(service: VerificationService, handoff: HandoffService): Router {
  const router = Router();

  async function showPending(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const pending = pendingOf(req);
    const user = pending?.userId ? await service.pendingUser(req.realm, pending.userId) : null;
    renderPage(
      res,
      'verification/check-email',
      {
        title: res.locals.t('verify.title'),
        email: user?.email ?? pending?.email ?? null,
        required: req.realm.emailVerification.policy === 'required',
        codeMinutes: req.realm.emailVerification.codeTtlMinutes,
        loginHref: `/login${returnQuery(pending ? fromReturnInfo(req.realm, pending.ret) : null)}`,
        error: null,
        notice: null,
        ...extra,
      },
      status,
    );
  }

  /** Logs the pending browser in once its address is verified, and carries on to the app. */
  async function finish(req: Request, res: Response, userId: string, ret: ReturnTo | null): Promise<void> {
    const pending = pendingOf(req);
    const target = fromReturnInfo(req.realm, pending?.ret ?? ret);
    if (pending && pending.userId === userId) {
      const amr = pending.amr ?? ['pwd'];
      const outcome = await service.loginAfterVerification(req.realm, userId, originOf(req), target?.app.clientId ?? null, amr);
      delete req.session.pendingVerification;
      // An org the sign-up joined (an invitation link) is the new login session's pick.
      const selectOrgId = pending.selectOrgId;
      if ('secondFactor' in outcome) {
        return startSecondFactor(req, res, { ...outcome.secondFactor, amr, target, context: { after: 'user.email.verified' }, ...(selectOrgId ? { selectOrgId, next: target ? null : '/account/orgs' } : {}) });
      }
      await bindBrowserSession(req, outcome.session);
      if (selectOrgId) await handoff.select(req.realm, outcome.user, outcome.session, selectOrgId);
      return continueAfterLogin(req, res, handoff, target, outcome.user, outcome.session, selectOrgId ? '/account/orgs' : null);
    }
    if (req.signedIn && req.signedIn.user.id === userId) {
      // Already logged in here (the realm let them in unverified): carry on with a token that says verified.
      return continueAfterLogin(req, res, handoff, target, { ...req.signedIn.user, emailVerification: 'verified' }, req.signedIn.session);
    }
    // Another browser (or the session ended): verified, but nobody is logged in here.
    if (target) allowFormAction(res, target.redirectUri);
    renderPage(res, 'verification/verified', { title: res.locals.t('verify.doneTitle'), loginHref: `/login${returnQuery(target)}` });
  }

  /** GET /verify-email — the link from the mail (?token=…), or the "check your inbox" page. */
  router.get('/verify-email', async (req, res) => {
    const query = tokenQuery.safeParse(req.query);
    if (!query.success) throw new FlowError(400, 'verify.invalidLink');
    if (!query.data.token) return showPending(req, res);
    res.setHeader('Referrer-Policy', 'no-referrer');
    const { user, ret } = await service.verifyLink(req.realm, query.data.token);
    await finish(req, res, user.id, ret);
  });

  /** POST /verify-email/code — the 6-digit code from the same mail. */
  router.post('/verify-email/code', async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) throw new FlowError(400, 'verify.noPending');
    const form = parseForm(codeForm, req.body, []);
    if (!form.ok) return showPending(req, res, { error: { field: 'code', message: form.messageKey } }, 400);
    // No account behind this page (the address was taken): every code is wrong, as a wrong one is.
    if (!pending.userId) return showPending(req, res, { error: { field: 'code', message: 'verify.wrongCode' } }, 400);
    try {
      await service.verifyCode(req.realm, pending.userId, form.data.code);
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showPending(req, res, { error }, status));
    }
    await finish(req, res, pending.userId, pending.ret);
  });

  /** POST /verify-email/resend — a new link and code; the old ones stop working. */
  router.post('/verify-email/resend', async (req, res) => {
    const pending = pendingOf(req);
    if (!pending) throw new FlowError(400, 'verify.noPending');
    try {
      if (pending.userId) await service.resend(req.realm, pending.userId, req.locale, pending.ret);
    } catch (err) {
      // Not the code field's error: the message stands above the whole page.
      return rerenderOnFlowError(res, err, (error, status) => showPending(req, res, { error: { ...error, field: null } }, status));
    }
    await showPending(req, res, { notice: 'verify.resent' });
  });

  return router;
}

import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ProviderConfig } from '../../config/index.ts';
import { flash, requireLogin, safeNext } from '../../http/account.ts';
import { field, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { bindBrowserSession, originOf, renewBrowserSession } from '../../http/session.ts';
import type { SocialProfile } from '../../identity/external-identity.ts';
import type { HandoffService } from '../../services/handoff.ts';
import type { ReauthService } from '../../services/step-up.ts';
import { FlowError } from '../../http/flow-error.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import { fromReturnInfo, resolveReturnTarget, returnQuery, toReturnInfo } from '../handoff/handoff.service.ts';
import type { LoginService } from '../login/login.service.ts';
import { startSecondFactor } from '../login/second-factor.ts';
import { withVerifiedAddress, type AddressCheck, type MissingField, type SocialOutcome, type SocialService } from './social.service.ts';
import { newState, takeFlow, type SocialFlow, type SocialStrategies } from './strategies.ts';
import { canSignUp } from '../../domain/signup-policy.ts';

/** How long a provider sign-in waits on the completion or "prove it's your account" page. */
const PENDING_MS = 15 * 60_000;

/** A provider sign-in waiting for the user (kept in the browser's session; no account or link yet). */
export interface PendingSocial {
  realmId: string;
  profile: SocialProfile;
  ret: ReturnTo | null;
  next: string | null;
  startedAt: number;
  /**
   * complete: fields for a new account. prove: an account has the address; its password links it.
   * confirm: a code went to an address the provider did not verify; nothing goes on before it comes back.
   */
  step: { kind: 'complete'; missing: MissingField[] } | { kind: 'prove'; email: string } | { kind: 'confirm'; check: AddressCheck };
}

const PENDING_PAGES: Record<PendingSocial['step']['kind'], string> = { complete: '/social/complete', prove: '/social/link', confirm: '/social/confirm' };

/** A provider's answer on its callback: strings only, each bounded (arrays or oversized values are a bad callback). */
const callbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().max(256).optional(),
  error: z.string().max(100).optional(),
  error_description: z.string().max(1000).optional(),
});

const confirmForm = z.object({ code: field.code() });
const completeForm = z.object({ username: field.username().optional(), email: field.email().optional() });
const proveForm = z.object({ identifier: field.requiredText(320), password: field.password() });
/** The reauth button of a user with an authenticator carries its code (checked before the round trip). */
const reauthStartForm = z.object({ otp: field.optionalText(40) });

export interface SocialRouteDeps {
  service: SocialService;
  strategies: SocialStrategies;
  login: LoginService;
  reauth: ReauthService;
  handoff: HandoffService;
  logger: Logger;
  /** requireRecentAuth on the app's clock: linking is a sensitive change. */
  recentAuth: RequestHandler;
  clock: () => Date;
}

/**
 * Social login: the provider buttons (POST, CSRF-protected), the callback
 * every provider returns to, and the two pages a sign-in may stop at — the
 * completion form and "this address has an account: prove it". Linking from
 * the personal center and confirming it's you through a provider start here
 * too and come back through the same callback.
 */
export function socialRoutes(deps: SocialRouteDeps): Router {
  const { service, strategies, clock } = deps;
  const router = Router();

  /** The flow's page to go back to when it ends early. */
  function backHref(flow: Pick<SocialFlow, 'intent' | 'ret' | 'next'> | null, req: Request): string {
    if (flow?.intent === 'link') return '/account/connected';
    if (flow?.intent === 'reauth') return `/account/reauth?next=${encodeURIComponent(flow.next ?? '/account')}`;
    return `/login${returnQuery(flow ? fromReturnInfo(req.realm, flow.ret) : null)}`;
  }

  function showEnded(req: Request, res: Response, error: Pick<FormError, 'message' | 'params'>, status: number, back: string): void {
    renderPage(res, 'social/ended', { title: res.locals.t('social.endedTitle'), error, backHref: back }, status);
  }

  /** Sends the browser to the provider with a new flow bound to its session. */
  async function begin(req: Request, res: Response, provider: ProviderConfig, flow: Pick<SocialFlow, 'intent' | 'ret' | 'next' | 'userId' | 'secondFactorDone'>): Promise<void> {
    req.session.socialFlow = { realmId: req.realm.id, provider: provider.id, state: newState(), startedAt: clock().getTime(), ...flow };
    const failed = await strategies.start(req, res, req.realm, provider);
    if (!failed) return;
    delete req.session.socialFlow;
    deps.logger.warn({ err: 'error' in failed ? failed.error : failed, provider: provider.id }, 'social sign-in could not start');
    showEnded(req, res, { message: 'social.providerDown', params: { provider: service.nameOf(req.realm, provider.id) } }, 502, backHref(flow, req));
  }

  /** POST /account/reauth/:provider?next=… — "confirm it's you" through a linked provider. */
  router.post('/account/reauth/:provider', requireLogin, async (req, res) => {
    const provider = service.provider(req.realm, String(req.params.provider));
    const user = req.signedIn!.user;
    const next = safeNext(req.query.next) ?? '/account';
    const back = `/account/reauth?next=${encodeURIComponent(next)}`;
    const form = parseForm(reauthStartForm, req.body, []);
    // Only for accounts without a password (see the reauth page).
    if ((await deps.reauth.hasPassword(req.realm, user)) || !(await service.reauthProviders(req.realm, user)).includes(provider.id)) {
      throw new FlowError(404, 'social.unknownProvider');
    }
    // With an authenticator, the provider alone is one factor: the code is checked now, the provider on return.
    let secondFactorDone = false;
    if (await deps.reauth.asksForCode(req.realm, user)) {
      try {
        await deps.reauth.confirmSecondFactor(req.realm, user, form.ok ? form.data.otp : undefined, originOf(req));
      } catch (err) {
        return rerenderOnFlowError(res, err, (error, status) => showEnded(req, res, error, status, back));
      }
      secondFactorDone = true;
    }
    await begin(req, res, provider, { intent: 'reauth', ret: null, next, userId: user.id, secondFactorDone });
  });

  /** POST /account/connected/:provider — link another provider (after a recent authentication). */
  router.post('/account/connected/:provider', deps.recentAuth, async (req, res) => {
    const provider = service.provider(req.realm, String(req.params.provider));
    await begin(req, res, provider, { intent: 'link', ret: null, next: '/account/connected', userId: req.signedIn!.user.id });
  });

  /** GET /social/:provider/callback — where every provider sends the browser back. */
  router.get('/social/:provider/callback', async (req, res) => {
    const query = callbackQuery.safeParse(req.query);
    const flow = takeFlow(req, String(req.params.provider), query.success ? query.data.state : undefined, clock().getTime());
    if (!query.success || !flow) return showEnded(req, res, { message: 'social.badState' }, 400, backHref(flow, req));
    const back = backHref(flow, req);
    const provider = service.provider(req.realm, flow.provider);
    const name = { provider: service.nameOf(req.realm, provider.id) };
    if (query.data.error) {
      const cancelled = query.data.error === 'access_denied';
      return showEnded(req, res, { message: cancelled ? 'social.cancelled' : 'social.providerError', params: name }, cancelled ? 400 : 502, back);
    }
    if (!query.data.code) return showEnded(req, res, { message: 'social.badState' }, 400, back);
    req.socialFlow = flow;
    const result = await strategies.callback(req, res, req.realm, provider);
    if ('error' in result) {
      deps.logger.warn({ err: result.error, provider: provider.id }, 'social sign-in failed at the provider');
      return showEnded(req, res, { message: 'social.providerError', params: name }, 502, back);
    }
    if ('failed' in result) return showEnded(req, res, { message: 'social.badState' }, 400, back);
    const profile = result.profile;
    try {
      if (flow.intent === 'login') {
        const outcome = await service.signIn(req.realm, profile, { origin: originOf(req), locale: req.locale, ret: flow.ret });
        return await proceed(req, res, outcome, profile, flow.ret, flow.next);
      }
      // Linking and re-authenticating belong to the user who started them in this browser.
      const user = req.signedIn?.user;
      if (!user || user.id !== flow.userId) throw new FlowError(403, 'social.otherUser');
      if (flow.intent === 'link') {
        await service.link(req.realm, user, profile, originOf(req));
        flash(req, 'connected.linkedNotice', name);
        return res.redirect(303, '/account/connected');
      }
      if (!flow.secondFactorDone && (await deps.reauth.asksForCode(req.realm, user))) throw new FlowError(400, 'reauth.codeRequired');
      await service.reauth(req.realm, user, profile, originOf(req));
      await renewBrowserSession(req, clock().getTime());
      return res.redirect(303, flow.next ?? '/account');
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showEnded(req, res, error, status, back));
    }
  });

  /** Where a provider sign-in goes once the service has decided. */
  async function proceed(req: Request, res: Response, outcome: SocialOutcome, profile: SocialProfile, ret: ReturnTo | null, next: string | null): Promise<void> {
    const target = fromReturnInfo(req.realm, ret);
    if ('complete' in outcome || 'prove' in outcome || 'confirm' in outcome) {
      const step: PendingSocial['step'] =
        'complete' in outcome
          ? { kind: 'complete', ...outcome.complete }
          : 'prove' in outcome
            ? { kind: 'prove', ...outcome.prove }
            : { kind: 'confirm', check: await service.sendAddressCode(req.realm, outcome.confirm.email, req.locale) };
      req.session.socialPending = { realmId: req.realm.id, profile, ret, next, startedAt: clock().getTime(), step };
      return res.redirect(303, PENDING_PAGES[step.kind]);
    }
    delete req.session.socialPending;
    if ('verify' in outcome) {
      req.session.pendingVerification = { realmId: req.realm.id, userId: outcome.verify.id, ret, amr: [profile.provider] };
      return res.redirect(303, '/verify-email');
    }
    if ('secondFactor' in outcome) {
      // Bound to the identity that proved the first factor (linked already) or to the link still to make.
      const bound = outcome.link ? { link: outcome.link } : { identity: { provider: profile.provider, subject: profile.subject } };
      return startSecondFactor(req, res, { ...outcome.secondFactor, amr: [profile.provider], target, next, ...bound });
    }
    await bindBrowserSession(req, outcome.session);
    await continueAfterLogin(req, res, deps.handoff, target, outcome.user, outcome.session, next);
  }

  /** The sign-in waiting in this browser at `kind`, or a page saying it is over. */
  function livePending<K extends PendingSocial['step']['kind']>(req: Request, res: Response, kind: K): (PendingSocial & { step: Extract<PendingSocial['step'], { kind: K }> }) | null {
    const pending = req.session?.socialPending;
    if (pending && pending.realmId === req.realm.id && clock().getTime() - pending.startedAt <= PENDING_MS && pending.step.kind === kind) {
      return pending as PendingSocial & { step: Extract<PendingSocial['step'], { kind: K }> };
    }
    if (pending) delete req.session.socialPending;
    showEnded(req, res, { message: 'social.pendingExpired' }, 400, backHref(pending ? { intent: 'login', ret: pending.ret, next: pending.next } : null, req));
    return null;
  }

  function showComplete(req: Request, res: Response, pending: PendingSocial & { step: { kind: 'complete' } }, extra: Record<string, unknown> = {}, status = 200): void {
    const target = fromReturnInfo(req.realm, pending.ret);
    renderPage(
      res,
      'social/complete',
      {
        title: res.locals.t('social.complete.title'),
        provider: service.nameOf(req.realm, pending.profile.provider),
        appName: target?.app.name,
        missing: pending.step.missing,
        values: { username: pending.profile.username ?? '' },
        error: null,
        cancelHref: `/login${returnQuery(target)}`,
        ...extra,
      },
      status,
    );
  }

  /** GET /social/complete — what a new account needs that the provider did not send. */
  router.get('/social/complete', (req, res) => {
    const pending = livePending(req, res, 'complete');
    if (pending) showComplete(req, res, pending);
  });

  /** POST /social/complete */
  router.post('/social/complete', async (req, res) => {
    const pending = livePending(req, res, 'complete');
    if (!pending) return;
    const form = parseForm(completeForm, req.body, ['username', 'email']);
    if (!form.ok) return showComplete(req, res, pending, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    const missing = pending.step.missing;
    const completion = { username: missing.includes('username') ? form.data.username : undefined, email: missing.includes('email') ? form.data.email : undefined };
    const values = { username: form.data.username ?? '', email: form.data.email ?? '' };
    for (const f of missing) {
      if (!completion[f]) return showComplete(req, res, pending, { values, error: { field: f, message: 'validation.required' } }, 400);
    }
    try {
      const outcome = await service.signUp(req.realm, pending.profile, completion, { origin: originOf(req), locale: req.locale, ret: pending.ret });
      await proceed(req, res, outcome, pending.profile, pending.ret, pending.next);
    } catch (err) {
      rerenderOnFlowError(res, err, (error, status) => showComplete(req, res, pending, { values, error }, status));
    }
  });

  function showConfirm(req: Request, res: Response, pending: PendingSocial & { step: { kind: 'confirm' } }, extra: Record<string, unknown> = {}, status = 200): void {
    renderPage(
      res,
      'social/confirm',
      {
        title: res.locals.t('social.confirm.title'),
        provider: service.nameOf(req.realm, pending.profile.provider),
        email: pending.step.check.email,
        error: null,
        cancelHref: `/login${returnQuery(fromReturnInfo(req.realm, pending.ret))}`,
        ...extra,
      },
      status,
    );
  }

  /** GET /social/confirm — the code mailed to an address the provider did not verify. */
  router.get('/social/confirm', (req, res) => {
    const pending = livePending(req, res, 'confirm');
    if (pending) showConfirm(req, res, pending);
  });

  /** POST /social/confirm */
  router.post('/social/confirm', async (req, res) => {
    const pending = livePending(req, res, 'confirm');
    if (!pending) return;
    const form = parseForm(confirmForm, req.body, []);
    if (!form.ok) return showConfirm(req, res, pending, { error: { field: 'code', message: form.messageKey } }, 400);
    const checked = await service.checkAddressCode(req.realm, pending.step.check, form.data.code);
    if (checked === 'over') {
      delete req.session.socialPending;
      return showEnded(req, res, { message: 'social.confirm.over' }, 400, `/login${returnQuery(fromReturnInfo(req.realm, pending.ret))}`);
    }
    if (checked === 'wrong') return showConfirm(req, res, pending, { error: { field: 'code', message: 'social.confirm.wrongCode' } }, 401);
    const email = pending.step.check.email;
    const proved = withVerifiedAddress(pending.profile, email);
    try {
      const outcome = await service.addressProved(req.realm, proved, email, { origin: originOf(req), locale: req.locale, ret: pending.ret });
      await proceed(req, res, outcome, proved, pending.ret, pending.next);
    } catch (err) {
      rerenderOnFlowError(res, err, (error, status) => {
        delete req.session.socialPending;
        showEnded(req, res, error, status, `/login${returnQuery(fromReturnInfo(req.realm, pending.ret))}`);
      });
    }
  });

  function showProve(req: Request, res: Response, pending: PendingSocial & { step: { kind: 'prove' } }, extra: Record<string, unknown> = {}, status = 200): void {
    const target = fromReturnInfo(req.realm, pending.ret);
    renderPage(
      res,
      'social/prove',
      {
        title: res.locals.t('social.prove.title'),
        provider: service.nameOf(req.realm, pending.profile.provider),
        email: pending.step.email,
        values: { identifier: pending.step.email },
        // Social sign-up follows `open` only: under invite_only the provider's address would have to match the invitation (orgs.md §11.6).
        canSignUp: canSignUp(req.realm, false),
        error: null,
        cancelHref: `/login${returnQuery(target)}`,
        forgotHref: `/forgot${returnQuery(target)}`,
        ...extra,
      },
      status,
    );
  }

  /** GET /social/link — an account has this address: its password links the provider identity to it. */
  router.get('/social/link', (req, res) => {
    const pending = livePending(req, res, 'prove');
    if (pending) showProve(req, res, pending);
  });

  /** POST /social/link */
  router.post('/social/link', async (req, res) => {
    const pending = livePending(req, res, 'prove');
    if (!pending) return;
    const form = parseForm(proveForm, req.body, ['identifier']);
    if (!form.ok) return showProve(req, res, pending, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    const target = fromReturnInfo(req.realm, pending.ret);
    try {
      // Also in a realm of social logins only: accounts from before may have a password, and this page is how they link.
      const outcome = await deps.login.login(req.realm, { ...form.data, clientId: target?.app.clientId ?? null }, originOf(req), { linking: true });
      if ('verify' in outcome) {
        delete req.session.socialPending;
        req.session.pendingVerification = { realmId: req.realm.id, userId: outcome.verify.id, ret: pending.ret };
        return res.redirect(303, '/verify-email');
      }
      // With an authenticator, the identity is linked once the second factor is proved too.
      if ('secondFactor' in outcome) {
        delete req.session.socialPending;
        return await startSecondFactor(req, res, { ...outcome.secondFactor, amr: ['pwd'], target, next: pending.next, link: { profile: pending.profile, by: 'password' } });
      }
      // Refused (the account has another identity of this provider): the page stays usable, e.g. for a new account.
      await service.linkProved(req.realm, outcome.user, outcome.session, pending.profile, originOf(req));
      delete req.session.socialPending;
      await bindBrowserSession(req, outcome.session);
      await continueAfterLogin(req, res, deps.handoff, target, outcome.user, outcome.session, pending.next);
    } catch (err) {
      rerenderOnFlowError(res, err, (error, status) => showProve(req, res, pending, { values: { identifier: form.data.identifier }, error }, status));
    }
  });

  /** POST /social/link/new — not that account: a new one, with another address. */
  router.post('/social/link/new', (req, res) => {
    const pending = livePending(req, res, 'prove');
    if (!pending) return;
    if (!canSignUp(req.realm, false)) throw new FlowError(403, 'social.signupClosed', { provider: service.nameOf(req.realm, pending.profile.provider) });
    const missing: MissingField[] = req.realm.fields.usernames === 'separate' ? ['email', 'username'] : ['email'];
    req.session.socialPending = { ...pending, step: { kind: 'complete', missing } };
    res.redirect(303, '/social/complete');
  });

  // After /social/complete and /social/link: those paths are pages, not providers (config refuses the ids).
  /** POST /social/:provider — "Continue with …" on the login and signup pages. */
  router.post('/social/:provider', async (req, res) => {
    const provider = service.provider(req.realm, String(req.params.provider));
    const target = resolveReturnTarget(req.realm, req.query);
    await begin(req, res, provider, { intent: 'login', ret: toReturnInfo(target), next: safeNext(req.query.next) });
  });

  return router;
}

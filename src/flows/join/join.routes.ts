import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { canSignUp } from '../../domain/signup-policy.ts';
import { flash } from '../../http/account.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import { field, parseForm } from '../../http/forms.ts';
import { renderPage } from '../../http/render.ts';
import { originOf, takeTokenIntoSession, tokenInSession } from '../../http/session.ts';
import type { HandoffService } from '../../services/handoff.ts';
import type { InvitationLinksService, LinkView } from '../../services/invitation-links.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { fromReturnInfo } from '../handoff/handoff.service.ts';

const applyForm = z.object({ name: field.requiredText(200), email: field.email() });

/** The session slot's link, when it is still live (else the slot is cleared). */
export async function joinLinkInSession(req: Request, service: InvitationLinksService): Promise<{ token: string; view: LinkView } | null> {
  const token = tokenInSession(req, 'joinLink');
  if (!token) return null;
  const view = await service.peek(req.realm, token);
  if (!view) {
    delete req.session.joinLink;
    return null;
  }
  return { token, view };
}

/** "This invitation link is no longer valid" (410): revoked, expired, unknown, or its org closed. */
function showGone(req: Request, res: Response): void {
  if (req.session) delete req.session.joinLink;
  renderPage(res, 'join/gone', { title: res.locals.t('join.gone.title') }, 410);
}

/**
 * An invitation link's pages (docs/design/orgs.md §7.2): /join?token=… moves the token into this browser's session
 * and reloads without it. A link without approval is an invitation without an address: signed in, "Join"
 * (POST /join); not signed in, sign in or sign up (an invite_only realm lets the link's holder sign up) and come
 * back. A link with approval asks for a name and an address (POST /join) and answers "request sent" — the same
 * page whatever the address (no enumeration); an operator decides in the console.
 */
export function joinRoutes(service: InvitationLinksService, handoff: HandoffService): Router {
  const router = Router();

  function show(req: Request, res: Response, view: LinkView, extra: Record<string, unknown> = {}, status = 200): void {
    const t = res.locals.t;
    const org = view.org?.name ?? null;
    const model = { title: t('join.title', { realm: req.realm.name }), org, realmName: req.realm.name, inviter: view.inviter, expiresAt: view.link.expiresAt, values: {}, error: null };
    if (view.link.approval) return renderPage(res, 'join/join', { ...model, state: 'apply', ...extra }, status);
    if (!req.signedIn) return renderPage(res, 'join/join', { ...model, state: 'anonymous', signupHref: canSignUp(req.realm, true) ? '/signup' : null, loginHref: '/login?next=%2Fjoin', ...extra }, status);
    renderPage(res, 'join/join', { ...model, state: 'join', ...extra }, status);
  }

  /** GET /join — with ?token=: keep it in the session, reload without it; then the link's page. */
  router.get('/join', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      if (await takeTokenIntoSession(req, res, 'joinLink', async (token) => (await service.peek(req.realm, token)) !== null, 'join.gone.text')) return;
    } catch (err) {
      if (err instanceof FlowError) return showGone(req, res);
      throw err;
    }
    const held = await joinLinkInSession(req, service);
    if (!held) return showGone(req, res);
    show(req, res, held.view);
  });

  /** POST /join — with approval: the request to join; without: the signed-in user joins. */
  router.post('/join', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    const held = await joinLinkInSession(req, service);
    if (!held) return showGone(req, res);
    if (held.view.link.approval) {
      const form = parseForm(applyForm, req.body, ['name', 'email']);
      if (!form.ok) return show(req, res, held.view, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
      const outcome = await service.apply(req.realm, held.token, form.data, { ...originOf(req), clientId: null });
      if (!outcome.ok) {
        if (outcome.reason === 'gone') return showGone(req, res);
        if (outcome.reason === 'limited') throw tooManyAttempts(outcome.wait);
        return show(req, res, held.view, { values: form.data, error: { field: outcome.field, message: outcome.field === 'email' ? 'validation.email' : 'validation.invalid' } }, 400);
      }
      // The same page for any address: nothing says whether it has an account.
      return renderPage(res, 'join/sent', { title: res.locals.t('join.sent.title') });
    }
    const signed = req.signedIn;
    if (!signed) return res.redirect(303, '/join');
    // An operator's impersonation session may look, not act: joining an org is the user's own act (evented as theirs).
    if (signed.session.act) throw new FlowError(403, 'impersonation.notAllowed');
    const outcome = await service.join(req.realm, held.token, signed.user, { ...originOf(req), clientId: null });
    if (!outcome.ok) return showGone(req, res);
    delete req.session.joinLink;
    if (outcome.membership?.orgId) await handoff.select(req.realm, signed.user, signed.session, outcome.membership.orgId);
    const target = fromReturnInfo(req.realm, outcome.returnTo);
    if (!target) flash(req, 'join.joined', { org: outcome.orgName ?? req.realm.name });
    await continueAfterLogin(req, res, handoff, target, signed.user, signed.session);
  });

  return router;
}

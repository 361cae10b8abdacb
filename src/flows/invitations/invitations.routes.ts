import { Router, type Request, type Response } from 'express';
import { canSignUp } from '../../domain/signup-policy.ts';
import { flash } from '../../http/account.ts';
import { FlowError } from '../../http/flow-error.ts';
import { renderPage } from '../../http/render.ts';
import { originOf, regenerateBrowserSession, takeTokenIntoSession, tokenInSession } from '../../http/session.ts';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import type { HandoffService } from '../../services/handoff.ts';
import type { InvitationsService, InvitationView } from '../../services/invitations.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { fromReturnInfo } from '../handoff/handoff.service.ts';

/** The session slot's invitation, when it is still good (else the slot is cleared). */
export async function invitationInSession(req: Request, service: InvitationsService): Promise<{ token: string; view: InvitationView } | null> {
  const token = tokenInSession(req, 'invitation');
  if (!token) return null;
  const view = await service.peek(req.realm, token);
  if (!view) {
    delete req.session.invitation;
    return null;
  }
  return { token, view };
}

function noReferrer(res: Response): void {
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** "This invitation is no longer valid" (410): used, revoked, expired, replaced by a newer mail, or its org closed. */
function showGone(req: Request, res: Response): void {
  if (req.session) delete req.session.invitation;
  renderPage(res, 'invitations/gone', { title: res.locals.t('invitation.gone.title') }, 410);
}

/**
 * An org invitation's pages (docs/design/orgs.md §7.2): the mail's link (/invitation?token=…) moves its token
 * into this browser's session and reloads without it; the page says which org, from whom, for which address,
 * until when — and, signed in with that address, accepts (POST /invitation) and goes on to the invitation's app
 * or the personal center's organizations; not signed in, it offers sign-up (the address fixed, where the realm lets invitees
 * sign up) and sign-in (back here after); signed in with another address, it says so and offers to sign out
 * (keeping the invitation in this browser).
 */
export function invitationRoutes(service: InvitationsService, sessions: LoginSessions, handoff: HandoffService): Router {
  const router = Router();

  /** GET /invitation — with ?token=: keep it in the session, reload without it; then the invitation. */
  router.get('/invitation', async (req, res) => {
    noReferrer(res);
    try {
      if (await takeTokenIntoSession(req, res, 'invitation', async (token) => (await service.peek(req.realm, token)) !== null, 'invitation.gone.text')) return;
    } catch (err) {
      if (err instanceof FlowError) return showGone(req, res);
      throw err;
    }
    const held = await invitationInSession(req, service);
    if (!held) return showGone(req, res);
    const { invitation, org, inviter } = held.view;
    const model = { title: res.locals.t('invitation.title', { org: org.name }), org: org.name, inviter, email: invitation.email, expiresAt: invitation.expiresAt };
    const signed = req.signedIn;
    if (!signed) {
      return renderPage(res, 'invitations/invitation', { ...model, state: 'anonymous', signupHref: canSignUp(req.realm, true) ? '/signup' : null, loginHref: '/login?next=%2Finvitation' });
    }
    if (!service.isFor(invitation, signed.user)) {
      return renderPage(res, 'invitations/invitation', { ...model, state: 'other', signedInAs: signed.user.email ?? signed.user.username }, 403);
    }
    renderPage(res, 'invitations/invitation', { ...model, state: 'accept' });
  });

  /** POST /invitation — the signed-in user accepts: the membership, then the invitation's app or the personal center. */
  router.post('/invitation', async (req, res) => {
    noReferrer(res);
    const token = tokenInSession(req, 'invitation');
    if (!token) return showGone(req, res);
    const signed = req.signedIn;
    if (!signed) return res.redirect(303, '/invitation');
    // An operator's impersonation session may look, not act: joining an org is the user's own act (evented as theirs).
    if (signed.session.act) throw new FlowError(403, 'impersonation.notAllowed');
    const outcome = await service.accept(req.realm, token, signed.user, { ...originOf(req), clientId: null });
    if (!outcome.ok) {
      if (outcome.reason === 'other_account') return res.redirect(303, '/invitation');
      return showGone(req, res);
    }
    delete req.session.invitation;
    const orgId = outcome.membership.orgId!;
    // The org just joined is the session's pick: the app's token names it selected.
    await handoff.select(req.realm, signed.user, signed.session, orgId);
    const target = fromReturnInfo(req.realm, outcome.returnTo);
    if (!target) flash(req, 'invitation.accepted', { org: outcome.orgName });
    // Accepting verified the address (the link proved the mailbox): the token says so already.
    const user = { ...signed.user, emailVerification: 'verified' as const };
    await continueAfterLogin(req, res, handoff, target, user, signed.session, '/account/orgs');
  });

  /** POST /invitation/sign-out — signed in with another address: that session ends, the invitation stays in this browser. */
  router.post('/invitation/sign-out', async (req, res) => {
    noReferrer(res);
    if (req.signedIn) {
      await sessions.end(req.realm, req.signedIn.session, 'logout', { ...originOf(req), clientId: null });
      await regenerateBrowserSession(req);
      delete res.locals.signedIn;
    }
    res.redirect(303, '/invitation');
  });

  return router;
}

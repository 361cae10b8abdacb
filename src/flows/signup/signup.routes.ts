import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { field, parseForm, rerenderOnFlowError } from '../../http/forms.ts';
import { allowFormAction } from '../../http/csp.ts';
import type { PageCache } from '../../http/page-cache.ts';
import { anonymousPage, renderPage, type Cacheable } from '../../http/render.ts';
import { bindBrowserSession, originOf } from '../../http/session.ts';
import { FlowError } from '../../http/flow-error.ts';
import { flash } from '../../http/account.ts';
import { continueAfterLogin } from '../handoff/deliver.ts';
import { startSecondFactor } from '../login/second-factor.ts';
import { resolveReturnTarget, returnQuery, toReturnInfo, type ReturnTarget } from '../handoff/handoff.service.ts';
import { allowProviderForms, loginButtons } from '../social/buttons.ts';
import type { SignupService } from './signup.service.ts';
import type { HandoffService } from '../../services/handoff.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import { canSignUp } from '../../domain/signup-policy.ts';
import { invitationInSession } from '../invitations/invitations.routes.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import { joinLinkInSession } from '../join/join.routes.ts';
import { fromReturnInfo } from '../handoff/handoff.service.ts';

const signupForm = z.object({
  email: field.email(),
  username: field.username().optional(),
  password: field.password(),
  firstName: field.optionalText(100),
  lastName: field.optionalText(100),
});

const KEEP = ['email', 'username', 'firstName', 'lastName'] as const;

function show(req: Request, res: Response, target: ReturnTarget | null, extra: Record<string, unknown> = {}, status = 200, cacheable?: Cacheable): void {
  const t = res.locals.t;
  if (target) allowFormAction(res, target.redirectUri);
  const socialButtons = loginButtons(req.realm, target);
  allowProviderForms(res, req.realm, socialButtons);
  renderPage(
    res,
    'signup/signup',
    {
      title: t('signup.title'),
      appName: target?.app.name,
      loginHref: `/login${returnQuery(target)}`,
      usernames: req.realm.fields.usernames,
      passwordMin: req.realm.password.minLength,
      socialButtons,
      socialOnly: req.realm.social.only,
      values: {},
      error: null,
      // Through an invitation: the invited address, fixed (readonly; the service checks it again).
      invitedEmail: null,
      ...extra,
    },
    status,
    cacheable,
  );
}

export function signupRoutes(service: SignupService, handoff: HandoffService, pages?: PageCache, invitations?: InvitationsService, links?: InvitationLinksService): Router {
  const router = Router();

  /** An org invitation this browser opened: it fixes the address, and lets an invite_only realm sign up. */
  const invited = async (req: Request) => (invitations ? await invitationInSession(req, invitations) : null);
  /** An invitation link without approval this browser opened: lets an invite_only realm sign up (orgs.md §7.3). */
  const linked = async (req: Request) => {
    const held = links ? await joinLinkInSession(req, links) : null;
    return held && !held.view.link.approval ? held : null;
  };

  /** GET /signup */
  router.get('/signup', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    if (req.signedIn) return continueAfterLogin(req, res, handoff, target, req.signedIn.user, req.signedIn.session);
    const held = await invited(req);
    const link = held ? null : await linked(req);
    if (!canSignUp(req.realm, held !== null || link !== null)) throw new FlowError(403, 'signup.closed');
    if (link) return show(req, res, target);
    if (held) return show(req, res, target, { invitedEmail: held.view.invitation.email, values: { email: held.view.invitation.email } });
    show(req, res, target, {}, 200, anonymousPage(pages, req, 'signup/signup'));
  });

  /** POST /signup */
  router.post('/signup', async (req, res) => {
    const target = resolveReturnTarget(req.realm, req.query);
    const held = await invited(req);
    const link = held ? null : await linked(req);
    const invitedEmail = held?.view.invitation.email ?? null;
    const form = parseForm(signupForm, req.body, KEEP);
    if (!form.ok) return show(req, res, target, { invitedEmail, values: { ...form.values, ...(invitedEmail ? { email: invitedEmail } : {}) }, error: { field: form.field, message: form.messageKey } }, 400);
    try {
      const invitation = held ? { token: held.token, email: held.view.invitation.email } : undefined;
      const outcome = await service.signup(req.realm, { ...form.data, locale: req.locale, clientId: target?.app.clientId ?? null, ...(invitation ? { invitation } : {}), ...(link ? { link: { token: link.token } } : {}) }, originOf(req), toReturnInfo(target));
      // What the sign-up joined (an invitation or a link): used up, out of the session; its app is where to go when the sign-up came from none.
      const joined = 'joined' in outcome ? outcome.joined : null;
      if (joined) delete req.session[joined.via === 'link' ? 'joinLink' : 'invitation'];
      const next = target ?? (joined ? fromReturnInfo(req.realm, joined.returnTo) : null);
      const selectOrgId = joined?.orgId ? { selectOrgId: joined.orgId } : {};
      if ('verify' in outcome) {
        // The org joined stays this browser's pick once the address is verified here.
        req.session.pendingVerification = outcome.verify
          ? { realmId: req.realm.id, userId: outcome.verify.id, ret: toReturnInfo(next), ...selectOrgId }
          : { realmId: req.realm.id, userId: null, email: 'email' in outcome ? outcome.email : undefined, ret: toReturnInfo(target) };
        return res.redirect(303, '/verify-email');
      }
      if ('secondFactor' in outcome) {
        // What the sign-up joined survives the authenticator set-up: its org is the new session's pick.
        return startSecondFactor(req, res, { ...outcome.secondFactor, amr: ['pwd'], target: next, ...(joined ? { ...selectOrgId, next: next ? null : '/account/orgs' } : {}) });
      }
      await bindBrowserSession(req, outcome.session);
      if (joined) {
        if (joined.orgId) await handoff.select(req.realm, outcome.user, outcome.session, joined.orgId);
        if (!next) flash(req, joined.via === 'link' ? 'join.joined' : 'invitation.accepted', { org: joined.orgName });
        return continueAfterLogin(req, res, handoff, next, outcome.user, outcome.session, '/account/orgs');
      }
      await continueAfterLogin(req, res, handoff, target, outcome.user, outcome.session);
    } catch (err) {
      const values = Object.fromEntries(KEEP.map((k) => [k, form.data[k] ?? '']));
      rerenderOnFlowError(res, err, (error, status) => show(req, res, target, { invitedEmail, values: { ...values, ...(invitedEmail ? { email: invitedEmail } : {}) }, error }, status));
    }
  });

  return router;
}

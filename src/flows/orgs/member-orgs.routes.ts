import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { FlowError } from '../../http/flow-error.ts';
import { field, keptValues, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { MemberOrgsService, type MemberOrg } from './member-orgs.service.ts';

/** An org id as the ids are made (domain/ids.ts): anything else is 404 before a lookup. */
const ORG_ID = /^org_[A-Za-z0-9_-]{1,64}$/;

const inviteForm = z.object({
  email: field.email(),
  name: field.optionalText(100),
  // Checkboxes: none, one (a string) or several (an array) — each a short string; the service checks each is held.
  permissions: z
    .union([field.text(62), z.array(field.text(62)).max(50, 'validation.invalid')], { error: 'validation.invalid' })
    .optional()
    .transform((v) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).filter((p) => p.length > 0))),
});
const KEEP = ['email', 'name'] as const;

const originOf = (req: Request, res: Response) => ({
  ip: req.ip ?? null,
  userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
  requestId: String(req.id ?? res.getHeader('x-request-id') ?? '') || null,
});

/**
 * The personal center's organizations (docs/design/orgs.md §7.4): GET /account/orgs lists the user's live orgs
 * with their permissions; each can be left (GET …/leave asks, POST …/leave does it); where the realm's
 * `invitations.memberPermission` is held in that membership, GET/POST /account/orgs/:orgId/invitations invites
 * someone by mail with permissions the member holds. An operator's impersonation session may look, not act.
 */
export function memberOrgsRoutes(service: MemberOrgsService): Router {
  const router = Router();

  const orgIdOf = (req: Request): string => {
    const id = typeof req.params.orgId === 'string' ? req.params.orgId : '';
    if (!ORG_ID.test(id)) throw new FlowError(404, 'orgs.notFound');
    return id;
  };
  const noImpersonation = (req: Request) => {
    if (req.signedIn!.session.act) throw new FlowError(403, 'impersonation.notAllowed');
  };

  async function showList(req: Request, res: Response, error: FormError | null = null, status = 200) {
    const orgs = await service.list(req.realm, req.signedIn!.user);
    renderAccountPage(res, '/account/orgs', 'account/orgs', { title: res.locals.t('orgs.title'), orgs, error }, status);
  }

  function showInvite(res: Response, org: MemberOrg, extra: { values?: Record<string, string>; checked?: string[]; error?: FormError | null } = {}, status = 200) {
    renderAccountPage(
      res,
      '/account/orgs',
      'account/orgs-invite',
      { title: res.locals.t('orgs.invite.title', { org: org.name }), org, values: extra.values ?? {}, checked: extra.checked ?? [], error: extra.error ?? null },
      status,
    );
  }

  /** GET /account/orgs */
  router.get('/account/orgs', requireLogin, async (req, res) => {
    await showList(req, res);
  });

  /** GET /account/orgs/:orgId/leave — "Leave Acme?" */
  router.get('/account/orgs/:orgId/leave', requireLogin, async (req, res) => {
    const org = await service.own(req.realm, req.signedIn!.user, orgIdOf(req));
    renderAccountPage(res, '/account/orgs', 'account/orgs-leave', { title: res.locals.t('orgs.leave.title', { org: org.name }), org });
  });

  /** POST /account/orgs/:orgId/leave */
  router.post('/account/orgs/:orgId/leave', requireLogin, async (req, res) => {
    const user = req.signedIn!.user;
    let org: MemberOrg;
    try {
      noImpersonation(req);
      org = await service.leave(req.realm, user, orgIdOf(req), MemberOrgsService.context(user, originOf(req, res)));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showList(req, res, error, status));
    }
    flash(req, 'orgs.leave.done', { org: org.name });
    res.redirect(303, '/account/orgs');
  });

  /** GET /account/orgs/:orgId/invitations — the invite-by-mail form (403 without the realm's member permission). */
  router.get('/account/orgs/:orgId/invitations', requireLogin, async (req, res) => {
    const org = await service.own(req.realm, req.signedIn!.user, orgIdOf(req));
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    showInvite(res, org);
  });

  /** POST /account/orgs/:orgId/invitations — mails the invitation (rate-limited per user). */
  router.post('/account/orgs/:orgId/invitations', requireLogin, async (req, res) => {
    const user = req.signedIn!.user;
    noImpersonation(req);
    const org = await service.own(req.realm, user, orgIdOf(req));
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    const form = parseForm(inviteForm, req.body, KEEP);
    if (!form.ok) return showInvite(res, org, { values: form.values, error: { field: form.field, message: form.messageKey } }, 400);
    try {
      await service.invite(req.realm, user, org.orgId, { email: form.data.email, name: form.data.name, permissions: form.data.permissions, locale: req.locale }, MemberOrgsService.context(user, originOf(req, res)));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showInvite(res, org, { values: keptValues(req.body, KEEP), checked: form.data.permissions, error }, status));
    }
    flash(req, 'orgs.invite.sent', { email: form.data.email, org: org.name });
    res.redirect(303, '/account/orgs');
  });

  return router;
}

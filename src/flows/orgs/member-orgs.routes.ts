import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { LINK_MAX_DAYS, type InvitationLink } from '../../domain/invitation-links.ts';
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

/** A link id as the ids are made (domain/ids.ts). */
const LINK_ID = /^invl_[A-Za-z0-9_-]{16}$/;

// A member's link: no `approval` field — members' links always need approval, whatever is posted.
const linkForm = z.object({
  days: field.requiredText(3).pipe(z.string().regex(/^\d{1,3}$/, 'orgs.links.daysRange')),
  name: field.optionalText(100),
  permissions: inviteForm.shape.permissions,
});
const LINK_KEEP = ['days', 'name'] as const;
const LINK_DEFAULTS = { days: '7' };

const originOf = (req: Request, res: Response) => ({
  ip: req.ip ?? null,
  userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
  requestId: String(req.id ?? res.getHeader('x-request-id') ?? '') || null,
});

/**
 * The personal center's organizations (docs/design/orgs.md §7.4): GET /account/orgs lists the user's live orgs
 * with their permissions; each can be left (GET …/leave asks, POST …/leave does it); where the realm's
 * `invitations.memberPermission` is held in that membership, GET/POST /account/orgs/:orgId/invitations invites
 * someone by mail with permissions the member holds, and GET/POST /account/orgs/:orgId/links makes an invitation
 * link into that org — always needing approval — shown once, listed among the member's own live links with a
 * revoke button (POST …/links/:linkId/revoke, only their own). An operator's impersonation session may look, not act.
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

  async function showLinks(req: Request, res: Response, org: MemberOrg, extra: { values?: Record<string, string>; checked?: string[]; error?: FormError | null } = {}, status = 200) {
    const user = req.signedIn!.user;
    const links: InvitationLink[] = await service.ownLinks(req.realm, user, org, MemberOrgsService.context(user, originOf(req, res)));
    renderAccountPage(
      res,
      '/account/orgs',
      'account/orgs-links',
      { title: res.locals.t('orgs.links.title', { org: org.name }), org, links, maxDays: LINK_MAX_DAYS, values: { ...LINK_DEFAULTS, ...extra.values }, checked: extra.checked ?? [], error: extra.error ?? null },
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

  /** GET /account/orgs/:orgId/links — "Create a link" (always needing approval) and the member's own live links (403 without the realm's member permission). */
  router.get('/account/orgs/:orgId/links', requireLogin, async (req, res) => {
    const org = await service.own(req.realm, req.signedIn!.user, orgIdOf(req));
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    await showLinks(req, res, org);
  });

  /** POST /account/orgs/:orgId/links — makes the link; the answer shows its URL and QR code once (no-store). */
  router.post('/account/orgs/:orgId/links', requireLogin, async (req, res) => {
    const user = req.signedIn!.user;
    noImpersonation(req);
    const org = await service.own(req.realm, user, orgIdOf(req));
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    const form = parseForm(linkForm, req.body, LINK_KEEP);
    if (!form.ok) {
      const message = form.field === 'days' ? 'orgs.links.daysRange' : form.messageKey;
      return showLinks(req, res, org, { values: form.values, error: { field: form.field, message, params: { max: LINK_MAX_DAYS } } }, 400);
    }
    let made;
    try {
      made = await service.createLink(req.realm, user, org.orgId, { days: Number(form.data.days), name: form.data.name, permissions: form.data.permissions }, MemberOrgsService.context(user, originOf(req, res)));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => showLinks(req, res, org, { values: keptValues(req.body, LINK_KEEP), checked: form.data.permissions, error }, status));
    }
    // Shown once: the store keeps only the token's HMAC, so this page cannot be shown again.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    renderAccountPage(res, '/account/orgs', 'account/orgs-link-created', { title: res.locals.t('orgs.links.createdTitle', { org: org.name }), org, link: made.link, url: made.url, qr: made.qr }, 201);
  });

  /** POST /account/orgs/:orgId/links/:linkId/revoke — only the member's own links into that org; anyone else's is 404. */
  router.post('/account/orgs/:orgId/links/:linkId/revoke', requireLogin, async (req, res) => {
    const user = req.signedIn!.user;
    noImpersonation(req);
    const orgId = orgIdOf(req);
    const linkId = typeof req.params.linkId === 'string' ? req.params.linkId : '';
    if (!LINK_ID.test(linkId)) throw new FlowError(404, 'orgs.links.notFound');
    const { org, link } = await service.revokeLink(req.realm, user, orgId, linkId, MemberOrgsService.context(user, originOf(req, res)));
    flash(req, 'orgs.links.revoked', { name: link.name ?? t(res)('orgs.links.unnamed') });
    res.redirect(303, org.canInvite ? `/account/orgs/${org.orgId}/links` : '/account/orgs');
  });

  return router;
}

const t = (res: Response) => res.locals.t as (k: string, p?: Record<string, unknown>) => string;

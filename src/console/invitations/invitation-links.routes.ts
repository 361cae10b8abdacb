import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { JOIN_REQUEST_STATUSES, LINK_MAX_DAYS, type InvitationLink, type JoinRequestStatus } from '../../domain/invitation-links.ts';
import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { Org } from '../../domain/orgs.ts';
import { flash } from '../../http/account.ts';
import type { FormError } from '../../http/forms.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { linesOf, memberRefusal, refusalStatus } from '../orgs/member-forms.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
const PAGE = 50;
const LINK_ID = /^invl_[A-Za-z0-9_-]{16}$/;
const REQUEST_ID = /^jr_[A-Za-z0-9_-]{16}$/;

export const linksPath = (realm: RealmConfig) => `/admin/realms/${realm.id}/invitation-links`;
export const requestsPath = (realm: RealmConfig) => `/admin/realms/${realm.id}/join-requests`;

const linkForm = z.object({
  name: z.string().max(200).optional().default(''),
  days: z.string().regex(/^\d{1,2}$/).optional().default('7'),
  orgId: z.string().max(40).optional().default(''),
  permissions: z.string().max(20_000).optional().default(''),
  approval: z.literal('on').optional(),
});
type LinkValues = { name: string; days: string; orgId: string; permissions: string; approval: boolean };
const EMPTY: LinkValues = { name: '', days: '7', orgId: '', permissions: '', approval: false };

const cursorOf = (raw: unknown) => {
  if (raw === undefined) return null;
  if (typeof raw !== 'string') return 'bad' as const;
  try {
    return decodeCreatedCursor(raw);
  } catch {
    return 'bad' as const;
  }
};

/**
 * A realm's invitation links and requests to join (docs/design/orgs.md §8): the list (name, org, approval, expiry,
 * uses, creator, revoked), a new link shown once with its QR code, revoke, "Reset all mine" (the operator's own live
 * links, after a confirmation box), and the requests (name, email, inviter = the link's creator, decider, result,
 * dates) to approve or reject. Every write is InvitationLinksService's (audited, evented).
 */
export function invitationLinksRoutes(d: { links: InvitationLinksService; orgs: OrgsService }): ConsoleRouteSpec[] {
  const activeOrgs = async (realm: RealmConfig): Promise<Org[]> => (await d.orgs.list(realm, { state: 'active' }, { key: 'name', direction: 'asc' }, null, 500)).orgs;
  /** Who made a link or decided a request, as the console shows them: an operator's or a member's name (§7.4), "API key", Gatehouse. */
  const who = async (realm: RealmConfig, t: T, by: InvitationLink['createdBy'] | null): Promise<string> => {
    if (!by) return '—';
    if ((by.type === 'operator' || by.type === 'user') && by.id) return d.links.creatorName(realm, by);
    return t(`console.links.by.${by.type}`);
  };
  const renderNew = async (res: Response, c: ConsoleRequest, values: LinkValues, error: FormError | null, status = 200) => {
    const t = res.locals.t as T;
    renderConsolePage(res, 'invitations/link-new', { title: t('console.links.newTitle'), section: 'invitations', base: linksPath(c.realm!), values, error, orgs: await activeOrgs(c.realm!), maxDays: LINK_MAX_DAYS }, status);
  };
  const linkOf = async (c: ConsoleRequest, req: Request) => {
    const id = String(req.params.linkId);
    if (!LINK_ID.test(id)) throw new NotFoundError('invitation_link');
    return d.links.get(c.realm!, id);
  };
  const requestOf = async (c: ConsoleRequest, req: Request) => {
    const id = String(req.params.requestId);
    if (!REQUEST_ID.test(id)) throw new NotFoundError('join_request');
    return d.links.getRequest(c.realm!, id);
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/invitation-links',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const base = linksPath(realm);
        const mine = req.query.createdBy === 'me';
        const after = cursorOf(req.query.after);
        if (after === 'bad') return renderConsolePage(res, 'invitations/links', { title: t('console.links.title'), section: 'invitations', base, rows: [], mine, next: null, error: 'console.links.badCursor', pending: await d.links.pendingRequests(realm) }, 400);
        const page = await d.links.list(realm, { createdBy: mine ? 'me' : 'all' }, c.ctx, after, PAGE);
        const orgNames = new Map((await activeOrgs(realm)).map((o) => [o.id, o.name]));
        const now = d.links.now();
        const rows = await Promise.all(
          page.links.map(async (l) => ({ ...l, orgName: l.orgId ? (orgNames.get(l.orgId) ?? l.orgId) : null, creator: await who(realm, t, l.createdBy), expired: l.expiresAt.getTime() <= now.getTime() })),
        );
        const next = page.next ? `${base}?${mine ? 'createdBy=me&' : ''}after=${encodeURIComponent(encodeCreatedCursor(page.next))}` : null;
        renderConsolePage(res, 'invitations/links', { title: t('console.links.title'), section: 'invitations', base, rows, mine, next, error: null, pending: await d.links.pendingRequests(realm) });
      },
    }),
    consoleRoute({ method: 'get', path: '/realms/:realmId/invitation-links/new', capability: 'read', handler: (_req, res, c) => renderNew(res, c, EMPTY, null) }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/invitation-links/new',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const parsed = linkForm.safeParse(req.body ?? {});
        if (!parsed.success) return renderNew(res, c, EMPTY, { field: String(parsed.error.issues[0]?.path[0] ?? ''), message: 'console.links.invalid' }, 400);
        const f = parsed.data;
        const values: LinkValues = { name: f.name, days: f.days, orgId: f.orgId, permissions: f.permissions, approval: f.approval === 'on' };
        const days = Number(f.days);
        if (!(days >= 1 && days <= LINK_MAX_DAYS)) return renderNew(res, c, values, { field: 'days', message: 'console.links.daysRange', params: { max: LINK_MAX_DAYS } }, 400);
        let made;
        try {
          made = await d.links.create(
            realm,
            { name: f.name.trim() || null, orgId: f.orgId || null, permissions: linesOf(f.permissions), approval: values.approval, expiresAt: new Date(d.links.now().getTime() + days * 86_400_000) },
            c.ctx,
          );
        } catch (err) {
          if (err instanceof NotFoundError) return renderNew(res, c, values, { field: 'orgId', message: 'console.links.noOrg' }, 404);
          const error = memberRefusal(err);
          return renderNew(res, c, values, error, refusalStatus(error));
        }
        // Shown once: the token is not stored, so this page cannot be shown again.
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Referrer-Policy', 'no-referrer');
        const t = res.locals.t as T;
        renderConsolePage(res, 'invitations/link-created', { title: t('console.links.createdTitle'), section: 'invitations', base: linksPath(realm), link: made.link, url: made.url, qr: made.qr }, 201);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/invitation-links/reset',
      capability: 'orgs.write',
      async handler(req, res, c) {
        if ((req.body ?? {}).confirm !== 'yes') {
          flash(req, 'console.links.resetUnconfirmed');
          return res.redirect(303, linksPath(c.realm!));
        }
        const n = await d.links.resetAll(c.realm!, c.ctx);
        flash(req, 'console.links.resetDone', { count: n });
        res.redirect(303, linksPath(c.realm!));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/invitation-links/:linkId/revoke',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const link = await linkOf(c, req);
        if (link.revokedAt === null) await d.links.revoke(c.realm!, link.id, c.ctx);
        flash(req, 'console.links.revoked', { name: link.name ?? link.id });
        res.redirect(303, linksPath(c.realm!));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/join-requests',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const base = requestsPath(realm);
        const raw = req.query.status;
        const status = raw === undefined || raw === '' ? undefined : (JOIN_REQUEST_STATUSES as readonly unknown[]).includes(raw) ? (raw as JoinRequestStatus) : 'bad';
        const after = cursorOf(req.query.after);
        if (status === 'bad' || after === 'bad') return renderConsolePage(res, 'invitations/requests', { title: t('console.joinRequests.title'), section: 'invitations', base, rows: [], status: '', next: null, error: 'console.links.badCursor', pending: await d.links.pendingRequests(realm) }, 400);
        const page = await d.links.listRequests(realm, status ? { status } : {}, after, PAGE);
        const links = new Map<string, InvitationLink | null>();
        const rows = await Promise.all(
          page.requests.map(async (r) => {
            if (!links.has(r.linkId)) links.set(r.linkId, await d.links.findLink(realm, r.linkId));
            const link = links.get(r.linkId) ?? null;
            return { ...r, inviter: link ? await who(realm, t, link.createdBy) : '—', decider: await who(realm, t, r.decidedBy) };
          }),
        );
        const next = page.next ? `${base}?${status ? `status=${status}&` : ''}after=${encodeURIComponent(encodeCreatedCursor(page.next))}` : null;
        renderConsolePage(res, 'invitations/requests', { title: t('console.joinRequests.title'), section: 'invitations', base, rows, status: status ?? '', next, error: null, pending: await d.links.pendingRequests(realm) });
      },
    }),
    ...(['approve', 'reject'] as const).map((decision) =>
      consoleRoute({
        method: 'post',
        path: `/realms/:realmId/join-requests/:requestId/${decision}`,
        capability: 'orgs.write',
        async handler(req, res, c) {
          const r = await requestOf(c, req);
          try {
            await d.links.decide(c.realm!, r.id, decision, c.ctx);
            flash(req, decision === 'approve' ? 'console.joinRequests.approved' : 'console.joinRequests.rejected', { email: r.email });
          } catch (err) {
            const error = memberRefusal(err);
            flash(req, error.message, error.params as Record<string, string | number> | undefined);
          }
          res.redirect(303, requestsPath(c.realm!));
        },
      }),
    ),
  ];
}

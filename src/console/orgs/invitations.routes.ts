import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError, RateLimited, RuleViolation } from '../../domain/errors.ts';
import { INVITATION_STATUSES, type Invitation, type InvitationQuery, type InvitationStatus } from '../../domain/invitations.ts';
import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { CreatedCursor, Org } from '../../domain/orgs.ts';
import { flash } from '../../http/account.ts';
import { field, type FormError } from '../../http/forms.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { linesOf, memberRefusal, MEMBERS_PAGE_SIZE, permissionsField, refusalStatus, zodProblem } from './member-forms.ts';
import { orgOf, orgPath } from './orgs.routes.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
const INVITATION_ID = /^inv_[A-Za-z0-9_-]{16}$/;

export interface InvitationsPageDeps {
  orgs: OrgsService;
  invitations: InvitationsService;
  /** The pending requests to join: the realm Invitations page's Requests tab badge. */
  links: InvitationLinksService;
}

/** What the invite form shows: empty, or as typed. `send` is the checkbox ('' unticked). */
interface InviteValues {
  email: string;
  name: string;
  permissions: string;
  send: string;
  /** The mail's language ('' : the console page's). */
  locale: string;
}
const EMPTY: InviteValues = { email: '', name: '', permissions: '', send: 'yes', locale: '' };
/** The languages an invitation mail can be in (the API's createInvitationBody.locale). */
const MAIL_LOCALES = ['en', 'zh-CN'] as const;

const inviteForm = z.object({
  email: field.email(),
  name: field.optionalText(200),
  permissions: permissionsField,
  send: z.literal('yes', { error: 'validation.invalid' }).optional(),
  locale: z.enum(MAIL_LOCALES, { error: 'validation.invalid' }).optional(),
});

/** The realm list's filter: a status (as stored) and a prefix of the address or name. */
const filterQuery = z.object({
  status: z.union([z.literal(''), z.enum(INVITATION_STATUSES)], { error: 'console.invitations.badFilter' }).optional(),
  q: z.string({ error: 'console.invitations.badFilter' }).max(200, 'console.invitations.badFilter').optional(),
  after: z.string({ error: 'console.invitations.badFilter' }).max(500, 'console.invitations.badFilter').optional(),
});

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const typed = (body: Record<string, unknown>): InviteValues => ({ email: str(body.email), name: str(body.name), permissions: str(body.permissions), send: str(body.send), locale: str(body.locale) });

/** One row of an invitations table: the invitation, its status as shown (a pending one past its end is expired), who invited. */
export interface InvitationRow {
  id: string;
  email: string;
  name: string | null;
  orgId: string;
  orgName: string | null;
  permissions: string[];
  status: InvitationStatus | 'expired';
  pending: boolean;
  expiresAt: Date;
  sentCount: number;
  lastSentAt: Date;
  inviter: string;
  createdAt: Date;
}

/**
 * The console's org invitations (docs/design/orgs.md §8): an org's Invitations tab (the list, paged; the invite
 * form — address, name, permissions one a line, "send the mail"; without the mail the link is shown once, on the
 * answer to the form, and nowhere after), the realm's Invitations page (GenAuth's "Quick Query": status and a
 * prefix of the address or name), resend (a new link, the old one dead; at most `rateLimits.invitationResend`)
 * and revoke behind a confirmation page. Every write is InvitationsService's (audited, evented); `orgs.write`.
 */
/** The console page's language as a mail language (en when it is none of them). */
const pageLocale = (res: Response): string => ((MAIL_LOCALES as readonly string[]).includes(String(res.locals.lang)) ? String(res.locals.lang) : 'en');

export function invitationsRoutes(d: InvitationsPageDeps): ConsoleRouteSpec[] {
  const tabPath = (realm: RealmConfig, orgId: string) => `${orgPath(realm, orgId)}/invitations`;
  const realmListPath = (realm: RealmConfig) => `/admin/realms/${realm.id}/invitations`;
  const invitationPath = (realm: RealmConfig, id: string) => `${realmListPath(realm)}/${encodeURIComponent(id)}`;
  const invitationOf = (c: ConsoleRequest, req: Request) => {
    const id = String(req.params.invitationId);
    if (!INVITATION_ID.test(id)) throw new NotFoundError('invitation');
    return d.invitations.get(c.realm!, id);
  };
  /** Where resend and revoke come back to: the realm's list when asked from there, else the org's tab. */
  const backOf = (realm: RealmConfig, inv: Invitation, from: unknown) => (from === 'realm' ? realmListPath(realm) : tabPath(realm, inv.orgId));

  const rowsOf = async (realm: RealmConfig, list: Invitation[], orgNames: Map<string, string | null>): Promise<InvitationRow[]> => {
    const now = d.invitations.now();
    const inviters = new Map<string, Promise<string>>();
    const inviterOf = (inv: Invitation) => {
      const key = `${inv.createdBy.type}:${inv.createdBy.id ?? ''}`;
      if (!inviters.has(key)) inviters.set(key, d.invitations.inviterName(realm, inv.createdBy));
      return inviters.get(key)!;
    };
    for (const inv of list) {
      if (!orgNames.has(inv.orgId)) orgNames.set(inv.orgId, await d.orgs.get(realm, inv.orgId).then((o) => o.name, (err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err))));
    }
    return Promise.all(
      list.map(async (inv) => {
        const expired = inv.status === 'pending' && inv.expiresAt.getTime() <= now.getTime();
        return {
          id: inv.id,
          email: inv.email,
          name: inv.name,
          orgId: inv.orgId,
          orgName: orgNames.get(inv.orgId) ?? null,
          permissions: inv.permissions,
          status: expired ? ('expired' as const) : inv.status,
          pending: inv.status === 'pending',
          expiresAt: inv.expiresAt,
          sentCount: inv.sentCount,
          lastSentAt: inv.lastSentAt,
          inviter: await inviterOf(inv),
          createdAt: inv.createdAt,
        };
      }),
    );
  };

  const cursorOf = (raw: string | null): CreatedCursor | null => {
    if (!raw) return null;
    try {
      return decodeCreatedCursor(raw);
    } catch {
      return null;
    }
  };

  const renderTab = async (req: Request, res: Response, c: ConsoleRequest, org: Org, form: { values?: InviteValues; error?: FormError | null; link?: string | null } = {}, status = 200) => {
    const realm = c.realm!;
    const rawAfter = typeof req.query.after === 'string' ? req.query.after : null;
    const page = await d.invitations.list(realm, { orgId: org.id }, cursorOf(rawAfter), MEMBERS_PAGE_SIZE);
    const base = tabPath(realm, org.id);
    if (form.link) res.setHeader('Cache-Control', 'no-store');
    renderConsolePage(
      res,
      'orgs/invitations',
      {
        title: org.name,
        section: 'orgs',
        base: `/admin/realms/${realm.id}/orgs`,
        org,
        tab: 'invitations',
        rows: await rowsOf(realm, page.invitations, new Map([[org.id, org.name]])),
        invitationsBase: realmListPath(realm),
        from: 'org',
        next: page.next ? `${base}?after=${encodeCreatedCursor(page.next)}` : null,
        first: rawAfter ? base : null,
        values: { ...(form.values ?? EMPTY), locale: (form.values?.locale || pageLocale(res)) },
        mailLocales: MAIL_LOCALES,
        error: form.error ?? null,
        link: form.link ?? null,
        ttlHours: realm.invitations.ttlHours,
      },
      status,
    );
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId/invitations',
      capability: 'read',
      async handler(req, res, c) {
        await renderTab(req, res, c, await orgOf(d.orgs, c, req));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId/invitations',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const org = await orgOf(d.orgs, c, req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const values = typed(body);
        const fail = (error: FormError, status: number) => renderTab(req, res, c, org, { values, error }, status);
        const parsed = inviteForm.safeParse(body);
        if (!parsed.success) return fail(zodProblem(parsed.error), 400);
        const send = parsed.data.send === 'yes';
        let made;
        try {
          made = await d.invitations.invite(
            realm,
            { orgId: org.id, email: parsed.data.email, name: parsed.data.name || null, permissions: linesOf(parsed.data.permissions ?? ''), locale: parsed.data.locale ?? pageLocale(res), send },
            c.ctx,
          );
        } catch (err) {
          if (err instanceof RuleViolation && err.issues[0]?.code === 'email.invalid') return fail({ field: 'email', message: 'validation.email' }, 400);
          const error = memberRefusal(err, { orgId: 'email' });
          return fail(error, refusalStatus(error));
        }
        if (send) {
          flash(req, 'console.invitations.sent', { email: made.invitation.email });
          return res.redirect(303, tabPath(realm, org.id));
        }
        // Not mailed: the link is on this answer only (never stored, never shown again; a resend mails a new one).
        await renderTab(req, res, c, org, { link: made.link }, 201);
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/invitations',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const base = realmListPath(realm);
        const parsed = filterQuery.safeParse(req.query);
        const view = { title: t('console.invitations.title'), section: 'invitations', base, invitationsBase: base, from: 'realm', pending: await d.links.pendingRequests(realm) };
        if (!parsed.success) return renderConsolePage(res, 'invitations/invitations', { ...view, error: 'console.invitations.badFilter', values: { status: '', q: '' }, rows: [], next: null, first: null }, 400);
        const status = parsed.data.status || undefined;
        const q = (parsed.data.q ?? '').trim();
        const query: InvitationQuery = { ...(status ? { status } : {}), ...(q ? { q } : {}) };
        const rawAfter = parsed.data.after || null;
        const page = await d.invitations.list(realm, query, cursorOf(rawAfter), MEMBERS_PAGE_SIZE);
        const qs = (after?: string) => {
          const p = new URLSearchParams();
          if (status) p.set('status', status);
          if (q) p.set('q', q);
          if (after) p.set('after', after);
          const s = p.toString();
          return s ? `?${s}` : '';
        };
        renderConsolePage(res, 'invitations/invitations', {
          ...view,
          error: null,
          values: { status: status ?? '', q },
          rows: await rowsOf(realm, page.invitations, new Map()),
          orgsBase: `/admin/realms/${realm.id}/orgs`,
          next: page.next ? base + qs(encodeCreatedCursor(page.next)) : null,
          first: rawAfter ? base + qs() : null,
        });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/invitations/:invitationId/resend',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const inv = await invitationOf(c, req);
        const back = backOf(realm, inv, (req.body as Record<string, unknown> | undefined)?.from);
        try {
          await d.invitations.resend(realm, inv.id, c.ctx, pageLocale(res));
        } catch (err) {
          if (!(err instanceof RateLimited)) throw err;
          res.setHeader('Retry-After', String(err.retryAfterSeconds));
          return renderConsoleMessage(res, 429, {
            titleKey: 'console.invitations.resendLimitedTitle',
            textKey: 'console.invitations.resendLimited',
            params: { email: inv.email, minutes: Math.max(1, Math.ceil(err.retryAfterSeconds / 60)) },
            link: { href: back, labelKey: 'console.invitations.back' },
          });
        }
        flash(req, 'console.invitations.resent', { email: inv.email });
        res.redirect(303, back);
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/invitations/:invitationId/revoke',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const inv = await invitationOf(c, req);
        const from = req.query.from === 'realm' ? 'realm' : 'org';
        renderConsolePage(res, 'invitations/revoke-invitation', {
          title: t('console.invitations.revokeTitle', { email: inv.email }),
          section: from === 'realm' ? 'invitations' : 'orgs',
          invitation: inv,
          pending: inv.status === 'pending',
          action: `${invitationPath(realm, inv.id)}/revoke`,
          back: backOf(realm, inv, from),
          from,
        });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/invitations/:invitationId/revoke',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const inv = await invitationOf(c, req);
        await d.invitations.revoke(realm, inv.id, c.ctx);
        flash(req, 'console.invitations.revoked', { email: inv.email });
        res.redirect(303, backOf(realm, inv, (req.body as Record<string, unknown> | undefined)?.from));
      },
    }),
  ];
}

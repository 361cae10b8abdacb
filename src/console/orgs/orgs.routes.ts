import type { Request, Response } from 'express';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { ORG_ID } from '../../domain/ids.ts';
import { encodeOrgCursor } from '../../domain/org-cursor.ts';
import { ORG_SORT_KEYS, type Org, type OrgSort } from '../../domain/orgs.ts';
import { flash } from '../../http/account.ts';
import type { FormError } from '../../http/forms.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { withEmptyRows } from '../attribute-rows.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { memberRefusal, refusalStatus } from './member-forms.ts';
import { EMPTY_ORG, orgChangeOf, orgsQueryString, orgValuesOf, parseOrgsQuery, type OrgFormValues, type OrgListQuery } from './org-forms.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
export const ORGS_PAGE_SIZE = 50;

export const orgsPath = (realm: RealmConfig) => `/admin/realms/${realm.id}/orgs`;
export const orgPath = (realm: RealmConfig, orgId: string) => `${orgsPath(realm)}/${encodeURIComponent(orgId)}`;

/** The org of the path (a malformed id is not looked up: NotFoundError, the guard's 404). */
export function orgOf(orgs: OrgsService, c: ConsoleRequest, req: Request): Promise<Org> {
  const id = String(req.params.orgId);
  if (!ORG_ID.test(id)) throw new NotFoundError('org');
  return orgs.get(c.realm!, id);
}

/** The column headers: each links to its sort; the current one links to the reverse. */
function headers(q: OrgListQuery, base: string) {
  return ORG_SORT_KEYS.map((key) => {
    const current = q.sort.key === key;
    const next: OrgSort = { key, direction: current && q.sort.direction === 'asc' ? 'desc' : 'asc' };
    return { key, href: base + orgsQueryString(q.values, next), sorted: current ? (q.sort.direction === 'asc' ? 'ascending' : 'descending') : null };
  });
}

/**
 * The orgs pages of a realm (docs/design/orgs.md §8): the list (state, name prefix, sort, paging, count), a new
 * org, the org's page (name, reference, custom attributes), close and reopen, and delete — a confirmation page and
 * a recent sign-in, as a user's delete. Every write is OrgsService's (audited, evented).
 */
export function orgsRoutes(orgs: OrgsService): ConsoleRouteSpec[] {
  const renderOrg = (res: Response, c: ConsoleRequest, org: Org | null, form: { values?: OrgFormValues; error?: FormError | null } = {}, status = 200) => {
    const t = res.locals.t as T;
    const values = form.values ?? (org ? orgValuesOf(org) : EMPTY_ORG);
    renderConsolePage(
      res,
      org ? 'orgs/org' : 'orgs/new',
      { title: org ? org.name : t('console.orgs.newTitle'), section: 'orgs', base: orgsPath(c.realm!), org, tab: 'details', values: { ...values, attrs: withEmptyRows(values.attrs) }, error: form.error ?? null },
      status,
    );
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/orgs',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const base = orgsPath(realm);
        const parsed = parseOrgsQuery(req.query);
        if (!parsed.ok) return renderConsolePage(res, 'orgs/list', { title: t('console.orgs.title'), section: 'orgs', base, error: parsed.messageKey, q: null, rows: [], headers: [], next: null, first: null, count: null }, 400);
        const q = parsed.query;
        const [page, count] = await Promise.all([orgs.list(realm, q.filter, q.sort, q.after, ORGS_PAGE_SIZE), orgs.count(realm, q.filter)]);
        renderConsolePage(res, 'orgs/list', {
          title: t('console.orgs.title'),
          section: 'orgs',
          base,
          error: null,
          q,
          rows: page.orgs,
          headers: headers(q, base),
          next: page.next ? base + orgsQueryString(q.values, q.sort, encodeOrgCursor(q.sort, page.next)) : null,
          first: q.afterRaw ? base + orgsQueryString(q.values, q.sort) : null,
          count,
        });
      },
    }),
    consoleRoute({ method: 'get', path: '/realms/:realmId/orgs/new', capability: 'read', handler: (_req, res, c) => renderOrg(res, c, null) }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/orgs/new',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const form = orgChangeOf(req.body, null);
        if (!form.ok) return renderOrg(res, c, null, form, 400);
        let org: Org;
        try {
          org = await orgs.create(c.realm!, form.change, c.ctx);
        } catch (err) {
          const error = memberRefusal(err);
          return renderOrg(res, c, null, { values: form.values, error }, refusalStatus(error));
        }
        flash(req, 'console.orgs.created', { name: org.name });
        res.redirect(303, orgPath(c.realm!, org.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId',
      capability: 'read',
      async handler(req, res, c) {
        renderOrg(res, c, await orgOf(orgs, c, req));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const org = await orgOf(orgs, c, req);
        const form = orgChangeOf(req.body, org);
        if (!form.ok) return renderOrg(res, c, org, form, 400);
        const { name, ...rest } = form.change;
        const change = name === org.name ? rest : form.change;
        if (Object.keys(change).length === 0) {
          flash(req, 'console.userPage.nothingChanged');
          return res.redirect(303, orgPath(realm, org.id));
        }
        try {
          await orgs.update(realm, org.id, change, c.ctx);
        } catch (err) {
          const error = memberRefusal(err);
          return renderOrg(res, c, org, { values: form.values, error }, refusalStatus(error));
        }
        flash(req, 'console.orgs.saved');
        res.redirect(303, orgPath(realm, org.id));
      },
    }),
    ...(['close', 'reopen'] as const).map((action) =>
      consoleRoute({
        method: 'post',
        path: `/realms/:realmId/orgs/:orgId/${action}`,
        capability: 'orgs.write',
        async handler(req, res, c) {
          const org = await orgOf(orgs, c, req);
          if (action === 'close') await orgs.close(c.realm!, org.id, c.ctx);
          else if (org.state === 'closed') await orgs.update(c.realm!, org.id, { state: 'active' }, c.ctx);
          flash(req, action === 'close' ? 'console.orgs.closed' : 'console.orgs.reopened', { name: org.name });
          res.redirect(303, orgPath(c.realm!, org.id));
        },
      }),
    ),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId/delete',
      capability: 'orgs.write',
      stepUp: true,
      async handler(req, res, c) {
        const t = res.locals.t as T;
        const org = await orgOf(orgs, c, req);
        renderConsolePage(res, 'orgs/delete', { title: t('console.orgs.deleteTitle', { name: org.name }), section: 'orgs', org, base: orgsPath(c.realm!) });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId/delete',
      capability: 'orgs.write',
      stepUp: true,
      async handler(req, res, c) {
        const org = await orgOf(orgs, c, req);
        const { memberships } = await orgs.delete(c.realm!, org.id, c.ctx);
        flash(req, 'console.orgs.deleted', { name: org.name, count: memberships });
        res.redirect(303, orgsPath(c.realm!));
      },
    }),
  ];
}

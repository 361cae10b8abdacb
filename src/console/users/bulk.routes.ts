import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import { flash } from '../../http/account.ts';
import { BULK_DELETE_MAX_IDS, type UsersService } from '../../services/users.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { listQueryString, parseUsersQuery, type ListQuery } from './query.ts';

/**
 * A delete by filter runs in one store transaction (and writes one event a
 * user): the console stops at this many; a larger clean-up goes through the
 * API or the CLI in slices (docs/design/console.md §7, risk 4).
 */
export const FILTER_DELETE_MAX = 100_000;

/** User ids as Gatehouse makes them (UUIDs) or an import gave them (printable, ≤ 100): anything else is a bad form. */
const userId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/);

/**
 * The bulk-delete forms: the list's (ids ticked, or "select all matching" with the
 * list's query as hidden fields) and the confirmation's (the same, plus `expect`).
 * One id arrives as a string, several as an array; anything else (a nested key,
 * a control character, an unknown field) is a 400.
 */
const bulkForm = z.strictObject({
  _csrf: z.string().optional(),
  scope: z.enum(['ids', 'filter']),
  ids: z.union([userId.transform((id) => [id]), z.array(userId)]).optional(),
  expect: z.string().regex(/^\d{1,7}$/).transform(Number).optional(),
  userType: z.string().optional(),
  state: z.string().optional(),
  createdFrom: z.string().optional(),
  createdTo: z.string().optional(),
  q: z.string().optional(),
  sort: z.string().optional(),
  direction: z.string().optional(),
});

type BulkForm = z.infer<typeof bulkForm> & { query: ListQuery };

type T = (k: string, p?: Record<string, unknown>) => string;

export function usersBulkRoutes(users: UsersService): ConsoleRouteSpec[] {
  const listOf = (realm: RealmConfig) => `/admin/realms/${realm.id}/users`;

  /** The form, or a 400 page saying what is wrong with it (null: answered). */
  const parse = (req: Request, res: Response, realm: RealmConfig): BulkForm | null => {
    const refuse = (textKey: string, params?: Record<string, string | number>) => {
      renderConsoleMessage(res, 400, { titleKey: 'console.bulkDelete.refusedTitle', textKey, params, link: { href: listOf(realm), labelKey: 'console.users.backToList' } });
      return null;
    };
    const form = bulkForm.safeParse(req.body ?? {});
    if (!form.success) return refuse('console.bulkDelete.badForm');
    const { userType, state, createdFrom, createdTo, q, sort, direction } = form.data;
    const query = parseUsersQuery({ userType, state, createdFrom, createdTo, q, sort, direction });
    if (!query.ok) return refuse(query.messageKey);
    if (form.data.scope === 'ids') {
      const n = new Set(form.data.ids ?? []).size;
      if (n === 0) return refuse('console.bulkDelete.noneSelected');
      if (n > BULK_DELETE_MAX_IDS) return refuse('console.bulkDelete.tooManyIds', { max: BULK_DELETE_MAX_IDS.toLocaleString(res.locals.lang as string) });
    }
    return { ...form.data, ids: [...new Set(form.data.ids ?? [])], query: query.query };
  };

  /** The confirmation page of a delete by filter: the count now, and the form that expects it. */
  const confirmFilter = (res: Response, realm: RealmConfig, f: BulkForm, count: number, error: string | null, status: number) => {
    const t = res.locals.t as T;
    const tooMany = count > FILTER_DELETE_MAX;
    renderConsolePage(
      res,
      'users/delete-confirm',
      {
        title: t('console.bulkDelete.title'),
        section: 'users',
        base: listOf(realm),
        back: listOf(realm) + listQueryString(f.query.values, f.query.sort),
        scope: 'filter',
        count,
        heading: count === 0 ? t('console.bulkDelete.noneMatch') : t('console.bulkDelete.filterHeading', { count, formatted: count.toLocaleString(res.locals.lang as string) }),
        facts: filterFacts(t, f.query),
        values: f.query.values,
        sort: f.query.sort,
        ids: [],
        users: [],
        error: error ?? (tooMany ? 'console.bulkDelete.overCap' : null),
        max: FILTER_DELETE_MAX.toLocaleString(res.locals.lang as string),
        canConfirm: count > 0 && !tooMany,
      },
      tooMany && status === 200 ? 400 : status,
    );
  };

  const done = (req: Request, res: Response, realm: RealmConfig, f: BulkForm, count: number) => {
    flash(req, 'console.bulkDelete.deleted', { count, formatted: count.toLocaleString(res.locals.lang as string) });
    res.redirect(303, listOf(realm) + listQueryString(f.query.values, f.query.sort));
  };

  // After "confirm it's you" the operator lands on the GET of the form's path: the list, to select again.
  const backToList = (_req: Request, res: Response, c: ConsoleRequest) => res.redirect(303, listOf(c.realm!));

  return [
    consoleRoute({ method: 'get', path: '/realms/:realmId/users/delete', capability: 'read', handler: backToList }),
    consoleRoute({ method: 'get', path: '/realms/:realmId/users/delete/confirm', capability: 'read', handler: backToList }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/users/delete',
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        const realm = c.realm!;
        const f = parse(req, res, realm);
        if (!f) return;
        if (f.scope === 'filter') {
          const { count } = await users.bulkDeleteFilter(realm, f.query.filter, undefined, c.ctx);
          return confirmFilter(res, realm, f, count, null, 200);
        }
        // Ids of another realm, or gone meanwhile, are not found: not listed, and not carried to the confirmation.
        const found = [];
        for (const id of f.ids!) {
          try {
            const u = await users.get(realm, id);
            found.push({ id: u.id, username: u.username });
          } catch (err) {
            if (!(err instanceof NotFoundError)) throw err;
          }
        }
        const t = res.locals.t as T;
        if (found.length === 0) {
          return renderConsoleMessage(res, 404, { titleKey: 'console.bulkDelete.title', textKey: 'console.bulkDelete.noneFound', link: { href: listOf(realm), labelKey: 'console.users.backToList' } });
        }
        renderConsolePage(res, 'users/delete-confirm', {
          title: t('console.bulkDelete.title'),
          section: 'users',
          base: listOf(realm),
          back: listOf(realm) + listQueryString(f.query.values, f.query.sort),
          scope: 'ids',
          count: found.length,
          heading: t('console.bulkDelete.idsHeading', { count: found.length, formatted: found.length.toLocaleString(res.locals.lang as string) }),
          facts: [],
          values: f.query.values,
          sort: f.query.sort,
          ids: found.map((u) => u.id),
          users: found,
          error: null,
          max: FILTER_DELETE_MAX.toLocaleString(res.locals.lang as string),
          canConfirm: true,
        });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/users/delete/confirm',
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        const realm = c.realm!;
        const f = parse(req, res, realm);
        if (!f) return;
        if (f.scope === 'ids') {
          const { deleted } = await users.bulkDeleteIds(realm, f.ids!, c.ctx);
          return done(req, res, realm, f, deleted.length);
        }
        const refuse = (textKey: string) =>
          renderConsoleMessage(res, 400, { titleKey: 'console.bulkDelete.refusedTitle', textKey, params: { max: FILTER_DELETE_MAX.toLocaleString(res.locals.lang as string) }, link: { href: listOf(realm), labelKey: 'console.users.backToList' } });
        if (f.expect === undefined) return refuse('console.bulkDelete.badForm');
        if (f.expect > FILTER_DELETE_MAX) return refuse('console.bulkDelete.overCap');
        try {
          const { count } = await users.bulkDeleteFilter(realm, f.query.filter, f.expect, c.ctx);
          done(req, res, realm, f, count);
        } catch (err) {
          if (!(err instanceof ConflictError) || err.reason !== 'expect.mismatch') throw err;
          // Users came or went since the confirmation page: nothing was deleted. The count now, to confirm again.
          const { count } = await users.bulkDeleteFilter(realm, f.query.filter, undefined, c.ctx);
          confirmFilter(res, realm, f, count, 'console.conflict.expect_mismatch', 409);
        }
      },
    }),
  ];
}

/** What the filter of a delete is, in words: each set value with its label (none: every user of the realm). */
function filterFacts(t: T, q: ListQuery): Array<{ label: string; value: string }> {
  const v = q.values;
  const facts: Array<{ label: string; value: string }> = [];
  if (v.userType) facts.push({ label: t('console.users.type'), value: t(`console.users.${v.userType}`) });
  if (v.state) facts.push({ label: t('console.users.state'), value: t(`console.users.${v.state}`) });
  if (v.createdFrom) facts.push({ label: t('console.users.createdFrom'), value: v.createdFrom });
  if (v.createdTo) facts.push({ label: t('console.users.createdTo'), value: v.createdTo });
  if (v.q) facts.push({ label: t('console.users.search'), value: v.q });
  return facts;
}

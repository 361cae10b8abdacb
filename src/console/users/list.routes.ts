import type { Request, Response } from 'express';
import { encodeUserCursor } from '../../domain/user-cursor.ts';
import { countableByCounters, USER_SORT_KEYS, type UserSort, type UserSortKey } from '../../domain/user-query.ts';
import { displayName, type User } from '../../identity/user.ts';
import type { UsersService } from '../../services/users.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { listQueryString, parseUsersQuery, type ListQuery } from './query.ts';

export const USERS_PAGE_SIZE = 50;

/** A row of the users table: what it shows, already decided. */
export interface UserRow {
  id: string;
  username: string;
  email: string | null;
  name: string;
  userType: User['userType'];
  state: User['state'];
  createdAt: Date;
  lastLoginAt: Date | null;
}

export function userRow(u: User): UserRow {
  return { id: u.id, username: u.username, email: u.email, name: displayName(u), userType: u.userType, state: u.state, createdAt: u.createdAt, lastLoginAt: u.lastLoginAt };
}

/** The column headers: each links to its sort; the current one links to the reverse. */
function headers(q: ListQuery, base: string) {
  return USER_SORT_KEYS.map((key: UserSortKey) => {
    const current = q.sort.key === key;
    const next: UserSort = { key, direction: current && q.sort.direction === 'asc' ? 'desc' : 'asc' };
    return { key, href: base + listQueryString(q.values, next), sorted: current ? (q.sort.direction === 'asc' ? 'ascending' : 'descending') : null };
  });
}

export function usersListRoutes(users: UsersService): ConsoleRouteSpec[] {
  const render = async (req: Request, res: Response, c: ConsoleRequest) => {
    const realm = c.realm!;
    const base = `/admin/realms/${realm.id}/users`;
    const t = res.locals.t as (k: string, p?: Record<string, unknown>) => string;
    const parsed = parseUsersQuery(req.query);
    if (!parsed.ok) {
      return renderConsolePage(res, 'users/list', { title: t('console.users.title'), section: 'users', base, error: parsed.messageKey, rows: [], q: null, headers: [], next: null, count: null, qs: '' }, 400);
    }
    const q = parsed.query;
    const page = await users.list(realm, q.filter, q.sort, q.after, USERS_PAGE_SIZE);
    // A count only when it is cheap (the counters: type, state, verification); otherwise a link that counts on demand.
    const count = countableByCounters(q.filter) ? await users.count(realm, q.filter) : null;
    renderConsolePage(res, 'users/list', {
      title: t('console.users.title'),
      section: 'users',
      base,
      error: null,
      q,
      rows: page.users.map(userRow),
      headers: headers(q, base),
      qs: listQueryString(q.values, q.sort),
      next: page.next ? base + listQueryString(q.values, q.sort, encodeUserCursor(q.sort, page.next)) : null,
      first: q.afterRaw ? base + listQueryString(q.values, q.sort) : null,
      count,
    });
  };
  return [
    consoleRoute({ method: 'get', path: '/realms/:realmId/users', capability: 'read', handler: render }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/users/count',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as (k: string, p?: Record<string, unknown>) => string;
        const parsed = parseUsersQuery(req.query);
        if (!parsed.ok) return renderConsolePage(res, 'users/count', { title: t('console.users.countTitle'), section: 'users', error: parsed.messageKey, count: null, back: `/admin/realms/${realm.id}/users` }, 400);
        const n = await users.count(realm, parsed.query.filter);
        renderConsolePage(res, 'users/count', {
          title: t('console.users.countTitle'),
          section: 'users',
          error: null,
          count: n,
          back: `/admin/realms/${realm.id}/users${listQueryString(parsed.query.values, parsed.query.sort)}`,
        });
      },
    }),
  ];
}

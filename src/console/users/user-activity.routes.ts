import type { Request, Response } from 'express';
import { z } from 'zod';
import { InvalidEventCursor } from '../../domain/events.ts';
import { FlowError } from '../../http/flow-error.ts';
import { displayName } from '../../identity/user.ts';
import type { EventLog } from '../../services/event-log.ts';
import type { SignInHistory } from '../../services/sign-in-history.ts';
import type { UsersService } from '../../services/users.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';
import { userPath } from './user.routes.ts';

export interface UserActivityDeps {
  users: UsersService;
  events: EventLog;
  history: SignInHistory;
}

const EVENTS_PAGE_SIZE = 50;
const pageQuery = z.object({ after: z.string().min(1).max(200).optional() });

type T = (key: string, params?: Record<string, unknown>) => string;

/** The `after` of the query, or a 400 page (an array, a bad cursor). */
function afterOf(req: Request): string | undefined {
  const q = pageQuery.safeParse(req.query);
  if (!q.success) throw new FlowError(400, 'console.userPage.badPage');
  return q.data.after;
}

const badCursor = (err: unknown): never => {
  throw err instanceof InvalidEventCursor ? new FlowError(400, 'console.userPage.badPage') : err;
};

/** The user's events and sign-in history, newest first, a keyset page at a time (no way back but to the newest). */
export function userActivityRoutes(d: UserActivityDeps): ConsoleRouteSpec[] {
  const page = (res: Response, view: 'events' | 'history', title: string, model: Record<string, unknown>) => renderConsolePage(res, `users/${view}`, { title, section: 'users', ...model });
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/users/:userId/events',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const user = await d.users.get(realm, String(req.params.userId));
        const after = afterOf(req);
        const result = await d.events.page(realm, { userId: user.id, after, limit: EVENTS_PAGE_SIZE }).catch(badCursor);
        const base = `${userPath(realm, user.id)}/events`;
        page(res, 'events', (res.locals.t as T)('console.userPage.eventsTitle', { name: displayName(user) }), {
          back: userPath(realm, user.id),
          name: displayName(user),
          events: result.data.map((e) => ({ at: e.at, type: e.type, actor: e.actor, ip: e.request.ip, app: e.request.clientId ? (realm.apps.find((a) => a.clientId === e.request.clientId)?.name ?? e.request.clientId) : null })),
          newestHref: after ? base : null,
          nextHref: result.next ? `${base}?after=${encodeURIComponent(result.next)}` : null,
        });
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/users/:userId/history',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const user = await d.users.get(realm, String(req.params.userId));
        const after = afterOf(req);
        const { entries, next } = await d.history.page(realm, user.id, after).catch(badCursor);
        const base = `${userPath(realm, user.id)}/history`;
        page(res, 'history', (res.locals.t as T)('console.userPage.historyTitle', { name: displayName(user) }), {
          back: userPath(realm, user.id),
          name: displayName(user),
          entries,
          newestHref: after ? base : null,
          nextHref: next ? `${base}?after=${encodeURIComponent(next)}` : null,
        });
      },
    }),
  ];
}

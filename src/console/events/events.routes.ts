import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { InvalidEventCursor } from '../../domain/events.ts';
import type { EventLog } from '../../services/event-log.ts';
import type { UsersService } from '../../services/users.ts';
import { actorView, operatorEmails } from '../actors.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';

type Translate = (k: string, p?: Record<string, unknown>) => string;
export const EVENTS_PAGE_SIZE = 50;

/** The filter form as the query writes it: an empty field is "any". The type and user id rules are the API's. */
const eventsQuery = z.object({
  type: z.union([z.literal(''), z.string().max(100).regex(/^[a-z_]+(\.[a-z_]+)*\.?\*?$/, 'console.events.badType')]).optional(),
  userId: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'console.events.badUserId')]).optional(),
  after: z.string().max(500).optional(),
});

/** The query string of the events page with `values` (empty ones left out) and an optional cursor. */
function queryString(values: { type: string; userId: string }, after?: string | null): string {
  const params = new URLSearchParams();
  if (values.type) params.set('type', values.type);
  if (values.userId) params.set('userId', values.userId);
  if (after) params.set('after', after);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** GET /admin/realms/:realmId/events — the realm's event log, newest first, by type prefix and user, a page at a time. */
export function eventsRoutes(events: Pick<EventLog, 'page'>, users: Pick<UsersService, 'get'>, consoleRealm: () => RealmConfig | null): ConsoleRouteSpec[] {
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/events',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const base = `/admin/realms/${realm.id}/events`;
        const raw = req.query as Record<string, unknown>;
        const shown = { type: typeof raw.type === 'string' ? raw.type : '', userId: typeof raw.userId === 'string' ? raw.userId : '' };
        const page = (model: Record<string, unknown>, status = 200) =>
          renderConsolePage(res, 'events/list', { title: t('console.events.title'), section: 'events', base, values: shown, rows: [], next: null, first: null, error: null, ...model }, status);

        const parsed = eventsQuery.safeParse(req.query);
        if (!parsed.success) {
          const message = parsed.error.issues[0]!.message;
          return page({ error: message.startsWith('console.') ? message : 'console.events.badQuery' }, 400);
        }
        const q = parsed.data;
        let found;
        try {
          found = await events.page(realm, { typePrefix: q.type || undefined, userId: q.userId || undefined, after: q.after || undefined, limit: EVENTS_PAGE_SIZE });
        } catch (err) {
          if (err instanceof InvalidEventCursor) return page({ error: 'console.events.badCursor' }, 400);
          throw err;
        }
        const emails = await operatorEmails(users, consoleRealm(), found.data.filter((e) => e.actor.type === 'operator' && e.actor.id).map((e) => e.actor.id!));
        const userHref = (id: string) => `/admin/realms/${realm.id}/users/${encodeURIComponent(id)}`;
        page({
          rows: found.data.map((e) => ({
            id: e.id,
            at: e.at,
            type: e.type,
            userId: e.userId,
            userHref: e.userId ? userHref(e.userId) : null,
            actor: actorView(e.actor, emails, userHref),
            ip: e.request.ip,
            clientId: e.request.clientId,
          })),
          next: found.next ? base + queryString(shown, found.next) : null,
          first: q.after ? base + queryString(shown) : null,
          filtering: Boolean(shown.type || shown.userId),
        });
      },
    }),
  ];
}

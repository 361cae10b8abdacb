import { z } from 'zod';
import type { StoredEvent } from '../../domain/events.ts';
import type { EventLog } from '../../services/event-log.ts';
import { route, type RouteSpec } from './route.ts';
import { afterParam, limitParam, realmParams, userId } from './schemas.ts';

const eventsQuery = z.strictObject({
  userId: userId.optional(),
  /** A type or a prefix of types: user.login → user.login.succeeded, user.login.failed, … */
  type: z.string().max(100).regex(/^[a-z_]+(\.[a-z_]+)*\.?\*?$/, 'an event type or prefix, like user.login').optional(),
  createdAfter: z.iso.datetime({ offset: true, message: 'an RFC 3339 date-time' }).transform((v) => new Date(v)).optional(),
  after: afterParam,
  limit: limitParam,
});

const eventOut = z.object({
  id: z.string(),
  realmId: z.string(),
  type: z.string(),
  userId: z.string().nullable(),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  request: z.object({ ip: z.string().nullable(), userAgent: z.string().nullable(), clientId: z.string().nullable(), requestId: z.string().nullable() }),
  at: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
});

const eventJson = (e: StoredEvent) => ({ ...e, at: e.at.toISOString() });

/** The realm's event log (docs/events.md lists every type), newest first. */
export function eventRoutes(events: EventLog): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms/:realmId/events',
      operationId: 'listEvents',
      summary: 'The realm’s events, newest first; filter by user, type prefix and time',
      tag: 'Events',
      access: 'read',
      params: realmParams,
      query: eventsQuery,
      responses: { 200: { description: 'A page of events', schema: z.object({ data: z.array(eventOut), next: z.string().nullable() }) } },
      example: { query: { type: 'user.login', limit: '50' } },
      async handler({ realm, query }) {
        const page = await events.page(realm, { userId: query.userId, typePrefix: query.type, createdAfter: query.createdAfter, after: query.after, limit: query.limit ?? 100 });
        return { status: 200, body: { data: page.data.map(eventJson), next: page.next } };
      },
    }),
  ];
}

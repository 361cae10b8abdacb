import type { RealmConfig } from '../config/index.ts';
import type { EventPage, EventsPort } from '../ports/events.ts';

/** Which events of a realm to read, newest first (the management API's and the console's filters). */
export interface EventLogQuery {
  /** A type or a prefix of types: `user.login` → user.login.succeeded, user.login.failed, … */
  typePrefix?: string;
  /** Only events about this user. */
  userId?: string;
  /** Only events strictly later than this. */
  createdAfter?: Date;
  /** The `next` of the page before (InvalidEventCursor when it is not one). */
  after?: string;
  /** Page size, 1–1000. */
  limit: number;
}

/** The realm's event log (docs/events.md lists every type), a page at a time. */
export class EventLog {
  constructor(private readonly events: EventsPort) {}

  page(realm: RealmConfig, q: EventLogQuery): Promise<EventPage> {
    return this.events.query({ realmId: realm.id, userId: q.userId, typePrefix: q.typePrefix, createdAfter: q.createdAfter, after: q.after, limit: q.limit });
  }
}

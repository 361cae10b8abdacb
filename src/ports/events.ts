import { InvalidEventCursor, type EventType, type NewEvent, type StoredEvent } from '../domain/events.ts';

/** Which events of a realm to list, newest first (DESIGN.md §8: `limit` and an opaque `after`). */
export interface EventQuery {
  realmId: string;
  /** Only events about this user. */
  userId?: string;
  /** Only this type and the types under it: `user.login` → user.login.succeeded, user.login.failed, … */
  typePrefix?: string;
  /** Only events of one of these types (with typePrefix: both must hold). */
  types?: readonly EventType[];
  /** Only events strictly later than this. */
  createdAfter?: Date;
  /** The `next` of the previous page. InvalidEventCursor when it is not one. */
  after?: string;
  /** Page size, at least 1 (the API allows up to 1000). */
  limit: number;
}

/** How many events of one type a realm's log holds for one UTC day (EventsPort.dailyCounts). */
export interface EventDayCount {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  type: EventType;
  n: number;
}

/** The UTC day (YYYY-MM-DD) `at` falls in: the `day` of dailyCounts. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Midnight UTC starting the day `at` falls in. */
export function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

export interface EventPage {
  data: StoredEvent[];
  /** The cursor of the next (older) page; null on the last page. */
  next: string | null;
}

/**
 * The realm's event log (DESIGN.md §2). Appending is the job of
 * events/publish.ts; every adapter passes test/contract/events.contract.ts.
 * Order is newest first by (at, id): of two events of one time, the one
 * appended later comes first; paging by cursor neither skips nor repeats an
 * event, also across equal times.
 */
export interface EventsPort {
  append(event: NewEvent): Promise<StoredEvent>;
  query(query: EventQuery): Promise<EventPage>;
  /**
   * The realm's events of `types`, counted per UTC day, from the whole day
   * `since` falls in on (days are whole: an earlier hour of since's day counts
   * too). Ordered by day, then type; a day and type with no event is absent;
   * no types, no rows. O(days × types) on SQLite (a count table kept by a
   * trigger, migration 013); an index-backed aggregation on MongoDB.
   */
  dailyCounts(realmId: string, types: readonly EventType[], since: Date): Promise<EventDayCount[]>;
}

/**
 * The events a port's write appends in the same store transaction as its
 * change (DESIGN.md §2): the change and its events are both written, or
 * neither is. A list; or a function of the write's result, for events that
 * need what the write made or found (a new user's id, the sessions it ended),
 * which returns none when the write changed nothing. The function runs inside
 * the transaction: it must be pure and quick (events/publish.ts's eventOf
 * builds each event). Every write that takes one passes its port's contract
 * suite with it; docs/events.md says where the guarantee holds.
 */
export type Emit<R = void> = readonly NewEvent[] | ((result: R) => readonly NewEvent[]);

/** The events `emit` asks for after a write answered `result`. */
export function emitted<R>(emit: Emit<R> | undefined, result: R): readonly NewEvent[] {
  if (emit === undefined) return [];
  return typeof emit === 'function' ? emit(result) : emit;
}

/**
 * The position after `event` in the log's order, as the opaque cursor the
 * API hands out: base64url of [at in ms, id]. Adapters share it, so a cursor
 * means the same on SQLite and MongoDB (ids differ in shape: the adapter checks its own).
 */
export function encodeEventCursor(event: Pick<StoredEvent, 'at' | 'id'>): string {
  return Buffer.from(JSON.stringify([event.at.getTime(), event.id])).toString('base64url');
}

/** The (at, id) a cursor stands for; InvalidEventCursor when it is not one encodeEventCursor made. */
export function decodeEventCursor(cursor: string): { at: Date; id: string } {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new InvalidEventCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidEventCursor();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidEventCursor();
  const [ms, id] = parsed as unknown[];
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || typeof id !== 'string' || id.length === 0 || id.length > 64) throw new InvalidEventCursor();
  return { at: new Date(ms), id };
}

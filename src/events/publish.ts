import { NO_REQUEST, SYSTEM_ACTOR, type Actor, type EventData, type EventRequest, type EventType, type NewEvent, type StoredEvent } from '../domain/events.ts';
import type { EventsPort } from '../ports/events.ts';

/** What a page knows of its request: the browser, and the app when it happens during a sign-in for one. */
export interface EventOrigin {
  ip: string | null;
  userAgent: string | null;
  clientId?: string | null;
  requestId?: string | null;
}

export interface EventInput<T extends EventType> {
  realm: { id: string };
  type: T;
  /** The user the event is about, if any. */
  userId: string | null;
  /**
   * Who did it. By default the user themself when a request is behind it,
   * else the system. A failed sign-in passes ANONYMOUS: whoever typed the
   * password is not known to be the account's owner.
   */
  actor?: Actor;
  /** Null when no request is behind it. */
  origin: EventOrigin | null;
  at: Date;
  data?: EventData<T>;
}

/** The actor of an attempt by someone not signed in. */
export const ANONYMOUS: Actor = { type: 'user', id: null };

function requestOf(origin: EventOrigin | null): EventRequest {
  if (!origin) return NO_REQUEST;
  return { ip: origin.ip, userAgent: origin.userAgent?.slice(0, 512) ?? null, clientId: origin.clientId ?? null, requestId: origin.requestId ?? null };
}

/**
 * The event `input` describes, built and not written: what a flow hands to
 * the store write that makes the change (a port method's `emit`, see
 * ports/events.ts), so that the change and its event are one transaction.
 * Pure: it reads no clock and no store.
 */
export function eventOf<T extends EventType>(input: EventInput<T>): NewEvent<T> {
  return {
    realmId: input.realm.id,
    type: input.type,
    userId: input.userId,
    actor: input.actor ?? (input.origin ? { type: 'user', id: input.userId } : SYSTEM_ACTOR),
    request: requestOf(input.origin),
    at: input.at,
    data: input.data ?? null,
  };
}

/**
 * Appends one event to the realm's log on its own (DESIGN.md §2, §4 events/).
 *
 * Transactions: an event is written in the same store transaction as the
 * change it describes. A flow that changes something builds the event with
 * eventOf and hands it to the store write that makes the change (each such
 * port method takes an `emit`, ports/events.ts); the SQLite adapters write
 * both in one better-sqlite3 transaction, the MongoDB adapters in one
 * session transaction (the MongoDB store runs only on a replica set or a
 * sharded cluster: openMongoStore refuses a standalone server). publish() is
 * for an event with no change of its own to join — a failed sign-in or code,
 * a step-up, a mail or text sent: one append, atomic by itself. Where the
 * guarantee is narrower (a change made of several writes, the audit log):
 * docs/events.md, "Written with the change" (scripts/events-doc.ts).
 */
export function publish<T extends EventType>(events: EventsPort, input: EventInput<T>): Promise<StoredEvent> {
  return events.append(eventOf(input));
}

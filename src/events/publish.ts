import { NO_REQUEST, SYSTEM_ACTOR, type Actor, type EventData, type EventRequest, type EventType, type StoredEvent } from '../domain/events.ts';
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
 * Appends one event to the realm's log: the one way every event is written
 * (DESIGN.md §2, §4 events/). The webhook outbox joins here.
 *
 * Transactions: DESIGN.md wants an event written in the same store
 * transaction as the change it describes. Today no flow does that: each
 * change (a store call) and its event (this call) are two writes, the event
 * second, so a crash between them loses the event but never invents one. The
 * seam is here: a store method that takes the events to append with its
 * change (SQLite: one better-sqlite3 transaction; MongoDB: a session) can make
 * them one, flow by flow, when the webhooks need that guarantee.
 */
export function publish<T extends EventType>(events: EventsPort, input: EventInput<T>): Promise<StoredEvent> {
  return events.append({
    realmId: input.realm.id,
    type: input.type,
    userId: input.userId,
    actor: input.actor ?? (input.origin ? { type: 'user', id: input.userId } : SYSTEM_ACTOR),
    request: requestOf(input.origin),
    at: input.at,
    data: input.data ?? null,
  });
}

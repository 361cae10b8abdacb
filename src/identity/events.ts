import type { RealmConfig } from '../config/index.ts';
import type { Store } from '../store/port.ts';
import type { SessionOrigin } from './login-sessions.ts';

/** Where a change comes from: the browser, and the app when it happens during a sign-in for one. */
export type EventOrigin = SessionOrigin & { clientId?: string | null };

export interface EventInput {
  realm: RealmConfig;
  userId: string | null;
  type: string;
  /** Null when no request is behind it. */
  origin: EventOrigin | null;
  at: Date;
  data?: Record<string, unknown>;
}

/** Appends one event to the realm's log (DESIGN.md §2): every state change records one this way. */
export function recordEvent(store: Store, event: EventInput): Promise<void> {
  return store.appendEvent({
    realmId: event.realm.id,
    type: event.type,
    userId: event.userId,
    clientId: event.origin?.clientId ?? null,
    ip: event.origin?.ip ?? null,
    userAgent: event.origin?.userAgent ?? null,
    at: event.at,
    data: event.data,
  });
}

import type { StoredEvent } from '../../src/domain/events.ts';
import type { Store } from '../../src/store/port.ts';

/** The user's newest `limit` events, newest first (what the tests look into after a flow). */
export async function listEvents(store: Store, realmId: string, userId: string, limit: number): Promise<StoredEvent[]> {
  return (await store.events.query({ realmId, userId, limit })).data;
}

import { expect } from 'vitest';
import { NO_REQUEST, type EventType, type NewEvent } from '../../src/domain/events.ts';
import type { EventsPort } from '../../src/ports/events.ts';
import { UniqueViolation, type NewUser } from '../../src/ports/users.ts';

/** What a port's contract opens: the port (and the ones it sets up with), and a way to close it. */
export type Opened<P> = P & { close(): Promise<void> };

export const T0 = new Date('2025-03-01T12:00:00.000Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

export function newUser(overrides: Partial<NewUser> = {}): NewUser {
  return {
    realmId: 'alpha',
    userType: 'human',
    username: 'Alice',
    email: 'Alice@Example.com',
    emailUnique: true,
    emailVerification: 'none',
    firstName: 'Alice',
    lastName: 'Liddell',
    locale: 'en',
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    ...overrides,
  };
}

/** Runs `fn` expecting a UniqueViolation and returns it. */
export async function uniqueViolationOf(fn: () => Promise<unknown>): Promise<UniqueViolation> {
  const err = await fn().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UniqueViolation);
  return err as UniqueViolation;
}

/** A port that appends events with its writes (the Store and the users-admin port's store both have the log). */
export interface WithEvents {
  readonly events: EventsPort;
}

/** An event to hand to a write's `emit`: what the flows build with eventOf. */
export function newEvent(userId: string | null, type: EventType = 'user.updated', overrides: Partial<NewEvent> = {}): NewEvent {
  return { realmId: 'alpha', type, userId, actor: { type: 'system', id: null }, request: NO_REQUEST, at: T0, data: null, ...overrides };
}

/** The types of the realm's events, oldest first (by user when given). */
export async function eventTypes(store: WithEvents, realmId = 'alpha', userId?: string): Promise<string[]> {
  const page = await store.events.query({ realmId, limit: 1000, ...(userId === undefined ? {} : { userId }) });
  return page.data.map((e) => e.type).reverse();
}

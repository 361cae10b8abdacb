import { expect } from 'vitest';
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

import type { Emit } from './events.ts';

/**
 * Social identities linked to users (DESIGN.md §2): (provider, subject) → user, at most one per provider and
 * user. Part of the Store (src/store/port.ts), whose adapters pass test/contract/identities.contract.ts.
 * An `emit` is appended in the same transaction as the change (ports/events.ts).
 */

/** A social identity linked to a user. */
export interface ExternalIdentity {
  realmId: string;
  provider: string;
  subject: string;
  userId: string;
  /** What the provider calls the account (login, email), for the personal center. */
  displayName: string | null;
  email: string | null;
  createdAt: Date;
}

export interface IdentitiesPort {
  listExternalIdentities(realmId: string, userId: string): Promise<ExternalIdentity[]>;
  findExternalIdentity(realmId: string, provider: string, subject: string): Promise<ExternalIdentity | null>;
  /** UniqueViolation('identity') when (provider, subject) is linked already or the user has an identity of that provider. */
  linkExternalIdentity(identity: ExternalIdentity, emit?: Emit): Promise<void>;
  /**
   * Removes the user's identity of `provider`; false when there was none. With `unlessLast`, only while
   * the user keeps a way in — a password, or an identity of one of those providers — decided in the same
   * atomic step as the delete (two parallel unlinks cannot both take the last way in).
   */
  unlinkExternalIdentity(realmId: string, userId: string, provider: string, unlessLast?: { providers: string[] }, emit?: Emit<boolean>): Promise<boolean>;
}

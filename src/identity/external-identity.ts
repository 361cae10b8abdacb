import type { RealmConfig } from '../config/index.ts';
import { eventOf, type EventOrigin } from '../events/publish.ts';
import type { IdentitiesPort } from '../ports/identities.ts';

/**
 * What a social provider says about the person who just signed in there,
 * in one shape for every provider (the strategies turn GitHub's, Google's
 * and OpenID Connect's answers into it). Only the provider's subject
 * identifies them (DESIGN.md §2); the rest fills in a new account or names
 * the connected account in the personal center.
 */
export interface SocialProfile {
  /** The realm's provider id (config `social.providers[].id`). */
  provider: string;
  /** The provider's stable id of the account (GitHub's numeric id, OIDC `sub`). */
  subject: string;
  /** Addresses the provider knows, each with whether the provider verified it; the primary first. */
  emails: { address: string; verified: boolean }[];
  /** A username to suggest (GitHub login, OIDC preferred_username). */
  username: string | null;
  /** How the personal center names the connected account (login or address). */
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  /** An https URL of the account's picture. */
  photo: string | null;
}

/** The provider-verified addresses of a profile, primary first. */
export function verifiedEmails(profile: SocialProfile): string[] {
  return profile.emails.filter((e) => e.verified).map((e) => e.address);
}

/** How an identity came to be linked, for the event log. */
export type LinkedBy = 'signup' | 'email' | 'password' | 'personal-center';

/**
 * Links `profile`'s identity to the user and records it (one store write). The store refuses
 * (UniqueViolation 'identity') an identity linked elsewhere meanwhile, or a
 * second one of the same provider.
 */
export async function linkIdentity(store: IdentitiesPort, realm: RealmConfig, userId: string, profile: SocialProfile, by: LinkedBy, origin: EventOrigin, at: Date): Promise<void> {
  await store.linkExternalIdentity(
    {
      realmId: realm.id,
      provider: profile.provider,
      subject: profile.subject,
      userId,
      displayName: profile.displayName,
      email: profile.emails[0]?.address ?? null,
      createdAt: at,
    },
    [eventOf({ realm, userId, type: 'user.identity.linked', origin, at, data: { provider: profile.provider, by } })],
  );
}

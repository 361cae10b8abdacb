import { randomId } from '../identity/random.ts';

/**
 * Short prefixed ids of the orgs side (docs/design/orgs.md §2.1), as management keys have theirs (mk_):
 * self-describing, and 16–20 characters instead of a 36-character UUID — which counts twice per `orgs[]`
 * entry of a JWT, times up to 50 entries (§4.4).
 */
export type IdPrefix = 'org' | 'mb' | 'grp' | 'inv' | 'invl' | 'jr';

/** `${prefix}_` and 12 random bytes as base64url (16 characters, 96 bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomId(12)}`;
}

/** An org id as newId('org') makes them. */
export const ORG_ID = /^org_[A-Za-z0-9_-]{16}$/;
/** A group id as newId('grp') makes them. */
export const GROUP_ID = /^grp_[A-Za-z0-9_-]{16}$/;

import type { RealmConfig } from '../config/index.ts';

/**
 * Whether a new account may be made here (docs/design/orgs.md §7.3): `open` — anyone; `invite_only` — only
 * with a live invitation in the browser's session (`invited`, checked against the store, never taken from
 * a form); `disabled` — nobody (an invitation there is accepted with an existing account only).
 * Social sign-up follows `open` only (§11.6): the provider's address would have to match the invitation.
 */
export function canSignUp(realm: Pick<RealmConfig, 'signup'>, invited: boolean): boolean {
  const policy = realm.signup.policy;
  return policy === 'open' || (policy === 'invite_only' && invited);
}

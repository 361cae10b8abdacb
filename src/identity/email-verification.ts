import type { RealmConfig } from '../config/index.ts';
import type { User } from './user.ts';

/**
 * Whether a user of this realm must verify the email address before a JWT
 * (AuthRocket's "required before login"). An address set as verified by an
 * administrator counts as verified.
 */
export function mustVerifyFirst(realm: RealmConfig, user: User): boolean {
  return realm.emailVerification.policy === 'required' && user.email !== null && user.emailVerification !== 'verified';
}

import type { RealmConfig } from '../config/index.ts';
import type { Emit } from '../ports/events.ts';
import { UniqueViolation, type UsersPort } from '../ports/users.ts';
import type { EmailVerification, User } from './user.ts';

/**
 * Stores `email` as the user's address, in state `verification`. With emails
 * as usernames a human's username follows; API users keep theirs (apps sign
 * them in by it). Null when the address, or the username it would become,
 * belongs to another account: the store's unique index decides, so two
 * changes racing for one address cannot both win. `emit`: the change's events, written with it.
 */
export async function storeNewEmail(store: UsersPort, realm: RealmConfig, user: User, email: string, verification: EmailVerification, at: Date, emit?: Emit<User>): Promise<User | null> {
  try {
    return await store.changeEmail(
      realm.id,
      user.id,
      {
        email,
        emailUnique: realm.fields.emails === 'unique',
        syncUsername: realm.fields.usernames === 'email' && user.userType === 'human',
        verification,
      },
      at,
      emit,
    );
  } catch (err) {
    if (err instanceof UniqueViolation) return null;
    throw err;
  }
}

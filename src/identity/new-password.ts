import type { RealmConfig } from '../config/index.ts';
import { realmLink, type Mailer } from '../mail/mailer.ts';
import type { EventOrigin } from '../events/publish.ts';
import type { UsersPort } from '../ports/users.ts';
import type { LoginSessions } from './login-sessions.ts';
import type { OneTimeSecrets } from './one-time.ts';
import type { PasswordHasher } from './password.ts';
import { mailName, type User } from './user.ts';

export interface NewPasswordTools {
  store: UsersPort;
  hasher: PasswordHasher;
  secrets: OneTimeSecrets;
  sessions: LoginSessions;
  mailer: Mailer;
  clock: () => Date;
}

/**
 * What every new password owes, however it was set (a change in the personal
 * center, a reset from the mail): the hash is stored, live reset links die,
 * every login session but `keepSid` ends (ASVS 7.4.3), and the address on file
 * is told. The caller has applied the password policy and records its own event.
 */
export async function setNewPassword(
  tools: NewPasswordTools,
  realm: RealmConfig,
  user: User,
  password: string,
  how: { reason: 'password_changed' | 'password_reset'; origin: EventOrigin; locale: string; keepSid?: string },
): Promise<{ endedSessions: number; at: Date }> {
  const at = tools.clock();
  await tools.store.setPasswordHash(realm.id, user.id, await tools.hasher.hash(password), at);
  await tools.secrets.revoke(realm.id, user.id, 'reset-password');
  const ended = await tools.sessions.endAllOf(realm, user.id, how.reason, how.origin, how.keepSid);
  if (user.email) {
    await tools.mailer.send({
      realm,
      kind: 'password-changed',
      to: { address: user.email, name: mailName(user) },
      userId: user.id,
      locale: user.locale ?? how.locale,
      link: realmLink(realm, '/forgot'),
      model: { username: user.username, at: at.toISOString(), ip: how.origin.ip, keptThisSession: how.keepSid !== undefined },
    });
  }
  return { endedSessions: ended.length, at };
}

import type { RealmConfig } from '../config/index.ts';
import type { NewEvent } from '../domain/events.ts';
import { realmLink, type Mailer } from '../mail/mailer.ts';
import type { EventOrigin } from '../events/publish.ts';
import type { UsersPort } from '../ports/users.ts';
import { sessionsEnded } from './login-sessions.ts';
import { storedPurposes } from './one-time.ts';
import type { PasswordHasher } from './password.ts';
import { mailName, type User } from './user.ts';

export interface NewPasswordTools {
  store: Pick<UsersPort, 'replacePassword'>;
  hasher: PasswordHasher;
  mailer: Mailer;
  clock: () => Date;
}

/**
 * What every new password owes, however it was set (a change in the personal
 * center, a reset from the mail, an operator): the hash is stored, live reset
 * links die and every login session but `keepSid` ends (ASVS 7.4.3) — one
 * store write, with its `session.deleted` and the caller's own events
 * (`events`, given how many sessions ended) — and then the address on file is
 * told. The caller has applied the password policy. `passwordHash`: a hash the
 * caller made already (an operator's change writes it with the other fields).
 */
export async function setNewPassword(
  tools: NewPasswordTools,
  realm: RealmConfig,
  user: User,
  secret: { password: string } | { passwordHash: string },
  how: {
    reason: 'password_changed' | 'password_reset';
    origin: EventOrigin;
    locale: string;
    keepSid?: string;
    events?: (endedSessions: number, at: Date) => readonly NewEvent[];
  },
): Promise<{ endedSessions: number; at: Date }> {
  const at = tools.clock();
  const passwordHash = 'passwordHash' in secret ? secret.passwordHash : await tools.hasher.hash(secret.password);
  const change = { passwordHash, revokePurposes: storedPurposes('reset-password'), ...(how.keepSid === undefined ? {} : { keepSid: how.keepSid }) };
  const ended = await tools.store.replacePassword(realm.id, user.id, change, at, (sids) => [
    ...(sids.length > 0 ? [sessionsEnded(realm, user.id, sids, how.reason, how.origin, at)] : []),
    ...(how.events?.(sids.length, at) ?? []),
  ]);
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

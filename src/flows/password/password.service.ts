import type { RealmConfig } from '../../config/index.ts';
import { eventOf, publish } from '../../events/publish.ts';
import type { SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import { checkPassword } from '../../identity/password-policy.ts';
import type { User } from '../../identity/user.ts';
import type { Mailer } from '../../mail/mailer.ts';
import type { Store } from '../../store/port.ts';
import type { ReauthService } from '../../services/step-up.ts';
import { FlowError } from '../../http/flow-error.ts';
import { setNewPassword } from '../../identity/new-password.ts';

export interface PasswordChange {
  /** The password now; ignored (and not needed) when the user has none yet. */
  current?: string;
  password: string;
  /** Keep the login session the change is made from; every other one ends regardless. */
  keepThisSession: boolean;
}

export interface PasswordChanged {
  endedSessions: number;
  keptThisSession: boolean;
  /** The user had no password before (signed up through a social provider). */
  firstPassword: boolean;
}

/**
 * Changing the password from the personal center (behind "confirm it's you").
 * The current password is checked as on the confirm-it's-you page, against
 * the same counter (ReauthService.passwordMatches). A user without a password (social sign-up) sets a
 * first one without a current password.
 */
export class PasswordService {
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly mailer: Mailer,
    private readonly reauth: ReauthService,
    private readonly clock: () => Date,
  ) {}

  /** The stored hash of `user`, null when they have no password. */
  private hashOf(realm: RealmConfig, user: User): Promise<string | null> {
    // By id: never another account's row (a username matched as someone's email) read as "no password yet".
    return this.store.passwordHashOf(realm.id, user.id);
  }

  async hasPassword(realm: RealmConfig, user: User): Promise<boolean> {
    return (await this.hashOf(realm, user)) !== null;
  }

  /**
   * Checks the current password (when there is one) and the policy, then sets
   * the new password, ends the user's other login sessions (and this one
   * unless kept), ends reset links, records `password.changed` and mails a notice.
   */
  async change(realm: RealmConfig, user: User, sessionId: string, change: PasswordChange, origin: SessionOrigin, locale: string): Promise<PasswordChanged> {
    const hash = await this.hashOf(realm, user);
    if (hash !== null) {
      if (!change.current) throw new FlowError(400, 'validation.required', {}, 'currentPassword');
      if (!(await this.reauth.passwordMatches(realm, user, hash, change.current, origin))) {
        await publish(this.store.events, { realm, type: 'user.password.update_failed', userId: user.id, origin, at: this.clock() });
        throw new FlowError(400, 'changePassword.wrongCurrent', {}, 'currentPassword');
      }
    }
    const problem = checkPassword(change.password, realm.password, [user.username, user.email]);
    if (problem) throw new FlowError(400, problem, { min: realm.password.minLength, max: realm.password.maxLength }, 'password');

    const outcomeOf = (endedSessions: number): PasswordChanged => ({ endedSessions, keptThisSession: change.keepThisSession, firstPassword: hash === null });
    const { endedSessions } = await setNewPassword({ store: this.store, hasher: this.hasher, mailer: this.mailer, clock: this.clock }, realm, user, { password: change.password }, {
      reason: 'password_changed',
      origin,
      locale,
      ...(change.keepThisSession ? { keepSid: sessionId } : {}),
      events: (ended, at) => [eventOf({ realm, type: 'user.password.updated', userId: user.id, origin, at, data: { reason: 'password_changed', ...outcomeOf(ended) } })],
    });
    return outcomeOf(endedSessions);
  }
}

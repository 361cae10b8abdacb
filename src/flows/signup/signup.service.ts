import type { RealmConfig } from '../../config/index.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import { checkPassword } from '../../identity/password-policy.ts';
import type { Limiter, LimiterFactory } from '../../identity/throttle.ts';
import { eventOf } from '../../events/publish.ts';
import { secondFactorOwed, type SecondFactorOwed } from '../../identity/totp.ts';
import type { User } from '../../identity/user.ts';
import { UniqueViolation, type LoginSession, type Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import type { VerificationService } from '../verification/verification.service.ts';

export interface SignupInput {
  email: string;
  /** Only when the realm uses separate usernames. */
  username?: string;
  password: string;
  firstName?: string;
  lastName?: string;
  locale: string;
  clientId: string | null;
}

/** Creates a human user with the fields the realm asks for, mails the verification, and logs them in (unless they must verify first). */
export class SignupService {
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly verification: VerificationService,
    private readonly clock: () => Date,
  ) {}

  private limiterFor(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:signup-ip`, realm.rateLimits.signupPerIp);
  }

  /**
   * Creates the user. Returns their login session, or — where the realm
   * requires a verified email before login — the user, who has been mailed.
   * There, an address that already has an account answers like a new one
   * (`verify: null`): the same page, and a mail to the address's owner.
   */
  async signup(
    realm: RealmConfig,
    input: SignupInput,
    origin: SessionOrigin,
    ret: ReturnTo | null,
  ): Promise<{ user: User; session: LoginSession } | { verify: User } | { verify: null; email: string } | { secondFactor: SecondFactorOwed }> {
    if (realm.signup.policy !== 'open') throw new FlowError(403, 'signup.closed');
    if (realm.social.only) throw new FlowError(403, 'login.socialOnly');
    const typed = realm.fields.usernames === 'email' ? input.email : input.username;
    if (!typed) throw new FlowError(400, 'validation.required', {}, 'username');
    const username = realm.fields.lowercaseUsernames ? typed.toLowerCase() : typed;

    const problem = checkPassword(input.password, realm.password, [username, input.email]);
    if (problem) throw new FlowError(400, problem, { min: realm.password.minLength, max: realm.password.maxLength }, 'password');

    const ip = origin.ip ?? 'unknown';
    const limiter = this.limiterFor(realm);
    const wait = await limiter.take(ip);
    if (wait > 0) throw tooManyAttempts(wait);

    const now = this.clock();
    const passwordHash = await this.hasher.hash(input.password);
    const event = { realm, origin: { ...origin, clientId: input.clientId }, at: now };
    let user: User;
    try {
      user = await this.store.createUser(
        {
          realmId: realm.id,
          userType: 'human',
          username,
          email: input.email,
          emailUnique: realm.fields.emails === 'unique',
          emailVerification: 'none',
          firstName: input.firstName || null,
          lastName: input.lastName || null,
          locale: input.locale,
          passwordHash,
        },
        now,
        // The user and its event are one store write.
        (created) => [eventOf({ ...event, userId: created.id, type: 'user.created', data: { method: 'pwd' } })],
      );
    } catch (err) {
      if (err instanceof UniqueViolation) {
        // With emails as usernames, a taken username is a taken email.
        const field = err.field === 'username' && realm.fields.usernames === 'separate' ? 'username' : 'email';
        if (field === 'email' && realm.emailVerification.policy === 'required') {
          // Only the mailbox's owner may learn that the address has an account: the page is the
          // one a new account gets ("check your inbox"), and the owner is told by mail.
          await this.verification.tellOwnerAccountExists(realm, input.email, input.locale);
          return { verify: null, email: input.email };
        }
        throw new FlowError(409, field === 'username' ? 'signup.usernameTaken' : 'signup.emailTaken', {}, field);
      }
      throw err;
    }
    if (realm.emailVerification.policy !== 'off') {
      await this.verification.send(realm, user, input.locale, ret);
      user = { ...user, emailVerification: 'requested' };
    }
    if (mustVerifyFirst(realm, user)) return { verify: user };
    // A realm that requires MFA: the new user sets up an authenticator before the first JWT.
    const owed = await secondFactorOwed(this.store, realm, user, now, { passwordHash, newUser: true });
    if (owed) return { secondFactor: owed };
    const userId = user.id;
    const session = await this.sessions.start(realm, user, origin, ['pwd'], (s) => [eventOf({ ...event, userId, type: 'user.login.succeeded', data: { method: 'pwd', sid: s.id } })]);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user, session };
  }
}

import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import { checkPassword } from '../../identity/password-policy.ts';
import type { Limiter, LimiterFactory } from '../../identity/throttle.ts';
import type { User } from '../../identity/user.ts';
import { UniqueViolation, type LoginSession, type Store } from '../../store/port.ts';
import { FlowError } from '../flow-error.ts';
import { tooManyAttempts } from '../login/login.service.ts';

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

/** Creates a human user with the fields the realm asks for, then logs them in. */
export class SignupService {
  private readonly limiters = new Map<string, Limiter>();

  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly clock: () => Date,
  ) {}

  private limiterFor(realm: RealmConfig): Limiter {
    let l = this.limiters.get(realm.id);
    if (!l) {
      l = this.makeLimiter(`${realm.id}:signup-ip`, realm.rateLimits.signupPerIp);
      this.limiters.set(realm.id, l);
    }
    return l;
  }

  async signup(realm: RealmConfig, input: SignupInput, origin: SessionOrigin): Promise<{ user: User; session: LoginSession }> {
    if (realm.signup.policy !== 'open') throw new FlowError(403, 'signup.closed');
    const username = realm.fields.usernames === 'email' ? input.email : input.username;
    if (!username) throw new FlowError(400, 'validation.required', {}, 'username');

    const problem = checkPassword(input.password, realm.password, [username, input.email]);
    if (problem) throw new FlowError(400, problem, { min: realm.password.minLength, max: realm.password.maxLength }, 'password');

    const ip = origin.ip ?? 'unknown';
    const limiter = this.limiterFor(realm);
    const wait = await limiter.retryAfterMs(ip);
    if (wait > 0) throw tooManyAttempts(wait);
    await limiter.hit(ip);

    const now = this.clock();
    let user: User;
    try {
      user = await this.store.createUser(
        {
          realmId: realm.id,
          userType: 'human',
          username,
          email: input.email,
          emailUnique: true,
          emailVerification: 'none',
          firstName: input.firstName || null,
          lastName: input.lastName || null,
          locale: input.locale,
          passwordHash: await this.hasher.hash(input.password),
        },
        now,
      );
    } catch (err) {
      if (err instanceof UniqueViolation) {
        // With emails as usernames, a taken username is a taken email.
        const field = err.field === 'username' && realm.fields.usernames === 'separate' ? 'username' : 'email';
        throw new FlowError(409, field === 'username' ? 'signup.usernameTaken' : 'signup.emailTaken', {}, field);
      }
      throw err;
    }
    const event = { realmId: realm.id, userId: user.id, clientId: input.clientId, ip: origin.ip, userAgent: origin.userAgent, at: now };
    await this.store.appendEvent({ ...event, type: 'signup' });
    const session = await this.sessions.start(realm, user, origin, ['pwd']);
    await this.store.appendEvent({ ...event, type: 'login.succeeded', data: { method: 'pwd', sid: session.id } });
    return { user, session };
  }
}

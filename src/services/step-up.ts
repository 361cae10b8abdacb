import type { RealmConfig } from '../config/index.ts';
import { publish } from '../events/publish.ts';
import type { SessionOrigin } from '../identity/login-sessions.ts';
import type { PasswordHasher } from '../identity/password.ts';
import type { Limiter, LimiterFactory } from '../identity/throttle.ts';
import { secondFactorMethodOf, type SecondFactorMethod } from '../identity/totp.ts';
import type { User } from '../identity/user.ts';
import type { Store } from '../store/port.ts';
import { FlowError, tooManyAttempts } from '../http/flow-error.ts';
import type { MfaService } from '../flows/mfa/mfa.service.ts';

/**
 * "Confirm it's you": the signed-in user types the password again before a
 * sensitive change, and with an authenticator also a code from it (or a
 * recovery code). Wrong passwords count like failed logins (per user and IP);
 * wrong codes count per user, as at sign-in (`rateLimits.mfaPerUser`).
 */
export class ReauthService {
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly mfa: MfaService,
    private readonly clock: () => Date,
  ) {}

  /** Whether the user must also type a second factor here. */
  asksForCode(realm: RealmConfig, user: User): Promise<boolean> {
    return this.mfa.isOn(realm, user);
  }

  /** Whether the user has a password to confirm with (an account made through a provider may not). */
  async hasPassword(realm: RealmConfig, user: User): Promise<boolean> {
    return (await this.store.passwordHashOf(realm.id, user.id)) !== null;
  }

  private limiterFor(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:reauth`, realm.rateLimits.loginPerIdentifierAndIp);
  }

  /**
   * Whether `password` is the signed-in user's, `hash` being their stored
   * hash (null: no password, which verifies nothing after the same hashing
   * work). Here and on the password page alike (PasswordService): one counter
   * per user and IP, as both guess the same secret and switching pages buys no
   * tries. Too many wrong ones throw 429; the caller records a wrong one.
   */
  async passwordMatches(realm: RealmConfig, user: User, hash: string | null, password: string, origin: SessionOrigin): Promise<boolean> {
    const key = `${user.id}|${origin.ip ?? 'unknown'}`;
    const limiter = this.limiterFor(realm);
    // Counted before the password is checked: parallel guesses cannot outrun the count.
    const wait = await limiter.take(key);
    if (wait > 0) throw tooManyAttempts(wait);
    if (!(await this.hasher.verify(hash, password))) return false;
    await limiter.reset(key);
    return true;
  }

  /** `code`: the authenticator's code or a recovery code, needed when the user has an authenticator. */
  async confirm(realm: RealmConfig, user: User, password: string, origin: SessionOrigin, code?: string): Promise<void> {
    const ok = await this.passwordMatches(realm, user, await this.store.passwordHashOf(realm.id, user.id), password, origin);
    const event = { realm, userId: user.id, origin, at: this.clock() };
    if (!ok) {
      await publish(this.store.events, { ...event, type: 'user.reauth.failed', data: { method: 'pwd' } });
      throw new FlowError(401, 'reauth.wrongPassword', {}, 'password');
    }
    // Read once: whether a code is owed, and the authenticator it is checked against.
    const authenticator = await this.mfa.authenticator(realm, user);
    if (!authenticator) {
      await publish(this.store.events, { ...event, type: 'user.reauth.succeeded', data: { method: 'pwd' } });
      return;
    }
    const method = await this.checkCode(realm, user, code, origin, authenticator);
    await publish(this.store.events, { ...event, type: 'user.reauth.succeeded', data: { method: method ?? 'pwd' } });
  }

  /**
   * Only the second factor, for "confirm it's you" through a social
   * provider (which proves the first): the code is checked before the
   * round trip, counted like any other. Success is recorded when the
   * provider has confirmed too (SocialService.reauth).
   */
  async confirmSecondFactor(realm: RealmConfig, user: User, code: string | undefined, origin: SessionOrigin): Promise<void> {
    await this.checkCode(realm, user, code, origin, await this.mfa.authenticator(realm, user));
  }

  /** The method the code proved (TOTP or a recovery code); a wrong one is recorded and thrown. */
  private async checkCode(
    realm: RealmConfig,
    user: User,
    code: string | undefined,
    origin: SessionOrigin,
    authenticator: Awaited<ReturnType<MfaService['authenticator']>>,
  ): Promise<SecondFactorMethod | null> {
    if (!authenticator) return null;
    if (!code) throw new FlowError(400, 'reauth.codeRequired', {}, 'code');
    const event = { realm, userId: user.id, origin, at: this.clock() };
    const method = secondFactorMethodOf(code);
    try {
      await this.mfa.requireSecondFactor(realm, user, method, code, 'reauth.wrongCode', authenticator);
    } catch (err) {
      if (err instanceof FlowError && err.status === 401) await publish(this.store.events, { ...event, type: 'user.reauth.failed', data: { method } });
      throw err;
    }
    return method;
  }
}

import type { RealmConfig } from '../../config/index.ts';
import type { SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import type { Limiter, LimiterFactory } from '../../identity/throttle.ts';
import type { User } from '../../identity/user.ts';
import type { Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../flow-error.ts';

/**
 * "Confirm it's you": the signed-in user types the password again before a
 * sensitive change. Wrong passwords count like failed logins (per user and IP).
 */
export class ReauthService {
  private readonly limiters = new Map<string, Limiter>();

  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly clock: () => Date,
  ) {}

  private limiterFor(realm: RealmConfig): Limiter {
    let l = this.limiters.get(realm.id);
    if (!l) {
      l = this.makeLimiter(`${realm.id}:reauth`, realm.rateLimits.loginPerIdentifierAndIp);
      this.limiters.set(realm.id, l);
    }
    return l;
  }

  async confirm(realm: RealmConfig, user: User, password: string, origin: SessionOrigin): Promise<void> {
    const key = `${user.id}|${origin.ip ?? 'unknown'}`;
    const limiter = this.limiterFor(realm);
    const wait = await limiter.retryAfterMs(key);
    if (wait > 0) throw tooManyAttempts(wait);
    const found = await this.store.findUserByLogin(realm.id, user.username);
    const ok = found?.user.id === user.id && (await this.hasher.verify(found.passwordHash, password));
    const event = { realmId: realm.id, userId: user.id, clientId: null, ip: origin.ip, userAgent: origin.userAgent, at: this.clock() };
    if (!ok) {
      await limiter.hit(key);
      await this.store.appendEvent({ ...event, type: 'reauth.failed' });
      throw new FlowError(401, 'reauth.wrongPassword', {}, 'password');
    }
    await limiter.reset(key);
    await this.store.appendEvent({ ...event, type: 'reauth.succeeded' });
  }
}

import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import type { LimiterFactory, Limiter } from '../../identity/throttle.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import type { LoginSession, Store } from '../../store/port.ts';
import { FlowError } from '../flow-error.ts';

export interface LoginInput {
  identifier: string;
  password: string;
  clientId: string | null;
}

/** Rate-limit refusals carry the wait, rounded up to whole minutes for the page. */
export function tooManyAttempts(retryAfterMs: number): FlowError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new FlowError(429, 'rateLimit.tooMany', { minutes: Math.max(1, Math.ceil(seconds / 60)) }, undefined, seconds);
}

/**
 * Password login. Unknown user, wrong password and inactive account answer
 * the same way after the same hashing work (ASVS 6.3.8). Failures count per
 * identifier+IP and per IP, so an attacker elsewhere cannot lock a user out.
 */
export class LoginService {
  private readonly limiters = new Map<string, { perIdIp: Limiter; perIp: Limiter }>();

  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly clock: () => Date,
  ) {}

  private limitersFor(realm: RealmConfig) {
    let l = this.limiters.get(realm.id);
    if (!l) {
      l = {
        perIdIp: this.makeLimiter(`${realm.id}:login-id-ip`, realm.rateLimits.loginPerIdentifierAndIp),
        perIp: this.makeLimiter(`${realm.id}:login-ip`, realm.rateLimits.loginPerIp),
      };
      this.limiters.set(realm.id, l);
    }
    return l;
  }

  async login(realm: RealmConfig, input: LoginInput, origin: SessionOrigin): Promise<{ user: User; session: LoginSession }> {
    const ip = origin.ip ?? 'unknown';
    const idIpKey = `${normalizeLogin(input.identifier)}|${ip}`;
    const { perIdIp, perIp } = this.limitersFor(realm);
    const wait = Math.max(await perIdIp.retryAfterMs(idIpKey), await perIp.retryAfterMs(ip));
    if (wait > 0) throw tooManyAttempts(wait);

    const found = await this.store.findUserByLogin(realm.id, input.identifier);
    const passwordOk = await this.hasher.verify(found?.passwordHash ?? null, input.password);
    const event = { realmId: realm.id, clientId: input.clientId, ip: origin.ip, userAgent: origin.userAgent, at: this.clock() };

    if (!found || !passwordOk || found.user.state !== 'active') {
      await Promise.all([perIdIp.hit(idIpKey), perIp.hit(ip)]);
      await this.store.appendEvent({ ...event, type: 'login.failed', userId: found?.user.id ?? null, data: { method: 'pwd' } });
      throw new FlowError(401, 'login.invalid');
    }

    await perIdIp.reset(idIpKey);
    const session = await this.sessions.start(realm, found.user, origin, ['pwd']);
    await this.store.appendEvent({ ...event, type: 'login.succeeded', userId: found.user.id, data: { method: 'pwd', sid: session.id } });
    return { user: found.user, session };
  }
}

import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import type { LimiterFactory, Limiter } from '../../identity/throttle.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import type { LoginSession, Store, UserWithPassword } from '../../store/port.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import { FlowError, tooManyAttempts } from '../flow-error.ts';

export interface LoginInput {
  identifier: string;
  password: string;
  clientId: string | null;
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

  /** A login session, or — where the realm requires a verified email first — the user to verify. */
  async login(realm: RealmConfig, input: LoginInput, origin: SessionOrigin): Promise<{ user: User; session: LoginSession } | { verify: User }> {
    const ip = origin.ip ?? 'unknown';
    const idIpKey = `${normalizeLogin(input.identifier)}|${ip}`;
    const { perIdIp, perIp } = this.limitersFor(realm);
    const wait = Math.max(await perIdIp.retryAfterMs(idIpKey), await perIp.retryAfterMs(ip));
    if (wait > 0) throw tooManyAttempts(wait);

    const found = await this.findAccount(realm, input.identifier);
    const passwordOk = await this.hasher.verify(found?.passwordHash ?? null, input.password);
    const event = { realmId: realm.id, clientId: input.clientId, ip: origin.ip, userAgent: origin.userAgent, at: this.clock() };

    if (!found || !passwordOk || found.user.state !== 'active') {
      await Promise.all([perIdIp.hit(idIpKey), perIp.hit(ip)]);
      await this.store.appendEvent({ ...event, type: 'login.failed', userId: found?.user.id ?? null, data: { method: 'pwd' } });
      throw new FlowError(401, 'login.invalid');
    }

    await perIdIp.reset(idIpKey);
    if (mustVerifyFirst(realm, found.user)) {
      await this.store.appendEvent({ ...event, type: 'login.unverified', userId: found.user.id, data: { method: 'pwd' } });
      return { verify: found.user };
    }
    const session = await this.sessions.start(realm, found.user, origin, ['pwd']);
    await this.store.appendEvent({ ...event, type: 'login.succeeded', userId: found.user.id, data: { method: 'pwd', sid: session.id } });
    return { user: found.user, session };
  }

  /**
   * By username or (unique) email. Where the realm lets accounts share an
   * address, an email that several accounts use cannot say which one is
   * meant: the user is asked for the username instead.
   */
  private async findAccount(realm: RealmConfig, identifier: string): Promise<UserWithPassword | null> {
    const found = await this.store.findUserByLogin(realm.id, identifier);
    if (found || realm.fields.emails !== 'duplicates' || !identifier.includes('@')) return found;
    const sharing = await this.store.findUsersByEmail(realm.id, identifier);
    if (sharing.length > 1) throw new FlowError(400, 'login.chooseUsername', {}, 'identifier');
    return sharing[0] ?? null;
  }
}

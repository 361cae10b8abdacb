import type { RealmConfig } from '../../config/index.ts';
import { eventOf } from '../../events/publish.ts';
import type { SessionOrigin } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import { checkPassword } from '../../identity/password-policy.ts';
import { takeAll, type LimiterFactory } from '../../identity/throttle.ts';
import { mailName, normalizeLogin, type User } from '../../identity/user.ts';
import { realmLink, type Mailer } from '../../mail/mailer.ts';
import type { Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import { setNewPassword } from '../../identity/new-password.ts';

/** How long an accepted reset code lets this browser set a new password (a reset token in its session). */
export const RESET_GRANT_MS = 10 * 60_000;

/**
 * Password recovery. Asking answers the same whether or not the account
 * exists; a link and a code go out only when it does. Setting the new
 * password ends every login session of the user and every other reset link,
 * and logs nobody in: the user logs in as usual (MFA included).
 */
export class RecoveryService {
  constructor(
    private readonly store: Store,
    private readonly secrets: OneTimeSecrets,
    private readonly mailer: Mailer,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly clock: () => Date,
  ) {}

  private limitersFor(realm: RealmConfig) {
    return {
      perId: this.makeLimiter(`${realm.id}:recovery-id`, realm.rateLimits.recoveryPerIdentifier),
      perIp: this.makeLimiter(`${realm.id}:recovery-ip`, realm.rateLimits.recoveryPerIp),
    };
  }

  /**
   * Step one of POST /forgot, the same for every identifier: counts the
   * request and finds who it is for. The caller answers, then calls
   * `mailResetLinks` with the result, so no timing depends on the answer.
   */
  async request(realm: RealmConfig, identifier: string, origin: SessionOrigin): Promise<User[]> {
    const { perId, perIp } = this.limitersFor(realm);
    const idKey = normalizeLogin(identifier);
    const ip = origin.ip ?? 'unknown';
    const wait = await takeAll([perId, idKey], [perIp, ip]);
    if (wait > 0) throw tooManyAttempts(wait);
    const byLogin = await this.store.findUserByLogin(realm.id, identifier);
    const users = byLogin ? [byLogin.user] : identifier.includes('@') ? (await this.store.findUsersByEmail(realm.id, identifier)).map((u) => u.user) : [];
    return users.filter((u) => u.state === 'active' && u.email);
  }

  /** Step two: a link and a code to each account found (several where the realm allows shared emails). */
  async mailResetLinks(realm: RealmConfig, users: User[], locale: string, ret: ReturnTo | null, origin: SessionOrigin): Promise<void> {
    const ttlMs = realm.recovery.ttlMinutes * 60_000;
    for (const user of users) {
      // The link and its event are one write; the mail follows it.
      const created = eventOf({ realm, type: 'user.password_token.created', userId: user.id, origin: { ...origin, clientId: ret?.clientId ?? null }, at: this.clock() });
      const { token, code } = await this.secrets.issue(realm.id, user.id, 'reset-password', { linkMs: ttlMs, codeMs: ttlMs }, { ret }, [created]);
      await this.mailer.send({
        realm,
        kind: 'reset-password',
        to: { address: user.email!, name: mailName(user) },
        userId: user.id,
        locale: user.locale ?? locale,
        link: realmLink(realm, '/reset-password', { token }),
        model: { code, minutes: realm.recovery.ttlMinutes, username: user.username, ip: origin.ip },
      });
    }
  }

  /** Whether a reset link is live (the page shows the form only then). */
  async linkIsLive(realm: RealmConfig, token: string): Promise<boolean> {
    return (await this.secrets.peek(realm.id, 'reset-password', token)) !== null;
  }

  /**
   * A typed code, tried against the accounts the request was for; the first
   * that matches gets a short-lived reset token for this browser, which a
   * newer request or a password change ends like the mailed link.
   */
  async acceptCode(realm: RealmConfig, userIds: string[], code: string): Promise<{ userId: string; token: string }> {
    let outcome: 'wrong' | 'expired' = 'expired';
    for (const userId of userIds) {
      const check = await this.secrets.checkCode(realm.id, 'reset-password', userId, code, realm.recovery.codeAttempts);
      if (check.result === 'ok') return { userId, token: await this.secrets.issueLink(realm.id, userId, 'reset-password', RESET_GRANT_MS, check.token.data) };
      if (check.result === 'wrong') outcome = 'wrong';
    }
    // An unknown account answers like a wrong code: the page never tells whether it exists.
    throw new FlowError(400, userIds.length === 0 || outcome === 'wrong' ? 'recovery.wrongCode' : 'recovery.codeExpired', {}, 'code');
  }

  /**
   * Sets the new password, by a link token (the mailed one, or the one an
   * accepted code gave): consumed here, once. Ends all login sessions and
   * reset links of the user.
   */
  async reset(
    realm: RealmConfig,
    by: { token: string },
    password: string,
    origin: SessionOrigin,
    locale: string,
  ): Promise<{ user: User; ret: ReturnTo | null }> {
    const live = await this.secrets.peek(realm.id, 'reset-password', by.token);
    if (!live) throw new FlowError(400, 'recovery.invalidLink');
    const ret = (live.data?.ret as ReturnTo | null) ?? null;
    const user = await this.store.findUserById(realm.id, live.userId);
    if (!user || user.state !== 'active') throw new FlowError(400, 'recovery.invalidLink');
    const problem = checkPassword(password, realm.password, [user.username, user.email]);
    if (problem) throw new FlowError(400, problem, { min: realm.password.minLength, max: realm.password.maxLength }, 'password');
    const from = { ...origin, clientId: ret?.clientId ?? null };
    // The one place a link is spent: of many submissions racing with it, one gets here (and its event is written with it).
    const consumed = eventOf({ realm, type: 'user.password_token.consumed', userId: user.id, origin: from, at: this.clock() });
    if (!(await this.secrets.consume(realm.id, 'reset-password', by.token, (spent) => (spent ? [consumed] : [])))) throw new FlowError(400, 'recovery.invalidLink');
    // The reset came through the mailbox: the address is proved, as a verification link would have.
    if (user.email && user.emailVerification !== 'verified') await this.store.setEmailVerification(realm.id, user.id, 'verified', this.clock());
    // Two events, two subjects: the link is spent (above), the password is new (what a user.password.updated listener wants, however it came).
    await setNewPassword({ store: this.store, hasher: this.hasher, mailer: this.mailer, clock: this.clock }, realm, user, { password }, {
      reason: 'password_reset',
      origin: from,
      locale,
      events: (endedSessions, at) => [eventOf({ realm, type: 'user.password.updated', userId: user.id, origin: from, at, data: { reason: 'password_reset', endedSessions } })],
    });
    return { user, ret };
  }
}

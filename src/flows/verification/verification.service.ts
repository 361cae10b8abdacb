import type { RealmConfig } from '../../config/index.ts';
import { storeNewEmail } from '../../identity/email-change.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import { eventOf, publish } from '../../events/publish.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import type { Limiter, LimiterFactory } from '../../identity/throttle.ts';
import { secondFactorOwed, type SecondFactorOwed } from '../../identity/totp.ts';
import { mailName, type User } from '../../identity/user.ts';
import { realmLink, type Mailer } from '../../mail/mailer.ts';
import type { LoginSession, Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import type { ReturnTo } from '../../domain/return-to.ts';

/**
 * Email verification (AuthRocket states none → requested → verified). The
 * mail carries a link and a 6-digit code; either verifies. Sending again ends
 * the older link and code. The token remembers the address it was sent to:
 * once the address changes, an old link verifies nothing.
 */
export class VerificationService {
  constructor(
    private readonly store: Store,
    private readonly secrets: OneTimeSecrets,
    private readonly mailer: Mailer,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly clock: () => Date,
  ) {}

  /** The user a browser is verifying, to show the address the mail went to. */
  pendingUser(realm: RealmConfig, userId: string): Promise<User | null> {
    return this.store.findUserById(realm.id, userId);
  }

  /**
   * The browser that proved the password (signup or login) and now the
   * mailbox gets its login session, as the password login would have made it:
   * a user with an authenticator (or in a realm that requires one) still owes
   * the second factor, and gets no session here.
   */
  async loginAfterVerification(
    realm: RealmConfig,
    userId: string,
    origin: SessionOrigin,
    clientId: string | null,
    /** The first factor proved before the address (a password, or a social provider's id). */
    amr: string[] = ['pwd'],
  ): Promise<{ user: User; session: LoginSession } | { secondFactor: SecondFactorOwed }> {
    const user = await this.store.findUserById(realm.id, userId);
    if (!user || user.state !== 'active' || mustVerifyFirst(realm, user)) throw new FlowError(400, 'verify.noPending');
    // Tagged from the hash now: a password change or reset from here on ends the sign-in at the second factor.
    const owed = await secondFactorOwed(this.store, realm, user, this.clock());
    if (owed) return { secondFactor: owed };
    const succeeded = (s: LoginSession) => [
      eventOf({ realm, type: 'user.login.succeeded', userId: user.id, origin: { ...origin, clientId }, at: this.clock(), data: { method: amr[0] ?? 'pwd', sid: s.id, after: 'user.email.verified' } }),
    ];
    const session = await this.sessions.start(realm, user, origin, amr, succeeded);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user, session };
  }

  private resendLimiter(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:verify-resend`, realm.rateLimits.verificationResendPerUser);
  }

  /** Mails a fresh link and code to the user's address and marks it requested. */
  async send(realm: RealmConfig, user: User, locale: string, ret: ReturnTo | null): Promise<void> {
    if (!user.email) return;
    const policy = realm.emailVerification;
    const { token, code } = await this.secrets.issue(
      realm.id,
      user.id,
      'verify-email',
      { linkMs: policy.linkTtlHours * 3600_000, codeMs: policy.codeTtlMinutes * 60_000 },
      { email: user.email, ret },
    );
    if (user.emailVerification === 'none') await this.store.setEmailVerification(realm.id, user.id, 'requested', this.clock());
    await this.mailer.send({
      realm,
      kind: 'verify-email',
      to: { address: user.email, name: mailName(user) },
      userId: user.id,
      locale: user.locale ?? locale,
      link: realmLink(realm, '/verify-email', { token }),
      model: { code, linkHours: policy.linkTtlHours, codeMinutes: policy.codeTtlMinutes },
    });
    // No request here (signup, a resend, an email change all come through): recorded as the system's doing.
    await publish(this.store.events, { realm, type: 'user.email.verification_requested', userId: user.id, origin: null, at: this.clock(), data: { email: user.email } });
  }

  /**
   * A new address for the user (the personal center, an administrator). The
   * verification state starts again, unless an administrator vouches for the
   * address; with emails as usernames the username follows (API users keep theirs).
   */
  async changeEmail(realm: RealmConfig, userId: string, email: string, options: { locale: string; verifiedByAdmin?: boolean }): Promise<User> {
    const current = await this.store.findUserById(realm.id, userId);
    if (!current) throw new FlowError(404, 'errors.notFound');
    const verification = options.verifiedByAdmin ? 'verified' : realm.emailVerification.policy === 'off' ? 'none' : 'requested';
    const user = await storeNewEmail(this.store, realm, current, email, verification, this.clock());
    if (!user) throw new FlowError(409, 'signup.emailTaken', {}, 'email');
    await this.secrets.revoke(realm.id, userId, 'verify-email');
    if (verification === 'requested') await this.send(realm, { ...user, emailVerification: 'requested' }, options.locale, null);
    return user;
  }

  /** Someone tried to sign up with an address that has an account: its owner hears of it, nobody else. */
  async tellOwnerAccountExists(realm: RealmConfig, email: string, locale: string): Promise<void> {
    const owners = await this.store.findUsersByEmail(realm.id, email);
    for (const { user } of owners) {
      await this.mailer.send({
        realm,
        kind: 'account-exists',
        to: { address: user.email!, name: null },
        userId: user.id,
        locale: user.locale ?? locale,
        link: realmLink(realm, '/forgot'),
        model: { loginLink: realmLink(realm, '/login') },
      });
    }
  }

  /** "Send it again": limited per user; the older link and code stop working. */
  async resend(realm: RealmConfig, userId: string, locale: string, ret: ReturnTo | null): Promise<User> {
    const user = await this.store.findUserById(realm.id, userId);
    if (!user || !user.email) throw new FlowError(400, 'verify.noPending');
    if (user.emailVerification === 'verified') return user;
    const limiter = this.resendLimiter(realm);
    const wait = await limiter.take(user.id);
    if (wait > 0) throw tooManyAttempts(wait);
    await this.send(realm, user, locale, ret);
    return user;
  }

  /** The link from the mail. Works once; an expired, used or replaced link is a clear error. */
  async verifyLink(realm: RealmConfig, token: string): Promise<{ user: User; ret: ReturnTo | null }> {
    const record = await this.secrets.consume(realm.id, 'verify-email', token);
    if (!record) throw new FlowError(400, 'verify.invalidLink');
    return this.markVerified(realm, record.userId, record.data);
  }

  /** The 6-digit code, typed in the browser that asked for it. */
  async verifyCode(realm: RealmConfig, userId: string, code: string): Promise<{ user: User; ret: ReturnTo | null }> {
    const check = await this.secrets.checkCode(realm.id, 'verify-email', userId, code, realm.emailVerification.codeAttempts);
    if (check.result === 'wrong') throw new FlowError(400, 'verify.wrongCode', {}, 'code');
    if (check.result !== 'ok') throw new FlowError(400, 'verify.codeExpired', {}, 'code');
    return this.markVerified(realm, userId, check.token.data);
  }

  private async markVerified(realm: RealmConfig, userId: string, data: Record<string, unknown> | null): Promise<{ user: User; ret: ReturnTo | null }> {
    const user = await this.store.findUserById(realm.id, userId);
    // Sent to another address than the user has now: it proves nothing about the current one.
    if (!user || !user.email || typeof data?.email !== 'string' || data.email.toLowerCase() !== user.email.toLowerCase()) {
      throw new FlowError(400, 'verify.invalidLink');
    }
    const now = this.clock();
    if (user.emailVerification !== 'verified') {
      const verified = eventOf({ realm, type: 'user.email.verified', userId: user.id, actor: { type: 'user', id: user.id }, origin: null, at: now, data: { email: user.email } });
      await this.store.setEmailVerification(realm.id, user.id, 'verified', now, [verified]);
    }
    return { user: { ...user, emailVerification: 'verified' }, ret: (data.ret as ReturnTo | null) ?? null };
  }
}

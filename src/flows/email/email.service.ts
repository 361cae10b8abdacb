import type { RealmConfig } from '../../config/index.ts';
import { storeNewEmail } from '../../identity/email-change.ts';
import { eventOf, publish } from '../../events/publish.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import type { Limiter, LimiterFactory } from '../../identity/throttle.ts';
import { mailName, normalizeLogin, type User } from '../../identity/user.ts';
import { MailAddressError, normalizeRecipient } from '../../mail/address.ts';
import { realmLink, type Mailer } from '../../mail/mailer.ts';
import type { Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';

/**
 * Changing or binding the email address in the personal center. Unlike
 * VerificationService.changeEmail (an administrator's switch, after which the
 * new address still has to be verified), the address here switches only once
 * the new mailbox has proven itself: a 6-digit code typed in the browser that
 * asked, or the link from the same mail. It is then stored as verified; the
 * old address hears of the change.
 *
 * An address another account has (realms with unique emails) is refused when
 * the change is confirmed, not when it is asked for: the request answers the
 * same for every address, so a signed-in user cannot probe which addresses
 * have accounts; only whoever reads that mailbox learns it, and they could
 * learn it from /forgot anyway. The database's unique index decides (a race
 * between two confirmations ends in the same clear 409).
 *
 * A change lives only as long as the login session that asked for it: the
 * link needs no login (it may be opened on a phone), so without this a
 * change asked for by someone in a stolen session would survive the owner
 * signing out, ending that session, or resetting the password.
 */
export class EmailService {
  constructor(
    private readonly store: Store,
    private readonly secrets: OneTimeSecrets,
    private readonly mailer: Mailer,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly clock: () => Date,
  ) {}

  private limiterFor(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:email-change`, realm.rateLimits.emailChangePerUser);
  }

  /**
   * Mails a code and a link to the new address, limited per user. A newer
   * request ends the older code and link (OneTimeSecrets.issue).
   */
  async requestChange(realm: RealmConfig, user: User, sid: string, email: string, locale: string, origin: SessionOrigin): Promise<void> {
    let to: string;
    try {
      // The mailer's own check, before anything is stored: CR/LF or a non-address is the form's error.
      to = normalizeRecipient(email, null).address;
    } catch (err) {
      if (err instanceof MailAddressError) throw new FlowError(400, 'validation.email', {}, 'email');
      throw err;
    }
    if (user.email && normalizeLogin(user.email) === normalizeLogin(to)) {
      throw new FlowError(400, user.emailVerification === 'verified' ? 'emailPage.sameAddress' : 'emailPage.sameAddressUnverified', {}, 'email');
    }
    const limiter = this.limiterFor(realm);
    const wait = await limiter.take(user.id);
    if (wait > 0) throw tooManyAttempts(wait);
    const policy = realm.emailVerification;
    const { token, code } = await this.secrets.issue(
      realm.id,
      user.id,
      'bind-email',
      { linkMs: policy.linkTtlHours * 3600_000, codeMs: policy.codeTtlMinutes * 60_000 },
      { email: to, sid },
    );
    // No username or current address in this mail: it may reach a stranger (a typo), who learns nothing about the account.
    await this.mailer.send({
      realm,
      kind: 'bind-email',
      to: { address: to, name: null },
      userId: user.id,
      locale: user.locale ?? locale,
      link: realmLink(realm, '/account/email/confirm', { token }),
      model: { code, codeMinutes: policy.codeTtlMinutes, linkHours: policy.linkTtlHours },
    });
    await publish(this.store.events, { realm, userId: user.id, type: 'user.email.update_requested', origin, at: this.clock(), data: { to } });
  }

  /** The 6-digit code, typed by the signed-in user who asked. */
  async confirmCode(realm: RealmConfig, user: User, code: string, origin: SessionOrigin, locale: string): Promise<User> {
    const check = await this.secrets.checkCode(realm.id, 'bind-email', user.id, code, realm.emailVerification.codeAttempts);
    if (check.result === 'wrong') {
      await publish(this.store.events, { realm, userId: user.id, type: 'user.email.update_failed', origin, at: this.clock() });
      throw new FlowError(400, 'emailPage.wrongCode', {}, 'code');
    }
    if (check.result !== 'ok') throw new FlowError(400, 'emailPage.codeExpired', {}, 'code');
    return this.switchTo(realm, user.id, check.token.data, origin, locale);
  }

  /** What a live link would change (the confirmation page shows it); null when the link is used, replaced or expired. */
  async linkTarget(realm: RealmConfig, token: string): Promise<{ email: string; userId: string } | null> {
    const live = await this.secrets.peek(realm.id, 'bind-email', token);
    if (!live || typeof live.data?.email !== 'string' || !(await this.askedFromLiveSession(realm, live.userId, live.data))) return null;
    return { email: live.data.email, userId: live.userId };
  }

  /** Whether the login session that asked for the change still works (not ended, idled out or past its lifetime). */
  private async askedFromLiveSession(realm: RealmConfig, userId: string, data: Record<string, unknown>): Promise<boolean> {
    if (typeof data.sid !== 'string') return false;
    const session = await this.store.findLoginSession(realm.id, data.sid);
    if (!session || session.endedAt || session.userId !== userId) return false;
    return this.sessions.withinLifetime(realm, session, this.clock().getTime());
  }

  /**
   * The link from the mail, confirmed with a POST: spent here, once, also
   * when two browsers race with it. Needs no login: the link proves the
   * mailbox, and the change was asked for by the recently authenticated user.
   */
  async confirmLink(realm: RealmConfig, token: string, origin: SessionOrigin, locale: string): Promise<User> {
    const record = await this.secrets.consume(realm.id, 'bind-email', token);
    if (!record) throw new FlowError(400, 'emailPage.invalidLink');
    return this.switchTo(realm, record.userId, record.data, origin, locale);
  }

  private async switchTo(realm: RealmConfig, userId: string, data: Record<string, unknown> | null, origin: SessionOrigin, locale: string): Promise<User> {
    const before = await this.store.findUserById(realm.id, userId);
    const email = data?.email;
    if (!before || before.state !== 'active' || typeof email !== 'string' || !(await this.askedFromLiveSession(realm, userId, data!))) {
      throw new FlowError(400, 'emailPage.invalidLink');
    }
    const now = this.clock();
    // The new mailbox just proved itself with the code or the link. The address and its event are one write.
    const updated = (u: User) => [eventOf({ realm, userId, type: 'user.email.updated', origin, at: now, data: { from: before.email, to: u.email } })];
    const user = await storeNewEmail(this.store, realm, before, email, 'verified', now, updated);
    if (!user) throw new FlowError(409, 'emailPage.taken', { email });
    // The code or the link, whichever was not used, dies with it; so do verification links of the old address.
    await this.secrets.revoke(realm.id, userId, 'bind-email');
    await this.secrets.revoke(realm.id, userId, 'verify-email');
    if (before.email && normalizeLogin(before.email) !== normalizeLogin(email)) {
      await this.mailer.send({
        realm,
        kind: 'email-changed',
        to: { address: before.email, name: mailName(before) },
        userId,
        locale: before.locale ?? locale,
        // Where the owner can take the account back: sign in (with the new address where it is the username) and fix it.
        link: realmLink(realm, '/login', { next: '/account/email' }),
        model: {
          newEmail: user.email,
          username: user.username,
          usernameChanged: user.username !== before.username,
          at: now.toISOString(),
          ip: origin.ip,
          forgotLink: realmLink(realm, '/forgot'),
        },
      });
    }
    return user;
  }

}

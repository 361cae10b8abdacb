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
import { canSignUp } from '../../domain/signup-policy.ts';
import { normalizeLogin } from '../../identity/user.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';

export interface SignupInput {
  email: string;
  /** Only when the realm uses separate usernames. */
  username?: string;
  password: string;
  firstName?: string;
  lastName?: string;
  locale: string;
  clientId: string | null;
  /** An org invitation opened in this browser (its token from the session, its address as the store has it). */
  invitation?: { token: string; email: string };
  /**
   * A live invitation link without approval opened in this browser (its token from the session): lets an
   * invite_only realm sign up, and the new account joins through it in the same request — before any
   * verification or second factor, so the membership is there whichever way the sign-in ends.
   */
  link?: { token: string };
}

/** What signing up through an invitation or an invitation link joined (null: nothing, it was taken or ended meanwhile). */
export interface Joined {
  /** Through what: an org invitation by mail, or an invitation link. */
  via: 'invitation' | 'link';
  /** The org joined; null for a realm link without an org. */
  orgId: string | null;
  /** The org's name; the realm's for a realm link without an org. */
  orgName: string;
  returnTo: ReturnTo | null;
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
    /** Accepts the invitation a sign-up came through, in the same request (the membership before the first JWT). */
    private readonly invitations?: Pick<InvitationsService, 'accept'>,
    /** Joins through the invitation link a sign-up came through, in the same request. */
    private readonly links?: Pick<InvitationLinksService, 'join'>,
  ) {}

  private limiterFor(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:signup-ip`, realm.rateLimits.signupPerIp);
  }

  /**
   * Creates the user. Returns their login session, or — where the realm
   * requires a verified email before login — the user, who has been mailed.
   * There, an address that already has an account answers like a new one
   * (`verify: null`): the same page, and a mail to the address's owner.
   * Through an invitation (`input.invitation`, also what lets an `invite_only` realm sign up): the address must
   * be the invited one; the account starts verified (the link proved the mailbox), no verification mail goes,
   * and the invitation is accepted before the login session starts (`joined`).
   */
  async signup(
    realm: RealmConfig,
    input: SignupInput,
    origin: SessionOrigin,
    ret: ReturnTo | null,
  ): Promise<{ user: User; session: LoginSession; joined: Joined | null } | { verify: User; joined: Joined | null } | { verify: null; email: string } | { secondFactor: SecondFactorOwed; joined: Joined | null }> {
    const invitation = this.invitations ? input.invitation : undefined;
    const link = invitation || !this.links ? undefined : input.link;
    if (!canSignUp(realm, invitation !== undefined || link !== undefined)) throw new FlowError(403, 'signup.closed');
    if (invitation && normalizeLogin(input.email) !== normalizeLogin(invitation.email)) throw new FlowError(400, 'invitation.emailFixed', {}, 'email');
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
          emailVerification: invitation ? 'verified' : 'none',
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
        // An invitee proved the mailbox: they may learn that it has an account (and sign in with it).
        if (field === 'email' && realm.emailVerification.policy === 'required' && !invitation) {
          // Only the mailbox's owner may learn that the address has an account: the page is the
          // one a new account gets ("check your inbox"), and the owner is told by mail.
          await this.verification.tellOwnerAccountExists(realm, input.email, input.locale);
          return { verify: null, email: input.email };
        }
        throw new FlowError(409, field === 'username' ? 'signup.usernameTaken' : 'signup.emailTaken', {}, field);
      }
      throw err;
    }
    let joined: Joined | null = null;
    if (invitation) {
      const accepted = await this.invitations!.accept(realm, invitation.token, user, { ...origin, clientId: input.clientId });
      if (accepted.ok) joined = { via: 'invitation', orgId: accepted.membership.orgId!, orgName: accepted.orgName, returnTo: accepted.returnTo };
    } else {
      if (link) {
        // The link's holder made this account: it joins now (a taken address made none above, and joins nothing).
        const used = await this.links!.join(realm, link.token, user, { ...origin, clientId: input.clientId });
        if (used.ok) joined = { via: 'link', orgId: used.membership?.orgId ?? null, orgName: used.orgName ?? realm.name, returnTo: used.returnTo };
      }
      // A link proves nothing about the mailbox: the address is verified as for any sign-up.
      if (realm.emailVerification.policy !== 'off') {
        await this.verification.send(realm, user, input.locale, ret ?? joined?.returnTo ?? null);
        user = { ...user, emailVerification: 'requested' };
      }
    }
    if (mustVerifyFirst(realm, user)) return { verify: user, joined };
    // A realm that requires MFA: the new user sets up an authenticator before the first JWT.
    const owed = await secondFactorOwed(this.store, realm, user, now, { passwordHash, newUser: true });
    // What the invitation joined rides along: its app and its org are where the sign-in goes once the factor is set up.
    if (owed) return { secondFactor: owed, joined };
    const userId = user.id;
    const session = await this.sessions.start(realm, user, origin, ['pwd'], (s) => [eventOf({ ...event, userId, type: 'user.login.succeeded', data: { method: 'pwd', sid: s.id } })]);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user, session, joined };
  }
}

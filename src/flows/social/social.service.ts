import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { RealmConfig } from '../../config/index.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import { eventOf, publish, type EventOrigin } from '../../events/publish.ts';
import { linkIdentity, verifiedEmails, type LinkedBy, type SocialProfile } from '../../identity/external-identity.ts';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import { randomId } from '../../identity/random.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import { activeTotp, secondFactorOwed, type SecondFactorOwed } from '../../identity/totp.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import { UniqueViolation, type LoginSession, type Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import { providerName } from './buttons.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { canSignUp } from '../../domain/signup-policy.ts';

/** A field a new account needs that the provider did not send: asked on the completion page. */
export type MissingField = 'username' | 'email';

/**
 * What a provider sign-in comes to. A login session; a second factor still
 * owed; an address to verify first; fields to complete before the account
 * exists; or an existing account the user must prove with its password
 * before the identity is linked to it (or make a new account instead).
 */
export type SocialOutcome =
  | { user: User; session: LoginSession }
  /** `link`: the identity is linked once the second factor is proved too (never before). */
  | { secondFactor: SecondFactorOwed; link?: PendingLink }
  | { verify: User }
  | { complete: { missing: MissingField[] } }
  | { prove: { email: string } }
  /** The provider did not verify the address (or the user typed it): a code to it proves the mailbox first. */
  | { confirm: { email: string } };

/**
 * The code mailed to an address a provider sign-in wants to use but the
 * provider did not verify. Kept in the browser's session (hashed, salted):
 * no account exists yet, and none is made before the code comes back.
 */
export interface AddressCheck {
  email: string;
  salt: string;
  codeHash: string;
  expiresAt: number;
  tries: number;
}

const codeHash = (salt: string, code: string) => createHash('sha256').update(`${salt}:${code}`).digest('base64url');

/** The profile once its owner proved `email` with a code: that address first, and verified. */
export function withVerifiedAddress(profile: SocialProfile, email: string): SocialProfile {
  const others = profile.emails.filter((e) => e.address.toLowerCase() !== email.toLowerCase());
  return { ...profile, emails: [{ address: email, verified: true }, ...others] };
}

export interface SocialContext {
  origin: EventOrigin;
  /** The page language: a new account keeps it, and its verification mail is in it. */
  locale: string;
  ret: ReturnTo | null;
}

/** What the completion page adds to a profile. */
export interface Completion {
  username?: string;
  email?: string;
}

/** An identity to link when a pending sign-in completes, and why it may be. */
export interface PendingLink {
  profile: SocialProfile;
  by: LinkedBy;
}

/** The one-time secrets a reclaimed account loses with its password. */
const RECLAIM_REVOKES = ['reset-password', 'verify-email', 'bind-email', 'bind-phone'] as const;

/**
 * The decisions of social login (DESIGN.md §6, README "Social login"). The
 * strategies only turn a provider's answer into a SocialProfile; everything
 * that follows — log in, link, take over, create, ask — is decided here.
 * An identity is recognised by (provider, subject) only; an address links
 * only when the provider verified it.
 */
export class SocialService {
  constructor(
    private readonly store: Store,
    private readonly sessions: LoginSessions,
    private readonly secrets: OneTimeSecrets,
    private readonly mailer: Mailer,
    private readonly makeLimiter: LimiterFactory,
    private readonly clock: () => Date,
  ) {}

  /** The enabled provider `id` of the realm, or a 404 (unknown or switched off). */
  provider(realm: RealmConfig, id: string) {
    const provider = realm.social.providers.find((p) => p.id === id && p.enabled);
    if (!provider) throw new FlowError(404, 'social.unknownProvider');
    return provider;
  }

  /** A sign-in (or sign-up) through a provider, from the login or signup page. */
  async signIn(realm: RealmConfig, profile: SocialProfile, ctx: SocialContext): Promise<SocialOutcome> {
    this.provider(realm, profile.provider);
    const known = await this.store.findExternalIdentity(realm.id, profile.provider, profile.subject);
    if (known) return this.logIn(realm, await this.activeUser(realm, known.userId), profile, ctx);

    const match = await this.accountByEmail(realm, profile);
    if (match.kind === 'prove') return { prove: { email: match.email } };
    if (match.kind === 'link') {
      const user = match.user;
      if (user.state !== 'active') throw new FlowError(403, 'social.inactive');
      if (user.emailVerification === 'verified') return this.logIn(realm, user, profile, ctx, { link: 'email' });
      // Taken over only where "unverified" means something (the realm verifies addresses) and nothing
      // stronger than the address protects the account: an authenticator's holder proves the account instead.
      if (realm.emailVerification.policy === 'off' || (await activeTotp(this.store, realm.id, user.id))) return { prove: { email: match.email } };
      await this.reclaim(realm, user, profile, ctx.origin);
      await this.linkOrRefuse(realm, user.id, profile, 'email', ctx.origin);
      return this.logIn(realm, await this.activeUser(realm, user.id), profile, ctx);
    }
    return this.signUp(realm, profile, {}, ctx);
  }

  /**
   * A new account from the profile and what the completion page added.
   * The realm's signup policy applies. The account has no password; its
   * address counts as verified when the provider verified that very one.
   */
  async signUp(realm: RealmConfig, profile: SocialProfile, completion: Completion, ctx: SocialContext): Promise<SocialOutcome> {
    const email = completion.email ?? verifiedEmails(profile)[0] ?? profile.emails[0]?.address ?? null;
    const proved = (address: string) => verifiedEmails(profile).some((v) => v.toLowerCase() === address.toLowerCase());
    // An unproved address goes to its code first, also where sign-up is closed: an account that has it may be linked
    // after (addressProved), and the first answer is the same whether or not one does.
    if (email && !proved(email)) return { confirm: { email } };
    if (!canSignUp(realm, false)) throw new FlowError(403, 'social.signupClosed', { provider: this.nameOf(realm, profile.provider) });
    const typedUsername = realm.fields.usernames === 'email' ? email : (completion.username ?? null);
    const missing: MissingField[] = [];
    if (!email) missing.push('email');
    if (realm.fields.usernames === 'separate' && !typedUsername) missing.push('username');
    // Every account made here has a proved address (above): the provider's word, or a code to the mailbox. An
    // unproved one would let whoever typed it hold an account with someone else's address (pre-hijacking).
    if (missing.length > 0 || !email || !typedUsername) return { complete: { missing } };

    const ip = ctx.origin.ip ?? 'unknown';
    const wait = await this.makeLimiter(`${realm.id}:signup-ip`, realm.rateLimits.signupPerIp).take(ip);
    if (wait > 0) throw tooManyAttempts(wait);

    const now = this.clock();
    let user: User;
    try {
      user = await this.store.createUser(
        {
          realmId: realm.id,
          userType: 'human',
          username: realm.fields.lowercaseUsernames ? typedUsername.toLowerCase() : typedUsername,
          email,
          emailUnique: realm.fields.emails === 'unique',
          emailVerification: 'verified',
          firstName: profile.firstName,
          lastName: profile.lastName,
          locale: ctx.locale,
          photo: profile.photo,
          passwordHash: null,
          identity: { provider: profile.provider, subject: profile.subject, displayName: profile.displayName, email: profile.emails[0]?.address ?? null },
        },
        now,
        // The user, its identity and their two events: one store write.
        (created) => [
          eventOf({ realm, userId: created.id, type: 'user.created', origin: ctx.origin, at: now, data: { method: profile.provider } }),
          eventOf({ realm, userId: created.id, type: 'user.identity.linked', origin: ctx.origin, at: now, data: { provider: profile.provider, by: 'signup' } }),
        ],
      );
    } catch (err) {
      if (!(err instanceof UniqueViolation)) throw err;
      // Linked meanwhile (the same callback twice at once): that account is this identity's.
      if (err.field === 'identity') return this.signIn(realm, profile, ctx);
      if (err.field === 'username' && realm.fields.usernames === 'separate') throw new FlowError(409, 'signup.usernameTaken', {}, 'username');
      throw new FlowError(409, 'signup.emailTaken', {}, 'email');
    }
    return this.logIn(realm, user, profile, ctx, { newUser: true });
  }

  /**
   * Mails a 6-digit code to `email` (at most `rateLimits.verificationResendPerUser` per address: nobody
   * floods a mailbox through provider sign-ins). The same step whether or not an account has the address.
   */
  async sendAddressCode(realm: RealmConfig, email: string, locale: string): Promise<AddressCheck> {
    const wait = await this.makeLimiter(`${realm.id}:social-address-code`, realm.rateLimits.verificationResendPerUser).take(normalizeLogin(email));
    if (wait > 0) throw tooManyAttempts(wait);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const salt = randomId(16);
    const minutes = realm.emailVerification.codeTtlMinutes;
    await this.mailer.send({ realm, kind: 'social-code', to: { address: email, name: null }, userId: null, locale, model: { code, codeMinutes: minutes } });
    return { email, salt, codeHash: codeHash(salt, code), expiresAt: this.clock().getTime() + minutes * 60_000, tries: 0 };
  }

  /**
   * Checks a typed code against the mailed one. Wrong guesses are counted per
   * code in the rate limiter, before the check and atomically (the session's
   * own count could be outrun by parallel requests, each loading the same
   * session): the realm's `emailVerification.codeAttempts` in all.
   */
  async checkAddressCode(realm: RealmConfig, check: AddressCheck, code: string): Promise<'ok' | 'wrong' | 'over'> {
    const attempts = realm.emailVerification.codeAttempts;
    if (this.clock().getTime() > check.expiresAt || check.tries >= attempts) return 'over';
    const guesses = this.makeLimiter(`${realm.id}:social-address-guess`, { points: attempts, durationSeconds: realm.emailVerification.codeTtlMinutes * 60 });
    if ((await guesses.take(check.salt)) > 0) return 'over';
    const a = Buffer.from(codeHash(check.salt, code));
    const b = Buffer.from(check.codeHash);
    if (a.length === b.length && timingSafeEqual(a, b)) return 'ok';
    check.tries += 1;
    return check.tries >= attempts ? 'over' : 'wrong';
  }

  /**
   * The mailbox is proved (`profile` is `withVerifiedAddress`'s). An account
   * that has the address is still not linked by it — the provider did not
   * vouch for it: its owner signs in with its password to link. Otherwise
   * the new account is made with the proved address.
   */
  async addressProved(realm: RealmConfig, profile: SocialProfile, email: string, ctx: SocialContext): Promise<SocialOutcome> {
    const accounts = await this.store.findUsersByEmail(realm.id, email);
    if (accounts.length > 0) return { prove: { email } };
    return this.signUp(realm, profile, { email }, ctx);
  }

  /**
   * Personal center → Connected accounts → link: the signed-in user adds
   * this identity. An identity of someone else's account stays theirs.
   */
  async link(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    this.provider(realm, profile.provider);
    // An account whose address is not proved may be someone else's pre-hijack: no identity rides on it
    // until the address is verified (then its owner, who can reset the password, is the one linking).
    if (realm.emailVerification.policy !== 'off' && user.email && user.emailVerification !== 'verified') throw new FlowError(409, 'connected.verifyFirst');
    const known = await this.store.findExternalIdentity(realm.id, profile.provider, profile.subject);
    const name = { provider: this.nameOf(realm, profile.provider) };
    if (known) throw new FlowError(409, known.userId === user.id ? 'connected.alreadyYours' : 'connected.linkedElsewhere', name);
    try {
      await linkIdentity(this.store, realm, user.id, profile, 'personal-center', origin, this.clock());
    } catch (err) {
      if (err instanceof UniqueViolation) throw new FlowError(409, 'connected.providerTaken', name);
      throw err;
    }
  }

  /**
   * The user proved the account with its password on the "this address has
   * an account" page: the identity is linked to it. Refused (the account has
   * another identity of this provider), the login session just made for it
   * ends again: the browser is not signed in.
   */
  async linkProved(realm: RealmConfig, user: User, session: LoginSession, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    try {
      await this.linkOrRefuse(realm, user.id, profile, 'password', origin);
    } catch (err) {
      await this.sessions.end(realm, session, 'link.refused', { ...origin, clientId: origin.clientId ?? null });
      throw err;
    }
  }

  /**
   * Removes the user's identity of `provider` — unless it is their last way
   * to sign in (no password, no other identity of an enabled provider).
   */
  async unlink(realm: RealmConfig, user: User, provider: string, origin: EventOrigin): Promise<void> {
    const [identities, hash] = await Promise.all([this.store.listExternalIdentities(realm.id, user.id), this.store.passwordHashOf(realm.id, user.id)]);
    if (!identities.some((i) => i.provider === provider)) throw new FlowError(404, 'connected.notLinked');
    const enabled = realm.social.providers.filter((p) => p.enabled).map((p) => p.id);
    const others = identities.filter((i) => i.provider !== provider && enabled.includes(i.provider));
    if (hash === null && others.length === 0) throw new FlowError(409, 'connected.lastMethod');
    // Checked above for the message, and again by the store in the same step as the delete (parallel unlinks).
    const unlinked = eventOf({ realm, userId: user.id, type: 'user.identity.unlinked', origin, at: this.clock(), data: { provider } });
    if (!(await this.store.unlinkExternalIdentity(realm.id, user.id, provider, { providers: enabled }, (removed) => (removed ? [unlinked] : [])))) {
      throw new FlowError(409, 'connected.lastMethod');
    }
  }

  /** "Confirm it's you" through a provider: the identity must be one linked to this very user. */
  async reauth(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    const known = await this.store.findExternalIdentity(realm.id, profile.provider, profile.subject);
    const event = { realm, userId: user.id, origin, at: this.clock() };
    if (known?.userId !== user.id) {
      await publish(this.store.events, { ...event, type: 'user.reauth.failed', data: { method: profile.provider } });
      throw new FlowError(403, 'social.reauthOtherAccount', { provider: this.nameOf(realm, profile.provider) });
    }
    await publish(this.store.events, { ...event, type: 'user.reauth.succeeded', data: { method: profile.provider } });
  }

  /** The providers a user can confirm it's them with: their linked identities of enabled providers. */
  async reauthProviders(realm: RealmConfig, user: User): Promise<string[]> {
    const linked = new Set((await this.store.listExternalIdentities(realm.id, user.id)).map((i) => i.provider));
    return realm.social.providers.filter((p) => p.enabled && linked.has(p.id)).map((p) => p.id);
  }

  /** The button name of a provider. */
  nameOf(realm: RealmConfig, id: string): string {
    const p = realm.social.providers.find((x) => x.id === id);
    return p ? providerName(p) : id;
  }

  private async activeUser(realm: RealmConfig, userId: string): Promise<User> {
    const user = await this.store.findUserById(realm.id, userId);
    if (!user || user.state !== 'active') throw new FlowError(403, 'social.inactive');
    return user;
  }

  /**
   * The local account an unknown identity may be linked to by address —
   * only by addresses the provider verified (the others go through a code
   * first, `signUp`). "link": the realm links by email and exactly one
   * account has the address. "prove": one has it, but that is not enough
   * (linking by email is off, or several accounts share the address).
   */
  private async accountByEmail(realm: RealmConfig, profile: SocialProfile): Promise<{ kind: 'none' } | { kind: 'link'; user: User; email: string } | { kind: 'prove'; email: string }> {
    let prove: string | null = null;
    for (const address of verifiedEmails(profile)) {
      const accounts = await this.store.findUsersByEmail(realm.id, address);
      if (accounts.length === 0) continue;
      if (realm.social.linkByEmail && accounts.length === 1) return { kind: 'link', user: accounts[0]!.user, email: address };
      prove ??= address;
    }
    return prove ? { kind: 'prove', email: prove } : { kind: 'none' };
  }

  /**
   * The provider verified the address; the local account never did. Whoever
   * made that account did not prove the mailbox (maybe to pre-hijack it,
   * waiting for the owner to link): the provider-verified owner takes it
   * over. Everything the unproved side could still sign in or recover with
   * goes: password, authenticator, recovery codes, other identities,
   * sessions, pending links and codes, the phone. The address becomes verified.
   */
  private async reclaim(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    const at = this.clock();
    const [hash, identities] = await Promise.all([this.store.passwordHashOf(realm.id, user.id), this.store.listExternalIdentities(realm.id, user.id)]);
    await this.store.setPasswordHash(realm.id, user.id, null, at);
    const hadTotp = await this.store.deleteTotp(realm.id, user.id);
    await this.store.replaceRecoveryCodes(realm.id, user.id, [], at);
    for (const i of identities) await this.store.unlinkExternalIdentity(realm.id, user.id, i.provider);
    for (const purpose of RECLAIM_REVOKES) await this.secrets.revoke(realm.id, user.id, purpose);
    const sids = await this.sessions.endAllOf(realm, user.id, 'user.reclaimed', origin);
    // A phone the unproved side bound would reach apps as phone_number_verified.
    if (user.phone) await this.store.setPhone(realm.id, user.id, null, false, at);
    // Many writes: the event goes with the last, so it never tells of a takeover that stopped halfway.
    const reclaimed = eventOf({
      realm,
      userId: user.id,
      type: 'user.reclaimed',
      origin,
      at,
      data: { provider: profile.provider, password: hash !== null, totp: hadTotp, identities: identities.map((i) => i.provider), sessions: sids.length },
    });
    await this.store.setEmailVerification(realm.id, user.id, 'verified', at, [reclaimed]);
  }

  /**
   * A login through the provider: the address first where the realm
   * requires it, the second factor where one is owed. `link`: the identity
   * is not linked yet and is linked only once the login is complete.
   */
  private async logIn(realm: RealmConfig, user: User, profile: SocialProfile, ctx: SocialContext, options: { newUser?: boolean; link?: LinkedBy } = {}): Promise<SocialOutcome> {
    const event = { realm, userId: user.id, origin: ctx.origin, at: this.clock() };
    if (mustVerifyFirst(realm, user)) {
      await publish(this.store.events, { ...event, type: 'user.login.unverified', data: { method: profile.provider } });
      return { verify: user };
    }
    // Social login never skips MFA.
    const owed = await secondFactorOwed(this.store, realm, user, this.clock(), options.newUser ? { newUser: true, passwordHash: null } : {});
    if (owed) return options.link ? { secondFactor: owed, link: { profile, by: options.link } } : { secondFactor: owed };
    if (options.link) await this.linkOrRefuse(realm, user.id, profile, options.link, ctx.origin);
    const session = await this.sessions.start(realm, user, ctx.origin, [profile.provider], (s) => [eventOf({ ...event, type: 'user.login.succeeded', data: { method: profile.provider, sid: s.id } })]);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user, session };
  }

  /** Links, or refuses with a page when the account has another identity of this provider. */
  private async linkOrRefuse(realm: RealmConfig, userId: string, profile: SocialProfile, by: LinkedBy, origin: EventOrigin): Promise<void> {
    try {
      await linkIdentity(this.store, realm, userId, profile, by, origin, this.clock());
    } catch (err) {
      if (err instanceof UniqueViolation) throw new FlowError(409, 'social.otherIdentityLinked', { provider: this.nameOf(realm, profile.provider) });
      throw err;
    }
  }
}

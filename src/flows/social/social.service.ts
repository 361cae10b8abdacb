import type { RealmConfig } from '../../config/index.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import { recordEvent, type EventOrigin } from '../../identity/events.ts';
import { linkIdentity, verifiedEmails, type SocialProfile } from '../../identity/external-identity.ts';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import { secondFactorOwed, type SecondFactorOwed } from '../../identity/totp.ts';
import type { User } from '../../identity/user.ts';
import { UniqueViolation, type LoginSession, type Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../flow-error.ts';
import { providerName } from './buttons.ts';
import type { ReturnInfo } from '../handoff/handoff.service.ts';
import type { VerificationService } from '../verification/verification.service.ts';

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
  | { secondFactor: SecondFactorOwed }
  | { verify: User }
  | { complete: { missing: MissingField[] } }
  | { prove: { email: string } };

export interface SocialContext {
  origin: EventOrigin;
  /** The page language: a new account keeps it, and its verification mail is in it. */
  locale: string;
  ret: ReturnInfo | null;
}

/** What the completion page adds to a profile. */
export interface Completion {
  username?: string;
  email?: string;
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
    private readonly verification: VerificationService,
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
      if (match.user.state !== 'active') throw new FlowError(403, 'social.inactive');
      if (match.user.emailVerification !== 'verified') await this.reclaim(realm, match.user, profile, ctx.origin);
      try {
        await linkIdentity(this.store, realm, match.user.id, profile, 'email', ctx.origin, this.clock());
      } catch (err) {
        // The account has another identity of this provider: it is not this person's to take.
        if (err instanceof UniqueViolation) throw new FlowError(409, 'social.otherIdentityLinked', { provider: this.nameOf(realm, profile.provider) });
        throw err;
      }
      const user = await this.activeUser(realm, match.user.id);
      return this.logIn(realm, user, profile, ctx);
    }
    return this.signUp(realm, profile, {}, ctx);
  }

  /**
   * A new account from the profile and what the completion page added.
   * The realm's signup policy applies. The account has no password; its
   * address counts as verified when the provider verified that very one.
   */
  async signUp(realm: RealmConfig, profile: SocialProfile, completion: Completion, ctx: SocialContext): Promise<SocialOutcome> {
    if (realm.signup.policy !== 'open') throw new FlowError(403, 'social.signupClosed', { provider: this.nameOf(realm, profile.provider) });
    const email = completion.email ?? profile.emails[0]?.address ?? null;
    const typedUsername = realm.fields.usernames === 'email' ? email : (completion.username ?? null);
    const missing: MissingField[] = [];
    if (!email) missing.push('email');
    if (realm.fields.usernames === 'separate' && !typedUsername) missing.push('username');
    if (missing.length > 0 || !email || !typedUsername) return { complete: { missing } };

    const ip = ctx.origin.ip ?? 'unknown';
    const wait = await this.makeLimiter(`${realm.id}:signup-ip`, realm.rateLimits.signupPerIp).take(ip);
    if (wait > 0) throw tooManyAttempts(wait);

    const now = this.clock();
    const verified = verifiedEmails(profile).some((v) => v.toLowerCase() === email.toLowerCase());
    let user: User;
    try {
      user = await this.store.createUser(
        {
          realmId: realm.id,
          userType: 'human',
          username: realm.fields.lowercaseUsernames ? typedUsername.toLowerCase() : typedUsername,
          email,
          emailUnique: realm.fields.emails === 'unique',
          emailVerification: verified ? 'verified' : 'none',
          firstName: profile.firstName,
          lastName: profile.lastName,
          locale: ctx.locale,
          photo: profile.photo,
          passwordHash: null,
          identity: { provider: profile.provider, subject: profile.subject, displayName: profile.displayName, email: profile.emails[0]?.address ?? null },
        },
        now,
      );
    } catch (err) {
      if (!(err instanceof UniqueViolation)) throw err;
      // Linked meanwhile (the same callback twice at once): that account is this identity's.
      if (err.field === 'identity') return this.signIn(realm, profile, ctx);
      if (err.field === 'username' && realm.fields.usernames === 'separate') throw new FlowError(409, 'signup.usernameTaken', {}, 'username');
      throw new FlowError(409, 'signup.emailTaken', {}, 'email');
    }
    await recordEvent(this.store, { realm, userId: user.id, type: 'signup', origin: ctx.origin, at: now, data: { method: profile.provider } });
    await recordEvent(this.store, { realm, userId: user.id, type: 'identity.linked', origin: ctx.origin, at: now, data: { provider: profile.provider, by: 'signup' } });
    if (!verified && realm.emailVerification.policy !== 'off') {
      await this.verification.send(realm, user, ctx.locale, ctx.ret);
      user = { ...user, emailVerification: 'requested' };
    }
    return this.logIn(realm, user, profile, ctx, true);
  }

  /**
   * Personal center → Connected accounts → link: the signed-in user adds
   * this identity. An identity of someone else's account stays theirs.
   */
  async link(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    this.provider(realm, profile.provider);
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
   * The user proved the account with its password (and second factor) on
   * the "this address has an account" page: the identity is linked to it.
   */
  async linkProved(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    try {
      await linkIdentity(this.store, realm, user.id, profile, 'password', origin, this.clock());
    } catch (err) {
      if (err instanceof UniqueViolation) throw new FlowError(409, 'social.otherIdentityLinked', { provider: this.nameOf(realm, profile.provider) });
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
    const enabled = new Set(realm.social.providers.filter((p) => p.enabled).map((p) => p.id));
    const others = identities.filter((i) => i.provider !== provider && enabled.has(i.provider));
    if (hash === null && others.length === 0) throw new FlowError(409, 'connected.lastMethod');
    if (await this.store.unlinkExternalIdentity(realm.id, user.id, provider)) {
      await recordEvent(this.store, { realm, userId: user.id, type: 'identity.unlinked', origin, at: this.clock(), data: { provider } });
    }
  }

  /** "Confirm it's you" through a provider: the identity must be one linked to this very user. */
  async reauth(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    const known = await this.store.findExternalIdentity(realm.id, profile.provider, profile.subject);
    const event = { realm, userId: user.id, origin, at: this.clock() };
    if (known?.userId !== user.id) {
      await recordEvent(this.store, { ...event, type: 'reauth.failed', data: { method: profile.provider } });
      throw new FlowError(403, 'social.reauthOtherAccount', { provider: this.nameOf(realm, profile.provider) });
    }
    await recordEvent(this.store, { ...event, type: 'reauth.succeeded', data: { method: profile.provider } });
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
   * The local account an unknown identity may be linked to by address.
   * "link": the realm links by email, the provider verified the address and
   * exactly one account has it. "prove": an account has one of the
   * profile's addresses, but that is not enough to link (the provider did
   * not verify it, linking by email is off, or several accounts share it).
   */
  private async accountByEmail(realm: RealmConfig, profile: SocialProfile): Promise<{ kind: 'none' } | { kind: 'link'; user: User } | { kind: 'prove'; email: string }> {
    const verified = new Set(verifiedEmails(profile).map((e) => e.toLowerCase()));
    let prove: string | null = null;
    for (const { address } of profile.emails) {
      const accounts = await this.store.findUsersByEmail(realm.id, address);
      if (accounts.length === 0) continue;
      if (realm.social.linkByEmail && verified.has(address.toLowerCase()) && accounts.length === 1) return { kind: 'link', user: accounts[0]!.user };
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
   * sessions, pending links and codes. The address becomes verified.
   */
  private async reclaim(realm: RealmConfig, user: User, profile: SocialProfile, origin: EventOrigin): Promise<void> {
    const at = this.clock();
    const [hash, identities] = await Promise.all([this.store.passwordHashOf(realm.id, user.id), this.store.listExternalIdentities(realm.id, user.id)]);
    await this.store.setPasswordHash(realm.id, user.id, null, at);
    const hadTotp = await this.store.deleteTotp(realm.id, user.id);
    await this.store.replaceRecoveryCodes(realm.id, user.id, [], at);
    for (const i of identities) await this.store.unlinkExternalIdentity(realm.id, user.id, i.provider);
    for (const purpose of RECLAIM_REVOKES) await this.secrets.revoke(realm.id, user.id, purpose);
    const sids = await this.sessions.endAllOf(realm, user.id, 'account.reclaimed', origin);
    await this.store.setEmailVerification(realm.id, user.id, 'verified', at);
    await recordEvent(this.store, {
      realm,
      userId: user.id,
      type: 'account.reclaimed',
      origin,
      at,
      data: { provider: profile.provider, password: hash !== null, totp: hadTotp, identities: identities.map((i) => i.provider), sessions: sids.length },
    });
  }

  /** A login through the provider: the address first where the realm requires it, the second factor where one is owed. */
  private async logIn(realm: RealmConfig, user: User, profile: SocialProfile, ctx: SocialContext, newUser = false): Promise<SocialOutcome> {
    const event = { realm, userId: user.id, origin: ctx.origin, at: this.clock() };
    if (mustVerifyFirst(realm, user)) {
      await recordEvent(this.store, { ...event, type: 'login.unverified', data: { method: profile.provider } });
      return { verify: user };
    }
    // Social login never skips MFA.
    const owed = await secondFactorOwed(this.store, realm, user, this.clock(), newUser ? { newUser, passwordHash: null } : {});
    if (owed) return { secondFactor: owed };
    const session = await this.sessions.start(realm, user, ctx.origin, [profile.provider]);
    await recordEvent(this.store, { ...event, type: 'login.succeeded', data: { method: profile.provider, sid: session.id } });
    return { user, session };
  }
}

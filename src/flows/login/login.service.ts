import { timingSafeEqual } from 'node:crypto';
import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions, SessionOrigin } from '../../identity/login-sessions.ts';
import type { PasswordHasher } from '../../identity/password.ts';
import { takeAll, type LimiterFactory } from '../../identity/throttle.ts';
import { normalizeLogin, type User } from '../../identity/user.ts';
import { UniqueViolation, type LoginSession, type Store, type UserWithPassword } from '../../store/port.ts';
import { linkIdentity } from '../../identity/external-identity.ts';
import type { PendingLink } from '../social/social.service.ts';
import { mustVerifyFirst } from '../../identity/email-verification.ts';
import { ANONYMOUS, eventOf, publish } from '../../events/publish.ts';
import { passwordTag, secondFactorOwed, type SecondFactorMethod, type SecondFactorOwed } from '../../identity/totp.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import type { EnrolmentSheet, MfaService } from '../mfa/mfa.service.ts';

/** Wrong codes one pending sign-in survives; then the user starts over (and `rateLimits.mfaPerUser` counts across restarts). */
const MFA_TRIES = 5;

/** How long a pending sign-in waits for its code; setting up an app (installing it, scanning) gets longer. */
const PENDING_MS = { otp: 5 * 60_000, enrol: 15 * 60_000 } as const;

/**
 * A sign-in whose first factor is proved, waiting for the second (kept in
 * the browser's session; there is no login session yet). `step` "otp": type
 * a code; "enrol": the realm requires MFA and the user sets it up now.
 */
export interface PendingSecondFactor {
  realmId: string;
  userId: string;
  /** The app the sign-in is for, and the personal-center page it started from: both survive the detour. */
  ret: ReturnTo | null;
  next: string | null;
  /** The first factor's methods; the JWT's amr adds "otp". */
  amr: string[];
  step: SecondFactorOwed['step'];
  startedAt: number;
  /**
   * `passwordTag` (identity/totp.ts) of the password hash the first factor
   * was proved against: a password changed or reset since ends the sign-in.
   */
  passwordTag: string;
  tries: number;
  /** What the user.login.succeeded event adds (e.g. { after: 'user.email.verified' }). */
  context?: Record<string, string>;
  /** The enrolment this browser started: only its own secret is ever shown to it, or confirmed from it. */
  enrolment?: string;
  /** Enrolled: the new recovery codes, shown once before the sign-in completes. */
  codes?: string[];
  /** A provider identity to link when the sign-in completes (never before the second factor). */
  link?: PendingLink;
  /**
   * A provider identity proved the first factor: the sign-in goes on only
   * while it is still linked to this user (an account taken over by its
   * address's owner meanwhile unlinks it).
   */
  identity?: { provider: string; subject: string };
  /** An org the sign-in joined (an invitation at sign-up): selected for the login session it ends in. */
  selectOrgId?: string;
}

export type PendingState = 'live' | 'expired' | 'exhausted';

/** A pending sign-in's state and, while it is live, its user: read once per request and handed on. */
export type PendingCheck = { state: 'live'; user: User } | { state: Exclude<PendingState, 'live'> };

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
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly makeLimiter: LimiterFactory,
    private readonly sessions: LoginSessions,
    private readonly mfa: MfaService,
    private readonly clock: () => Date,
  ) {}

  private limitersFor(realm: RealmConfig) {
    return {
      perIdIp: this.makeLimiter(`${realm.id}:login-id-ip`, realm.rateLimits.loginPerIdentifierAndIp),
      perIp: this.makeLimiter(`${realm.id}:login-ip`, realm.rateLimits.loginPerIp),
    };
  }

  /**
   * A login session; or — where the realm requires a verified email first —
   * the user to verify; or, for a user with an authenticator (or a realm that
   * requires one), the second factor still owed: no session yet.
   */
  async login(
    realm: RealmConfig,
    input: LoginInput,
    origin: SessionOrigin,
    /** linking: the "this address has an account" page of social login, open in social-only realms too. */
    options: { linking?: boolean } = {},
  ): Promise<{ user: User; session: LoginSession } | { verify: User } | { secondFactor: SecondFactorOwed }> {
    // "Social logins only": the hidden form is refused too, not just hidden.
    if (realm.social.only && !options.linking) throw new FlowError(403, 'login.socialOnly');
    const ip = origin.ip ?? 'unknown';
    const idIpKey = `${normalizeLogin(input.identifier)}|${ip}`;
    const { perIdIp, perIp } = this.limitersFor(realm);
    // Counted before the password is checked (parallel guesses cannot outrun the count); a success gives it back.
    const wait = await takeAll([perIdIp, idIpKey], [perIp, ip]);
    if (wait > 0) throw tooManyAttempts(wait);

    const found = await this.findAccount(realm, input.identifier);
    const passwordOk = await this.hasher.verify(found?.passwordHash ?? null, input.password);
    const event = { realm, origin: { ...origin, clientId: input.clientId }, at: this.clock() };

    if (!found || !passwordOk || found.user.state !== 'active') {
      await publish(this.store.events, { ...event, type: 'user.login.failed', userId: found?.user.id ?? null, actor: ANONYMOUS, data: { method: 'pwd' } });
      throw new FlowError(401, 'login.invalid');
    }

    await Promise.all([perIdIp.reset(idIpKey), perIp.refund(ip)]);
    const passwordHash = this.hasher.needsRehash(found.passwordHash) ? await this.upgradeHash(realm, found, input.password) : found.passwordHash;
    if (mustVerifyFirst(realm, found.user)) {
      await publish(this.store.events, { ...event, type: 'user.login.unverified', userId: found.user.id, data: { method: 'pwd' } });
      return { verify: found.user };
    }
    // Tagged from the hash just verified (or its upgrade), not one read again: a reset meanwhile must not pass as this password.
    const owed = await secondFactorOwed(this.store, realm, found.user, this.clock(), { passwordHash });
    if (owed) return { secondFactor: owed };
    const session = await this.sessions.start(realm, found.user, origin, ['pwd'], (s) => [eventOf({ ...event, type: 'user.login.succeeded', userId: found.user.id, data: { method: 'pwd', sid: s.id } })]);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user: found.user, session };
  }

  /**
   * The password just verified, hashed afresh with argon2id in place of an
   * imported bcrypt (or older argon2) hash; the hash now stored is returned.
   * Written only while the stored hash is still the one verified: a password
   * changed or reset meanwhile is not overwritten with the old one.
   */
  private async upgradeHash(realm: RealmConfig, found: UserWithPassword, password: string): Promise<string | null> {
    const fresh = await this.hasher.hash(password);
    if ((await this.store.passwordHashOf(realm.id, found.user.id)) !== found.passwordHash) return found.passwordHash;
    await this.store.setPasswordHash(realm.id, found.user.id, fresh, this.clock());
    return fresh;
  }

  /**
   * Whether a pending sign-in may still go on: not too old, not too many
   * wrong codes, its user still active and still with the password the
   * first factor proved (changed or reset since: over, as if expired).
   * While it may, the user comes with the answer: read once, handed on.
   */
  async checkPending(realm: RealmConfig, pending: PendingSecondFactor): Promise<PendingCheck> {
    const state = this.timelyState(pending);
    if (state !== 'live') return { state };
    const user = await this.provedUser(realm, pending);
    return user ? { state: 'live', user } : { state: 'expired' };
  }

  /** `checkPending` without the user. */
  async pendingState(realm: RealmConfig, pending: PendingSecondFactor): Promise<PendingState> {
    return (await this.checkPending(realm, pending)).state;
  }

  /**
   * Only the pending sign-in's age and wrong codes, read from nothing: for
   * the moment after a wrong code, when the same request has just checked
   * its user (`checkPending`).
   */
  timelyState(pending: PendingSecondFactor): PendingState {
    if (this.clock().getTime() - pending.startedAt > PENDING_MS[pending.step]) return 'expired';
    return pending.tries >= MFA_TRIES ? 'exhausted' : 'live';
  }

  /** The pending sign-in's user, while the first factor it proved still holds. */
  private async provedUser(realm: RealmConfig, pending: PendingSecondFactor): Promise<User | null> {
    if (pending.realmId !== realm.id) return null;
    const [user, hash, identity] = await Promise.all([
      this.store.findUserById(realm.id, pending.userId),
      this.store.passwordHashOf(realm.id, pending.userId),
      pending.identity ? this.store.findExternalIdentity(realm.id, pending.identity.provider, pending.identity.subject) : null,
    ]);
    if (!user || user.state !== 'active') return null;
    if (pending.identity && identity?.userId !== user.id) return null;
    // A pending sign-in from before tags were kept has none: it is over too.
    const kept = Buffer.from(typeof pending.passwordTag === 'string' ? pending.passwordTag : '');
    const now = Buffer.from(passwordTag(hash));
    return kept.length === now.length && timingSafeEqual(kept, now) ? user : null;
  }

  /** The pending sign-in's user, while they may still log in. */
  private async pendingUser(realm: RealmConfig, pending: PendingSecondFactor): Promise<User> {
    const user = this.timelyState(pending) === 'live' ? await this.provedUser(realm, pending) : null;
    if (!user) throw new FlowError(400, 'mfa.login.expired');
    return user;
  }

  /** How the pending sign-in's account is named to its user (recovery-code file, enrolment page). */
  async pendingAccount(realm: RealmConfig, pending: PendingSecondFactor): Promise<string> {
    const user = await this.pendingUser(realm, pending);
    return user.email ?? user.username;
  }

  /**
   * The second factor of a pending sign-in. A wrong code counts in `pending`
   * (MFA_TRIES end it) and per user; the right one makes the login session
   * (amr + "otp", assurance level 2). `user`: what `checkPending` answered
   * for `pending` in this request.
   */
  async secondFactor(
    realm: RealmConfig,
    pending: PendingSecondFactor,
    user: User,
    method: SecondFactorMethod,
    code: string,
    origin: SessionOrigin,
  ): Promise<{ user: User; session: LoginSession }> {
    if (pending.step !== 'otp' || user.id !== pending.userId || this.timelyState(pending) !== 'live') throw new FlowError(400, 'mfa.login.expired');
    try {
      await this.mfa.requireSecondFactor(realm, user, method, code, method === 'otp' ? 'mfa.login.wrongCode' : 'mfa.login.wrongRecoveryCode');
    } catch (err) {
      if (err instanceof FlowError && err.status === 401) {
        pending.tries += 1;
        await publish(this.store.events, { ...this.eventOf(realm, pending, origin), type: 'user.login.failed', userId: user.id, actor: ANONYMOUS, data: { method } });
        if (pending.tries >= MFA_TRIES) throw new FlowError(401, 'mfa.login.tooManyTries');
      }
      throw err;
    }
    return this.complete(realm, user, pending, method, origin);
  }

  /** Enrolment during sign-in: a fresh secret for this browser (never one another browser started). */
  async beginEnrolment(realm: RealmConfig, pending: PendingSecondFactor, origin: SessionOrigin): Promise<void> {
    if (pending.step !== 'enrol' || pending.codes) throw new FlowError(400, 'mfa.login.expired');
    const user = await this.pendingUser(realm, pending);
    try {
      pending.enrolment = await this.mfa.begin(realm, user, { ...origin, clientId: pending.ret?.clientId ?? null });
    } catch (err) {
      // An authenticator became active meanwhile (another browser): it is what this sign-in must prove now.
      if (!(err instanceof FlowError && err.status === 409)) throw err;
      pending.step = 'otp';
    }
  }

  /** The QR code and secret of the enrolment this browser started, or null before it started one. */
  async enrolmentSheet(realm: RealmConfig, pending: PendingSecondFactor): Promise<EnrolmentSheet | null> {
    if (pending.step !== 'enrol' || !pending.enrolment || pending.codes) return null;
    const overview = await this.mfa.overview(realm, await this.pendingUser(realm, pending));
    return overview.state === 'enrolling' && overview.enrolment === pending.enrolment ? overview.sheet : null;
  }

  /** Confirms the new authenticator with a code; the recovery codes wait in `pending` to be shown once. */
  async confirmEnrolment(realm: RealmConfig, pending: PendingSecondFactor, code: string, origin: SessionOrigin): Promise<void> {
    if (pending.step !== 'enrol' || !pending.enrolment || pending.codes) throw new FlowError(400, 'mfa.login.expired');
    const user = await this.pendingUser(realm, pending);
    pending.codes = await this.mfa.confirm(realm, user, code, { ...origin, clientId: pending.ret?.clientId ?? null }, pending.enrolment);
  }

  /** After the recovery codes were shown: the sign-in completes, with the new authenticator as its second factor. */
  async finishEnrolment(realm: RealmConfig, pending: PendingSecondFactor, origin: SessionOrigin): Promise<{ user: User; session: LoginSession }> {
    if (pending.step !== 'enrol' || !pending.codes) throw new FlowError(400, 'mfa.login.expired');
    const user = await this.pendingUser(realm, pending);
    return this.complete(realm, user, pending, 'otp', origin);
  }

  private eventOf(realm: RealmConfig, pending: PendingSecondFactor, origin: SessionOrigin) {
    return { realm, origin: { ...origin, clientId: pending.ret?.clientId ?? null }, at: this.clock() };
  }

  private async complete(realm: RealmConfig, user: User, pending: PendingSecondFactor, method: SecondFactorMethod, origin: SessionOrigin): Promise<{ user: User; session: LoginSession }> {
    const amr = [...new Set([...pending.amr, 'otp'])];
    if (pending.link) {
      try {
        await linkIdentity(this.store, realm, user.id, pending.link.profile, pending.link.by, { ...origin, clientId: pending.ret?.clientId ?? null }, this.clock());
      } catch (err) {
        // Linked elsewhere meanwhile, or the account got one of that provider: the sign-in itself still stands.
        if (!(err instanceof UniqueViolation)) throw err;
      }
    }
    const event = this.eventOf(realm, pending, origin);
    const session = await this.sessions.start(realm, user, origin, amr, (s) => [eventOf({ ...event, type: 'user.login.succeeded', userId: user.id, data: { method, sid: s.id, ...pending.context } })]);
    if (!session) throw new FlowError(401, 'login.invalid');
    return { user, session };
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

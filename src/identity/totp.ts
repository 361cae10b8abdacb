import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { lazyModule } from '../lazy-module.ts';
import type { RealmConfig } from '../config/index.ts';
import type { CredentialsPort, TotpCredential } from '../ports/credentials.ts';
import type { Emit } from '../ports/events.ts';
import type { UsersPort } from '../ports/users.ts';
import type { Limiter, LimiterFactory } from './throttle.ts';
import type { User } from './user.ts';

/** Loaded when a user with an authenticator signs in or sets one up, not at start. */
const otplib = lazyModule<typeof import('otplib')>('otplib');

/**
 * TOTP second factor (RFC 6238) with recovery codes (DESIGN.md §2, §6).
 * What authenticator apps expect: SHA-1, 6 digits, 30-second steps. The
 * server's clock decides, one step either way is tolerated (a phone a little
 * off, a code typed as it turns), and each step is accepted once: the store
 * spends it atomically, so a replayed code fails even when sent twice at once.
 */

const PERIOD_SECONDS = 30;
const CODE = /^\d{6}$/;

// ── Secrets at rest: AES-256-GCM under a key derived from the server secret ──

const FORMAT = 'v1';

/** `v1.<iv>.<tag>.<ciphertext>`, base64url; a fresh 12-byte IV each time. */
export function encryptSecret(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** The clear secret; throws when the value was altered, or was sealed under another key or in an unknown format. */
export function decryptSecret(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
  if (version !== FORMAT || !iv || !tag || ciphertext === undefined || rest.length > 0) throw new Error('unknown TOTP secret format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

// ── Codes ──

/** The time step of `at`. */
export function stepAt(at: Date): number {
  return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS);
}

/**
 * The time step a typed code belongs to, when it is right at `at` (±1 step)
 * and newer than `afterStep`; null otherwise. Spaces are forgiven ("123 456").
 */
export async function matchTotp(secret: string, typed: string, at: Date, afterStep = 0): Promise<number | null> {
  const token = typed.replace(/\s+/g, '');
  if (!CODE.test(token)) return null;
  // A step spent ahead of this clock (it stepped back: NTP, or instances apart): only later steps could match,
  // and none is in reach yet. otplib would throw for it (a 500 at sign-in), so it is answered here.
  if (afterStep >= stepAt(at) + 1) return null;
  const result = await otplib().verify({
    secret,
    token,
    epoch: Math.floor(at.getTime() / 1000),
    epochTolerance: PERIOD_SECONDS,
    afterTimeStep: afterStep,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function otpauthUri(secret: string, issuer: string, account: string): string {
  return otplib().generateURI({ issuer, label: account, secret });
}

/** The secret as a person types it: groups of four. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

// ── Recovery codes ──

/** Crockford's base32: no I, L, O or U, so what is written down reads back the same way. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/**
 * 24 characters of 5 bits: 120 random bits. The store keeps a fast keyed hash
 * (HMAC-SHA256) of each, which ASVS 6.5.2 allows only for lookup secrets of
 * at least 112 bits; shorter codes would need a slow password hash.
 */
export const RECOVERY_CODE_LENGTH = 24;
const RECOVERY_GROUP = 6;
export const RECOVERY_CODE_COUNT = 10;

/** A fresh code, shown as `xxxxxx-xxxxxx-xxxxxx-xxxxxx` (120 random bits). */
export function generateRecoveryCode(): string {
  // One random byte per character, its low 5 bits: 256 is a multiple of 32, so every character is equally likely.
  const bytes = randomBytes(RECOVERY_CODE_LENGTH);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte & 31];
  return code.match(new RegExp(`.{${RECOVERY_GROUP}}`, 'g'))!.join('-');
}

/**
 * A typed recovery code in its canonical form, or null when it cannot be one.
 * Case, dashes and spaces do not matter; the letters people mistake for
 * digits (O for 0, I and L for 1) read as the digits.
 */
export function normalizeRecoveryCode(typed: string): string | null {
  const code = typed
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
  if (code.length !== RECOVERY_CODE_LENGTH || [...code].some((c) => !ALPHABET.includes(c))) return null;
  return code;
}

/** One field takes either kind of code: six digits are an authenticator's, anything else a recovery code. */
export function secondFactorMethodOf(typed: string): SecondFactorMethod {
  return CODE.test(typed.replace(/\s+/g, '')) ? 'otp' : 'recovery_code';
}

// ── The store side ──

/** `enrolment` names one enrolment (one secret): a page can tell its own from one started elsewhere since. */
export type TotpState = { state: 'off' } | { state: 'enrolling'; secret: string; enrolment: string } | { state: 'on'; since: Date };

const enrolmentOf = (sealed: string) => createHash('sha256').update(sealed).digest('base64url').slice(0, 22);

/** A credential confirmed with a code: the user's second factor (not an enrolment still waiting). */
export type ActiveTotp = TotpCredential & { confirmedAt: Date };

/** Whether the user has an authenticator: the one rule every "is MFA on?" goes by. */
function isActive(credential: TotpCredential | null): credential is ActiveTotp {
  return Boolean(credential?.confirmedAt);
}

/** The user's active authenticator, or null (none, or one still being set up). */
export async function activeTotp(store: CredentialsPort, realmId: string, userId: string): Promise<ActiveTotp | null> {
  const credential = await store.getTotp(realmId, userId);
  return isActive(credential) ? credential : null;
}

/**
 * A sign-in whose first factor is proved and that still owes the second: no
 * login session yet. `step` "otp": the user types a code; "enrol": the realm
 * requires MFA and the user sets up an authenticator first.
 */
export interface SecondFactorOwed {
  user: User;
  step: 'otp' | 'enrol';
  /** When the first factor was proved, by the app's clock: the pending sign-in expires from then. */
  at: Date;
  /** `passwordTag` of the password hash the first factor was proved against. */
  passwordTag: string;
}

/** What the first factor knows already, so nothing is read twice. */
export interface FirstFactorFacts {
  /** The hash the password was just verified against (or made from); absent: the user's stored hash is read. */
  passwordHash?: string | null;
  /** The user was created by this very sign-up: no authenticator can exist yet. */
  newUser?: boolean;
}

/**
 * Whether a login must wait for a second factor: the one question every
 * path that makes a login session from a first factor (password, verified
 * mailbox, sign-up, later a social provider) asks first. Null: none is owed.
 */
export async function secondFactorOwed(store: CredentialsPort & Pick<UsersPort, 'passwordHashOf'>, realm: RealmConfig, user: User, at: Date, facts: FirstFactorFacts = {}): Promise<SecondFactorOwed | null> {
  const active = !facts.newUser && (await activeTotp(store, realm.id, user.id)) !== null;
  const step = active ? 'otp' : realm.mfa.policy === 'required' ? 'enrol' : null;
  if (!step) return null;
  const hash = facts.passwordHash !== undefined ? facts.passwordHash : await store.passwordHashOf(realm.id, user.id);
  return { user, step, at, passwordTag: passwordTag(hash) };
}

/**
 * A short tag of the password hash a first factor was proved against (no
 * password: a tag of its own). A pending sign-in keeps it; once the password
 * is changed or reset the user's hash gives another tag, and whoever proved
 * the old password cannot finish. 96 bits of SHA-256: it tells nothing about
 * the hash, and the session never holds the hash itself.
 */
export function passwordTag(passwordHash: string | null): string {
  return createHash('sha256').update(passwordHash === null ? 'none' : `hash:${passwordHash}`).digest('base64url').slice(0, 16);
}

export interface TotpKeys {
  /** AES-256 key (32 bytes) for authenticator secrets. */
  encryption: Buffer;
  /** HMAC key for recovery codes: a leaked table alone cannot be used to test guesses. */
  recovery: Buffer;
}

/** How a second factor was proved. */
export type SecondFactorMethod = 'otp' | 'recovery_code';

export type SecondFactorCheck = { ok: true } | { ok: false; retryAfterMs: number };

/** Users' authenticators and recovery codes, over the store. */
export class Totp {
  constructor(
    private readonly store: CredentialsPort,
    private readonly keys: TotpKeys,
    private readonly makeLimiter: LimiterFactory,
    private readonly clock: () => Date,
  ) {}

  async state(realmId: string, userId: string): Promise<TotpState> {
    const credential = await this.store.getTotp(realmId, userId);
    if (!credential) return { state: 'off' };
    if (isActive(credential)) return { state: 'on', since: credential.confirmedAt };
    return { state: 'enrolling', secret: decryptSecret(this.keys.encryption, credential.secret), enrolment: enrolmentOf(credential.secret) };
  }

  /** The user's active authenticator, or null. */
  active(realmId: string, userId: string): Promise<ActiveTotp | null> {
    return activeTotp(this.store, realmId, userId);
  }

  /**
   * Starts an enrolment with a fresh secret (replacing an unconfirmed one) and
   * returns its name; null when an authenticator is already active.
   */
  async begin(realmId: string, userId: string): Promise<string | null> {
    const sealed = encryptSecret(this.keys.encryption, otplib().generateSecret());
    return (await this.store.beginTotp(realmId, userId, sealed, this.clock())) ? enrolmentOf(sealed) : null;
  }

  /** Activates the enrolment `enrolling` (as `state` read it) when `code` is right for its secret; `emit` is written with the activation. */
  async confirm(realmId: string, userId: string, enrolling: Extract<TotpState, { state: 'enrolling' }>, code: string, emit?: Emit<boolean>): Promise<boolean> {
    const now = this.clock();
    const step = await matchTotp(enrolling.secret, code, now);
    return step !== null && (await this.store.confirmTotp(realmId, userId, step, now, emit));
  }

  /**
   * Checks a code of the active authenticator and spends its step: the same
   * code never works twice. `credential`: the one the caller loaded already.
   */
  async checkCode(realmId: string, userId: string, code: string, credential?: TotpCredential | null): Promise<boolean> {
    const active = credential === undefined ? await this.active(realmId, userId) : credential;
    if (!isActive(active)) return false;
    const step = await matchTotp(decryptSecret(this.keys.encryption, active.secret), code, this.clock(), active.lastStep);
    return step !== null && (await this.store.useTotpStep(realmId, userId, step));
  }

  /** Removes the authenticator and its recovery codes; `emit` is written with the removal. */
  remove(realmId: string, userId: string, emit?: Emit<boolean>): Promise<boolean> {
    return this.store.deleteTotp(realmId, userId, emit);
  }

  private hashRecoveryCode(realmId: string, userId: string, code: string): string {
    return createHmac('sha256', this.keys.recovery).update(`${realmId}\n${userId}\n${code}`).digest('base64url');
  }

  /** Ten fresh recovery codes, replacing every older one; returned once, stored only as HMACs. `emit` is written with them. */
  async issueRecoveryCodes(realmId: string, userId: string, emit?: Emit): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(generateRecoveryCode());
    const list = [...codes];
    await this.store.replaceRecoveryCodes(
      realmId,
      userId,
      list.map((c) => this.hashRecoveryCode(realmId, userId, normalizeRecoveryCode(c)!)),
      this.clock(),
      emit,
    );
    return list;
  }

  /** Spends a recovery code; false when it is malformed, unknown or already used. */
  async useRecoveryCode(realmId: string, userId: string, typed: string): Promise<boolean> {
    const code = normalizeRecoveryCode(typed);
    if (!code) return false;
    return this.store.useRecoveryCode(realmId, userId, this.hashRecoveryCode(realmId, userId, code), this.clock());
  }

  recoveryCodesLeft(realmId: string, userId: string): Promise<number> {
    return this.store.countRecoveryCodes(realmId, userId);
  }

  private limiterFor(realm: RealmConfig): Limiter {
    return this.makeLimiter(`${realm.id}:mfa-user`, realm.rateLimits.mfaPerUser);
  }

  /**
   * A second factor typed at sign-in, at "confirm it's you" or to remove the
   * authenticator. Wrong codes count per user wherever they are typed (rule
   * `rateLimits.mfaPerUser`), so starting the login again buys no guesses.
   * `credential`: the authenticator the caller loaded already, if it did.
   */
  async verifySecondFactor(realm: RealmConfig, userId: string, method: SecondFactorMethod, code: string, credential?: TotpCredential | null): Promise<SecondFactorCheck> {
    const limiter = this.limiterFor(realm);
    // Counted before the code is checked: parallel guesses cannot outrun the count.
    const wait = await limiter.take(userId);
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    const ok = method === 'otp' ? await this.checkCode(realm.id, userId, code, credential) : await this.useRecoveryCode(realm.id, userId, code);
    if (ok) {
      await limiter.reset(userId);
      return { ok: true };
    }
    return { ok: false, retryAfterMs: 0 };
  }
}

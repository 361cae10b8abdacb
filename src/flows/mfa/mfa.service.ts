import { lazyModule } from '../../lazy-module.ts';
import type { RealmConfig } from '../../config/index.ts';
import { eventOf, publish, type EventOrigin } from '../../events/publish.ts';
import { groupSecret, otpauthUri, RECOVERY_CODE_COUNT, secondFactorMethodOf, type ActiveTotp, type SecondFactorMethod, type Totp } from '../../identity/totp.ts';
import type { User } from '../../identity/user.ts';
import type { Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';

/** Loaded for the first enrolment page, not at start. */
const qrcode = lazyModule<typeof import('qrcode')>('qrcode');

/** What an enrolment page shows: the QR code (a PNG data: URL) and the same secret for typing. */
export interface EnrolmentSheet {
  qr: string;
  secret: string;
  uri: string;
}

export type MfaOverview =
  | { state: 'off' }
  | { state: 'enrolling'; sheet: EnrolmentSheet; enrolment: string }
  | { state: 'on'; since: Date; codesLeft: number; codesTotal: number };

/**
 * Two-factor authentication in the personal center (and the enrolment a
 * realm that requires MFA runs during sign-in): set up an authenticator app,
 * confirm it with a code, receive recovery codes, replace them, remove it.
 */
export class MfaService {
  constructor(
    private readonly store: Store,
    private readonly totp: Totp,
    private readonly clock: () => Date,
  ) {}

  async overview(realm: RealmConfig, user: User): Promise<MfaOverview> {
    const state = await this.totp.state(realm.id, user.id);
    if (state.state === 'off') return state;
    if (state.state === 'enrolling') return { state: 'enrolling', sheet: await this.sheet(realm, user, state.secret), enrolment: state.enrolment };
    return { state: 'on', since: state.since, codesLeft: await this.totp.recoveryCodesLeft(realm.id, user.id), codesTotal: RECOVERY_CODE_COUNT };
  }

  /** The user's active authenticator, null when MFA is off (or still being set up). */
  authenticator(realm: RealmConfig, user: User): Promise<ActiveTotp | null> {
    return this.totp.active(realm.id, user.id);
  }

  /** Whether the user has an active authenticator. */
  async isOn(realm: RealmConfig, user: User): Promise<boolean> {
    return (await this.authenticator(realm, user)) !== null;
  }

  private async sheet(realm: RealmConfig, user: User, secret: string): Promise<EnrolmentSheet> {
    // The app lists the account as "<realm>: <email>", so a user with several realms tells them apart.
    const uri = otpauthUri(secret, realm.name, user.email ?? user.username);
    const qr = await qrcode().toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
    return { qr, secret: groupSecret(secret), uri };
  }

  /** Starts (or restarts, with a new secret) setting up an authenticator; returns the enrolment's name. */
  async begin(realm: RealmConfig, user: User, origin: EventOrigin): Promise<string> {
    const enrolment = await this.totp.begin(realm.id, user.id);
    if (!enrolment) throw new FlowError(409, 'mfa.alreadyOn');
    await publish(this.store.events, { realm, userId: user.id, type: 'user.mfa.enrollment_started', origin, at: this.clock() });
    return enrolment;
  }

  /** Drops an enrolment that was never confirmed; an active authenticator is left alone. */
  async cancel(realm: RealmConfig, user: User, origin: EventOrigin): Promise<void> {
    if ((await this.totp.state(realm.id, user.id)).state !== 'enrolling') return;
    const cancelled = eventOf({ realm, userId: user.id, type: 'user.mfa.enrollment_cancelled', origin, at: this.clock() });
    await this.totp.remove(realm.id, user.id, (removed) => (removed ? [cancelled] : []));
  }

  /**
   * Activates the authenticator when `code` is right, and returns the first
   * recovery codes (to be shown once). A wrong code leaves it off. With
   * `enrolment`, only that enrolment is confirmed (not one restarted elsewhere since).
   */
  async confirm(realm: RealmConfig, user: User, code: string, origin: EventOrigin, enrolment?: string): Promise<string[]> {
    const state = await this.totp.state(realm.id, user.id);
    if (state.state !== 'enrolling' || (enrolment !== undefined && state.enrolment !== enrolment)) {
      throw new FlowError(409, state.state === 'on' ? 'mfa.alreadyOn' : 'mfa.notEnrolling');
    }
    // The secret just read and decrypted is the one confirmed: neither happens twice.
    const enrolled = eventOf({ realm, userId: user.id, type: 'user.mfa.enrolled', origin, at: this.clock(), data: { method: 'totp' } });
    // The authenticator turns on with its event; its first recovery codes are the next write.
    if (!(await this.totp.confirm(realm.id, user.id, state, code, (on) => (on ? [enrolled] : [])))) {
      await publish(this.store.events, { realm, userId: user.id, type: 'user.mfa.enrollment_failed', origin, at: this.clock() });
      throw new FlowError(400, 'mfa.wrongCode', {}, 'code');
    }
    return this.totp.issueRecoveryCodes(realm.id, user.id);
  }

  /** New recovery codes; every older one stops working. */
  async regenerateRecoveryCodes(realm: RealmConfig, user: User, origin: EventOrigin): Promise<string[]> {
    if (!(await this.isOn(realm, user))) throw new FlowError(409, 'mfa.notOn');
    return this.totp.issueRecoveryCodes(realm.id, user.id, [eventOf({ realm, userId: user.id, type: 'user.mfa.recovery_codes_regenerated', origin, at: this.clock() })]);
  }

  /** Removes the authenticator and its recovery codes, on proof of either: someone at an open session alone cannot. */
  async remove(realm: RealmConfig, user: User, code: string, origin: EventOrigin): Promise<void> {
    const authenticator = await this.authenticator(realm, user);
    if (!authenticator) throw new FlowError(409, 'mfa.notOn');
    const method = secondFactorMethodOf(code);
    try {
      await this.requireSecondFactor(realm, user, method, code, 'mfa.wrongCodeOrRecovery', authenticator);
    } catch (err) {
      if (err instanceof FlowError && err.status === 401) await publish(this.store.events, { realm, userId: user.id, type: 'user.mfa.removal_failed', origin, at: this.clock(), data: { method } });
      throw err;
    }
    const removed = eventOf({ realm, userId: user.id, type: 'user.mfa.removed', origin, at: this.clock(), data: { method } });
    await this.totp.remove(realm.id, user.id, (gone) => (gone ? [removed] : []));
  }

  /**
   * Checks a second factor, rate-limited per user (`rateLimits.mfaPerUser`):
   * a wrong one throws FlowError(401, `wrongKey`), too many throw 429.
   * `authenticator`: the one the caller loaded already, if it did.
   */
  async requireSecondFactor(realm: RealmConfig, user: User, method: SecondFactorMethod, code: string, wrongKey: string, authenticator?: ActiveTotp | null): Promise<void> {
    const check = await this.totp.verifySecondFactor(realm, user.id, method, code, authenticator);
    if (check.ok) return;
    if (check.retryAfterMs > 0) throw tooManyAttempts(check.retryAfterMs);
    throw new FlowError(401, wrongKey, {}, 'code');
  }
}

import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { RealmConfig } from '../../config/index.ts';
import { eventOf, publish } from '../../events/publish.ts';
import type { SessionOrigin } from '../../identity/login-sessions.ts';
import type { OneTimeSecrets } from '../../identity/one-time.ts';
import { takeAll, type LimiterFactory } from '../../identity/throttle.ts';
import type { User } from '../../identity/user.ts';
import { SmsDeliveryError, type SmsSender } from '../../sms/sms.ts';
import { UniqueViolation, type Store } from '../../store/port.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import { lazyModule } from '../../lazy-module.ts';

/** libphonenumber-js, loaded for the first phone page, not at start. */
const phoneNumbers = lazyModule<typeof import('libphonenumber-js')>('libphonenumber-js');

/** An SMS code lives this long… */
export const PHONE_CODE_TTL_MINUTES = 10;
/** …and survives this many wrong guesses. */
const PHONE_CODE_ATTEMPTS = 5;

/** Writes a text in a locale (i18next's t for that locale, given by app.ts). */
export type SmsTexts = (locale: string) => (key: string, params: Record<string, string | number>) => string;

/**
 * A typed phone number as E.164 (+14155550100), read with libphonenumber-js;
 * a number without "+<country code>" belongs to `defaultCountry`. Null when
 * it is no valid number (letters, too short or long, an unknown country, an
 * extension: E.164 has none).
 */
export function parsePhone(input: string, defaultCountry: CountryCode | undefined): string | null {
  try {
    const number = phoneNumbers().parsePhoneNumberWithError(input, defaultCountry ? { defaultCountry } : undefined);
    if (!number.isValid() || number.ext) return null;
    return number.number;
  } catch (err) {
    if (err instanceof phoneNumbers().ParseError) return null;
    throw err;
  }
}

/** An E.164 number as people read it (+1 415 555 0100); the stored value itself when it does not parse. */
export function formatPhone(e164: string): string {
  try {
    return phoneNumbers().parsePhoneNumberWithError(e164).formatInternational();
  } catch {
    return e164;
  }
}

/**
 * Binding, changing and unbinding the phone number in the personal center. A
 * 6-digit code goes by SMS to the number; the number is bound (verified) only
 * when the code comes back, for that number: the code is bound to it
 * (OneTimeSecrets `bindTo`), so a code sent to one number is a wrong code for
 * any other. Sending is limited per number and per user.
 *
 * A number another user of the realm has is refused when the code comes back
 * (the store's unique index decides), not when it is asked for: only whoever
 * holds that phone learns that it has an account, as with email.
 */
export class PhoneService {
  constructor(
    private readonly store: Store,
    private readonly secrets: OneTimeSecrets,
    private readonly sms: SmsSender,
    private readonly texts: SmsTexts,
    private readonly makeLimiter: LimiterFactory,
    private readonly logger: Logger,
    private readonly clock: () => Date,
  ) {}

  private limitersFor(realm: RealmConfig) {
    return {
      perNumber: this.makeLimiter(`${realm.id}:phone-code-number`, realm.rateLimits.phoneCodePerNumber),
      perUser: this.makeLimiter(`${realm.id}:phone-code-user`, realm.rateLimits.phoneCodePerUser),
    };
  }

  /** The typed number as E.164, or the form's error. */
  parse(realm: RealmConfig, input: string): string {
    const phone = parsePhone(input, realm.account.defaultPhoneCountry);
    if (!phone) throw new FlowError(400, realm.account.defaultPhoneCountry ? 'phonePage.invalidNumber' : 'phonePage.invalidNumberInternational', {}, 'phone');
    return phone;
  }

  /** Texts a fresh code to `phone` (E.164); the older code stops working. */
  async sendCode(realm: RealmConfig, user: User, phone: string, locale: string, origin: SessionOrigin): Promise<void> {
    if (user.phone === phone && user.phoneVerified) throw new FlowError(400, 'phonePage.sameNumber', {}, 'phone');
    const { perNumber, perUser } = this.limitersFor(realm);
    // Counted before sending, in one step (parallel requests cannot outrun it): a failed send still cost a request to the provider.
    const wait = await takeAll([perNumber, phone], [perUser, user.id]);
    if (wait > 0) throw tooManyAttempts(wait);
    const code = await this.secrets.issueCode(realm.id, user.id, 'bind-phone', PHONE_CODE_TTL_MINUTES * 60_000, { phone }, phone);
    const t = this.texts(user.locale ?? locale);
    const text = t('sms.bindPhone', { code, realm: realm.name, minutes: PHONE_CODE_TTL_MINUTES });
    try {
      await this.sms.send({ realm, to: phone, text, kind: 'bind-phone', userId: user.id });
    } catch (err) {
      if (!(err instanceof SmsDeliveryError)) throw err;
      this.logger.warn({ err: err.message, realm: realm.id, transport: this.sms.name }, 'sms: could not send the phone code');
      // Nobody received it: no code is left waiting for the page.
      await this.secrets.revoke(realm.id, user.id, 'bind-phone');
      throw new FlowError(503, 'phonePage.sendFailed');
    }
    await publish(this.store.events, { realm, userId: user.id, type: 'user.phone.code_sent', origin, at: this.clock(), data: { phone } });
  }

  /** The code typed back, for the number it was sent to: binds the number, verified. */
  async confirm(realm: RealmConfig, user: User, phone: string, code: string, origin: SessionOrigin): Promise<User> {
    const check = await this.secrets.checkCode(realm.id, 'bind-phone', user.id, code, PHONE_CODE_ATTEMPTS, phone);
    if (check.result === 'wrong') {
      await publish(this.store.events, { realm, userId: user.id, type: 'user.phone.bind_failed', origin, at: this.clock(), data: { phone } });
      throw new FlowError(400, 'phonePage.wrongCode', {}, 'code');
    }
    // The hash already binds the number; the token's own record says the same or nothing is bound.
    if (check.result !== 'ok' || check.token.data?.phone !== phone) throw new FlowError(400, 'phonePage.codeExpired', {}, 'code');
    const at = this.clock();
    const event = eventOf({ realm, userId: user.id, type: 'user.phone.bound', origin, at, data: { phone, previous: user.phone } });
    try {
      return await this.store.setPhone(realm.id, user.id, phone, true, at, [event]);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new FlowError(409, 'phonePage.taken');
      throw err;
    }
  }

  /** Unbinds the number (and ends a code still waiting). */
  async remove(realm: RealmConfig, user: User, origin: SessionOrigin): Promise<void> {
    await this.secrets.revoke(realm.id, user.id, 'bind-phone');
    if (!user.phone) return;
    const at = this.clock();
    await this.store.setPhone(realm.id, user.id, null, false, at, [eventOf({ realm, userId: user.id, type: 'user.phone.removed', origin, at, data: { phone: user.phone } })]);
  }

}

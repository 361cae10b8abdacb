import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Emit } from '../ports/events.ts';
import type { CodeCheck, OneTimeToken, OneTimeTokensPort } from '../ports/one-time-tokens.ts';

/**
 * What a one-time secret is for. Each has a link form and a 6-digit code form
 * ('bind-phone' only the code: an SMS carries no link).
 * bind-email: data { email, sid } (the new address, proven by the code or the link; the login session that asked).
 * bind-phone: data { phone } (E.164; the code is bound to the number, see `bindTo`).
 * impersonate: only the link (issueLink), data { act, reason, maxMinutes, operator } (services/impersonation.ts).
 */
export type OneTimePurpose = 'verify-email' | 'reset-password' | 'bind-email' | 'bind-phone' | 'impersonate';
const codePurpose = (purpose: OneTimePurpose) => `${purpose}-code`;

/** The purposes a secret of `purpose` is stored under (its link and its code): what revoking it ends. */
export function storedPurposes(purpose: OneTimePurpose): string[] {
  return [purpose, codePurpose(purpose)];
}

export interface IssuedSecret {
  /** 32 random bytes, base64url: goes into the mailed link. */
  token: string;
  /** 6 digits: goes into the mail for typing. */
  code: string;
}

/**
 * One-time tokens and codes (DESIGN.md §2): handed to the user once, stored
 * only as an HMAC under a server-side key, single use, expiring. Issuing a
 * new pair ends the older ones of the same purpose.
 */
export class OneTimeSecrets {
  constructor(
    private readonly store: OneTimeTokensPort,
    /** Server-side key: a leaked table alone cannot be used to test guesses. */
    private readonly key: string,
    private readonly clock: () => Date,
  ) {}

  private hash(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url');
  }

  /** `bindTo` (e.g. a phone number) goes into the hash: the code then matches only when checked for the same value. */
  private hashCode(userId: string, code: string, bindTo?: string): string {
    return this.hash(bindTo === undefined ? `${userId}:${code}` : `${userId}:${bindTo}:${code}`);
  }

  /**
   * A code repeated for the same user (one in a million) replaces the older, already revoked, one.
   * `emit`: the events of the new link (e.g. user.password_token.created), written with it.
   */
  async issue(realmId: string, userId: string, purpose: OneTimePurpose, ttl: { linkMs: number; codeMs: number }, data: Record<string, unknown> | null, emit?: Emit): Promise<IssuedSecret> {
    const now = this.clock();
    await this.store.revokeOneTimeTokens(realmId, userId, storedPurposes(purpose), now);
    const token = randomBytes(32).toString('base64url');
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.store.createOneTimeToken({ realmId, purpose, tokenHash: this.hash(token), userId, expiresAt: new Date(now.getTime() + ttl.linkMs), createdAt: now, data }, emit);
    await this.store.createOneTimeToken({
      realmId,
      purpose: codePurpose(purpose),
      tokenHash: this.hashCode(userId, code),
      userId,
      expiresAt: new Date(now.getTime() + ttl.codeMs),
      createdAt: now,
      data,
    });
    return { token, code };
  }

  /**
   * Only a 6-digit code (an SMS), bound to `bindTo`: checked for another value
   * it is simply wrong. Ends the older codes and links of the purpose.
   */
  async issueCode(realmId: string, userId: string, purpose: OneTimePurpose, ttlMs: number, data: Record<string, unknown> | null, bindTo: string): Promise<string> {
    const now = this.clock();
    await this.store.revokeOneTimeTokens(realmId, userId, [purpose, codePurpose(purpose)], now);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.store.createOneTimeToken({
      realmId,
      purpose: codePurpose(purpose),
      tokenHash: this.hashCode(userId, code, bindTo),
      userId,
      expiresAt: new Date(now.getTime() + ttlMs),
      createdAt: now,
      data,
    });
    return code;
  }

  /**
   * A further link token for the user, next to the live ones (not replacing
   * them): e.g. what an accepted code turns into, so that a newer request or a
   * password change ends it like any link.
   */
  async issueLink(realmId: string, userId: string, purpose: OneTimePurpose, ttlMs: number, data: Record<string, unknown> | null): Promise<string> {
    const now = this.clock();
    const token = randomBytes(32).toString('base64url');
    await this.store.createOneTimeToken({ realmId, purpose, tokenHash: this.hash(token), userId, expiresAt: new Date(now.getTime() + ttlMs), createdAt: now, data });
    return token;
  }

  /** The live token behind a link, left unconsumed (a page that only shows a form). */
  peek(realmId: string, purpose: OneTimePurpose, token: string): Promise<OneTimeToken | null> {
    return this.store.findOneTimeToken(realmId, purpose, this.hash(token), this.clock());
  }

  /** Consumes the token behind a link: exactly one caller gets it, also under concurrency. `emit`: written with the consumption. */
  consume(realmId: string, purpose: OneTimePurpose, token: string, emit?: Emit<OneTimeToken | null>): Promise<OneTimeToken | null> {
    return this.store.consumeOneTimeToken(realmId, purpose, this.hash(token), this.clock(), emit);
  }

  /** Checks a typed code (for the value it was bound to, if any); `maxAttempts` wrong guesses end it. */
  checkCode(realmId: string, purpose: OneTimePurpose, userId: string, code: string, maxAttempts: number, bindTo?: string): Promise<CodeCheck> {
    return this.store.checkOneTimeCode(realmId, codePurpose(purpose), userId, this.hashCode(userId, code, bindTo), this.clock(), maxAttempts);
  }

  /** Ends every live token and code of `purpose` (e.g. the password changed, so reset links die). */
  async revoke(realmId: string, userId: string, purpose: OneTimePurpose): Promise<void> {
    await this.store.revokeOneTimeTokens(realmId, userId, [purpose, codePurpose(purpose)], this.clock());
  }
}

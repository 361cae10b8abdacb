import type { Emit } from './events.ts';

/**
 * One-time tokens: the hashes of the links and short codes mailed or texted to users (identity/one-time.ts
 * makes and checks them). Part of the Store (src/store/port.ts), whose adapters pass test/contract/one-time-tokens.contract.ts.
 * An `emit` is appended in the same transaction as the change (ports/events.ts).
 */

export interface OneTimeToken {
  realmId: string;
  purpose: string;
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  consumedAt: Date | null;
  createdAt: Date;
  /** Wrong guesses so far (codes). */
  attempts: number;
  /** What the flow needs afterwards (e.g. where the user goes), as the flow wrote it. */
  data: Record<string, unknown> | null;
}

export type NewOneTimeToken = Omit<OneTimeToken, 'consumedAt' | 'attempts' | 'data'> & { data?: Record<string, unknown> | null };

/** How checking a short code went: ok (consumed), wrong (one try spent), exhausted (no tries left), none (no live code). */
export type CodeCheck = { result: 'ok'; token: OneTimeToken } | { result: 'wrong' | 'exhausted' | 'none' };

export interface OneTimeTokensPort {
  createOneTimeToken(token: NewOneTimeToken, emit?: Emit): Promise<void>;
  /** The live token (not consumed, not expired), without consuming it. */
  findOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date): Promise<OneTimeToken | null>;
  /** Marks the token consumed and returns it, atomically; null when unknown, expired or already consumed. */
  consumeOneTimeToken(realmId: string, purpose: string, tokenHash: string, at: Date, emit?: Emit<OneTimeToken | null>): Promise<OneTimeToken | null>;
  /**
   * Checks a short code against the user's newest live token of `purpose`, atomically:
   * a match consumes it; a miss spends one of `maxAttempts` tries.
   */
  checkOneTimeCode(realmId: string, purpose: string, userId: string, codeHash: string, at: Date, maxAttempts: number): Promise<CodeCheck>;
  /** Ends every live token of the user for these purposes (a newer one replaces them, or the password changed). Returns how many. */
  revokeOneTimeTokens(realmId: string, userId: string, purposes: string[], at: Date): Promise<number>;
}

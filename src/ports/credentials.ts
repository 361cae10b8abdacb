import type { Emit } from './events.ts';

/**
 * Users' second factors: the TOTP authenticator and its recovery codes (identity/totp.ts seals the secret
 * and hashes the codes). Part of the Store (src/store/port.ts), whose adapters pass test/contract/credentials.contract.ts.
 * An `emit` is appended in the same transaction as the change (ports/events.ts); a function of a boolean answer gets
 * whether the write changed anything.
 */

/** A user's TOTP authenticator. `secret` is stored as the caller gives it (encrypted by identity/totp). */
export interface TotpCredential {
  realmId: string;
  userId: string;
  secret: string;
  /** Null while enrolment waits for the first code. */
  confirmedAt: Date | null;
  /** The newest time step accepted: a code of this step or older is refused (no replay). */
  lastStep: number;
  createdAt: Date;
}

export interface CredentialsPort {
  /** The user's authenticator, confirmed or still enrolling. */
  getTotp(realmId: string, userId: string): Promise<TotpCredential | null>;
  /** Starts (or restarts) an enrolment with `secret`; false when a confirmed authenticator exists (it is left alone). */
  beginTotp(realmId: string, userId: string, secret: string, at: Date): Promise<boolean>;
  /** Activates the pending authenticator, spending `step`; false when there is none pending. */
  confirmTotp(realmId: string, userId: string, step: number, at: Date, emit?: Emit<boolean>): Promise<boolean>;
  /** Records `step` as used when it is newer than the last one, atomically: of two racing calls with one step, one gets true. */
  useTotpStep(realmId: string, userId: string, step: number): Promise<boolean>;
  /** Removes the authenticator and every recovery code; false when there was none. */
  deleteTotp(realmId: string, userId: string, emit?: Emit<boolean>): Promise<boolean>;
  /** Replaces every recovery code of the user with these hashes. */
  replaceRecoveryCodes(realmId: string, userId: string, codeHashes: string[], at: Date, emit?: Emit): Promise<void>;
  /** Spends one unused recovery code, atomically; false when unknown or already used. */
  useRecoveryCode(realmId: string, userId: string, codeHash: string, at: Date): Promise<boolean>;
  /** How many recovery codes are left unused. */
  countRecoveryCodes(realmId: string, userId: string): Promise<number>;
}

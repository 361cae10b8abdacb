import { dictionary } from '@zxcvbn-ts/language-common';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  rejectCommon: boolean;
}

/** The ~50k most common passwords, shipped with @zxcvbn-ts/language-common. */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  return common;
}

export type PasswordProblem = 'password.tooShort' | 'password.tooLong' | 'password.common' | 'password.containsIdentifier';

/**
 * ASVS 6.2: length only, no composition rules, no truncation; common passwords
 * and the user's own identifiers are refused. Length counts code points.
 */
export function checkPassword(password: string, policy: PasswordPolicy, identifiers: Array<string | null | undefined> = []): PasswordProblem | null {
  const length = [...password].length;
  if (length < policy.minLength) return 'password.tooShort';
  if (length > policy.maxLength) return 'password.tooLong';
  const lowered = password.toLowerCase();
  if (policy.rejectCommon && commonPasswords().has(lowered)) return 'password.common';
  for (const id of identifiers) {
    if (!id) continue;
    const local = id.toLowerCase().split('@')[0] ?? '';
    if (lowered === id.toLowerCase() || (local.length >= 4 && lowered === local)) return 'password.containsIdentifier';
  }
  return null;
}

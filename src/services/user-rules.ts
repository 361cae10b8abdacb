import { randomBytes } from 'node:crypto';
import type { RealmConfig } from '../config/index.ts';
import { RuleViolation, type FieldIssue } from '../domain/errors.ts';
import { isIsoDate } from '../flows/profile/attributes.ts';
import type { AttributeValue } from '../identity/user.ts';

/** The realm's username rules (AuthRocket "Settings: Fields"), in one place for every way a user is made or changed. */

const EMAIL = /^[^\s@\u0000-\u001f\u007f]{1,64}@[^\s@\u0000-\u001f\u007f]{1,190}\.[^\s@\u0000-\u001f\u007f.]{2,63}$/;

export const isEmail = (v: string): boolean => EMAIL.test(v);

/** A username nobody typed: what an API user gets when the caller leaves it blank. */
export function generatedUsername(): string {
  return `api-${randomBytes(8).toString('hex')}`;
}

/**
 * The username a new or changed user ends up with, or the rule it breaks.
 * Humans in a realm of emails-as-usernames: the email is the username. API
 * users there may have a generated one, but a given one must be an email.
 */
export function resolveUsername(realm: RealmConfig, userType: 'human' | 'api', username: string | undefined, email: string | null | undefined): string {
  let chosen = username;
  if (realm.fields.usernames === 'email' && userType === 'human') {
    if (!email) throw new RuleViolation([{ field: 'email', code: 'required', message: 'this realm uses emails as usernames' }]);
    if (username !== undefined && username.toLowerCase() !== email.toLowerCase()) {
      throw new RuleViolation([{ field: 'username', code: 'username.is_email', message: 'this realm uses emails as usernames: leave username out or equal to email' }]);
    }
    chosen = email;
  } else if (chosen === undefined || chosen === '') {
    if (userType === 'api') return generatedUsername();
    throw new RuleViolation([{ field: 'username', code: 'required', message: 'this realm uses separate usernames' }]);
  } else if (realm.fields.usernames === 'email' && !isEmail(chosen)) {
    throw new RuleViolation([{ field: 'username', code: 'username.not_email', message: 'this realm uses emails as usernames' }]);
  }
  return realm.fields.lowercaseUsernames ? chosen!.toLowerCase() : chosen!;
}

/**
 * Custom attributes checked against the realm's definitions (`account.attributes`)
 * where one exists for the key; other keys take any scalar or array of scalars
 * (their shape is checked by the request schema).
 */
export function checkCustomAttributes(realm: RealmConfig, custom: Record<string, AttributeValue>): void {
  const issues: FieldIssue[] = [];
  for (const def of realm.account.attributes) {
    if (!Object.hasOwn(custom, def.key)) continue;
    const v = custom[def.key];
    if (v === null) continue;
    const field = `customAttributes.${def.key}`;
    const wrong = (message: string) => issues.push({ field, code: 'custom.type', message });
    switch (def.type) {
      case 'string':
        if (typeof v !== 'string') wrong('must be a string');
        else if ([...v].length > (def.maxLength ?? 200)) wrong(`at most ${def.maxLength ?? 200} characters`);
        break;
      case 'number':
        if (typeof v !== 'number') wrong('must be a number');
        break;
      case 'boolean':
        if (typeof v !== 'boolean') wrong('must be true or false');
        break;
      case 'date':
        if (typeof v !== 'string' || !isIsoDate(v)) wrong('must be a date like 2024-12-31');
        break;
      case 'enum':
        if (typeof v !== 'string' || !def.options?.some((o) => o.value === v)) wrong(`must be one of ${def.options?.map((o) => o.value).join(', ')}`);
        break;
    }
  }
  if (issues.length > 0) throw new RuleViolation(issues);
}

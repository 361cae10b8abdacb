/**
 * The typed errors of the services (realms and apps today). The management API maps them to
 * problem+json: NotFoundError → 404, ConflictError → 409, RuleViolation → 422. Pages keep FlowError.
 */

/** The thing asked for does not exist (or is not visible to the caller). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(
    readonly resource: 'realm' | 'app',
    readonly id: string,
  ) {
    super(`${resource} "${id}" not found`);
  }
}

export type ConflictReason =
  /** A realm or app provisioned from the configuration file: read-only to the API (`file` names the file). */
  | 'provisioned'
  /** The realm id is taken (by a realm of the API, of the file, or one the file no longer declares). */
  | 'realm_exists'
  /** The clientId is taken in this realm. */
  | 'app_exists'
  /** A host name (publicUrl's host or one of `hosts`) is served by another realm. */
  | 'host_taken'
  /** The realm still has users: deleting it needs `force`. */
  | 'realm_has_users'
  /** The default realm serves unknown hosts: it cannot be deleted. */
  | 'default_realm';

/** The change cannot be made in the current state of things (HTTP 409). */
export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(
    readonly reason: ConflictReason,
    message: string,
    readonly details: { file?: string; field?: string } = {},
  ) {
    super(message);
  }
}

/** One broken rule: `field` is a dotted path into the request (`fields.emails`, `hosts[1]`). */
export interface RuleIssue {
  field: string;
  code: string;
  message: string;
}

/** The settings break rules: the schema's, a cross-field one, or a one-way setting (HTTP 422). */
export class RuleViolation extends Error {
  override name = 'RuleViolation';
  constructor(readonly issues: RuleIssue[]) {
    super(issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; '));
  }
}

/** A zod-style path as one dotted string: ['hosts', 1] → "hosts[1]". */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

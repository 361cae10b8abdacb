/**
 * Typed errors of the use cases (DESIGN.md §4): services throw them, and each
 * surface maps them once — the management API to problem+json (api/v1/problem.ts),
 * the console and the pages to their own messages. Never bare strings.
 */

/** One thing wrong with one field of the input: `field` is a dotted path ("fields.emails", "custom.age"). */
export interface FieldIssue {
  field: string;
  code: string;
  message: string;
}

export abstract class DomainError extends Error {}

/** No such thing in this realm (another realm's ids are "not found" too, never "forbidden"). */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  constructor(readonly what: string) {
    super(`${what} not found`);
  }
}

/** The change collides with what exists: a taken username, a provisioned (read-only) realm, a stale expectation. */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
  constructor(
    message: string,
    readonly code: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** The input is well-formed but breaks a rule of the realm (password policy, username rules, one-way settings). */
export class RuleViolation extends DomainError {
  override name = 'RuleViolation';
  constructor(
    message: string,
    readonly issues: FieldIssue[],
  ) {
    super(message);
  }
}

/** The caller may not do this (a read-only key writing, a realm-locked key managing keys). */
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
}

/** A zod-style path as one dotted string: ['hosts', 1] → "hosts[1]". */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

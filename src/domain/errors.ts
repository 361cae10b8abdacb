/**
 * Typed errors of the use cases (DESIGN.md §4): services throw them, and each
 * surface maps them once — the management API to problem+json (api/v1/problem.ts),
 * the console and the pages to their own messages. Never bare strings.
 */

/** One thing wrong with one field of the input: `field` is a dotted path ("fields.emails", "customAttributes.age"). */
export interface FieldIssue {
  field: string;
  code: string;
  /** In English, for the API and the configuration file; pages say it in their language (console/issue-text.ts). */
  message: string;
  /** The bound of a too_big / too_small issue (a length, a count, a number). */
  limit?: number;
}

export abstract class DomainError extends Error {}

/** No such thing in this realm (another realm's ids are "not found" too, never "forbidden"). */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  constructor(
    readonly resource: string,
    readonly id: string | null = null,
  ) {
    super(id === null ? `${resource} not found` : `${resource} "${id}" not found`);
  }
}

/** Why a change collides with what exists (a stable code in the 409 problem). */
export type ConflictReason =
  /** A realm or app provisioned from the configuration file: read-only to the API (`details.file` names the file). */
  | 'provisioned'
  | 'realm_exists'
  | 'app_exists'
  | 'host_taken'
  | 'realm_has_users'
  | 'default_realm'
  | 'username.taken'
  | 'email.taken'
  | 'phone.taken'
  | 'identity.taken'
  | 'id.taken'
  | 'expect.mismatch'
  | 'user.not_api'
  | 'user.not_human'
  /** The user is deactivated: they may not sign in, so no one may sign in as them either. */
  | 'user.inactive'
  | 'api_key.hashed'
  | 'api_key.not_sealed'
  /** The operators' calls without a console (no console.publicUrl, or console.enabled false). */
  | 'console.disabled'
  /** Revoking or demoting the last owner of every realm ('*'): the console would have no owner. */
  | 'last_owner'
  /** An operator revoking or lowering their own grant (they would lock themselves out): another owner does it. */
  | 'self_lockout'
  /** The user has a membership of that org already, or a user-only one already. */
  | 'membership_exists'
  /** The org is closed: it takes no new memberships until it is reopened. */
  | 'org.closed'
  /** The realm has a group of that name (any case). */
  | 'group_exists'
  /** The users are members of the group already: nothing was added. */
  | 'group_member_exists'
  /** The invitation was accepted or revoked already: it cannot be resent, revoked or accepted. */
  | 'invitation.gone'
  /** The join request was approved or rejected already. */
  | 'join_request.decided';

/** The change collides with what exists: a taken username, a provisioned (read-only) realm, a stale expectation. */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
  constructor(
    readonly reason: ConflictReason,
    message: string,
    readonly details: { file?: string; field?: string } = {},
  ) {
    super(message);
  }
}

/** The input is well-formed but breaks a rule of the realm (password policy, username rules, one-way settings). */
export class RuleViolation extends DomainError {
  override name = 'RuleViolation';
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; '));
  }
}

/** The realms service's name for a field issue. */
export type RuleIssue = FieldIssue;

/** The caller may not do this (a read-only key writing, a realm-locked key managing keys). */
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
}

/** Too many of one act within a realm's rate limit (`rateLimits.*`): the API answers 429 with Retry-After, the console says how long to wait. */
export class RateLimited extends DomainError {
  override name = 'RateLimited';
  constructor(
    /** The rule's name under `rateLimits` ("invitationResend"). */
    readonly rule: string,
    readonly retryAfterMs: number,
  ) {
    super(`too many attempts (rateLimits.${rule}): try again in ${Math.ceil(retryAfterMs / 1000)} s`);
  }

  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

/** A zod-style path as one dotted string: ['hosts', 1] → "hosts[1]". */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/** The bound a zod too_big / too_small issue names, kept so a page can say it in its own language. */
export function issueLimit(issue: { code: string; maximum?: unknown; minimum?: unknown }): { limit?: number } {
  const bound = issue.code === 'too_big' ? issue.maximum : issue.code === 'too_small' ? issue.minimum : undefined;
  return typeof bound === 'number' || typeof bound === 'bigint' ? { limit: Number(bound) } : {};
}

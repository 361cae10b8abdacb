import { hasPermission } from './permissions.ts';
import type { AppAccess } from './realm-settings.ts';

/**
 * Whether an app's access rule lets a user receive its JWT (docs/design/orgs.md §6; GenAuth "Control which
 * applications a user can access", AuthRocket "Limiting Access to Certain SSO Apps"). Plain rule, no I/O: the
 * facts come from every live membership and group of the user — never from the token, which may be truncated.
 */
export interface AccessFacts {
  /** Every permission the user holds now (live memberships of active orgs, the user-only one, groups). */
  permissions: readonly string[];
  /** Whether the user is a live member of one of the rule's orgs or groups. */
  member: boolean;
}

export function accessAllows(access: AppAccess, facts: AccessFacts): boolean {
  switch (access.type) {
    case 'everyone':
      return true;
    case 'permission':
      return hasPermission(facts.permissions, access.permission);
    case 'members':
      return facts.member;
  }
}

/** One thing the user holds now that an access rule can count: a live membership of an active org, the live user-only membership, a group. */
export type AccessSource =
  | { kind: 'org'; orgId: string; membershipId: string; name: string; permissions: readonly string[] }
  | { kind: 'user_only'; membershipId: string; permissions: readonly string[] }
  | { kind: 'group'; groupId: string; permissions: readonly string[] };

/** Why an app's rule lets the user in or not (the console's Apps panel): the rule, and what of the user's it matched. */
export type AccessExplanation =
  | { allowed: true; type: 'everyone' }
  | { allowed: boolean; type: 'permission'; permission: string; /** The sources whose permissions grant it (none: refused). */ via: AccessSource[] }
  | { allowed: boolean; type: 'members'; /** The rule's orgs and groups the user is a live member of (none: refused). */ orgs: string[]; groups: string[] };

/**
 * accessAllows over the user's sources, with the why: the one rule the hand-off (HandoffService) and the console
 * (AppAccessService.explain) both decide by — `allowed` is accessAllows' answer on the same facts, never a second rule.
 */
export function explainAccess(access: AppAccess, sources: readonly AccessSource[]): AccessExplanation {
  const facts = (member: boolean): AccessFacts => ({ permissions: sources.flatMap((s) => s.permissions), member });
  switch (access.type) {
    case 'everyone':
      return { allowed: true, type: 'everyone' };
    case 'permission':
      return { allowed: accessAllows(access, facts(false)), type: 'permission', permission: access.permission, via: sources.filter((s) => hasPermission(s.permissions, access.permission)) };
    case 'members': {
      const orgs = sources.flatMap((s) => (s.kind === 'org' && access.orgs.includes(s.orgId) ? [s.orgId] : []));
      const groups = sources.flatMap((s) => (s.kind === 'group' && access.groups.includes(s.groupId) ? [s.groupId] : []));
      return { allowed: accessAllows(access, facts(orgs.length + groups.length > 0)), type: 'members', orgs: [...new Set(orgs)], groups: [...new Set(groups)] };
    }
  }
}

/** The rule as the `user.app_access.denied` event names it. */
export function describeAccess(access: AppAccess): string {
  switch (access.type) {
    case 'everyone':
      return 'everyone';
    case 'permission':
      return `permission:${access.permission}`;
    case 'members':
      return 'members';
  }
}

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

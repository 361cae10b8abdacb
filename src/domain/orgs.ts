import type { AttributeValue } from '../identity/user.ts';
import type { SortDirection } from './user-query.ts';

/**
 * Orgs, memberships and groups (issue 14, docs/design/orgs.md §2.1): plain types and rules, no I/O. A user
 * belongs to an org through a membership, one per (user, org); a user may also have one user-only membership
 * (`orgId` null), which carries permissions put directly on the user (AuthRocket's two flavours); and a user
 * may be a member of groups, whose permissions they hold too.
 */

export type OrgState = 'active' | 'closed';

export interface Org {
  /** `org_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  name: string;
  /** The app's own id of the org. */
  reference: string | null;
  customAttributes: Record<string, AttributeValue>;
  /** A closed org keeps its memberships, but they count for nothing (no token entry, no access). */
  state: OrgState;
  createdAt: Date;
  updatedAt: Date;
}

export interface Membership {
  /** `mb_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  userId: string;
  /** null: the user-only membership. */
  orgId: string | null;
  /** As stored: lower-case, each once (domain/permissions.ts normalizePermissions — the service's job). */
  permissions: string[];
  customAttributes: Record<string, AttributeValue>;
  /** After this instant the membership counts for nothing (it stays listed until deleted). */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewOrg {
  realmId: string;
  name: string;
  reference?: string | null;
  customAttributes?: Record<string, AttributeValue>;
  /** 'active' when absent. */
  state?: OrgState;
}

/** What a change of an org sets; absent keys stay, `reference: null` clears, custom attributes are replaced whole. */
export interface OrgPatch {
  name?: string;
  reference?: string | null;
  customAttributes?: Record<string, AttributeValue>;
  state?: OrgState;
}

export interface NewMembership {
  realmId: string;
  userId: string;
  orgId: string | null;
  permissions?: string[];
  customAttributes?: Record<string, AttributeValue>;
  expiresAt?: Date | null;
}

/** What a change of a membership sets; absent keys stay, `expiresAt: null` makes it last, custom attributes are replaced whole. */
export interface MembershipPatch {
  permissions?: string[];
  customAttributes?: Record<string, AttributeValue>;
  expiresAt?: Date | null;
}

/** Whether the membership counts at `at`: it has no end, or its end is later. */
export const isLive = (m: Pick<Membership, 'expiresAt'>, at: Date): boolean => m.expiresAt === null || m.expiresAt.getTime() > at.getTime();

/** What the orgs list filters by: one filter serves the list and the count. */
export interface OrgFilter {
  state?: OrgState;
  /** Prefix of the name, any case (folded as users' names are: normalizeLogin). */
  q?: string;
  /** Exact: the app-side id. */
  reference?: string;
  /** Both bounds exclusive. */
  createdAfter?: Date;
  createdBefore?: Date;
}

export const ORG_SORT_KEYS = ['name', 'createdAt'] as const;
export type OrgSortKey = (typeof ORG_SORT_KEYS)[number];

export interface OrgSort {
  key: OrgSortKey;
  direction: SortDirection;
}

/** Where a page of orgs ends: the last org's sort value (the folded name, or the creation time in ms) and id. */
export interface OrgCursor {
  value: string | number;
  id: string;
}

/** Where a page of memberships (oldest first) ends: the last one's creation time and id. */
export interface CreatedCursor {
  createdAt: Date;
  id: string;
}

/** Which memberships to list: a user's, an org's (`orgId: null`: user-only ones), or both at once. */
export interface MembershipQuery {
  userId?: string;
  orgId?: string | null;
  /** false: only those live at `at`. */
  includeExpired: boolean;
  at: Date;
}

/** One org of the user's, as the hand-off sees it: the membership, its permissions and the org's public side. */
export interface OrgEntry {
  membershipId: string;
  orgId: string;
  name: string;
  reference: string | null;
  /** The org's custom attributes. */
  customAttributes: Record<string, AttributeValue>;
  permissions: string[];
}

/**
 * What a user holds at one instant, in one consistent read (OrgsPort.accessOf): the live user-only membership,
 * the live memberships of active orgs — the selected one first, then the newest membership first, at most
 * `maxOrgs` — whether some were left out, and the user's groups with their permissions (oldest membership first).
 */
export interface AccessView {
  userOnly: { id: string; permissions: string[] } | null;
  orgs: OrgEntry[];
  truncated: boolean;
  groups: Array<{ id: string; permissions: string[] }>;
}

/**
 * A group of users of a realm (GenAuth's "user groups", docs/design/orgs.md §2.1, §3.2): a name unique in the
 * realm (any case), and permissions every member holds — they join the top-level `perm` of the members' JWTs.
 */
export interface Group {
  /** `grp_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  name: string;
  description: string | null;
  /** As stored: lower-case, each once (normalizePermissions — the service's job). */
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface NewGroup {
  realmId: string;
  name: string;
  description?: string | null;
  permissions?: string[];
}

/** What a change of a group sets; absent keys stay, `description: null` clears, permissions are replaced whole. */
export interface GroupPatch {
  name?: string;
  description?: string | null;
  permissions?: string[];
}

/** Which groups to list: a name prefix (any case, folded as orgs' are), and only those a user is a member of. */
export interface GroupQuery {
  q?: string;
  userId?: string;
}

/** Where a page of groups (by folded name, then id) ends. */
export interface GroupCursor {
  nameNorm: string;
  id: string;
}

/** One member of a group: who, and since when (the members list's order, oldest first). */
export interface GroupMember {
  userId: string;
  addedAt: Date;
}

/** What adding users to a group did to each of them (each id once, in the order given). */
export interface GroupMembersAdded {
  added: string[];
  /** Members already. */
  already: string[];
  /** No such user in the realm. */
  missing: string[];
}

import type { EmailVerification } from '../identity/user.ts';

/**
 * What the users list filters and sorts by (AuthRocket "Users"): one filter
 * serves the list, the count, the export and the bulk delete.
 */
export interface UserFilter {
  userType?: 'human' | 'api';
  state?: 'active' | 'inactive';
  createdAfter?: Date;
  createdBefore?: Date;
  /** Prefix of the username, the email or the name (case-insensitive), or of the reference (as stored: case-sensitive). */
  q?: string;
  /** Exact: the app-side id. */
  reference?: string;
  emailVerification?: EmailVerification;
}

export const USER_SORT_KEYS = ['username', 'email', 'name', 'createdAt', 'lastLoginAt', 'state'] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];
export type SortDirection = 'asc' | 'desc';

export interface UserSort {
  key: UserSortKey;
  direction: SortDirection;
}

/** Where a page ends: the last row's sort value and id (opaque to callers, see user-cursor.ts). */
export interface UserCursor {
  value: string | number;
  id: string;
}

/** Whether the filter uses only what the counters keep (type, state, verification): then counting is O(1). */
export function countableByCounters(filter: UserFilter): boolean {
  return filter.q === undefined && filter.reference === undefined && filter.createdAfter === undefined && filter.createdBefore === undefined;
}

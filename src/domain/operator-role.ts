/**
 * Operators' roles (docs/design/console.md §1.2, §4): an operator is a user of the console realm, and each of
 * their grants gives one role on one realm, or on every realm ('*', present and future). Plain rules, no I/O.
 */

export const OPERATOR_ROLES = ['viewer', 'admin', 'owner'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** Every realm, present and future. */
export const ALL_REALMS = '*';

export interface RoleGrant {
  /** The operator's user id in the console realm. */
  operatorId: string;
  /** A realm id, or '*' for every realm. */
  realmId: string;
  role: OperatorRole;
  grantedAt: Date;
  /** Who granted it: an operator's id, or null (the CLI, the development demo). */
  grantedBy: string | null;
}

export type Capability =
  | 'read'
  | 'users.write'
  | 'sessions.write'
  | 'credentials.write'
  | 'impersonate'
  | 'settings.write'
  | 'apps.write'
  | 'keys.write'
  | 'operators.write'
  | 'orgs.write';

const VIEWER: readonly Capability[] = ['read'];
const ADMIN: readonly Capability[] = [...VIEWER, 'users.write', 'sessions.write', 'credentials.write', 'impersonate', 'orgs.write'];
const OWNER: readonly Capability[] = [...ADMIN, 'settings.write', 'apps.write', 'keys.write', 'operators.write'];

/** What each role may do on the realms it holds: each role has every capability of the one below it. */
export const ROLE_CAPABILITIES: Readonly<Record<OperatorRole, readonly Capability[]>> = { viewer: VIEWER, admin: ADMIN, owner: OWNER };

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (OPERATOR_ROLES as readonly string[]).includes(value);
}

/** The higher of two roles (null: none). */
export function higherRole(a: OperatorRole | null, b: OperatorRole | null): OperatorRole | null {
  if (a === null) return b;
  if (b === null) return a;
  return OPERATOR_ROLES.indexOf(a) >= OPERATOR_ROLES.indexOf(b) ? a : b;
}

/** The operator's role on `realmId`: their grant on it or their '*' grant, the higher of the two; null: none. */
export function roleOn(grants: readonly RoleGrant[], realmId: string): OperatorRole | null {
  let role: OperatorRole | null = null;
  for (const g of grants) if (g.realmId === realmId || g.realmId === ALL_REALMS) role = higherRole(role, g.role);
  return role;
}

/** Whether the grants allow `capability` on `realmId`. `realmId` '*' asks about the '*' grant alone (creating a realm). */
export function can(grants: readonly RoleGrant[], realmId: string, capability: Capability): boolean {
  const role = realmId === ALL_REALMS ? (grants.find((g) => g.realmId === ALL_REALMS)?.role ?? null) : roleOn(grants, realmId);
  return role !== null && ROLE_CAPABILITIES[role].includes(capability);
}

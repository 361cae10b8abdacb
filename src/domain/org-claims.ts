import type { AttributeValue } from '../identity/user.ts';
import type { AccessView, OrgEntry } from './orgs.ts';
import type { TokenField } from './realm-settings.ts';

/**
 * The org part of a realm's JWT (docs/design/orgs.md §4.1, §4.4): plain rules, no I/O. AuthRocket 2's names —
 * `perm` at the top level, and one `orgs[]` entry per live membership of an active org.
 */

/** One `orgs[]` entry. `name`, `ref` and `cs` only with the `orgs` field; empty `ref`/`cs`/`perm` are left out. */
export interface OrgClaim {
  oid: string;
  mid: string;
  name?: string;
  ref?: string;
  cs?: Record<string, AttributeValue>;
  perm?: string[];
  selected?: true;
}

export interface OrgClaims {
  perm?: string[];
  orgs?: OrgClaim[];
  orgs_truncated?: true;
}

/** Whether the hand-off must read the user's memberships: the realm's JWT carries `memberships` or `orgs`. */
export const needsAccessView = (realm: { tokens: { fields: readonly TokenField[] } }): boolean => realm.tokens.fields.some((f) => f !== 'custom');

/**
 * The claims `view` gives under the realm's `fields`. Nothing without `memberships` or `orgs`; with either,
 * `orgs` is always there (possibly `[]`, so an app tells "no orgs" from "not sent"), `perm` when the user holds
 * any directly or through a group, `orgs_truncated` only when entries were left out. The view's order is kept, with the selected
 * org moved first.
 */
export function orgClaims(view: AccessView, fields: readonly TokenField[], selectedOrgId: string | null): OrgClaims {
  const withOrgs = fields.includes('orgs');
  if (!withOrgs && !fields.includes('memberships')) return {};
  const out: OrgClaims = {};
  // The user-only membership's permissions, then each group's in the view's order, each once where it first appears.
  const perm = [...new Set([...(view.userOnly?.permissions ?? []), ...view.groups.flatMap((g) => g.permissions)])];
  if (perm.length > 0) out.perm = perm;
  const selected = selectedOrgId === null ? -1 : view.orgs.findIndex((o) => o.orgId === selectedOrgId);
  const ordered = selected > 0 ? [view.orgs[selected]!, ...view.orgs.slice(0, selected), ...view.orgs.slice(selected + 1)] : view.orgs;
  out.orgs = ordered.map((o) => entry(o, withOrgs, o.orgId === selectedOrgId));
  if (view.truncated) out.orgs_truncated = true;
  return out;
}

function entry(o: OrgEntry, withOrg: boolean, selected: boolean): OrgClaim {
  const e: OrgClaim = { oid: o.orgId, mid: o.membershipId };
  if (withOrg) {
    e.name = o.name;
    if (o.reference) e.ref = o.reference;
    if (Object.keys(o.customAttributes).length > 0) e.cs = o.customAttributes;
  }
  if (o.permissions.length > 0) e.perm = [...o.permissions];
  if (selected) e.selected = true;
  return e;
}

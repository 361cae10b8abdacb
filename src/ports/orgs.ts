import type {
  AccessView,
  CreatedCursor,
  Group,
  GroupCursor,
  GroupMember,
  GroupMembersAdded,
  GroupPatch,
  GroupQuery,
  Membership,
  MembershipPatch,
  MembershipQuery,
  NewGroup,
  NewMembership,
  NewOrg,
  Org,
  OrgCursor,
  OrgFilter,
  OrgPatch,
  OrgSort,
} from '../domain/orgs.ts';
import type { Emit } from './events.ts';

/**
 * Orgs and their memberships, and groups (docs/design/orgs.md §2.1), one port: the hand-off reads them in one
 * consistent read, and deleting an org takes its memberships in the same transaction. Part of the Store as
 * `store.orgs`; every adapter passes test/contract/orgs.contract.ts, memberships.contract.ts and
 * groups.contract.ts. Uniqueness is the database's (UniqueViolation('membership' | 'group') from its index,
 * never check-then-insert). A write that takes an
 * `emit` appends those events in the same transaction as its change (ports/events.ts); a write refused or
 * finding nothing appends none when its emit is a function (it is handed null and returns none).
 * Deleting a user (users-admin) deletes the user's memberships and group memberships with it; a realm purge
 * (directory) its orgs, memberships, groups and group members.
 */
export interface OrgsPort {
  createOrg(org: NewOrg, at: Date, emit?: Emit<Org>): Promise<Org>;
  findOrg(realmId: string, id: string): Promise<Org | null>;
  queryOrgs(realmId: string, filter: OrgFilter, sort: OrgSort, after: OrgCursor | null, limit: number): Promise<{ orgs: Org[]; next: OrgCursor | null }>;
  countOrgs(realmId: string, filter: OrgFilter): Promise<number>;
  /** null when there is no such org (then emit is handed null). */
  patchOrg(realmId: string, id: string, patch: OrgPatch, at: Date, emit?: Emit<Org | null>): Promise<Org | null>;
  /** The org, its memberships and its invitations, in one transaction. */
  deleteOrg(realmId: string, id: string, emit?: Emit<{ org: Org; memberships: number } | null>): Promise<{ org: Org; memberships: number } | null>;

  /**
   * Inserts only while the user exists and the org (when given) exists and is active — in the same
   * statement/transaction, so a concurrent delete or close leaves no orphan. UniqueViolation('membership')
   * for a second (user, org) or a second user-only one. Refused (`missing`): nothing written, no events.
   */
  createMembership(m: NewMembership, at: Date, emit?: Emit<Membership>): Promise<{ created: Membership } | { missing: 'user' | 'org' | 'org_closed' }>;
  findMembership(realmId: string, id: string): Promise<Membership | null>;
  /** The user's membership of `orgId`, or the user-only one for null; expired ones too. */
  findMembershipOf(realmId: string, userId: string, orgId: string | null): Promise<Membership | null>;
  /** Oldest first by (createdAt, id). */
  queryMemberships(realmId: string, q: MembershipQuery, after: CreatedCursor | null, limit: number): Promise<{ memberships: Membership[]; next: CreatedCursor | null }>;
  patchMembership(realmId: string, id: string, patch: MembershipPatch, at: Date, emit?: Emit<Membership | null>): Promise<Membership | null>;
  deleteMembership(realmId: string, id: string, emit?: Emit<Membership | null>): Promise<Membership | null>;

  /** UniqueViolation('group') when the realm has a group of that name (any case). */
  createGroup(group: NewGroup, at: Date, emit?: Emit<Group>): Promise<Group>;
  findGroup(realmId: string, id: string): Promise<Group | null>;
  /** By folded name, then id; `userId`: only the groups that user is a member of. */
  queryGroups(realmId: string, q: GroupQuery, after: GroupCursor | null, limit: number): Promise<{ groups: Group[]; next: GroupCursor | null }>;
  /** null when there is no such group (then emit is handed null); UniqueViolation('group') for a name taken. */
  patchGroup(realmId: string, id: string, patch: GroupPatch, at: Date, emit?: Emit<Group | null>): Promise<Group | null>;
  /** The group and its members, in one transaction. */
  deleteGroup(realmId: string, id: string, emit?: Emit<{ group: Group; members: number } | null>): Promise<{ group: Group; members: number } | null>;
  /**
   * Adds the users (each id once) who exist in the realm and are not members yet, in one transaction that also
   * holds the group and the users: a concurrent delete of either leaves no orphan, and of concurrent adds of
   * one user exactly one reports it `added`. null when there is no such group (emit handed null). emit is
   * handed the ids added (possibly none).
   */
  addGroupMembers(realmId: string, groupId: string, userIds: readonly string[], at: Date, emit?: Emit<string[] | null>): Promise<GroupMembersAdded | null>;
  /** Whether the user was a member (emit is handed that). */
  removeGroupMember(realmId: string, groupId: string, userId: string, emit?: Emit<boolean>): Promise<boolean>;
  /** Oldest first by (addedAt, userId): the cursor's id is the user id. */
  queryGroupMembers(realmId: string, groupId: string, after: CreatedCursor | null, limit: number): Promise<{ members: GroupMember[]; next: CreatedCursor | null }>;

  /** The hand-off's read (AccessView): one read transaction on SQLite, a few indexed round trips on MongoDB. */
  accessOf(realmId: string, userId: string, at: Date, o: { maxOrgs: number; selectedOrgId: string | null }): Promise<AccessView>;
  /** Every permission of the user's live memberships (user-only, and of active orgs) and groups, each once: the app access rule needs them all, not the truncated JWT's. */
  permissionsOf(realmId: string, userId: string, at: Date): Promise<string[]>;
  /** Whether the user has a live membership of one of these orgs, active, or is a member of one of these groups. */
  memberOfAny(realmId: string, userId: string, at: Date, orgIds: readonly string[], groupIds: readonly string[]): Promise<boolean>;
}

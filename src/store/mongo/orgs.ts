import type { ClientSession, Connection, QueryFilter, SortOrder } from 'mongoose';
import { newId } from '../../domain/ids.ts';
import {
  isLive,
  type AccessView,
  type CreatedCursor,
  type Group,
  type GroupCursor,
  type GroupMember,
  type GroupMembersAdded,
  type GroupPatch,
  type GroupQuery,
  type Membership,
  type MembershipPatch,
  type MembershipQuery,
  type NewGroup,
  type NewMembership,
  type NewOrg,
  type Org,
  type OrgCursor,
  type OrgEntry,
  type OrgFilter,
  type OrgPatch,
  type OrgSort,
} from '../../domain/orgs.ts';
import { normalizeLogin } from '../../identity/user.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { OrgsPort } from '../../ports/orgs.ts';
import { UniqueViolation } from '../../ports/users.ts';
import { escapeRegex, type MongoEvents } from './events.ts';
import type { GroupDoc, GroupMemberDoc, MembershipDoc, Models, OrgDoc } from './schemas.ts';

function toOrg(d: OrgDoc): Org {
  return {
    id: d._id,
    realmId: d.realmId,
    name: d.name,
    reference: d.reference ?? null,
    customAttributes: d.customAttributes ?? {},
    state: d.state,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** A memberships document as the domain's Membership (the invitations adapter makes and widens them too). */
export function toMembership(d: MembershipDoc): Membership {
  return {
    id: d._id,
    realmId: d.realmId,
    userId: d.userId,
    orgId: d.orgId ?? null,
    permissions: [...(d.permissions ?? [])],
    customAttributes: d.customAttributes ?? {},
    expiresAt: d.expiresAt ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

function toGroup(d: GroupDoc): Group {
  return {
    id: d._id,
    realmId: d.realmId,
    name: d.name,
    description: d.description ?? null,
    permissions: [...(d.permissions ?? [])],
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

const isDuplicateKey = (err: unknown) => (err as { code?: unknown } | null)?.code === 11000;

/** A duplicate key of groups_name as UniqueViolation('group'); anything else rethrown. */
function groupViolation(err: unknown): never {
  if (isDuplicateKey(err)) throw new UniqueViolation('group');
  throw err;
}

/** A duplicate key of memberships_user_org as UniqueViolation('membership'); anything else rethrown. */
function membershipViolation(err: unknown): never {
  if ((err as { code?: unknown } | null)?.code === 11000) throw new UniqueViolation('membership');
  throw err;
}

/** Thrown inside createMembership's transaction to abort it (nothing written), caught outside. */
class Refused extends Error {
  constructor(readonly missing: 'user' | 'org' | 'org_closed') {
    super(missing);
  }
}

type Clause = Record<string, unknown>;

const SORT_FIELD = { name: 'nameNorm', createdAt: 'createdAt' } as const;

function clausesOf(realmId: string, filter: OrgFilter): Clause[] {
  const and: Clause[] = [{ realmId }];
  if (filter.state) and.push({ state: filter.state });
  if (filter.reference !== undefined) and.push({ reference: filter.reference });
  if (filter.createdAfter) and.push({ createdAt: { $gt: filter.createdAfter } });
  if (filter.createdBefore) and.push({ createdAt: { $lt: filter.createdBefore } });
  // An anchored, case-sensitive regex on the folded name reads orgs_sort_name as a range.
  if (filter.q !== undefined) and.push({ nameNorm: { $regex: `^${escapeRegex(normalizeLogin(filter.q))}` } });
  return and;
}

/** A live membership at `at`, as a filter. */
const liveAt = (at: Date): Clause => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: at } }] });

/**
 * Orgs, memberships and groups on the MongoDB store's collections. Every multi-document change is a
 * transaction; createMembership writes the user's and the org's document in it (membershipRev), so a
 * concurrent delete or close of either conflicts and one side runs again: no membership of a gone user or a
 * closed org is made. addGroupMembers writes the group's (memberRev) and the users' documents the same way.
 */
export class MongoOrgs implements OrgsPort {
  constructor(
    private readonly connection: Connection,
    private readonly m: Models,
    private readonly events: MongoEvents,
  ) {}

  async createOrg(org: NewOrg, at: Date, emit?: Emit<Org>): Promise<Org> {
    const doc: OrgDoc = {
      _id: newId('org'),
      realmId: org.realmId,
      name: org.name,
      nameNorm: normalizeLogin(org.name),
      reference: org.reference ?? null,
      customAttributes: structuredClone(org.customAttributes ?? {}),
      state: org.state ?? 'active',
      createdAt: at,
      updatedAt: at,
    };
    return this.events.withEvents(async (session) => {
      await this.m.orgs.create([doc], { session });
      return toOrg(doc);
    }, emit);
  }

  async findOrg(realmId: string, id: string): Promise<Org | null> {
    const d = await this.m.orgs.findOne({ _id: id, realmId }).lean<OrgDoc>();
    return d ? toOrg(d) : null;
  }

  async queryOrgs(realmId: string, filter: OrgFilter, sort: OrgSort, after: OrgCursor | null, limit: number): Promise<{ orgs: Org[]; next: OrgCursor | null }> {
    if (limit < 1) return { orgs: [], next: null }; // MongoDB reads limit(0) as "no limit"
    const field = SORT_FIELD[sort.key];
    const direction: SortOrder = sort.direction === 'desc' ? -1 : 1;
    const and = clausesOf(realmId, filter);
    if (after) {
      const past = sort.direction === 'desc' ? '$lt' : '$gt';
      const value = sort.key === 'createdAt' ? new Date(Number(after.value) || 0) : String(after.value);
      and.push({ $or: [{ [field]: { [past]: value } }, { [field]: value, _id: { [past]: after.id } }] });
    }
    const docs = await this.m.orgs
      .find({ $and: and } as QueryFilter<OrgDoc>)
      .sort({ [field]: direction, _id: direction })
      .limit(limit + 1)
      .lean<OrgDoc[]>();
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    const next = docs.length > limit && last ? { value: sort.key === 'createdAt' ? last.createdAt.getTime() : last.nameNorm, id: last._id } : null;
    return { orgs: page.map(toOrg), next };
  }

  async countOrgs(realmId: string, filter: OrgFilter): Promise<number> {
    return this.m.orgs.countDocuments({ $and: clausesOf(realmId, filter) } as QueryFilter<OrgDoc>);
  }

  async patchOrg(realmId: string, id: string, patch: OrgPatch, at: Date, emit?: Emit<Org | null>): Promise<Org | null> {
    const set: Record<string, unknown> = { updatedAt: at };
    if (patch.name !== undefined) Object.assign(set, { name: patch.name, nameNorm: normalizeLogin(patch.name) });
    if (patch.reference !== undefined) set.reference = patch.reference;
    if (patch.customAttributes !== undefined) set.customAttributes = patch.customAttributes;
    if (patch.state !== undefined) set.state = patch.state;
    const write = async (session: ClientSession | null) => {
      const d = await this.m.orgs.findOneAndUpdate({ _id: id, realmId }, { $set: set }, { session, returnDocument: 'after' }).lean<OrgDoc>();
      // The memberships' copy of the state, in the same transaction (the hand-off reads it without a join).
      if (d && patch.state !== undefined) await this.m.memberships.updateMany({ realmId, orgId: id }, { $set: { orgActive: d.state === 'active' } }, { session: session ?? undefined });
      return d ? toOrg(d) : null;
    };
    if (patch.state === undefined && emit === undefined) return write(null);
    return this.connection.transaction(async (session) => {
      const org = await write(session);
      await this.events.insertAll(emitted(emit, org), session);
      return org;
    });
  }

  async deleteOrg(realmId: string, id: string, emit?: Emit<{ org: Org; memberships: number } | null>): Promise<{ org: Org; memberships: number } | null> {
    return this.connection.transaction(async (session) => {
      const d = await this.m.orgs.findOneAndDelete({ _id: id, realmId }, { session }).lean<OrgDoc>();
      const result = d ? { org: toOrg(d), memberships: (await this.m.memberships.deleteMany({ realmId, orgId: id }, { session })).deletedCount } : null;
      if (result) await this.m.invitations.deleteMany({ realmId, orgId: id }, { session });
      await this.events.insertAll(emitted(emit, result), session);
      return result;
    });
  }

  async createMembership(m: NewMembership, at: Date, emit?: Emit<Membership>): Promise<{ created: Membership } | { missing: 'user' | 'org' | 'org_closed' }> {
    const doc: MembershipDoc = {
      _id: newId('mb'),
      realmId: m.realmId,
      userId: m.userId,
      orgId: m.orgId,
      orgKey: m.orgId ?? '',
      orgActive: true,
      permissions: [...(m.permissions ?? [])],
      customAttributes: structuredClone(m.customAttributes ?? {}),
      expiresAt: m.expiresAt ?? null,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.connection.transaction(async (session) => {
        // Writes, not reads: a read alone would not conflict with a delete committed meanwhile (see the class).
        const user = await this.m.users.updateOne({ _id: m.userId, realmId: m.realmId }, { $inc: { membershipRev: 1 } }, { session });
        if (user.matchedCount === 0) throw new Refused('user');
        if (m.orgId !== null) {
          const org = await this.m.orgs.findOneAndUpdate({ _id: m.orgId, realmId: m.realmId }, { $inc: { membershipRev: 1 } }, { session }).lean<OrgDoc>();
          if (!org) throw new Refused('org');
          if (org.state !== 'active') throw new Refused('org_closed');
        }
        await this.m.memberships.create([doc], { session });
        await this.events.insertAll(emitted(emit, toMembership(doc)), session);
      });
    } catch (err) {
      if (err instanceof Refused) return { missing: err.missing };
      membershipViolation(err);
    }
    return { created: toMembership(doc) };
  }

  async findMembership(realmId: string, id: string): Promise<Membership | null> {
    const d = await this.m.memberships.findOne({ _id: id, realmId }).lean<MembershipDoc>();
    return d ? toMembership(d) : null;
  }

  async findMembershipOf(realmId: string, userId: string, orgId: string | null): Promise<Membership | null> {
    const d = await this.m.memberships.findOne({ realmId, userId, orgKey: orgId ?? '' }).lean<MembershipDoc>();
    return d ? toMembership(d) : null;
  }

  async queryMemberships(realmId: string, q: MembershipQuery, after: CreatedCursor | null, limit: number): Promise<{ memberships: Membership[]; next: CreatedCursor | null }> {
    if (limit < 1) return { memberships: [], next: null };
    const and: Clause[] = [{ realmId }];
    if (q.userId !== undefined) and.push({ userId: q.userId });
    if (q.orgId !== undefined) and.push({ orgId: q.orgId });
    if (!q.includeExpired) and.push(liveAt(q.at));
    if (after) and.push({ $or: [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, _id: { $gt: after.id } }] });
    const docs = await this.m.memberships
      .find({ $and: and } as QueryFilter<MembershipDoc>)
      .sort({ createdAt: 1, _id: 1 })
      .limit(limit + 1)
      .lean<MembershipDoc[]>();
    const page = docs.slice(0, limit).map(toMembership);
    const last = page.at(-1);
    return { memberships: page, next: docs.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async patchMembership(realmId: string, id: string, patch: MembershipPatch, at: Date, emit?: Emit<Membership | null>): Promise<Membership | null> {
    const set: Record<string, unknown> = { updatedAt: at };
    for (const k of ['permissions', 'customAttributes', 'expiresAt'] as const) if (patch[k] !== undefined) set[k] = patch[k];
    return this.events.withEvents(async (session) => {
      const d = await this.m.memberships.findOneAndUpdate({ _id: id, realmId }, { $set: set }, { session, returnDocument: 'after' }).lean<MembershipDoc>();
      return d ? toMembership(d) : null;
    }, emit);
  }

  async deleteMembership(realmId: string, id: string, emit?: Emit<Membership | null>): Promise<Membership | null> {
    return this.events.withEvents(async (session) => {
      const d = await this.m.memberships.findOneAndDelete({ _id: id, realmId }, { session }).lean<MembershipDoc>();
      return d ? toMembership(d) : null;
    }, emit);
  }

  async createGroup(group: NewGroup, at: Date, emit?: Emit<Group>): Promise<Group> {
    const doc: GroupDoc = {
      _id: newId('grp'),
      realmId: group.realmId,
      name: group.name,
      nameNorm: normalizeLogin(group.name),
      description: group.description ?? null,
      permissions: [...(group.permissions ?? [])],
      createdAt: at,
      updatedAt: at,
    };
    try {
      return await this.events.withEvents(async (session) => {
        await this.m.groups.create([doc], { session });
        return toGroup(doc);
      }, emit);
    } catch (err) {
      groupViolation(err);
    }
  }

  async findGroup(realmId: string, id: string): Promise<Group | null> {
    const d = await this.m.groups.findOne({ _id: id, realmId }).lean<GroupDoc>();
    return d ? toGroup(d) : null;
  }

  async queryGroups(realmId: string, q: GroupQuery, after: GroupCursor | null, limit: number): Promise<{ groups: Group[]; next: GroupCursor | null }> {
    if (limit < 1) return { groups: [], next: null }; // MongoDB reads limit(0) as "no limit"
    const and: Clause[] = [{ realmId }];
    if (q.q !== undefined) and.push({ nameNorm: { $regex: `^${escapeRegex(normalizeLogin(q.q))}` } });
    if (q.userId !== undefined) {
      // A user's groups are few (no join): their ids first, through group_members_user.
      const ids = await this.m.groupMembers.find({ realmId, userId: q.userId }, { groupId: 1 }).lean<Pick<GroupMemberDoc, 'groupId'>[]>();
      and.push({ _id: { $in: ids.map((d) => d.groupId) } });
    }
    if (after) and.push({ $or: [{ nameNorm: { $gt: after.nameNorm } }, { nameNorm: after.nameNorm, _id: { $gt: after.id } }] });
    const docs = await this.m.groups
      .find({ $and: and } as QueryFilter<GroupDoc>)
      .sort({ nameNorm: 1, _id: 1 })
      .limit(limit + 1)
      .lean<GroupDoc[]>();
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return { groups: page.map(toGroup), next: docs.length > limit && last ? { nameNorm: last.nameNorm, id: last._id } : null };
  }

  async patchGroup(realmId: string, id: string, patch: GroupPatch, at: Date, emit?: Emit<Group | null>): Promise<Group | null> {
    const set: Record<string, unknown> = { updatedAt: at };
    if (patch.name !== undefined) Object.assign(set, { name: patch.name, nameNorm: normalizeLogin(patch.name) });
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.permissions !== undefined) set.permissions = patch.permissions;
    try {
      return await this.events.withEvents(async (session) => {
        const d = await this.m.groups.findOneAndUpdate({ _id: id, realmId }, { $set: set }, { session, returnDocument: 'after' }).lean<GroupDoc>();
        return d ? toGroup(d) : null;
      }, emit);
    } catch (err) {
      groupViolation(err);
    }
  }

  async deleteGroup(realmId: string, id: string, emit?: Emit<{ group: Group; members: number } | null>): Promise<{ group: Group; members: number } | null> {
    return this.connection.transaction(async (session) => {
      const d = await this.m.groups.findOneAndDelete({ _id: id, realmId }, { session }).lean<GroupDoc>();
      const result = d ? { group: toGroup(d), members: (await this.m.groupMembers.deleteMany({ realmId, groupId: id }, { session })).deletedCount } : null;
      await this.events.insertAll(emitted(emit, result), session);
      return result;
    });
  }

  async addGroupMembers(realmId: string, groupId: string, userIds: readonly string[], at: Date, emit?: Emit<string[] | null>): Promise<GroupMembersAdded | null> {
    const wanted = [...new Set(userIds)];
    // The transaction may run again on a write conflict: what it decides on is read inside it.
    return this.connection.transaction(async (session): Promise<GroupMembersAdded | null> => {
      // Writes, not reads: a read alone would not conflict with a delete committed meanwhile (see the class).
      const group = await this.m.groups.updateOne({ _id: groupId, realmId }, { $inc: { memberRev: 1 } }, { session });
      if (group.matchedCount === 0) {
        await this.events.insertAll(emitted(emit, null), session);
        return null;
      }
      await this.m.users.updateMany({ realmId, _id: { $in: wanted } }, { $inc: { membershipRev: 1 } }, { session });
      const [users, members] = await Promise.all([
        this.m.users.find({ realmId, _id: { $in: wanted } }, { _id: 1 }).session(session).lean<Array<{ _id: string }>>(),
        this.m.groupMembers.find({ realmId, groupId, userId: { $in: wanted } }, { userId: 1 }).session(session).lean<Pick<GroupMemberDoc, 'userId'>[]>(),
      ]);
      const exists = new Set(users.map((u) => u._id));
      const member = new Set(members.map((d) => d.userId));
      const result: GroupMembersAdded = { added: [], already: [], missing: [] };
      for (const userId of wanted) (!exists.has(userId) ? result.missing : member.has(userId) ? result.already : result.added).push(userId);
      if (result.added.length > 0) await this.m.groupMembers.insertMany(result.added.map((userId): GroupMemberDoc => ({ realmId, groupId, userId, createdAt: at })), { session });
      await this.events.insertAll(emitted(emit, result.added), session);
      return result;
    });
  }

  async removeGroupMember(realmId: string, groupId: string, userId: string, emit?: Emit<boolean>): Promise<boolean> {
    return this.events.withEvents(async (session) => (await this.m.groupMembers.deleteOne({ realmId, groupId, userId }, { session })).deletedCount === 1, emit);
  }

  async queryGroupMembers(realmId: string, groupId: string, after: CreatedCursor | null, limit: number): Promise<{ members: GroupMember[]; next: CreatedCursor | null }> {
    if (limit < 1) return { members: [], next: null };
    const and: Clause[] = [{ realmId, groupId }];
    if (after) and.push({ $or: [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, userId: { $gt: after.id } }] });
    const docs = await this.m.groupMembers
      .find({ $and: and } as QueryFilter<GroupMemberDoc>)
      .sort({ createdAt: 1, userId: 1 })
      .limit(limit + 1)
      .lean<GroupMemberDoc[]>();
    const page = docs.slice(0, limit).map((d): GroupMember => ({ userId: d.userId, addedAt: d.createdAt }));
    const last = page.at(-1);
    return { members: page, next: docs.length > limit && last ? { createdAt: last.addedAt, id: last.userId } : null };
  }

  /** The user's groups with their permissions, oldest membership first. */
  private async groupsOf(realmId: string, userId: string): Promise<Array<{ id: string; permissions: string[] }>> {
    const members = await this.m.groupMembers.find({ realmId, userId }).sort({ createdAt: 1, groupId: 1 }).lean<GroupMemberDoc[]>();
    if (members.length === 0) return [];
    const groups = new Map(
      (await this.m.groups.find({ realmId, _id: { $in: members.map((d) => d.groupId) } }, { permissions: 1 }).lean<Pick<GroupDoc, '_id' | 'permissions'>[]>()).map((d) => [d._id, d]),
    );
    return members.flatMap((d) => {
      const g = groups.get(d.groupId);
      return g ? [{ id: g._id, permissions: [...(g.permissions ?? [])] }] : [];
    });
  }

  async accessOf(realmId: string, userId: string, at: Date, o: { maxOrgs: number; selectedOrgId: string | null }): Promise<AccessView> {
    const selected = o.selectedOrgId;
    // The user-only and the selected membership, and the newest others (one more than room, for `truncated`).
    const [own, rest, groups] = await Promise.all([
      this.m.memberships.find({ realmId, userId, orgKey: { $in: selected === null ? [''] : ['', selected] } }).lean<MembershipDoc[]>(),
      this.m.memberships
        .find({ $and: [{ realmId, userId, orgActive: true, orgKey: { $nin: selected === null ? [''] : ['', selected] } }, liveAt(at)] } as QueryFilter<MembershipDoc>)
        .sort({ createdAt: -1, _id: -1 })
        .limit(o.maxOrgs + 1)
        .lean<MembershipDoc[]>(),
      this.groupsOf(realmId, userId),
    ]);
    const userOnly = own.find((d) => d.orgId === null);
    const chosen = own.find((d) => d.orgId !== null && d.orgActive && isLive(toMembership(d), at));
    const room = Math.max(0, o.maxOrgs - (chosen ? 1 : 0));
    const members = [...(chosen ? [chosen] : []), ...rest.slice(0, room)];
    const orgs = new Map(
      (await this.m.orgs.find({ realmId, _id: { $in: members.map((d) => d.orgId!) }, state: 'active' }).lean<OrgDoc[]>()).map((d) => [d._id, d]),
    );
    const entries: OrgEntry[] = members.flatMap((d) => {
      const org = orgs.get(d.orgId!);
      return org ? [{ membershipId: d._id, orgId: org._id, name: org.name, reference: org.reference ?? null, customAttributes: org.customAttributes ?? {}, permissions: [...d.permissions] }] : [];
    });
    return {
      userOnly: userOnly && isLive(toMembership(userOnly), at) ? { id: userOnly._id, permissions: [...userOnly.permissions] } : null,
      orgs: entries,
      truncated: rest.length > room,
      groups,
    };
  }

  async permissionsOf(realmId: string, userId: string, at: Date): Promise<string[]> {
    const [docs, groups] = await Promise.all([
      this.m.memberships
        .find({ $and: [{ realmId, userId, orgActive: true }, liveAt(at)] } as QueryFilter<MembershipDoc>, { permissions: 1 })
        .sort({ createdAt: 1, _id: 1 })
        .lean<Pick<MembershipDoc, 'permissions'>[]>(),
      this.groupsOf(realmId, userId),
    ]);
    return [...new Set([...docs, ...groups].flatMap((d) => d.permissions ?? []))];
  }

  async memberOfAny(realmId: string, userId: string, at: Date, orgIds: readonly string[], groupIds: readonly string[]): Promise<boolean> {
    if (orgIds.length > 0) {
      const found = await this.m.memberships.exists({ $and: [{ realmId, userId, orgActive: true, orgId: { $in: [...orgIds] } }, liveAt(at)] } as QueryFilter<MembershipDoc>);
      if (found !== null) return true;
    }
    return groupIds.length > 0 && (await this.m.groupMembers.exists({ realmId, userId, groupId: { $in: [...groupIds] } })) !== null;
  }
}

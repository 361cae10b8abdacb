import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import type { EventData, EventType, NewEvent } from '../domain/events.ts';
import type { CreatedCursor, Group, GroupCursor, GroupMembersAdded, GroupPatch, GroupQuery } from '../domain/orgs.ts';
import { eventOf } from '../events/publish.ts';
import type { OrgsPort } from '../ports/orgs.ts';
import { UniqueViolation } from '../ports/users.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';
import { permissionsWithin } from './memberships.ts';

export interface NewGroupInput {
  name: string;
  description?: string | null;
  permissions?: string[];
}

export type GroupChange = Partial<{ name: string; description: string | null; permissions: string[] }>;

/** At most this many users in one addMembers call (the API's bound too). */
export const MAX_MEMBERS_PER_ADD = 1000;

export interface GroupsServiceDeps {
  orgs: OrgsPort;
  audit: AuditLog;
  clock: () => Date;
}

/**
 * User groups (docs/design/orgs.md §3.2, GenAuth's "User Group Management"), for the API and (later) the
 * console: a name unique in the realm in any case (409 group_exists), permissions within the realm's
 * `memberships.maxPermissions` (the members hold them: they join the top-level `perm` of their JWTs), and
 * members who are users of the realm. Adding users reports who was added, who was a member already and who
 * is not a user of the realm; a call that adds nobody is refused — 409 group_member_exists when some were
 * members already, else 404 user. Audited after each write, evented in it (a member's events carry their
 * userId, so they show on the user's list).
 */
export class GroupsService {
  constructor(private readonly d: GroupsServiceDeps) {}

  private event<T extends EventType>(realm: RealmConfig, type: T, userId: string | null, ctx: RequestContext, data: EventData<T>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data });
  }

  /** A taken name as the 409 the API answers; anything else rethrown. */
  private nameTaken(err: unknown): never {
    if (err instanceof UniqueViolation && err.field === 'group') throw new ConflictError('group_exists', 'the realm has a group of that name already (any case)', { field: 'name' });
    throw err;
  }

  list(realm: RealmConfig, q: GroupQuery, after: GroupCursor | null, limit: number) {
    return this.d.orgs.queryGroups(realm.id, q, after, limit);
  }

  async get(realm: RealmConfig, id: string): Promise<Group> {
    const group = await this.d.orgs.findGroup(realm.id, id);
    if (!group) throw new NotFoundError('group');
    return group;
  }

  async create(realm: RealmConfig, input: NewGroupInput, ctx: RequestContext): Promise<Group> {
    const permissions = permissionsWithin(realm, input.permissions ?? [], 'group');
    const group = await this.d.orgs
      .createGroup({ realmId: realm.id, name: input.name, description: input.description ?? null, permissions }, this.d.clock(), (g) => [
        this.event(realm, 'group.created', null, ctx, { groupId: g.id, name: g.name, permissions: g.permissions }),
      ])
      .catch((err: unknown) => this.nameTaken(err));
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'group.create', target: { type: 'group', id: group.id }, after: group });
    return group;
  }

  async update(realm: RealmConfig, id: string, change: GroupChange, ctx: RequestContext): Promise<Group> {
    const patch: GroupPatch = {};
    if (change.permissions !== undefined) patch.permissions = permissionsWithin(realm, change.permissions, 'group');
    if (change.name !== undefined) patch.name = change.name;
    if (change.description !== undefined) patch.description = change.description;
    const before = await this.get(realm, id);
    const fields = Object.keys(patch);
    const after = await this.d.orgs
      .patchGroup(realm.id, id, patch, this.d.clock(), (g) => (g ? [this.event(realm, 'group.updated', null, ctx, { groupId: id, fields })] : []))
      .catch((err: unknown) => this.nameTaken(err));
    if (!after) throw new NotFoundError('group');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'group.update', target: { type: 'group', id }, before, after });
    return after;
  }

  /** The group and its members, in one transaction: group.deleted says how many went (no event each). */
  async delete(realm: RealmConfig, id: string, ctx: RequestContext): Promise<{ members: number }> {
    const deleted = await this.d.orgs.deleteGroup(realm.id, id, (result) =>
      result ? [this.event(realm, 'group.deleted', null, ctx, { groupId: id, name: result.group.name, members: result.members })] : [],
    );
    if (!deleted) throw new NotFoundError('group');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'group.delete', target: { type: 'group', id }, before: { ...deleted.group, members: deleted.members } });
    return { members: deleted.members };
  }

  /** The group's members, oldest first; 404 for a group not in the realm. */
  async members(realm: RealmConfig, groupId: string, after: CreatedCursor | null, limit: number) {
    await this.get(realm, groupId);
    return this.d.orgs.queryGroupMembers(realm.id, groupId, after, limit);
  }

  async addMembers(realm: RealmConfig, groupId: string, userIds: readonly string[], ctx: RequestContext): Promise<GroupMembersAdded> {
    if (userIds.length === 0 || userIds.length > MAX_MEMBERS_PER_ADD) {
      throw new RuleViolation([{ field: 'userIds', code: 'user_ids.count', message: `from 1 to ${MAX_MEMBERS_PER_ADD} user ids`, limit: MAX_MEMBERS_PER_ADD }]);
    }
    const result = await this.d.orgs.addGroupMembers(realm.id, groupId, userIds, this.d.clock(), (added) =>
      (added ?? []).map((userId) => this.event(realm, 'group.member.added', userId, ctx, { groupId })),
    );
    if (!result) throw new NotFoundError('group');
    if (result.added.length === 0) {
      if (result.already.length > 0) {
        throw new ConflictError('group_member_exists', result.already.length === 1 ? 'the user is a member of the group already' : 'every user given is a member of the group already, or not a user of the realm', { field: 'userIds' });
      }
      throw new NotFoundError('user');
    }
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'group.member.add', target: { type: 'group', id: groupId }, after: result });
    return result;
  }

  /** 404 for a group not in the realm, or a user who is not its member. */
  async removeMember(realm: RealmConfig, groupId: string, userId: string, ctx: RequestContext): Promise<void> {
    await this.get(realm, groupId);
    const removed = await this.d.orgs.removeGroupMember(realm.id, groupId, userId, (was) => (was ? [this.event(realm, 'group.member.removed', userId, ctx, { groupId })] : []));
    if (!removed) throw new NotFoundError('group member');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'group.member.remove', target: { type: 'group', id: groupId }, before: { userId } });
  }
}

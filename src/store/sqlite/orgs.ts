import type Database from 'better-sqlite3';
import { statementCache } from './statements.ts';
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
import type { SqliteEvents } from './events.ts';

export type Row = Record<string, unknown>;
const str = (v: unknown): string | null => (v == null ? null : String(v));
const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));

function rowToOrg(r: Row): Org {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    name: String(r.name),
    reference: str(r.reference),
    customAttributes: JSON.parse(String(r.custom_attributes)) as Org['customAttributes'],
    state: r.state as Org['state'],
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

/** A memberships row as the domain's Membership (the invitations adapter makes and widens them too). */
export function rowToMembership(r: Row): Membership {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    userId: String(r.user_id),
    orgId: str(r.org_id),
    permissions: JSON.parse(String(r.permissions)) as string[],
    customAttributes: JSON.parse(String(r.custom_attributes)) as Membership['customAttributes'],
    expiresAt: date(r.expires_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

function rowToGroup(r: Row): Group {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    name: String(r.name),
    description: str(r.description),
    permissions: JSON.parse(String(r.permissions)) as string[],
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

/** A membership's unique indexes (migration 014) as UniqueViolation('membership'); anything else rethrown. */
function membershipViolation(err: unknown): never {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message?.includes('memberships.')) throw new UniqueViolation('membership');
  throw err;
}

/** groups_name (migration 016) as UniqueViolation('group'); anything else rethrown. */
function groupViolation(err: unknown): never {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message?.includes('groups.')) throw new UniqueViolation('group');
  throw err;
}

/** Each sort key as the column its index (migration 014) is built on, with id as tie-breaker. */
const SORT_SQL = { name: 'name_norm', createdAt: 'created_at' } as const;

/** The end of a prefix range: every string that starts with `prefix` sorts below it. */
export const prefixEnd = (prefix: string) => `${prefix}\u{10FFFF}`;

function whereOf(filter: OrgFilter): { sql: string; params: Record<string, unknown> } {
  const parts = ['realm_id = @realmId'];
  const params: Record<string, unknown> = {};
  if (filter.state) {
    parts.push('state = @state');
    params.state = filter.state;
  }
  if (filter.reference !== undefined) {
    parts.push('reference = @reference');
    params.reference = filter.reference;
  }
  if (filter.createdAfter) {
    parts.push('created_at > @createdAfter');
    params.createdAfter = filter.createdAfter.getTime();
  }
  if (filter.createdBefore) {
    parts.push('created_at < @createdBefore');
    params.createdBefore = filter.createdBefore.getTime();
  }
  if (filter.q !== undefined) {
    // A range rather than LIKE: it reads orgs_sort_name, and no character of the prefix is a wildcard.
    parts.push('name_norm >= @q AND name_norm < @qEnd');
    params.q = normalizeLogin(filter.q);
    params.qEnd = prefixEnd(params.q as string);
  }
  return { sql: parts.join(' AND '), params };
}

/**
 * Orgs and memberships (migration 014) and groups (016) on the SQLite file. better-sqlite3 is synchronous: a write's checks,
 * its change and its events run in one transaction that nothing else interleaves with.
 */
/** accessOf's arguments, as its cached transaction takes them. */
interface AccessQuery {
  realmId: string;
  userId: string;
  at: Date;
  maxOrgs: number;
  selectedOrgId: string | null;
}

/** accessOf's JSON rows: membership id, org id, permissions, org name, reference, custom attributes. */
type OrgEntryTuple = [string, string, string[], string, string | null, OrgEntry['customAttributes']];

function orgEntryOfTuple([membershipId, orgId, permissions, name, reference, customAttributes]: OrgEntryTuple): OrgEntry {
  return { membershipId, orgId, name, reference, customAttributes, permissions };
}

/** One `orgs[]` source row of accessOf (a membership joined with its org). */
function orgEntryOf(r: Row): OrgEntry {
  return {
    membershipId: String(r.id),
    orgId: String(r.org_id),
    name: String(r.org_name),
    reference: str(r.org_reference),
    customAttributes: JSON.parse(String(r.org_cs)) as OrgEntry['customAttributes'],
    permissions: JSON.parse(String(r.permissions)) as string[],
  };
}

export class SqliteOrgs implements OrgsPort {
  /** A statement prepared once per SQL text (statements.ts). */
  private readonly statement: (sql: string) => Database.Statement;

  /** `events`: the store's log on the same connection (a write's events join its transaction). */
  constructor(
    private readonly db: Database.Database,
    private readonly events: SqliteEvents,
  ) {
    this.statement = statementCache(db);
  }

  async createOrg(org: NewOrg, at: Date, emit?: Emit<Org>): Promise<Org> {
    const insert = this.statement(`INSERT INTO orgs (id, realm_id, name, name_norm, reference, custom_attributes, state, created_at, updated_at)
      VALUES (@id, @realmId, @name, @nameNorm, @reference, @customAttributes, @state, @at, @at) RETURNING *`);
    const params = {
      id: newId('org'),
      realmId: org.realmId,
      name: org.name,
      nameNorm: normalizeLogin(org.name),
      reference: org.reference ?? null,
      customAttributes: JSON.stringify(org.customAttributes ?? {}),
      state: org.state ?? 'active',
      at: at.getTime(),
    };
    return this.events.withEvents(() => rowToOrg(insert.get(params) as Row), emit);
  }

  async findOrg(realmId: string, id: string): Promise<Org | null> {
    const r = this.statement('SELECT * FROM orgs WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToOrg(r) : null;
  }

  async queryOrgs(realmId: string, filter: OrgFilter, sort: OrgSort, after: OrgCursor | null, limit: number): Promise<{ orgs: Org[]; next: OrgCursor | null }> {
    if (limit < 1) return { orgs: [], next: null };
    const { sql: where, params } = whereOf(filter);
    const column = SORT_SQL[sort.key];
    const dir = sort.direction === 'desc' ? 'DESC' : 'ASC';
    let seek = '';
    if (after) {
      seek = ` AND (${column}, id) ${sort.direction === 'desc' ? '<' : '>'} (@afterValue, @afterId)`;
      params.afterValue = after.value;
      params.afterId = after.id;
    }
    const sql = `SELECT * FROM orgs WHERE ${where}${seek} ORDER BY ${column} ${dir}, id ${dir} LIMIT @limit`;
    const rows = this.statement(sql).all({ ...params, realmId, limit: limit + 1 }) as Row[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? { value: sort.key === 'createdAt' ? Number(last.created_at) : String(last.name_norm), id: String(last.id) } : null;
    return { orgs: page.map(rowToOrg), next };
  }

  async countOrgs(realmId: string, filter: OrgFilter): Promise<number> {
    const { sql, params } = whereOf(filter);
    return Number((this.statement(`SELECT count(*) AS n FROM orgs WHERE ${sql}`).get({ ...params, realmId }) as Row).n);
  }

  async patchOrg(realmId: string, id: string, patch: OrgPatch, at: Date, emit?: Emit<Org | null>): Promise<Org | null> {
    const columns: Record<string, unknown> = {};
    if (patch.name !== undefined) Object.assign(columns, { name: patch.name, name_norm: normalizeLogin(patch.name) });
    if (patch.reference !== undefined) columns.reference = patch.reference;
    if (patch.customAttributes !== undefined) columns.custom_attributes = JSON.stringify(patch.customAttributes);
    if (patch.state !== undefined) columns.state = patch.state;
    columns.updated_at = at.getTime();
    // Column names come from the fixed list above, never from input.
    const sets = Object.keys(columns).map((c) => `${c} = @${c}`).join(', ');
    const update = this.statement(`UPDATE orgs SET ${sets} WHERE realm_id = @realmId AND id = @id RETURNING *`);
    return this.events.withEvents(() => {
      const r = update.get({ ...columns, realmId, id }) as Row | undefined;
      return r ? rowToOrg(r) : null;
    }, emit);
  }

  async deleteOrg(realmId: string, id: string, emit?: Emit<{ org: Org; memberships: number } | null>): Promise<{ org: Org; memberships: number } | null> {
    const deleteOrg = this.statement('DELETE FROM orgs WHERE realm_id = ? AND id = ? RETURNING *');
    const deleteMembers = this.statement('DELETE FROM memberships WHERE realm_id = ? AND org_id = ?');
    const deleteInvitations = this.statement('DELETE FROM invitations WHERE realm_id = ? AND org_id = ?');
    return this.db.transaction(() => {
      const r = deleteOrg.get(realmId, id) as Row | undefined;
      const result = r ? { org: rowToOrg(r), memberships: deleteMembers.run(realmId, id).changes } : null;
      if (result) deleteInvitations.run(realmId, id);
      this.events.insertAll(emitted(emit, result));
      return result;
    })();
  }

  async createMembership(m: NewMembership, at: Date, emit?: Emit<Membership>): Promise<{ created: Membership } | { missing: 'user' | 'org' | 'org_closed' }> {
    // One statement: the user and the active org are checked as the row goes in.
    const insert = this.statement(`INSERT INTO memberships (id, realm_id, user_id, org_id, permissions, custom_attributes, expires_at, created_at, updated_at)
      SELECT @id, @realmId, @userId, @orgId, @permissions, @customAttributes, @expiresAt, @at, @at
      WHERE EXISTS (SELECT 1 FROM users WHERE realm_id = @realmId AND id = @userId)
        AND (@orgId IS NULL OR EXISTS (SELECT 1 FROM orgs WHERE realm_id = @realmId AND id = @orgId AND state = 'active'))
      RETURNING *`);
    const params = {
      id: newId('mb'),
      realmId: m.realmId,
      userId: m.userId,
      orgId: m.orgId,
      permissions: JSON.stringify(m.permissions ?? []),
      customAttributes: JSON.stringify(m.customAttributes ?? {}),
      expiresAt: m.expiresAt?.getTime() ?? null,
      at: at.getTime(),
    };
    try {
      return this.db.transaction((): { created: Membership } | { missing: 'user' | 'org' | 'org_closed' } => {
        const r = insert.get(params) as Row | undefined;
        if (!r) return { missing: this.whichMissing(m.realmId, m.userId, m.orgId) };
        const created = rowToMembership(r);
        this.events.insertAll(emitted(emit, created));
        return { created };
      })();
    } catch (err) {
      membershipViolation(err);
    }
  }

  /** Why createMembership inserted nothing (inside its transaction). */
  private whichMissing(realmId: string, userId: string, orgId: string | null): 'user' | 'org' | 'org_closed' {
    if (!this.statement('SELECT 1 FROM users WHERE realm_id = ? AND id = ?').get(realmId, userId)) return 'user';
    const org = this.statement('SELECT state FROM orgs WHERE realm_id = ? AND id = ?').get(realmId, orgId) as Row | undefined;
    return org ? 'org_closed' : 'org';
  }

  async findMembership(realmId: string, id: string): Promise<Membership | null> {
    const r = this.statement('SELECT * FROM memberships WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToMembership(r) : null;
  }

  async findMembershipOf(realmId: string, userId: string, orgId: string | null): Promise<Membership | null> {
    const r = this.statement('SELECT * FROM memberships WHERE realm_id = ? AND user_id = ? AND org_id IS ?').get(realmId, userId, orgId) as Row | undefined;
    return r ? rowToMembership(r) : null;
  }

  async queryMemberships(realmId: string, q: MembershipQuery, after: CreatedCursor | null, limit: number): Promise<{ memberships: Membership[]; next: CreatedCursor | null }> {
    if (limit < 1) return { memberships: [], next: null };
    const parts = ['realm_id = @realmId'];
    const params: Record<string, unknown> = { realmId, limit: limit + 1 };
    if (q.userId !== undefined) {
      parts.push('user_id = @userId');
      params.userId = q.userId;
    }
    if (q.orgId !== undefined) {
      parts.push(q.orgId === null ? 'org_id IS NULL' : 'org_id = @orgId');
      if (q.orgId !== null) params.orgId = q.orgId;
    }
    if (!q.includeExpired) {
      parts.push('(expires_at IS NULL OR expires_at > @at)');
      params.at = q.at.getTime();
    }
    if (after) {
      parts.push('(created_at, id) > (@afterAt, @afterId)');
      params.afterAt = after.createdAt.getTime();
      params.afterId = after.id;
    }
    const rows = (this.statement(`SELECT * FROM memberships WHERE ${parts.join(' AND ')} ORDER BY created_at, id LIMIT @limit`).all(params) as Row[]).map(rowToMembership);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { memberships: page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async patchMembership(realmId: string, id: string, patch: MembershipPatch, at: Date, emit?: Emit<Membership | null>): Promise<Membership | null> {
    const columns: Record<string, unknown> = {};
    if (patch.permissions !== undefined) columns.permissions = JSON.stringify(patch.permissions);
    if (patch.customAttributes !== undefined) columns.custom_attributes = JSON.stringify(patch.customAttributes);
    if (patch.expiresAt !== undefined) columns.expires_at = patch.expiresAt?.getTime() ?? null;
    columns.updated_at = at.getTime();
    const sets = Object.keys(columns).map((c) => `${c} = @${c}`).join(', ');
    const update = this.statement(`UPDATE memberships SET ${sets} WHERE realm_id = @realmId AND id = @id RETURNING *`);
    return this.events.withEvents(() => {
      const r = update.get({ ...columns, realmId, id }) as Row | undefined;
      return r ? rowToMembership(r) : null;
    }, emit);
  }

  async deleteMembership(realmId: string, id: string, emit?: Emit<Membership | null>): Promise<Membership | null> {
    const remove = this.statement('DELETE FROM memberships WHERE realm_id = ? AND id = ? RETURNING *');
    return this.events.withEvents(() => {
      const r = remove.get(realmId, id) as Row | undefined;
      return r ? rowToMembership(r) : null;
    }, emit);
  }

  async createGroup(group: NewGroup, at: Date, emit?: Emit<Group>): Promise<Group> {
    const insert = this.statement(`INSERT INTO groups (id, realm_id, name, name_norm, description, permissions, created_at, updated_at)
      VALUES (@id, @realmId, @name, @nameNorm, @description, @permissions, @at, @at) RETURNING *`);
    const params = {
      id: newId('grp'),
      realmId: group.realmId,
      name: group.name,
      nameNorm: normalizeLogin(group.name),
      description: group.description ?? null,
      permissions: JSON.stringify(group.permissions ?? []),
      at: at.getTime(),
    };
    try {
      return this.events.withEvents(() => rowToGroup(insert.get(params) as Row), emit);
    } catch (err) {
      groupViolation(err);
    }
  }

  async findGroup(realmId: string, id: string): Promise<Group | null> {
    const r = this.statement('SELECT * FROM groups WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToGroup(r) : null;
  }

  async queryGroups(realmId: string, q: GroupQuery, after: GroupCursor | null, limit: number): Promise<{ groups: Group[]; next: GroupCursor | null }> {
    if (limit < 1) return { groups: [], next: null };
    const parts = ['g.realm_id = @realmId'];
    const params: Record<string, unknown> = { realmId, limit: limit + 1 };
    if (q.q !== undefined) {
      // A range rather than LIKE, as the orgs list's: no character of the prefix is a wildcard.
      parts.push('g.name_norm >= @q AND g.name_norm < @qEnd');
      params.q = normalizeLogin(q.q);
      params.qEnd = prefixEnd(params.q as string);
    }
    if (q.userId !== undefined) {
      parts.push('EXISTS (SELECT 1 FROM group_members gm WHERE gm.realm_id = g.realm_id AND gm.group_id = g.id AND gm.user_id = @userId)');
      params.userId = q.userId;
    }
    if (after) {
      parts.push('(g.name_norm, g.id) > (@afterName, @afterId)');
      params.afterName = after.nameNorm;
      params.afterId = after.id;
    }
    const rows = this.statement(`SELECT g.* FROM groups g WHERE ${parts.join(' AND ')} ORDER BY g.name_norm, g.id LIMIT @limit`).all(params) as Row[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { groups: page.map(rowToGroup), next: rows.length > limit && last ? { nameNorm: String(last.name_norm), id: String(last.id) } : null };
  }

  async patchGroup(realmId: string, id: string, patch: GroupPatch, at: Date, emit?: Emit<Group | null>): Promise<Group | null> {
    const columns: Record<string, unknown> = {};
    if (patch.name !== undefined) Object.assign(columns, { name: patch.name, name_norm: normalizeLogin(patch.name) });
    if (patch.description !== undefined) columns.description = patch.description;
    if (patch.permissions !== undefined) columns.permissions = JSON.stringify(patch.permissions);
    columns.updated_at = at.getTime();
    // Column names come from the fixed list above, never from input.
    const sets = Object.keys(columns).map((c) => `${c} = @${c}`).join(', ');
    const update = this.statement(`UPDATE groups SET ${sets} WHERE realm_id = @realmId AND id = @id RETURNING *`);
    try {
      return this.events.withEvents(() => {
        const r = update.get({ ...columns, realmId, id }) as Row | undefined;
        return r ? rowToGroup(r) : null;
      }, emit);
    } catch (err) {
      groupViolation(err);
    }
  }

  async deleteGroup(realmId: string, id: string, emit?: Emit<{ group: Group; members: number } | null>): Promise<{ group: Group; members: number } | null> {
    const deleteGroup = this.statement('DELETE FROM groups WHERE realm_id = ? AND id = ? RETURNING *');
    const deleteMembers = this.statement('DELETE FROM group_members WHERE realm_id = ? AND group_id = ?');
    return this.db.transaction(() => {
      const r = deleteGroup.get(realmId, id) as Row | undefined;
      const result = r ? { group: rowToGroup(r), members: deleteMembers.run(realmId, id).changes } : null;
      this.events.insertAll(emitted(emit, result));
      return result;
    })();
  }

  async addGroupMembers(realmId: string, groupId: string, userIds: readonly string[], at: Date, emit?: Emit<string[] | null>): Promise<GroupMembersAdded | null> {
    const group = this.statement('SELECT 1 FROM groups WHERE realm_id = ? AND id = ?');
    // One statement per user: the user is checked as the row goes in, and a member already inserts nothing.
    const insert = this.statement(`INSERT INTO group_members (realm_id, group_id, user_id, created_at)
      SELECT @realmId, @groupId, @userId, @at WHERE EXISTS (SELECT 1 FROM users WHERE realm_id = @realmId AND id = @userId)
      ON CONFLICT DO NOTHING`);
    const user = this.statement('SELECT 1 FROM users WHERE realm_id = ? AND id = ?');
    // IMMEDIATE: the write lock before the first read, so a second instance on the file waits instead of failing its upgrade.
    return this.db
      .transaction((): GroupMembersAdded | null => {
        if (!group.get(realmId, groupId)) {
          this.events.insertAll(emitted(emit, null));
          return null;
        }
        const result: GroupMembersAdded = { added: [], already: [], missing: [] };
        for (const userId of new Set(userIds)) {
          if (insert.run({ realmId, groupId, userId, at: at.getTime() }).changes === 1) result.added.push(userId);
          else (user.get(realmId, userId) ? result.already : result.missing).push(userId);
        }
        this.events.insertAll(emitted(emit, result.added));
        return result;
      })
      .immediate();
  }

  async removeGroupMember(realmId: string, groupId: string, userId: string, emit?: Emit<boolean>): Promise<boolean> {
    const remove = this.statement('DELETE FROM group_members WHERE realm_id = ? AND group_id = ? AND user_id = ?');
    return this.events.withEvents(() => remove.run(realmId, groupId, userId).changes === 1, emit);
  }

  async queryGroupMembers(realmId: string, groupId: string, after: CreatedCursor | null, limit: number): Promise<{ members: GroupMember[]; next: CreatedCursor | null }> {
    if (limit < 1) return { members: [], next: null };
    const seek = after ? ' AND (created_at, user_id) > (@afterAt, @afterId)' : '';
    const rows = this.statement(`SELECT user_id, created_at FROM group_members WHERE realm_id = @realmId AND group_id = @groupId${seek} ORDER BY created_at, user_id LIMIT @limit`).all({
      realmId,
      groupId,
      limit: limit + 1,
      ...(after ? { afterAt: after.createdAt.getTime(), afterId: after.id } : {}),
    }) as Row[];
    const page = rows.slice(0, limit).map((r): GroupMember => ({ userId: String(r.user_id), addedAt: date(r.created_at)! }));
    const last = page.at(-1);
    return { members: page, next: rows.length > limit && last ? { createdAt: last.addedAt, id: last.userId } : null };
  }

  async accessOf(realmId: string, userId: string, at: Date, o: { maxOrgs: number; selectedOrgId: string | null }): Promise<AccessView> {
    // One read transaction (made once: better-sqlite3 builds a wrapper per transaction() call): the four reads see
    // one state of the tables.
    this.accessRead ??= this.db.transaction((q: AccessQuery) => this.readAccess(q));
    return this.accessRead.deferred({ realmId, userId, at, maxOrgs: o.maxOrgs, selectedOrgId: o.selectedOrgId });
  }

  private accessRead: Database.Transaction<(q: AccessQuery) => AccessView> | undefined;

  private readAccess({ realmId, userId, at, maxOrgs, selectedOrgId }: AccessQuery): AccessView {
    const withOrg = `SELECT m.*, o.name AS org_name, o.reference AS org_reference, o.custom_attributes AS org_cs
      FROM memberships m CROSS JOIN orgs o ON o.realm_id = m.realm_id AND o.id = m.org_id
      WHERE m.realm_id = @realmId AND m.user_id = @userId AND o.state = 'active' AND (m.expires_at IS NULL OR m.expires_at > @at)`;
    const params = { realmId, userId, at: at.getTime(), selected: selectedOrgId };
    const userOnlyRow = this.statement('SELECT * FROM memberships WHERE realm_id = ? AND user_id = ? AND org_id IS ?').get(realmId, userId, null) as Row | undefined;
    const userOnly = userOnlyRow ? rowToMembership(userOnlyRow) : null;
    const first = selectedOrgId === null ? undefined : (this.statement(`${withOrg} AND m.org_id = @selected`).get(params) as Row | undefined);
    const room = Math.max(0, Math.trunc(maxOrgs) - (first ? 1 : 0));
    // Walks memberships_user backwards (newest first); the extra row says `truncated`. The limit is written into the
    // SQL (one statement per realm's maxOrgs): SQLite re-plans a statement whose LIMIT is a bound parameter on every
    // run. The rows come back as one JSON array (one string for better-sqlite3 to hand over instead of 50 row
    // objects: a third of the time for 50 memberships, bench "hand-off, 50 memberships").
    const restJson = this.statement(`SELECT json_group_array(json_array(id, org_id, json(permissions), org_name, org_reference, json(org_cs))) FROM (
      ${withOrg} AND m.org_id IS NOT NULL AND m.org_id IS NOT @selected ORDER BY m.created_at DESC, m.id DESC LIMIT ${room + 1})`)
      .pluck()
      .get(params) as string;
    const rest = JSON.parse(restJson) as OrgEntryTuple[];
    const groups = this.statement(`SELECT g.id, g.permissions FROM group_members gm CROSS JOIN groups g ON g.realm_id = gm.realm_id AND g.id = gm.group_id
      WHERE gm.realm_id = ? AND gm.user_id = ? ORDER BY gm.created_at, gm.group_id`).all(realmId, userId) as Row[];
    return {
      userOnly: userOnly && isLive(userOnly, at) ? { id: userOnly.id, permissions: userOnly.permissions } : null,
      orgs: [...(first ? [orgEntryOf(first)] : []), ...rest.slice(0, room).map(orgEntryOfTuple)],
      truncated: rest.length > room,
      groups: groups.map((r) => ({ id: String(r.id), permissions: JSON.parse(String(r.permissions)) as string[] })),
    };
  }

  async permissionsOf(realmId: string, userId: string, at: Date): Promise<string[]> {
    const rows = this.statement(`SELECT m.permissions FROM memberships m LEFT JOIN orgs o ON o.realm_id = m.realm_id AND o.id = m.org_id
      WHERE m.realm_id = @realmId AND m.user_id = @userId AND (m.expires_at IS NULL OR m.expires_at > @at)
        AND (m.org_id IS NULL OR o.state = 'active')
      ORDER BY m.created_at, m.id`).all({ realmId, userId, at: at.getTime() }) as Row[];
    const groups = this.statement(`SELECT g.permissions FROM group_members gm CROSS JOIN groups g ON g.realm_id = gm.realm_id AND g.id = gm.group_id
      WHERE gm.realm_id = ? AND gm.user_id = ? ORDER BY gm.created_at, gm.group_id`).all(realmId, userId) as Row[];
    return [...new Set([...rows, ...groups].flatMap((r) => JSON.parse(String(r.permissions)) as string[]))];
  }

  async memberOfAny(realmId: string, userId: string, at: Date, orgIds: readonly string[], groupIds: readonly string[]): Promise<boolean> {
    if (orgIds.length === 0 && groupIds.length === 0) return false;
    const r = this.statement(`SELECT 1 FROM memberships m CROSS JOIN orgs o ON o.realm_id = m.realm_id AND o.id = m.org_id
      WHERE m.realm_id = @realmId AND m.user_id = @userId AND m.org_id IN (SELECT value FROM json_each(@orgIds))
        AND o.state = 'active' AND (m.expires_at IS NULL OR m.expires_at > @at)
      UNION ALL SELECT 1 FROM group_members
      WHERE realm_id = @realmId AND user_id = @userId AND group_id IN (SELECT value FROM json_each(@groupIds)) LIMIT 1`).get({
      realmId,
      userId,
      orgIds: JSON.stringify(orgIds),
      groupIds: JSON.stringify(groupIds),
      at: at.getTime(),
    });
    return r !== undefined;
  }
}

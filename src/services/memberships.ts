import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation, type FieldIssue } from '../domain/errors.ts';
import type { EventData, EventType, NewEvent } from '../domain/events.ts';
import type { CreatedCursor, Membership, MembershipPatch } from '../domain/orgs.ts';
import { isPermission, normalizePermissions } from '../domain/permissions.ts';
import type { AttributeValue } from '../identity/user.ts';
import { eventOf } from '../events/publish.ts';
import type { OrgsPort } from '../ports/orgs.ts';
import { UniqueViolation } from '../ports/users.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';

export interface NewMembershipInput {
  userId: string;
  /** null: the user-only membership (permissions put directly on the user). */
  orgId: string | null;
  permissions?: string[];
  expiresAt?: Date | null;
  customAttributes?: Record<string, AttributeValue>;
}

export type MembershipChange = Partial<{ permissions: string[]; expiresAt: Date | null; customAttributes: Record<string, AttributeValue> }>;

export interface MembershipListQuery {
  userId?: string;
  /** null: user-only memberships. */
  orgId?: string | null;
  /** Default true: expired memberships are listed (with `expired` in the API's answer). */
  includeExpired?: boolean;
}

/**
 * The permissions as stored (lower-cased, each once), within the realm's `memberships.maxPermissions` — the
 * one bound of a membership's and a group's permissions; RuleViolation otherwise.
 */
export function permissionsWithin(realm: RealmConfig, list: readonly string[], per: 'membership' | 'group'): string[] {
  const bad: FieldIssue[] = list.flatMap((p, i) => (isPermission(p) ? [] : [{ field: `permissions.${i}`, code: 'permission.invalid', message: 'letters, digits and * : ; . _ -, at most 62' }]));
  if (bad.length) throw new RuleViolation(bad);
  const permissions = normalizePermissions(list);
  const max = realm.memberships.maxPermissions;
  if (permissions.length > max) {
    throw new RuleViolation([{ field: 'permissions', code: 'permissions.too_many', message: `at most ${max} permissions per ${per} in this realm (memberships.maxPermissions)`, limit: max }]);
  }
  return permissions;
}

export interface MembershipsServiceDeps {
  orgs: OrgsPort;
  audit: AuditLog;
  clock: () => Date;
}

/**
 * Memberships (docs/design/orgs.md §3.1): a user's place in an org, or their user-only membership, with
 * permissions. The rules live here, for the API, the console and (later) invitations: permissions are
 * lower-cased and deduplicated and at most the realm's `memberships.maxPermissions`; an end in the past is
 * refused; one membership per (user, org) and one user-only per user is the database's rule (409); the user
 * and the org must exist in the realm (404) and the org be active (409 org.closed). Audited after the write,
 * evented in it (userId: the member).
 */
export class MembershipsService {
  constructor(private readonly d: MembershipsServiceDeps) {}

  private event<T extends EventType>(realm: RealmConfig, type: T, userId: string, ctx: RequestContext, data: EventData<T>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data });
  }

  private checkExpiry(expiresAt: Date | null | undefined): void {
    if (expiresAt && expiresAt.getTime() <= this.d.clock().getTime()) {
      throw new RuleViolation([{ field: 'expiresAt', code: 'expires_at.past', message: 'must be in the future (null: no end)' }]);
    }
  }

  /** The service's time: what `expired` is computed at. */
  now(): Date {
    return this.d.clock();
  }

  list(realm: RealmConfig, q: MembershipListQuery, after: CreatedCursor | null, limit: number) {
    return this.d.orgs.queryMemberships(realm.id, { ...(q.userId !== undefined ? { userId: q.userId } : {}), ...(q.orgId !== undefined ? { orgId: q.orgId } : {}), includeExpired: q.includeExpired ?? true, at: this.d.clock() }, after, limit);
  }

  async get(realm: RealmConfig, id: string): Promise<Membership> {
    const m = await this.d.orgs.findMembership(realm.id, id);
    if (!m) throw new NotFoundError('membership');
    return m;
  }

  async create(realm: RealmConfig, input: NewMembershipInput, ctx: RequestContext): Promise<Membership> {
    const permissions = permissionsWithin(realm, input.permissions ?? [], 'membership');
    this.checkExpiry(input.expiresAt);
    let result: Awaited<ReturnType<OrgsPort['createMembership']>>;
    try {
      result = await this.d.orgs.createMembership(
        { realmId: realm.id, userId: input.userId, orgId: input.orgId, permissions, customAttributes: input.customAttributes ?? {}, expiresAt: input.expiresAt ?? null },
        this.d.clock(),
        (m) => [this.event(realm, 'membership.created', m.userId, ctx, { membershipId: m.id, orgId: m.orgId, permissions: m.permissions })],
      );
    } catch (err) {
      if (err instanceof UniqueViolation && err.field === 'membership') {
        throw new ConflictError('membership_exists', input.orgId === null ? 'the user has a user-only membership already' : 'the user is a member of this org already', { field: 'orgId' });
      }
      throw err;
    }
    if ('missing' in result) {
      if (result.missing === 'org_closed') throw new ConflictError('org.closed', 'the org is closed: reopen it to add members', { field: 'orgId' });
      throw new NotFoundError(result.missing);
    }
    const m = result.created;
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'membership.create', target: { type: 'membership', id: m.id }, after: m });
    return m;
  }

  async update(realm: RealmConfig, id: string, change: MembershipChange, ctx: RequestContext): Promise<Membership> {
    const patch: MembershipPatch = {};
    if (change.permissions !== undefined) patch.permissions = permissionsWithin(realm, change.permissions, 'membership');
    if (change.expiresAt !== undefined) {
      this.checkExpiry(change.expiresAt);
      patch.expiresAt = change.expiresAt;
    }
    if (change.customAttributes !== undefined) patch.customAttributes = change.customAttributes;
    const before = await this.get(realm, id);
    const fields = Object.keys(patch);
    const after = await this.d.orgs.patchMembership(realm.id, id, patch, this.d.clock(), (m) =>
      m ? [this.event(realm, 'membership.updated', m.userId, ctx, { membershipId: m.id, orgId: m.orgId, fields })] : [],
    );
    if (!after) throw new NotFoundError('membership');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'membership.update', target: { type: 'membership', id }, before, after });
    return after;
  }

  /** The user's user-only membership (live or not), or null. */
  private async userOnlyOf(realm: RealmConfig, userId: string): Promise<Membership | null> {
    return (await this.list(realm, { userId, orgId: null }, null, 1)).memberships[0] ?? null;
  }

  /**
   * Adds `permission` to the user's user-only membership (made when there is none) — the console's app access
   * switch (docs/design/orgs.md §8). Audited and evented as any create or update; nothing when it is there already.
   */
  async grantUserPermission(realm: RealmConfig, userId: string, permission: string, ctx: RequestContext): Promise<Membership> {
    const current = await this.userOnlyOf(realm, userId);
    const p = permission.toLowerCase();
    if (!current) return this.create(realm, { userId, orgId: null, permissions: [p] }, ctx);
    if (current.permissions.includes(p)) return current;
    return this.update(realm, current.id, { permissions: [...current.permissions, p] }, ctx);
  }

  /**
   * Takes `permission` (that entry, not a wildcard that also grants it) off the user's user-only membership; the
   * membership goes when it would be left empty, as the user page's permissions form does. null: none is left.
   */
  async revokeUserPermission(realm: RealmConfig, userId: string, permission: string, ctx: RequestContext): Promise<Membership | null> {
    const current = await this.userOnlyOf(realm, userId);
    const p = permission.toLowerCase();
    if (!current || !current.permissions.includes(p)) return current;
    const rest = current.permissions.filter((x) => x !== p);
    if (rest.length === 0) {
      await this.delete(realm, current.id, ctx);
      return null;
    }
    return this.update(realm, current.id, { permissions: rest }, ctx);
  }

  async delete(realm: RealmConfig, id: string, ctx: RequestContext): Promise<void> {
    const deleted = await this.d.orgs.deleteMembership(realm.id, id, (m) => (m ? [this.event(realm, 'membership.deleted', m.userId, ctx, { membershipId: m.id, orgId: m.orgId })] : []));
    if (!deleted) throw new NotFoundError('membership');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'membership.delete', target: { type: 'membership', id }, before: deleted });
  }
}

import type { RealmConfig } from '../config/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { EventData, EventType, NewEvent } from '../domain/events.ts';
import type { Org, OrgCursor, OrgFilter, OrgPatch, OrgSort, OrgState } from '../domain/orgs.ts';
import type { AttributeValue } from '../identity/user.ts';
import { eventOf } from '../events/publish.ts';
import type { OrgsPort } from '../ports/orgs.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';

export interface NewOrgInput {
  name: string;
  reference?: string | null;
  customAttributes?: Record<string, AttributeValue>;
  state?: OrgState;
}

export type OrgChange = Partial<{ name: string; reference: string | null; customAttributes: Record<string, AttributeValue>; state: OrgState }>;

export interface OrgsServiceDeps {
  orgs: OrgsPort;
  audit: AuditLog;
  clock: () => Date;
}

/**
 * Orgs (docs/design/orgs.md §3.1), shared by the management API and (later) the console. Each write is
 * audited after it, and its event is written in the same store transaction as the change. An org's custom
 * attributes follow the API's generic limits only: the realm's `account.attributes` types are users'.
 */
export class OrgsService {
  constructor(private readonly d: OrgsServiceDeps) {}

  private event<T extends EventType>(realm: RealmConfig, type: T, ctx: RequestContext, data: EventData<T>): NewEvent {
    return eventOf({ realm, userId: null, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data });
  }

  list(realm: RealmConfig, filter: OrgFilter, sort: OrgSort, after: OrgCursor | null, limit: number) {
    return this.d.orgs.queryOrgs(realm.id, filter, sort, after, limit);
  }

  count(realm: RealmConfig, filter: OrgFilter): Promise<number> {
    return this.d.orgs.countOrgs(realm.id, filter);
  }

  async get(realm: RealmConfig, id: string): Promise<Org> {
    const org = await this.d.orgs.findOrg(realm.id, id);
    if (!org) throw new NotFoundError('org');
    return org;
  }

  async create(realm: RealmConfig, input: NewOrgInput, ctx: RequestContext): Promise<Org> {
    const org = await this.d.orgs.createOrg(
      { realmId: realm.id, name: input.name, reference: input.reference ?? null, customAttributes: input.customAttributes ?? {}, ...(input.state ? { state: input.state } : {}) },
      this.d.clock(),
      (created) => [this.event(realm, 'org.created', ctx, { orgId: created.id, name: created.name })],
    );
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'org.create', target: { type: 'org', id: org.id }, after: org });
    return org;
  }

  /** Closing (active → closed) is told as org.closed, anything else — reopening too — as org.updated. */
  async update(realm: RealmConfig, id: string, change: OrgChange, ctx: RequestContext): Promise<Org> {
    const before = await this.get(realm, id);
    const patch: OrgPatch = {};
    for (const k of ['name', 'reference', 'customAttributes', 'state'] as const) if (change[k] !== undefined) (patch as Record<string, unknown>)[k] = change[k];
    const fields = Object.keys(patch);
    const closing = before.state === 'active' && patch.state === 'closed';
    const after = await this.d.orgs.patchOrg(realm.id, id, patch, this.d.clock(), (org) =>
      org ? [closing ? this.event(realm, 'org.closed', ctx, { orgId: id, fields }) : this.event(realm, 'org.updated', ctx, { orgId: id, fields })] : [],
    );
    if (!after) throw new NotFoundError('org');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'org.update', target: { type: 'org', id }, before, after });
    return after;
  }

  /** A closed org stays as it is (no write, no event). */
  async close(realm: RealmConfig, id: string, ctx: RequestContext): Promise<Org> {
    const org = await this.get(realm, id);
    if (org.state === 'closed') return org;
    return this.update(realm, id, { state: 'closed' }, ctx);
  }

  /** The org and its memberships, in one transaction: org.deleted says how many memberships went (no event each). */
  async delete(realm: RealmConfig, id: string, ctx: RequestContext): Promise<{ memberships: number }> {
    const deleted = await this.d.orgs.deleteOrg(realm.id, id, (result) =>
      result ? [this.event(realm, 'org.deleted', ctx, { orgId: id, name: result.org.name, memberships: result.memberships })] : [],
    );
    if (!deleted) throw new NotFoundError('org');
    await this.d.audit.record(ctx, { realmId: realm.id, operation: 'org.delete', target: { type: 'org', id }, before: { ...deleted.org, memberships: deleted.memberships } });
    return { memberships: deleted.memberships };
  }
}

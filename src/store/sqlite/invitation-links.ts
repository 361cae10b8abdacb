import type Database from 'better-sqlite3';
import { statementCache } from './statements.ts';
import { newId } from '../../domain/ids.ts';
import type { InvitationLink, JoinDecided, JoinDecision, JoinRequest, JoinRequestStatus, LinkQuery, LinkRefused, LinkUsed, NewInvitationLink, NewJoinRequest } from '../../domain/invitation-links.ts';
import { unionPermissions, type InvitationCreator } from '../../domain/invitations.ts';
import type { CreatedCursor, Membership } from '../../domain/orgs.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { InvitationLinksPort } from '../../ports/invitation-links.ts';
import type { SqliteEvents } from './events.ts';
import { rowToMembership, type Row } from './orgs.ts';

const str = (v: unknown): string | null => (v == null ? null : String(v));
const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));

function rowToLink(r: Row): InvitationLink {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    name: str(r.name),
    orgId: str(r.org_id),
    permissions: JSON.parse(String(r.permissions)) as string[],
    approval: Number(r.approval) === 1,
    returnTo: r.return_to == null ? null : (JSON.parse(String(r.return_to)) as ReturnTo),
    createdBy: { type: r.created_by_type as InvitationCreator['type'], id: str(r.created_by_id) },
    expiresAt: date(r.expires_at)!,
    revokedAt: date(r.revoked_at),
    uses: Number(r.uses),
    createdAt: date(r.created_at)!,
  };
}

function rowToRequest(r: Row): JoinRequest {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    linkId: String(r.link_id),
    name: String(r.name),
    email: String(r.email),
    userId: str(r.user_id),
    status: r.status as JoinRequestStatus,
    decidedBy: r.decided_by_type == null ? null : { type: r.decided_by_type as InvitationCreator['type'], id: str(r.decided_by_id) },
    decidedAt: date(r.decided_at),
    reason: str(r.reason),
    createdAt: date(r.created_at)!,
  };
}

/** Thrown inside a transaction to roll it back (nothing written), caught outside. */
class Refused extends Error {
  constructor(readonly refusal: LinkRefused) {
    super('refused');
  }
}

/**
 * Invitation links and join requests (migration 018) on the SQLite file. A join (or an approval) counts the use
 * and makes or widens the membership in one IMMEDIATE transaction nothing else interleaves with — also a second
 * instance on the same file.
 */
export class SqliteInvitationLinks implements InvitationLinksPort {
  private readonly statement: (sql: string) => Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly events: SqliteEvents,
  ) {
    this.statement = statementCache(db);
  }

  async createLink(link: NewInvitationLink, at: Date, emit?: Emit<InvitationLink>): Promise<InvitationLink> {
    const insert = this.statement(`INSERT INTO invitation_links (id, realm_id, name, org_id, permissions, approval, return_to, token_hash, created_by_type, created_by_id, expires_at, revoked_at, uses, created_at)
      VALUES (@id, @realmId, @name, @orgId, @permissions, @approval, @returnTo, @tokenHash, @createdByType, @createdById, @expiresAt, NULL, 0, @at) RETURNING *`);
    const params = {
      id: newId('invl'),
      realmId: link.realmId,
      name: link.name ?? null,
      orgId: link.orgId ?? null,
      permissions: JSON.stringify(link.permissions ?? []),
      approval: link.approval ? 1 : 0,
      returnTo: link.returnTo ? JSON.stringify(link.returnTo) : null,
      tokenHash: link.tokenHash,
      createdByType: link.createdBy.type,
      createdById: link.createdBy.id,
      expiresAt: link.expiresAt.getTime(),
      at: at.getTime(),
    };
    return this.events.withEvents(() => rowToLink(insert.get(params) as Row), emit);
  }

  async findLink(realmId: string, id: string): Promise<InvitationLink | null> {
    const r = this.statement('SELECT * FROM invitation_links WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToLink(r) : null;
  }

  async findLinkByToken(realmId: string, tokenHash: string, at: Date): Promise<InvitationLink | null> {
    const r = this.statement('SELECT * FROM invitation_links WHERE realm_id = ? AND token_hash = ? AND revoked_at IS NULL AND expires_at > ?').get(realmId, tokenHash, at.getTime()) as
      | Row
      | undefined;
    return r ? rowToLink(r) : null;
  }

  private page<T extends { createdAt: Date; id: string }>(table: string, parts: string[], params: Record<string, unknown>, after: CreatedCursor | null, limit: number, map: (r: Row) => T) {
    if (after) {
      parts.push('(created_at, id) < (@afterAt, @afterId)');
      params.afterAt = after.createdAt.getTime();
      params.afterId = after.id;
    }
    const rows = (this.statement(`SELECT * FROM ${table} WHERE ${parts.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`).all(params) as Row[]).map(map);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async queryLinks(realmId: string, q: LinkQuery, after: CreatedCursor | null, limit: number): Promise<{ links: InvitationLink[]; next: CreatedCursor | null }> {
    if (limit < 1) return { links: [], next: null };
    const parts = ['realm_id = @realmId'];
    const params: Record<string, unknown> = { realmId };
    if (q.createdBy) {
      parts.push('created_by_type = @byType', q.createdBy.id === null ? 'created_by_id IS NULL' : 'created_by_id = @byId');
      params.byType = q.createdBy.type;
      if (q.createdBy.id !== null) params.byId = q.createdBy.id;
    }
    const { page, next } = this.page('invitation_links', parts, params, after, limit, rowToLink);
    return { links: page, next };
  }

  async revokeLink(realmId: string, id: string, at: Date, emit?: Emit<InvitationLink | null>): Promise<InvitationLink | null> {
    const update = this.statement('UPDATE invitation_links SET revoked_at = ? WHERE realm_id = ? AND id = ? AND revoked_at IS NULL RETURNING *');
    return this.events.withEvents(() => {
      const r = update.get(at.getTime(), realmId, id) as Row | undefined;
      return r ? rowToLink(r) : null;
    }, emit);
  }

  async revokeLinksBy(realmId: string, createdBy: InvitationCreator, at: Date, emit?: Emit<InvitationLink[]>): Promise<number> {
    const update = this.statement(`UPDATE invitation_links SET revoked_at = @at WHERE realm_id = @realmId AND created_by_type = @type
      AND created_by_id IS @id AND revoked_at IS NULL AND expires_at > @at RETURNING *`);
    const links = this.events.withEvents(() => (update.all({ at: at.getTime(), realmId, type: createdBy.type, id: createdBy.id }) as Row[]).map(rowToLink), emit);
    return links.length;
  }

  /** Inside a transaction: the user's membership of `orgId` made with `permissions`, or widened (union ≤ max, expiry cleared). */
  private joinOrg(realmId: string, userId: string, orgId: string, permissions: string[], max: number, now: number): { membership: Membership; created: boolean } {
    const org = this.statement('SELECT state FROM orgs WHERE realm_id = ? AND id = ?').get(realmId, orgId) as Row | undefined;
    if (!org) throw new Refused({ missing: 'org' });
    if (org.state !== 'active') throw new Refused({ missing: 'org_closed' });
    const had = this.statement('SELECT * FROM memberships WHERE realm_id = ? AND user_id = ? AND org_id = ?').get(realmId, userId, orgId) as Row | undefined;
    if (had) {
      const union = unionPermissions(JSON.parse(String(had.permissions)) as string[], permissions, max);
      const row = this.statement('UPDATE memberships SET permissions = @permissions, expires_at = NULL, updated_at = @at WHERE realm_id = @realmId AND id = @id RETURNING *').get({
        realmId,
        id: had.id,
        permissions: JSON.stringify(union),
        at: now,
      }) as Row;
      return { membership: rowToMembership(row), created: false };
    }
    const row = this.statement(`INSERT INTO memberships (id, realm_id, user_id, org_id, permissions, custom_attributes, expires_at, created_at, updated_at)
      VALUES (@id, @realmId, @userId, @orgId, @permissions, '{}', NULL, @at, @at) RETURNING *`).get({ id: newId('mb'), realmId, userId, orgId, permissions: JSON.stringify(permissions.slice(0, max)), at: now }) as Row;
    return { membership: rowToMembership(row), created: true };
  }

  private run<T>(body: () => T): T | LinkRefused {
    try {
      // IMMEDIATE: the write lock before the first read, so a second instance on the file waits instead of failing its upgrade.
      return this.db.transaction(body).immediate();
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
  }

  async useLink(realmId: string, linkId: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<LinkUsed>): Promise<LinkUsed | LinkRefused> {
    const now = at.getTime();
    return this.run((): LinkUsed => {
      const r = this.statement('UPDATE invitation_links SET uses = uses + 1 WHERE realm_id = ? AND id = ? AND revoked_at IS NULL AND expires_at > ? AND approval = 0 RETURNING *').get(realmId, linkId, now) as
        | Row
        | undefined;
      if (!r) throw new Refused({ gone: true });
      const link = rowToLink(r);
      if (!this.statement('SELECT 1 FROM users WHERE realm_id = ? AND id = ?').get(realmId, userId)) throw new Refused({ missing: 'user' });
      const joined = link.orgId ? this.joinOrg(realmId, userId, link.orgId, link.permissions, maxPermissions, now) : { membership: null, created: false };
      const result: LinkUsed = { link, ...joined };
      this.events.insertAll(emitted(emit, result));
      return result;
    });
  }

  async createJoinRequest(req: NewJoinRequest, at: Date, emit?: Emit<JoinRequest>): Promise<JoinRequest> {
    const insert = this.statement(`INSERT INTO join_requests (id, realm_id, link_id, name, email, user_id, status, created_at)
      VALUES (@id, @realmId, @linkId, @name, @email, NULL, 'pending', @at) RETURNING *`);
    const params = { id: newId('jr'), realmId: req.realmId, linkId: req.linkId, name: req.name, email: req.email, at: at.getTime() };
    return this.events.withEvents(() => rowToRequest(insert.get(params) as Row), emit);
  }

  async findJoinRequest(realmId: string, id: string): Promise<JoinRequest | null> {
    const r = this.statement('SELECT * FROM join_requests WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToRequest(r) : null;
  }

  async queryJoinRequests(realmId: string, q: { status?: JoinRequestStatus }, after: CreatedCursor | null, limit: number): Promise<{ requests: JoinRequest[]; next: CreatedCursor | null }> {
    if (limit < 1) return { requests: [], next: null };
    const parts = ['realm_id = @realmId'];
    const params: Record<string, unknown> = { realmId };
    if (q.status !== undefined) {
      parts.push('status = @status');
      params.status = q.status;
    }
    const { page, next } = this.page('join_requests', parts, params, after, limit, rowToRequest);
    return { requests: page, next };
  }

  async countJoinRequests(realmId: string, status: JoinRequestStatus): Promise<number> {
    return (this.statement('SELECT COUNT(*) AS n FROM join_requests WHERE realm_id = ? AND status = ?').get(realmId, status) as { n: number }).n;
  }

  async decideJoinRequest(realmId: string, id: string, decision: JoinDecision, by: InvitationCreator, at: Date, emit?: Emit<JoinDecided>): Promise<JoinDecided | LinkRefused> {
    const now = at.getTime();
    return this.run((): JoinDecided => {
      const approved = decision.status === 'approved';
      const r = this.statement(`UPDATE join_requests SET status = @status, user_id = @userId, decided_by_type = @byType, decided_by_id = @byId, decided_at = @at, reason = @reason
        WHERE realm_id = @realmId AND id = @id AND status = 'pending' RETURNING *`).get({
        status: decision.status,
        userId: approved ? decision.userId : null,
        byType: by.type,
        byId: by.id,
        at: now,
        reason: approved ? null : (decision.reason ?? null),
        realmId,
        id,
      }) as Row | undefined;
      if (!r) throw new Refused({ gone: true });
      const request = rowToRequest(r);
      let result: JoinDecided = { request, link: null, membership: null, created: false };
      if (approved) {
        if (!this.statement('SELECT 1 FROM users WHERE realm_id = ? AND id = ?').get(realmId, decision.userId)) throw new Refused({ missing: 'user' });
        const l = this.statement('UPDATE invitation_links SET uses = uses + 1 WHERE realm_id = ? AND id = ? RETURNING *').get(realmId, request.linkId) as Row | undefined;
        const link = l ? rowToLink(l) : null;
        const joined = link?.orgId ? this.joinOrg(realmId, decision.userId, link.orgId, link.permissions, decision.maxPermissions, now) : { membership: null, created: false };
        result = { request, link, ...joined };
      }
      this.events.insertAll(emitted(emit, result));
      return result;
    });
  }
}

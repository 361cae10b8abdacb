import type Database from 'better-sqlite3';
import { statementCache } from './statements.ts';
import { newId } from '../../domain/ids.ts';
import { unionPermissions, type Invitation, type InvitationAccepted, type InvitationQuery, type InvitationRefused, type NewInvitation } from '../../domain/invitations.ts';
import type { CreatedCursor } from '../../domain/orgs.ts';
import type { ReturnTo } from '../../domain/return-to.ts';
import { normalizeLogin } from '../../identity/user.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { InvitationsPort } from '../../ports/invitations.ts';
import type { SqliteEvents } from './events.ts';
import { prefixEnd, rowToMembership, type Row } from './orgs.ts';

const str = (v: unknown): string | null => (v == null ? null : String(v));
const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));

function rowToInvitation(r: Row): Invitation {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    orgId: String(r.org_id),
    email: String(r.email),
    name: str(r.name),
    permissions: JSON.parse(String(r.permissions)) as string[],
    returnTo: r.return_to == null ? null : (JSON.parse(String(r.return_to)) as ReturnTo),
    createdBy: { type: r.created_by_type as Invitation['createdBy']['type'], id: str(r.created_by_id) },
    status: r.status as Invitation['status'],
    expiresAt: date(r.expires_at)!,
    sentCount: Number(r.sent_count),
    lastSentAt: date(r.last_sent_at)!,
    acceptedBy: str(r.accepted_by),
    acceptedAt: date(r.accepted_at),
    createdAt: date(r.created_at)!,
  };
}

/** Thrown inside acceptInvitation's transaction to roll it back (nothing written), caught outside. */
class Refused extends Error {
  constructor(readonly refusal: InvitationRefused) {
    super('refused');
  }
}

/**
 * Org invitations (migration 017) on the SQLite file, beside the orgs and memberships (migration 014) their
 * accept writes: better-sqlite3 is synchronous, so an accept's checks, its two writes and its events run in one
 * IMMEDIATE transaction nothing else interleaves with — also a second instance on the same file.
 */
export class SqliteInvitations implements InvitationsPort {
  /** A statement prepared once per SQL text (statements.ts). */
  private readonly statement: (sql: string) => Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly events: SqliteEvents,
  ) {
    this.statement = statementCache(db);
  }

  async createInvitation(inv: NewInvitation, at: Date, emit?: Emit<Invitation>): Promise<Invitation> {
    const insert = this.statement(`INSERT INTO invitations (id, realm_id, org_id, email, email_norm, name, name_norm, permissions, return_to, token_hash,
        created_by_type, created_by_id, status, expires_at, sent_count, last_sent_at, created_at)
      VALUES (@id, @realmId, @orgId, @email, @emailNorm, @name, @nameNorm, @permissions, @returnTo, @tokenHash,
        @createdByType, @createdById, 'pending', @expiresAt, 1, @at, @at) RETURNING *`);
    const params = {
      id: newId('inv'),
      realmId: inv.realmId,
      orgId: inv.orgId,
      email: inv.email,
      emailNorm: normalizeLogin(inv.email),
      name: inv.name ?? null,
      nameNorm: inv.name ? normalizeLogin(inv.name) : null,
      permissions: JSON.stringify(inv.permissions ?? []),
      returnTo: inv.returnTo ? JSON.stringify(inv.returnTo) : null,
      tokenHash: inv.tokenHash,
      createdByType: inv.createdBy.type,
      createdById: inv.createdBy.id,
      expiresAt: inv.expiresAt.getTime(),
      at: at.getTime(),
    };
    return this.events.withEvents(() => rowToInvitation(insert.get(params) as Row), emit);
  }

  async findInvitation(realmId: string, id: string): Promise<Invitation | null> {
    const r = this.statement('SELECT * FROM invitations WHERE realm_id = ? AND id = ?').get(realmId, id) as Row | undefined;
    return r ? rowToInvitation(r) : null;
  }

  async findInvitationByToken(realmId: string, tokenHash: string, at: Date): Promise<Invitation | null> {
    const r = this.statement("SELECT * FROM invitations WHERE realm_id = ? AND token_hash = ? AND status = 'pending' AND expires_at > ?").get(realmId, tokenHash, at.getTime()) as
      | Row
      | undefined;
    return r ? rowToInvitation(r) : null;
  }

  async queryInvitations(realmId: string, q: InvitationQuery, after: CreatedCursor | null, limit: number): Promise<{ invitations: Invitation[]; next: CreatedCursor | null }> {
    if (limit < 1) return { invitations: [], next: null };
    const parts = ['realm_id = @realmId'];
    const params: Record<string, unknown> = { realmId, limit: limit + 1 };
    if (q.orgId !== undefined) {
      parts.push('org_id = @orgId');
      params.orgId = q.orgId;
    }
    if (q.status !== undefined) {
      parts.push('status = @status');
      params.status = q.status;
    }
    if (q.q !== undefined) {
      // Ranges rather than LIKE: no character of the prefix is a wildcard.
      parts.push('((email_norm >= @q AND email_norm < @qEnd) OR (name_norm >= @q AND name_norm < @qEnd))');
      params.q = normalizeLogin(q.q);
      params.qEnd = prefixEnd(params.q as string);
    }
    if (after) {
      parts.push('(created_at, id) < (@afterAt, @afterId)');
      params.afterAt = after.createdAt.getTime();
      params.afterId = after.id;
    }
    const rows = (this.statement(`SELECT * FROM invitations WHERE ${parts.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT @limit`).all(params) as Row[]).map(rowToInvitation);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { invitations: page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async replaceInvitationToken(realmId: string, id: string, tokenHash: string, expiresAt: Date, at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null> {
    const update = this.statement(`UPDATE invitations SET token_hash = @tokenHash, expires_at = @expiresAt, sent_count = sent_count + 1, last_sent_at = @at
      WHERE realm_id = @realmId AND id = @id AND status = 'pending' RETURNING *`);
    return this.events.withEvents(() => {
      const r = update.get({ realmId, id, tokenHash, expiresAt: expiresAt.getTime(), at: at.getTime() }) as Row | undefined;
      return r ? rowToInvitation(r) : null;
    }, emit);
  }

  async revokeInvitation(realmId: string, id: string, _at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null> {
    const update = this.statement(`UPDATE invitations SET status = 'revoked' WHERE realm_id = ? AND id = ? AND status = 'pending' RETURNING *`);
    return this.events.withEvents(() => {
      const r = update.get(realmId, id) as Row | undefined;
      return r ? rowToInvitation(r) : null;
    }, emit);
  }

  async acceptInvitation(realmId: string, tokenHash: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<InvitationAccepted>): Promise<InvitationAccepted | InvitationRefused> {
    const take = this.statement(`UPDATE invitations SET status = 'accepted', accepted_by = @userId, accepted_at = @at
      WHERE realm_id = @realmId AND token_hash = @tokenHash AND status = 'pending' AND expires_at > @at RETURNING *`);
    const user = this.statement('SELECT 1 FROM users WHERE realm_id = ? AND id = ?');
    const org = this.statement('SELECT state FROM orgs WHERE realm_id = ? AND id = ?');
    const existing = this.statement('SELECT * FROM memberships WHERE realm_id = ? AND user_id = ? AND org_id = ?');
    // A member's invitation passes on permissions, never time: the membership there keeps its expiry (an operator's or key's clears it).
    const widen = this.statement('UPDATE memberships SET permissions = @permissions, expires_at = CASE WHEN @keepExpiry = 1 THEN expires_at ELSE NULL END, updated_at = @at WHERE realm_id = @realmId AND id = @id RETURNING *');
    const insert = this.statement(`INSERT INTO memberships (id, realm_id, user_id, org_id, permissions, custom_attributes, expires_at, created_at, updated_at)
      VALUES (@id, @realmId, @userId, @orgId, @permissions, '{}', NULL, @at, @at) RETURNING *`);
    const now = at.getTime();
    try {
      // IMMEDIATE: the write lock before the first read, so a second instance on the file waits instead of failing its upgrade.
      return this.db
        .transaction((): InvitationAccepted => {
          const r = take.get({ realmId, tokenHash, userId, at: now }) as Row | undefined;
          if (!r) throw new Refused({ gone: true });
          const invitation = rowToInvitation(r);
          if (!user.get(realmId, userId)) throw new Refused({ missing: 'user' });
          const o = org.get(realmId, invitation.orgId) as Row | undefined;
          if (!o) throw new Refused({ missing: 'org' });
          if (o.state !== 'active') throw new Refused({ missing: 'org_closed' });
          const had = existing.get(realmId, userId, invitation.orgId) as Row | undefined;
          let result: InvitationAccepted;
          if (had) {
            const permissions = unionPermissions(JSON.parse(String(had.permissions)) as string[], invitation.permissions, maxPermissions);
            result = { invitation, membership: rowToMembership(widen.get({ realmId, id: had.id, permissions: JSON.stringify(permissions), at: now, keepExpiry: invitation.createdBy.type === 'user' ? 1 : 0 }) as Row), created: false };
          } else {
            const permissions = invitation.permissions.slice(0, maxPermissions);
            const row = insert.get({ id: newId('mb'), realmId, userId, orgId: invitation.orgId, permissions: JSON.stringify(permissions), at: now }) as Row;
            result = { invitation, membership: rowToMembership(row), created: true };
          }
          this.events.insertAll(emitted(emit, result));
          return result;
        })
        .immediate();
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
  }
}

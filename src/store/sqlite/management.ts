import type Database from 'better-sqlite3';
import type { ManagementKey } from '../../domain/management-key.ts';
import type { OperatorRole, RoleGrant } from '../../domain/operator-role.ts';
import type { AuditEntry, AuditPort, AuditQuery } from '../../ports/audit.ts';
import type { ManagementKeysPort } from '../../ports/management-keys.ts';
import type { OperatorRolesPort } from '../../ports/operator-roles.ts';
import type { Row } from './index.ts';

const date = (v: unknown): Date | null => (v == null ? null : new Date(Number(v)));
const json = (v: unknown): Record<string, unknown> | null => (v == null ? null : (JSON.parse(String(v)) as Record<string, unknown>));

function rowToKey(r: Row): ManagementKey {
  return {
    id: String(r.id),
    name: r.name == null ? null : String(r.name),
    realmId: r.realm_id == null ? null : String(r.realm_id),
    access: r.access as ManagementKey['access'],
    lastFour: String(r.last_four),
    createdAt: date(r.created_at)!,
    createdBy: r.created_by == null ? null : String(r.created_by),
    lastUsedAt: date(r.last_used_at),
    revokedAt: date(r.revoked_at),
  };
}

function rowToAudit(r: Row): AuditEntry {
  return {
    id: String(r.id),
    realmId: r.realm_id == null ? null : String(r.realm_id),
    at: date(r.at)!,
    actor: { type: r.actor_type as AuditEntry['actor']['type'], id: r.actor_id == null ? null : String(r.actor_id) },
    operation: String(r.operation),
    target: { type: String(r.target_type), id: r.target_id == null ? null : String(r.target_id) },
    requestId: r.request_id == null ? null : String(r.request_id),
    ip: r.ip == null ? null : String(r.ip),
    before: json(r.before),
    after: json(r.after),
  };
}

/** Management API keys and the audit log, on the SQLite file (operators' roles are SqliteOperatorRoles, below). */
export class SqliteManagement implements ManagementKeysPort, AuditPort {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insertKey: db.prepare(`INSERT INTO management_keys (id, name, realm_id, access, key_hash, last_four, created_at, created_by)
        VALUES (@id, @name, @realmId, @access, @keyHash, @lastFour, @createdAt, @createdBy)`),
      keyByHash: db.prepare('SELECT * FROM management_keys WHERE key_hash = ?'),
      keyById: db.prepare('SELECT * FROM management_keys WHERE id = ?'),
      keys: db.prepare('SELECT * FROM management_keys ORDER BY created_at DESC, id'),
      revoke: db.prepare('UPDATE management_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      touch: db.prepare('UPDATE management_keys SET last_used_at = ? WHERE id = ?'),
      insertAudit: db.prepare(`INSERT INTO audit_log (realm_id, at, actor_type, actor_id, operation, target_type, target_id, request_id, ip, before, after)
        VALUES (@realmId, @at, @actorType, @actorId, @operation, @targetType, @targetId, @requestId, @ip, @before, @after)`),
      audit: db.prepare(`SELECT * FROM audit_log
        WHERE (@realmId IS NULL OR realm_id = @realmId) AND (@targetId IS NULL OR target_id = @targetId) AND (@before IS NULL OR id < @before)
        ORDER BY id DESC LIMIT @limit`),
    };
  }

  async createKey(key: ManagementKey, keyHash: string): Promise<void> {
    this.s.insertKey.run({ ...key, keyHash, createdAt: key.createdAt.getTime() });
  }

  async findKeyByHash(keyHash: string): Promise<ManagementKey | null> {
    const r = this.s.keyByHash.get(keyHash) as Row | undefined;
    return r ? rowToKey(r) : null;
  }

  async getKey(id: string): Promise<ManagementKey | null> {
    const r = this.s.keyById.get(id) as Row | undefined;
    return r ? rowToKey(r) : null;
  }

  async listKeys(): Promise<ManagementKey[]> {
    return (this.s.keys.all() as Row[]).map(rowToKey);
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    return this.s.revoke.run(at.getTime(), id).changes > 0;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    this.s.touch.run(at.getTime(), id);
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    this.s.insertAudit.run({
      realmId: entry.realmId,
      at: entry.at.getTime(),
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      operation: entry.operation,
      targetType: entry.target.type,
      targetId: entry.target.id,
      requestId: entry.requestId,
      ip: entry.ip,
      before: entry.before ? JSON.stringify(entry.before) : null,
      after: entry.after ? JSON.stringify(entry.after) : null,
    });
  }

  async queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const before = query.before !== undefined && /^\d{1,18}$/.test(query.before) ? Number(query.before) : null;
    return (this.s.audit.all({ realmId: query.realmId ?? null, targetId: query.targetId ?? null, before, limit: query.limit }) as Row[]).map(rowToAudit);
  }
}

function rowToGrant(r: Row): RoleGrant {
  return {
    operatorId: String(r.operator_id),
    realmId: String(r.realm_id),
    role: r.role as OperatorRole,
    grantedAt: date(r.granted_at)!,
    grantedBy: r.granted_by == null ? null : String(r.granted_by),
  };
}

/** Operators' role grants (migration 011), on the SQLite file. */
export class SqliteOperatorRoles implements OperatorRolesPort {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      of: db.prepare('SELECT * FROM operator_roles WHERE operator_id = ? ORDER BY realm_id'),
      on: db.prepare("SELECT * FROM operator_roles WHERE realm_id IN (?, '*') ORDER BY operator_id, realm_id"),
      all: db.prepare('SELECT * FROM operator_roles ORDER BY operator_id, realm_id'),
      set: db.prepare(`INSERT INTO operator_roles (operator_id, realm_id, role, granted_at, granted_by) VALUES (@operatorId, @realmId, @role, @grantedAt, @grantedBy)
        ON CONFLICT (operator_id, realm_id) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at, granted_by = excluded.granted_by`),
      remove: db.prepare('DELETE FROM operator_roles WHERE operator_id = ? AND realm_id = ?'),
      owners: db.prepare("SELECT COUNT(*) FROM operator_roles WHERE realm_id = ? AND role = 'owner'").pluck(),
      any: db.prepare('SELECT 1 FROM operator_roles LIMIT 1').pluck(),
    };
  }

  async grantsOf(operatorId: string): Promise<RoleGrant[]> {
    return (this.s.of.all(operatorId) as Row[]).map(rowToGrant);
  }

  async grantsOn(realmId: string): Promise<RoleGrant[]> {
    return (this.s.on.all(realmId) as Row[]).map(rowToGrant);
  }

  async allGrants(): Promise<RoleGrant[]> {
    return (this.s.all.all() as Row[]).map(rowToGrant);
  }

  async setGrant(grant: RoleGrant): Promise<void> {
    this.s.set.run({ ...grant, grantedAt: grant.grantedAt.getTime() });
  }

  async removeGrant(operatorId: string, realmId: string): Promise<boolean> {
    return this.s.remove.run(operatorId, realmId).changes > 0;
  }

  async countOwners(realmId: string): Promise<number> {
    return Number(this.s.owners.get(realmId));
  }

  async anyOperator(): Promise<boolean> {
    return this.s.any.get() !== undefined;
  }
}

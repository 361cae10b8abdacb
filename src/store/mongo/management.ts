import { Types, type Connection, type Model } from 'mongoose';
import type { ManagementKey } from '../../domain/management-key.ts';
import type { RoleGrant } from '../../domain/operator-role.ts';
import type { AuditEntry, AuditPort, AuditQuery } from '../../ports/audit.ts';
import type { ManagementKeysPort } from '../../ports/management-keys.ts';
import type { OperatorRolesPort } from '../../ports/operator-roles.ts';
import { model, nullableDate, nullableString, schema, type OperatorRoleDoc } from './schemas.ts';

/**
 * Management API keys and the audit log in MongoDB: the collections mirror SQLite's migration 008. An audit
 * entry's before and after are kept as JSON text, as there: read back exactly as written, whatever their keys.
 */

interface KeyDoc {
  /** The key's id (mk_…). */
  _id: string;
  name: string | null;
  /** null: every realm. */
  realmId: string | null;
  access: ManagementKey['access'];
  keyHash: string;
  lastFour: string;
  createdAt: Date;
  createdBy: string | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface AuditDoc {
  /** Made by this process in order: "newest first" and the `before` cursor go by it. */
  _id: Types.ObjectId;
  realmId: string | null;
  at: Date;
  actorType: AuditEntry['actor']['type'];
  actorId: string | null;
  operation: string;
  targetType: string;
  targetId: string | null;
  requestId: string | null;
  ip: string | null;
  before: string | null;
  after: string | null;
}

const keySchema = schema<KeyDoc>({
  _id: String,
  name: nullableString,
  realmId: nullableString,
  access: String,
  keyHash: String,
  lastFour: String,
  createdAt: Date,
  createdBy: nullableString,
  lastUsedAt: nullableDate,
  revokedAt: nullableDate,
});
keySchema.index({ keyHash: 1 }, { unique: true, name: 'management_keys_hash' });
keySchema.index({ createdAt: -1, _id: 1 }, { name: 'management_keys_created' });

const auditSchema = schema<AuditDoc>({
  realmId: nullableString,
  at: Date,
  actorType: String,
  actorId: nullableString,
  operation: String,
  targetType: String,
  targetId: nullableString,
  requestId: nullableString,
  ip: nullableString,
  before: nullableString,
  after: nullableString,
});
auditSchema.index({ realmId: 1, _id: -1 }, { name: 'audit_log_realm' });
auditSchema.index({ targetId: 1, _id: -1 }, { name: 'audit_log_target' });

const json = (v: string | null | undefined): Record<string, unknown> | null => (v == null ? null : (JSON.parse(v) as Record<string, unknown>));

function toKey(d: KeyDoc): ManagementKey {
  return {
    id: d._id,
    name: d.name ?? null,
    realmId: d.realmId ?? null,
    access: d.access,
    lastFour: d.lastFour,
    createdAt: d.createdAt,
    createdBy: d.createdBy ?? null,
    lastUsedAt: d.lastUsedAt ?? null,
    revokedAt: d.revokedAt ?? null,
  };
}

function toAudit(d: AuditDoc): AuditEntry {
  return {
    id: d._id.toHexString(),
    realmId: d.realmId ?? null,
    at: d.at,
    actor: { type: d.actorType, id: d.actorId ?? null },
    operation: d.operation,
    target: { type: d.targetType, id: d.targetId ?? null },
    requestId: d.requestId ?? null,
    ip: d.ip ?? null,
    before: json(d.before),
    after: json(d.after),
  };
}

/** Management API keys and the audit log, on the MongoDB store's connection. */
export class MongoManagement implements ManagementKeysPort, AuditPort {
  private readonly keys: Model<KeyDoc>;
  private readonly audit: Model<AuditDoc>;

  private constructor(connection: Connection) {
    this.keys = model(connection, 'ManagementKey', keySchema, 'management_keys');
    this.audit = model(connection, 'AuditEntry', auditSchema, 'audit_log');
  }

  /** The keys and the log on `connection`, their collections and indexes made first. */
  static async open(connection: Connection): Promise<MongoManagement> {
    const management = new MongoManagement(connection);
    for (const m of [management.keys, management.audit] as Model<unknown>[]) {
      await m.createCollection();
      await m.createIndexes();
    }
    return management;
  }

  async createKey(key: ManagementKey, keyHash: string): Promise<void> {
    const doc: KeyDoc = {
      _id: key.id,
      name: key.name,
      realmId: key.realmId,
      access: key.access,
      keyHash,
      lastFour: key.lastFour,
      createdAt: key.createdAt,
      createdBy: key.createdBy,
      lastUsedAt: key.lastUsedAt,
      revokedAt: key.revokedAt,
    };
    await this.keys.create(doc);
  }

  async findKeyByHash(keyHash: string): Promise<ManagementKey | null> {
    const d = await this.keys.findOne({ keyHash }).lean<KeyDoc>();
    return d ? toKey(d) : null;
  }

  async getKey(id: string): Promise<ManagementKey | null> {
    const d = await this.keys.findById(id).lean<KeyDoc>();
    return d ? toKey(d) : null;
  }

  async listKeys(): Promise<ManagementKey[]> {
    return (await this.keys.find().sort({ createdAt: -1, _id: 1 }).lean<KeyDoc[]>()).map(toKey);
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    return (await this.keys.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } })).modifiedCount === 1;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    await this.keys.updateOne({ _id: id }, { $set: { lastUsedAt: at } });
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    const doc: AuditDoc = {
      _id: new Types.ObjectId(),
      realmId: entry.realmId,
      at: entry.at,
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      operation: entry.operation,
      targetType: entry.target.type,
      targetId: entry.target.id,
      requestId: entry.requestId,
      ip: entry.ip,
      before: entry.before ? JSON.stringify(entry.before) : null,
      after: entry.after ? JSON.stringify(entry.after) : null,
    };
    await this.audit.create(doc);
  }

  async queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    if (query.limit < 1) return []; // MongoDB reads limit(0) as "no limit"
    const filter: Record<string, unknown> = {};
    if (query.realmId !== undefined) filter.realmId = query.realmId;
    if (query.targetId !== undefined) filter.targetId = query.targetId;
    // An id this log did not issue is ignored, as SQLite's adapter does.
    if (query.before !== undefined && /^[0-9a-f]{24}$/i.test(query.before)) filter._id = { $lt: new Types.ObjectId(query.before) };
    return (await this.audit.find(filter).sort({ _id: -1 }).limit(query.limit).lean<AuditDoc[]>()).map(toAudit);
  }
}

function toGrant(d: OperatorRoleDoc): RoleGrant {
  return { operatorId: d.operatorId, realmId: d.realmId, role: d.role, grantedAt: d.grantedAt, grantedBy: d.grantedBy ?? null };
}

/**
 * Operators' role grants in MongoDB, on the store's `operatorRoles` model (src/store/mongo/schemas.ts: its
 * collection and unique index are made by the store's ensureIndexes, and whole-user deletes remove them).
 */
export class MongoOperatorRoles implements OperatorRolesPort {
  constructor(private readonly roles: Model<OperatorRoleDoc>) {}

  async grantsOf(operatorId: string): Promise<RoleGrant[]> {
    return (await this.roles.find({ operatorId }).sort({ realmId: 1 }).lean<OperatorRoleDoc[]>()).map(toGrant);
  }

  async grantsOn(realmId: string): Promise<RoleGrant[]> {
    return (await this.roles.find({ realmId: { $in: [realmId, '*'] } }).sort({ operatorId: 1, realmId: 1 }).lean<OperatorRoleDoc[]>()).map(toGrant);
  }

  async allGrants(): Promise<RoleGrant[]> {
    return (await this.roles.find().sort({ operatorId: 1, realmId: 1 }).lean<OperatorRoleDoc[]>()).map(toGrant);
  }

  async setGrant(grant: RoleGrant): Promise<void> {
    await this.roles.updateOne(
      { operatorId: grant.operatorId, realmId: grant.realmId },
      { $set: { role: grant.role, grantedAt: grant.grantedAt, grantedBy: grant.grantedBy } },
      { upsert: true },
    );
  }

  async removeGrant(operatorId: string, realmId: string): Promise<boolean> {
    return (await this.roles.deleteOne({ operatorId, realmId })).deletedCount > 0;
  }

  async countOwners(realmId: string): Promise<number> {
    return this.roles.countDocuments({ realmId, role: 'owner' });
  }

  async anyOperator(): Promise<boolean> {
    return (await this.roles.exists({})) !== null;
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { ForbiddenError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import { generateManagementKey, isWellFormedManagementKey, type KeyAccess, type ManagementKey } from '../domain/management-key.ts';
import type { ManagementKeysPort } from '../ports/management-keys.ts';
import type { AuditLog } from './audit-log.ts';
import type { RequestContext } from './context.ts';

/** last_used_at is written at most this often per key: a key on a hot path must not make every request a write. */
const TOUCH_EVERY_MS = 60_000;

const hashKey = (key: string) => createHash('sha256').update(key).digest('base64url');

/**
 * Management API keys: created (shown once), listed, revoked, and checked on
 * every API request. Stored as SHA-256 (a 256-bit random secret needs no slow
 * hash). A revoked key fails on the next request on every instance: there is
 * no cache of valid keys, only of when each was last touched.
 */
export class ManagementKeys {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly port: ManagementKeysPort,
    private readonly audit: AuditLog,
    private readonly realmExists: (id: string) => boolean,
    private readonly clock: () => Date,
  ) {}

  /** A new key for `realmId` (null: every realm). The secret is returned once and never again. */
  async create(input: { realmId: string | null; access: KeyAccess; name: string | null }, ctx: RequestContext, by: ManagementKey | null = null): Promise<{ key: ManagementKey; secret: string }> {
    // Keys make keys only when they hold every realm with write access: a realm's key cannot mint a wider one.
    if (by && (by.realmId !== null || by.access !== 'write')) throw new ForbiddenError('only a write key for every realm manages keys');
    if (input.realmId !== null && !this.realmExists(input.realmId)) {
      throw new RuleViolation([{ field: 'realmId', code: 'unknown_realm', message: `no realm has the id "${input.realmId}"` }]);
    }
    const secret = generateManagementKey();
    const key: ManagementKey = {
      id: `mk_${randomBytes(9).toString('base64url')}`,
      name: input.name,
      realmId: input.realmId,
      access: input.access,
      lastFour: secret.slice(-4),
      createdAt: this.clock(),
      createdBy: ctx.actor.id ?? ctx.actor.type,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.port.createKey(key, hashKey(secret));
    await this.audit.record(ctx, { realmId: key.realmId, operation: 'api_key.create', target: { type: 'api_key', id: key.id }, after: key });
    return { key, secret };
  }

  /**
   * Every key, newest first; with `realmId`, only the keys locked to that realm (a string) or only the keys for
   * every realm (null). The console lists a realm's keys with it; the API's key list passes no filter.
   */
  async list(filter?: { realmId?: string | null }): Promise<ManagementKey[]> {
    const keys = await this.port.listKeys();
    if (filter?.realmId === undefined) return keys;
    return keys.filter((k) => k.realmId === filter.realmId);
  }

  async get(id: string): Promise<ManagementKey> {
    const key = await this.port.getKey(id);
    if (!key) throw new NotFoundError('api key');
    return key;
  }

  async revoke(id: string, ctx: RequestContext): Promise<ManagementKey> {
    const before = await this.get(id);
    if (before.revokedAt) return before;
    const at = this.clock();
    await this.port.revokeKey(id, at);
    const after = { ...before, revokedAt: at };
    await this.audit.record(ctx, { realmId: before.realmId, operation: 'api_key.revoke', target: { type: 'api_key', id }, before, after });
    return after;
  }

  /** The live key `secret` stands for, or null (malformed, unknown or revoked). */
  async authenticate(secret: string): Promise<ManagementKey | null> {
    if (!isWellFormedManagementKey(secret)) return null;
    const key = await this.port.findKeyByHash(hashKey(secret));
    if (!key || key.revokedAt) return null;
    const now = this.clock().getTime();
    if (now - (this.touched.get(key.id) ?? 0) >= TOUCH_EVERY_MS) {
      this.touched.set(key.id, now);
      await this.port.touchKey(key.id, new Date(now));
    }
    return key;
  }
}

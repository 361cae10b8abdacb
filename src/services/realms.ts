import { createHash, randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { appSchema, realmSchema } from '../config/schema.ts';
import { ConflictError, fieldPath, issueLimit, NotFoundError, RuleViolation, type RuleIssue } from '../domain/errors.ts';
import { crossRealmIssues, realmIssues, type RealmIssue } from '../domain/realm-rules.ts';
import { oneWayEmailsProblem, recordOneWaySettings } from '../identity/realm-settings.ts';
import { DirectoryClash, type AppSettings, type Directory, type DirectoryApp, type DirectoryRealm, type RealmSettings } from '../ports/directory.ts';
import type { RealmStatePort } from '../ports/realm-state.ts';
import type { AuditLog } from './audit-log.ts';
import type { RequestContext } from './context.ts';

/**
 * Realms and apps of the directory, for the management API and the console (and later the CLI). The rules are the
 * file's (realmSchema, domain/realm-rules.ts, the one-way settings): a write is checked exactly as start-up
 * checks the configuration file.
 *
 * - Realms and apps provisioned from the file (source "file") are read-only here: every write is a
 *   ConflictError('provisioned') naming the file. That includes adding an app to a file realm: its apps are
 *   declared in the file too.
 * - A file realm the file no longer declares is retired (not served, users kept); it stays read-only, except
 *   that it may be deleted here, to let go of its data.
 * - Deleting a realm that has users needs `force`, and then removes all its data in one transaction. The
 *   default realm cannot be deleted (it is always a file realm anyway).
 * - Each write adds its audit entry (realm.create/update/delete, app.create/update/delete, by `ctx`) and
 *   returns `before` and `after` (secrets left out).
 */

/** An app as the service shows it: no secret, no hash, only whether it has one. */
export interface AppView {
  realmId: string;
  clientId: string;
  settings: AppSettings;
  source: DirectoryApp['source'];
  hasSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Change<T> {
  before: T | null;
  after: T | null;
}

export interface Page<T> {
  data: T[];
  /** The `after` of the next page, or null on the last one. */
  next: string | null;
}

export interface PageQuery {
  /** 1–1000, default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  after?: string;
}

export interface RealmsServiceDeps {
  directory: Directory;
  /** Where the one-way settings are remembered (the Store). */
  realmState: RealmStatePort;
  /** The path of the configuration file: named in every refusal of a provisioned realm or app. */
  configPath: string;
  audit: AuditLog;
  defaultRealmId: string;
  /** Called after every write: reloads this instance's in-memory realms at once (the others poll). */
  afterWrite?: () => Promise<void>;
  clock?: () => Date;
}

/** Settings as the API sends them: the realm object of the file, without `apps` (they have their own endpoints). */
const realmSettingsSchema = realmSchema.omit({ apps: true });

/** A generated app secret: 32 random bytes, base64url. High entropy, so sha-256 is the right hash for it. */
const newSecret = () => randomBytes(32).toString('base64url');
export const hashAppSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396 JSON merge patch: objects merge key by key, null removes a key, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function zodIssues(issues: z.core.$ZodIssue[]): RuleIssue[] {
  return issues.flatMap((issue): RuleIssue[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldPath([...issue.path, key]), code: issue.code, message: `unknown key "${key}"` }))
      : [{ field: fieldPath(issue.path), code: issue.code, message: issue.message, ...issueLimit(issue) }],
  );
}

const asRuleIssues = (issues: RealmIssue[], prefix: (string | number)[] = []): RuleIssue[] =>
  issues.map((i) => ({ field: fieldPath([...prefix, ...i.path]), code: i.code, message: i.message }));

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new RuleViolation(zodIssues(result.error.issues));
  return result.data;
}

function page<T>(items: T[], keyOf: (item: T) => string, query: PageQuery): Page<T> {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000);
  const rest = query.after === undefined ? items : items.filter((i) => keyOf(i) > query.after!);
  const data = rest.slice(0, limit);
  return { data, next: rest.length > limit ? keyOf(data[data.length - 1]!) : null };
}

const appView = (a: DirectoryApp): AppView => ({
  realmId: a.realmId,
  clientId: a.clientId,
  settings: a.settings,
  source: a.source,
  hasSecret: a.secretHash !== null,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

export class RealmsService {
  private readonly directory: Directory;
  private readonly clock: () => Date;

  constructor(private readonly deps: RealmsServiceDeps) {
    this.directory = deps.directory;
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The configuration file that provisions the read-only realms and apps (what a `provisioned` refusal names). */
  get configPath(): string {
    return this.deps.configPath;
  }

  // ─── realms ───────────────────────────────────────────────────────────────

  /** Every realm, by id, retired file realms included (`retired: true`). */
  async listRealms(query: PageQuery = {}): Promise<Page<DirectoryRealm>> {
    const { realms } = await this.directory.snapshot();
    return page(realms, (r) => r.id, query);
  }

  async getRealm(id: string): Promise<DirectoryRealm> {
    const realm = await this.directory.getRealm(id);
    if (!realm) throw new NotFoundError('realm', id);
    return realm;
  }

  async createRealm(input: unknown, ctx: RequestContext): Promise<Change<DirectoryRealm>> {
    const settings = parse(realmSettingsSchema, input);
    await this.check(settings, null);
    const after = await this.write(() => this.directory.createRealm(settings, this.clock()));
    await recordOneWaySettings(this.deps.realmState, settings);
    await this.deps.audit.record(ctx, { realmId: after.id, operation: 'realm.create', target: { type: 'realm', id: after.id }, after });
    await this.deps.afterWrite?.();
    return { before: null, after };
  }

  /** PATCH: `patch` is a JSON merge patch of the realm's settings; the result is validated as a whole. */
  async updateRealm(id: string, patch: unknown, ctx: RequestContext): Promise<Change<DirectoryRealm>> {
    const before = await this.writable(id);
    if (!isPlainObject(patch)) throw new RuleViolation([{ field: '', code: 'invalid_type', message: 'must be an object of realm settings' }]);
    if ('id' in patch && patch.id !== id) throw new RuleViolation([{ field: 'id', code: 'immutable', message: 'a realm’s id cannot change' }]);
    const settings = parse(realmSettingsSchema, mergePatch(before.settings, patch));
    await this.check(settings, id);
    const after = await this.write(() => this.directory.updateRealm(id, settings, this.clock()));
    if (!after) throw new NotFoundError('realm', id);
    await recordOneWaySettings(this.deps.realmState, settings);
    await this.deps.audit.record(ctx, { realmId: id, operation: 'realm.update', target: { type: 'realm', id }, before, after });
    await this.deps.afterWrite?.();
    return { before, after };
  }

  /** Deletes an API realm (or a retired file realm) and its apps; with users only when `force`, and then all its data. */
  async deleteRealm(id: string, options: { force?: boolean }, ctx: RequestContext): Promise<Change<DirectoryRealm>> {
    const before = await this.getRealm(id);
    if (id === this.deps.defaultRealmId) {
      throw new ConflictError('default_realm', `realm "${id}" is the default realm (it serves every unknown host): it cannot be deleted`, { file: this.deps.configPath });
    }
    if (before.source === 'file' && !before.retired) throw this.provisioned(`realm "${id}"`);
    const result = await this.directory.deleteRealm(id, options);
    if (result === 'not_found') throw new NotFoundError('realm', id);
    if (result === 'has_users') {
      throw new ConflictError('realm_has_users', `realm "${id}" has users: delete it with force to delete them and all its data too`);
    }
    await this.deps.audit.record(ctx, { realmId: id, operation: 'realm.delete', target: { type: 'realm', id }, before });
    await this.deps.afterWrite?.();
    return { before, after: null };
  }

  /** The schema passed; now the file's other rules, the realms around it, the API's limits and the one-way settings. */
  private async check(settings: RealmSettings, updating: string | null): Promise<void> {
    const issues = asRuleIssues(realmIssues(settings));
    // A provider's client secret is an environment variable, read at start for the file's realms only.
    settings.social.providers.forEach((p, i) => {
      if (p.enabled) {
        issues.push({
          field: `social.providers[${i}].enabled`,
          code: 'unsupported',
          message: 'a realm created through the API cannot enable a social provider yet (its secret is an environment variable read at start): declare the realm in the configuration file',
        });
      }
    });
    const problem = oneWayEmailsProblem(settings.id, await this.deps.realmState.getRealmState(settings.id, 'fields.emails'), settings.fields);
    if (problem) issues.push({ field: 'fields.emails', code: 'one_way', message: problem });
    if (issues.length > 0) throw new RuleViolation(issues);

    const { realms } = await this.directory.snapshot();
    const existing = realms.find((r) => r.id === settings.id);
    if (updating === null && existing) throw this.taken(existing);
    const others = realms.filter((r) => !r.retired && r.id !== settings.id).map((r) => r.settings);
    const clash = crossRealmIssues([...others, settings]).find((i) => i.path[0] === others.length && i.code === 'host_taken');
    if (clash) throw new ConflictError('host_taken', clash.message, { field: 'hosts' });
  }

  private taken(existing: DirectoryRealm): ConflictError {
    const why = existing.source === 'file' ? (existing.retired ? ` (a realm removed from ${this.deps.configPath}; its data is kept)` : ` (provisioned from ${this.deps.configPath})`) : '';
    return new ConflictError('realm_exists', `realm id "${existing.id}" is taken${why}`, { field: 'id', ...(existing.source === 'file' ? { file: this.deps.configPath } : {}) });
  }

  /** The realm, when this service may change it: it exists and is not provisioned from the file. */
  private async writable(id: string): Promise<DirectoryRealm> {
    const realm = await this.getRealm(id);
    if (realm.source === 'file') throw this.provisioned(`realm "${id}"`);
    return realm;
  }

  private provisioned(what: string): ConflictError {
    return new ConflictError('provisioned', `${what} is provisioned from ${this.deps.configPath}: change it there`, { file: this.deps.configPath });
  }

  /** Runs a directory write, turning what its unique keys refuse into ConflictError (two writers racing). */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DirectoryClash)) throw err;
      if (err.kind === 'host') throw new ConflictError('host_taken', `host "${err.value}" is already served by realm "${err.owner?.realmId ?? '?'}"`, { field: 'hosts' });
      if (err.kind === 'app') throw new ConflictError('app_exists', `an app with clientId "${err.value}" exists in this realm`, { field: 'clientId' });
      if (err.owner) throw new ConflictError('realm_exists', `realm id "${err.value}" is taken`, { field: 'id' });
      throw new NotFoundError('realm', err.value);
    }
  }

  // ─── apps ─────────────────────────────────────────────────────────────────

  async listApps(realmId: string, query: PageQuery = {}): Promise<Page<AppView>> {
    await this.getRealm(realmId);
    const { apps } = await this.directory.snapshot();
    return page(apps.filter((a) => a.realmId === realmId).map(appView), (a) => a.clientId, query);
  }

  async getApp(realmId: string, clientId: string): Promise<AppView> {
    return appView(await this.app(realmId, clientId));
  }

  /** Creates an app with a generated secret: `secret` is returned this once, only its sha-256 is kept. */
  async createApp(realmId: string, input: unknown, ctx: RequestContext): Promise<Change<AppView> & { secret: string }> {
    const realm = await this.getRealm(realmId);
    if (realm.source === 'file') throw this.provisioned(`realm "${realmId}" (and its list of apps)`);
    const settings = this.appSettings(parse(appSchema, input));
    const secret = newSecret();
    const created = await this.write(() => this.directory.createApp({ realmId, settings, secretHash: hashAppSecret(secret) }, this.clock()));
    const after = appView(created);
    await this.deps.audit.record(ctx, { realmId, operation: 'app.create', target: { type: 'app', id: after.clientId }, after });
    await this.deps.afterWrite?.();
    return { before: null, after, secret };
  }

  /** PATCH: a JSON merge patch of the app's settings; `rotateSecret` replaces its secret (the new one returned once). */
  async updateApp(realmId: string, clientId: string, patch: unknown, options: { rotateSecret?: boolean }, ctx: RequestContext): Promise<Change<AppView> & { secret?: string }> {
    const current = await this.app(realmId, clientId);
    if (current.source === 'file') throw this.provisioned(`app "${clientId}" of realm "${realmId}"`);
    if (!isPlainObject(patch)) throw new RuleViolation([{ field: '', code: 'invalid_type', message: 'must be an object of app settings' }]);
    if ('clientId' in patch && patch.clientId !== clientId) throw new RuleViolation([{ field: 'clientId', code: 'immutable', message: 'an app’s clientId cannot change' }]);
    const settings = this.appSettings(parse(appSchema, mergePatch(current.settings, patch)));
    const secret = options.rotateSecret ? newSecret() : undefined;
    const updated = await this.directory.updateApp(realmId, clientId, { settings, ...(secret ? { secretHash: hashAppSecret(secret) } : {}) }, this.clock());
    if (!updated) throw new NotFoundError('app', clientId);
    const before = appView(current);
    const after = appView(updated);
    await this.deps.audit.record(ctx, { realmId, operation: 'app.update', target: { type: 'app', id: clientId }, before, after: { ...after, credentialRotated: secret !== undefined } });
    await this.deps.afterWrite?.();
    return { before, after, ...(secret ? { secret } : {}) };
  }

  async deleteApp(realmId: string, clientId: string, ctx: RequestContext): Promise<Change<AppView>> {
    const current = await this.app(realmId, clientId);
    if (current.source === 'file') throw this.provisioned(`app "${clientId}" of realm "${realmId}"`);
    if (!(await this.directory.deleteApp(realmId, clientId))) throw new NotFoundError('app', clientId);
    const before = appView(current);
    await this.deps.audit.record(ctx, { realmId, operation: 'app.delete', target: { type: 'app', id: clientId }, before });
    await this.deps.afterWrite?.();
    return { before, after: null };
  }

  private async app(realmId: string, clientId: string): Promise<DirectoryApp> {
    await this.getRealm(realmId);
    const app = await this.directory.getApp(realmId, clientId);
    if (!app) throw new NotFoundError('app', clientId);
    return app;
  }

  /** The API's limit on an app: its secret is generated, never an environment variable. */
  private appSettings(settings: AppSettings): AppSettings {
    if (settings.secretEnv !== undefined) {
      throw new RuleViolation([{ field: 'secretEnv', code: 'unsupported', message: 'an app created through the API gets a generated secret: secretEnv is for the configuration file' }]);
    }
    return settings;
  }
}

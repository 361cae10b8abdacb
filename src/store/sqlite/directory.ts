import type Database from 'better-sqlite3';
import type { RealmConfig } from '../../config/schema.ts';
import { hostsOf } from '../../domain/realm-rules.ts';
import {
  DirectoryClash,
  type AppSettings,
  type Directory,
  type DirectoryApp,
  type DirectoryRealm,
  type DirectorySnapshot,
  type DirectorySource,
  type ProvisionResult,
  type RealmSettings,
} from '../../ports/directory.ts';

type Row = Record<string, unknown>;

/** Tables of the directory itself: a realm's purge deletes from every other table with a realm_id. */
const DIRECTORY_TABLES = new Set(['directory_realms', 'directory_hosts', 'directory_apps', 'directory_version']);

function toRealm(r: Row): DirectoryRealm {
  return {
    id: String(r.id),
    settings: JSON.parse(String(r.settings)) as RealmSettings,
    source: r.source as DirectorySource,
    retired: r.retired_at != null,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

function toApp(r: Row): DirectoryApp {
  return {
    realmId: String(r.realm_id),
    clientId: String(r.client_id),
    settings: JSON.parse(String(r.settings)) as AppSettings,
    secretHash: r.secret_hash == null ? null : String(r.secret_hash),
    source: r.source as DirectorySource,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

const isUnique = (err: unknown) => (err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;

/** The directory in the SQLite store's database (migration 007). Synchronous underneath, like the store. */
export class SqliteDirectory implements Directory {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      version: db.prepare('SELECT version FROM directory_version WHERE id = 1').pluck(),
      bump: db.prepare('UPDATE directory_version SET version = version + 1 WHERE id = 1'),
      realms: db.prepare('SELECT * FROM directory_realms ORDER BY id'),
      apps: db.prepare('SELECT * FROM directory_apps ORDER BY realm_id, client_id'),
      realm: db.prepare('SELECT * FROM directory_realms WHERE id = ?'),
      app: db.prepare('SELECT * FROM directory_apps WHERE realm_id = ? AND client_id = ?'),
      appsOf: db.prepare('SELECT * FROM directory_apps WHERE realm_id = ?'),
      insertRealm: db.prepare(`INSERT INTO directory_realms (id, settings, source, retired_at, created_at, updated_at)
        VALUES (@id, @settings, @source, NULL, @at, @at)`),
      updateRealm: db.prepare('UPDATE directory_realms SET settings = @settings, retired_at = NULL, updated_at = @at WHERE id = @id'),
      retireRealm: db.prepare('UPDATE directory_realms SET retired_at = @at, updated_at = @at WHERE id = @id'),
      deleteRealm: db.prepare('DELETE FROM directory_realms WHERE id = ?'),
      hostOwner: db.prepare('SELECT realm_id FROM directory_hosts WHERE host = ?').pluck(),
      deleteHosts: db.prepare('DELETE FROM directory_hosts WHERE realm_id = ?'),
      deleteFileHosts: db.prepare("DELETE FROM directory_hosts WHERE realm_id IN (SELECT id FROM directory_realms WHERE source = 'file')"),
      insertHost: db.prepare('INSERT INTO directory_hosts (host, realm_id) VALUES (?, ?)'),
      insertApp: db.prepare(`INSERT INTO directory_apps (realm_id, client_id, settings, secret_hash, source, created_at, updated_at)
        VALUES (@realmId, @clientId, @settings, @secretHash, @source, @at, @at)`),
      updateApp: db.prepare(`UPDATE directory_apps SET settings = @settings, secret_hash = COALESCE(@secretHash, secret_hash), updated_at = @at
        WHERE realm_id = @realmId AND client_id = @clientId`),
      deleteApp: db.prepare('DELETE FROM directory_apps WHERE realm_id = ? AND client_id = ?'),
      countUsers: db.prepare('SELECT COUNT(*) FROM users WHERE realm_id = ?').pluck(),
    };
  }

  async version(): Promise<number> {
    return Number(this.s.version.get());
  }

  async snapshot(): Promise<DirectorySnapshot> {
    // One read transaction: the version and the rows it describes.
    return this.db.transaction(() => ({
      version: Number(this.s.version.get()),
      realms: (this.s.realms.all() as Row[]).map(toRealm),
      apps: (this.s.apps.all() as Row[]).map(toApp),
    }))();
  }

  async getRealm(id: string): Promise<DirectoryRealm | null> {
    const row = this.s.realm.get(id) as Row | undefined;
    return row ? toRealm(row) : null;
  }

  async getApp(realmId: string, clientId: string): Promise<DirectoryApp | null> {
    const row = this.s.app.get(realmId, clientId) as Row | undefined;
    return row ? toApp(row) : null;
  }

  /** Replaces the hosts of `realmId` with those of `settings`; a host served by another realm → DirectoryClash. */
  private putHosts(realmId: string, settings: RealmSettings): void {
    this.s.deleteHosts.run(realmId);
    for (const host of new Set(hostsOf(settings))) {
      try {
        this.s.insertHost.run(host, realmId);
      } catch (err) {
        if (!isUnique(err)) throw err;
        const owner = String(this.s.hostOwner.get(host));
        throw new DirectoryClash('host', host, { realmId: owner, source: (this.s.realm.get(owner) as Row | undefined)?.source as DirectorySource });
      }
    }
  }

  async createRealm(settings: RealmSettings, at: Date): Promise<DirectoryRealm> {
    return this.db.transaction(() => {
      const existing = this.s.realm.get(settings.id) as Row | undefined;
      if (existing) throw new DirectoryClash('realm', settings.id, { realmId: settings.id, source: existing.source as DirectorySource });
      this.s.insertRealm.run({ id: settings.id, settings: JSON.stringify(settings), source: 'api', at: at.getTime() });
      this.putHosts(settings.id, settings);
      this.s.bump.run();
      return toRealm(this.s.realm.get(settings.id) as Row);
    }).immediate();
  }

  async updateRealm(id: string, settings: RealmSettings, at: Date): Promise<DirectoryRealm | null> {
    return this.db.transaction(() => {
      const existing = this.s.realm.get(id) as Row | undefined;
      if (!existing || existing.retired_at != null) return null;
      this.s.updateRealm.run({ id, settings: JSON.stringify({ ...settings, id }), at: at.getTime() });
      this.putHosts(id, settings);
      this.s.bump.run();
      return toRealm(this.s.realm.get(id) as Row);
    }).immediate();
  }

  async deleteRealm(id: string, options: { force?: boolean } = {}): Promise<'deleted' | 'not_found' | 'has_users'> {
    return this.db.transaction(() => {
      if (!this.s.realm.get(id)) return 'not_found' as const;
      if (!options.force && Number(this.s.countUsers.get(id)) > 0) return 'has_users' as const;
      for (const table of this.tablesWithRealm()) this.db.prepare(`DELETE FROM "${table}" WHERE realm_id = ?`).run(id);
      // Its hosts and apps go by ON DELETE CASCADE.
      this.s.deleteRealm.run(id);
      this.s.bump.run();
      return 'deleted' as const;
    }).immediate();
  }

  /** Every table outside the directory with a realm_id column: what a forced realm delete purges (new tables included). */
  private tablesWithRealm(): string[] {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    return tables.filter(
      (t) => !DIRECTORY_TABLES.has(t) && (this.db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).includes('realm_id'),
    );
  }

  async createApp(app: { realmId: string; settings: AppSettings; secretHash: string }, at: Date): Promise<DirectoryApp> {
    return this.db.transaction(() => {
      if (!this.s.realm.get(app.realmId)) throw new DirectoryClash('realm', app.realmId);
      const existing = this.s.app.get(app.realmId, app.settings.clientId) as Row | undefined;
      if (existing) throw new DirectoryClash('app', app.settings.clientId, { realmId: app.realmId, source: existing.source as DirectorySource });
      const { clientId } = app.settings;
      this.s.insertApp.run({ realmId: app.realmId, clientId, settings: JSON.stringify(app.settings), secretHash: app.secretHash, source: 'api', at: at.getTime() });
      this.s.bump.run();
      return toApp(this.s.app.get(app.realmId, clientId) as Row);
    }).immediate();
  }

  async updateApp(realmId: string, clientId: string, change: { settings: AppSettings; secretHash?: string }, at: Date): Promise<DirectoryApp | null> {
    return this.db.transaction(() => {
      const settings = JSON.stringify({ ...change.settings, clientId });
      const done = this.s.updateApp.run({ realmId, clientId, settings, secretHash: change.secretHash ?? null, at: at.getTime() });
      if (done.changes === 0) return null;
      this.s.bump.run();
      return toApp(this.s.app.get(realmId, clientId) as Row);
    }).immediate();
  }

  async deleteApp(realmId: string, clientId: string): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.s.deleteApp.run(realmId, clientId).changes === 0) return false;
      this.s.bump.run();
      return true;
    }).immediate();
  }

  async provision(realms: RealmConfig[], at: Date): Promise<ProvisionResult> {
    const t = at.getTime();
    return this.db.transaction((): ProvisionResult => {
      let changed = false;
      const declared = new Set(realms.map((r) => r.id));
      // Hosts of file realms are laid anew: a host may move from one file realm to another in one edit of the file.
      this.s.deleteFileHosts.run();
      for (const { apps, ...settings } of realms) {
        const json = JSON.stringify(settings);
        const existing = this.s.realm.get(settings.id) as Row | undefined;
        if (existing && existing.source !== 'file') throw new DirectoryClash('realm', settings.id, { realmId: settings.id, source: 'api' });
        if (!existing) this.s.insertRealm.run({ id: settings.id, settings: json, source: 'file', at: t });
        else if (existing.settings !== json || existing.retired_at != null) this.s.updateRealm.run({ id: settings.id, settings: json, at: t });
        if (!existing || existing.settings !== json || existing.retired_at != null) changed = true;
        this.putHosts(settings.id, settings);
        const stored = new Map((this.s.appsOf.all(settings.id) as Row[]).map((r) => [String(r.client_id), r]));
        for (const app of apps) {
          const appJson = JSON.stringify(app);
          const had = stored.get(app.clientId);
          if (had && had.source !== 'file') throw new DirectoryClash('app', app.clientId, { realmId: settings.id, source: 'api' });
          if (!had) this.s.insertApp.run({ realmId: settings.id, clientId: app.clientId, settings: appJson, secretHash: null, source: 'file', at: t });
          else if (had.settings !== appJson) this.s.updateApp.run({ realmId: settings.id, clientId: app.clientId, settings: appJson, secretHash: null, at: t });
          if (!had || had.settings !== appJson) changed = true;
        }
        const fileApps = new Set(apps.map((a) => a.clientId));
        for (const [clientId, row] of stored) {
          if (row.source === 'file' && !fileApps.has(clientId)) {
            this.s.deleteApp.run(settings.id, clientId);
            changed = true;
          }
        }
      }
      const retired: string[] = [];
      for (const row of this.s.realms.all() as Row[]) {
        if (row.source !== 'file' || row.retired_at != null || declared.has(String(row.id))) continue;
        this.s.retireRealm.run({ id: row.id, at: t });
        retired.push(String(row.id));
        changed = true;
      }
      if (changed) this.s.bump.run();
      return { retired, changed };
    }).immediate();
  }
}

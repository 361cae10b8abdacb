import { Schema, type ClientSession, type Connection, type Model } from 'mongoose';
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
import { model } from './schemas.ts';

/**
 * The directory in MongoDB: the collections mirror SQLite's migration 007. Settings are kept as JSON text, as
 * there: written and compared exactly (provisioning rewrites a realm only when its settings changed), and no
 * schema of ours reshapes them. Every write is one transaction that also bumps the version document.
 */

interface RealmDoc {
  _id: string;
  settings: string;
  source: DirectorySource;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
interface HostDoc {
  /** The host name: unique by being the _id. */
  _id: string;
  realmId: string;
}
interface AppDoc {
  realmId: string;
  clientId: string;
  settings: string;
  secretHash: string | null;
  source: DirectorySource;
  createdAt: Date;
  updatedAt: Date;
}
interface VersionDoc {
  _id: string;
  version: number;
}

const options = { versionKey: false, minimize: false, strict: true } as const;
const realmSchema = new Schema<RealmDoc>(
  { _id: String, settings: String, source: String, retiredAt: { type: Date, default: null }, createdAt: Date, updatedAt: Date },
  options,
);
const hostSchema = new Schema<HostDoc>({ _id: String, realmId: String }, options);
hostSchema.index({ realmId: 1 }, { name: 'directory_hosts_realm' });
const appSchema = new Schema<AppDoc>(
  { realmId: String, clientId: String, settings: String, secretHash: { type: String, default: null }, source: String, createdAt: Date, updatedAt: Date },
  options,
);
appSchema.index({ realmId: 1, clientId: 1 }, { unique: true, name: 'directory_apps_client' });
const versionSchema = new Schema<VersionDoc>({ _id: String, version: Number }, options);

const VERSION_ID = 'directory';
const DIRECTORY_COLLECTIONS = new Set(['directory_realms', 'directory_hosts', 'directory_apps', 'directory_version']);

const isDuplicate = (err: unknown) => (err as { code?: unknown } | null)?.code === 11000;

function toRealm(d: RealmDoc): DirectoryRealm {
  return { id: d._id, settings: JSON.parse(d.settings) as RealmSettings, source: d.source, retired: d.retiredAt != null, createdAt: d.createdAt, updatedAt: d.updatedAt };
}

function toApp(d: AppDoc): DirectoryApp {
  return {
    realmId: d.realmId,
    clientId: d.clientId,
    settings: JSON.parse(d.settings) as AppSettings,
    secretHash: d.secretHash ?? null,
    source: d.source,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export class MongoDirectory implements Directory {
  private readonly realms: Model<RealmDoc>;
  private readonly hosts: Model<HostDoc>;
  private readonly apps: Model<AppDoc>;
  private readonly versions: Model<VersionDoc>;

  private constructor(private readonly connection: Connection) {
    this.realms = model(connection, 'DirectoryRealm', realmSchema, 'directory_realms');
    this.hosts = model(connection, 'DirectoryHost', hostSchema, 'directory_hosts');
    this.apps = model(connection, 'DirectoryApp', appSchema, 'directory_apps');
    this.versions = model(connection, 'DirectoryVersion', versionSchema, 'directory_version');
  }

  /** The directory on the MongoDB store's connection: its collections, indexes and version document made first. */
  static async open(connection: Connection): Promise<MongoDirectory> {
    const directory = new MongoDirectory(connection);
    // Outside any transaction: older servers cannot create a collection inside one.
    for (const m of [directory.realms, directory.hosts, directory.apps, directory.versions] as Model<unknown>[]) {
      await m.createCollection();
      await m.createIndexes();
    }
    await directory.versions.updateOne({ _id: VERSION_ID }, { $setOnInsert: { version: 0 } }, { upsert: true });
    return directory;
  }

  private bump(session: ClientSession) {
    return this.versions.updateOne({ _id: VERSION_ID }, { $inc: { version: 1 } }, { upsert: true, session });
  }

  async version(): Promise<number> {
    return (await this.versions.findById(VERSION_ID).lean<VersionDoc>())?.version ?? 0;
  }

  async snapshot(): Promise<DirectorySnapshot> {
    // The version first: a write landing between these reads moves it past the one returned, so the next poll reloads.
    const version = await this.version();
    const [realms, apps] = await Promise.all([
      this.realms.find().sort({ _id: 1 }).lean<RealmDoc[]>(),
      this.apps.find().sort({ realmId: 1, clientId: 1 }).lean<AppDoc[]>(),
    ]);
    return { version, realms: realms.map(toRealm), apps: apps.map(toApp) };
  }

  async getRealm(id: string): Promise<DirectoryRealm | null> {
    const doc = await this.realms.findById(id).lean<RealmDoc>();
    return doc ? toRealm(doc) : null;
  }

  async getApp(realmId: string, clientId: string): Promise<DirectoryApp | null> {
    const doc = await this.apps.findOne({ realmId, clientId }).lean<AppDoc>();
    return doc ? toApp(doc) : null;
  }

  /** Replaces the hosts of `realmId`; a host another realm serves → DirectoryClash (the _id index backs the check). */
  private async putHosts(realmId: string, settings: RealmSettings, session: ClientSession): Promise<void> {
    await this.hosts.deleteMany({ realmId }, { session });
    for (const host of new Set(hostsOf(settings))) {
      const owner = await this.hosts.findById(host).session(session).lean<HostDoc>();
      if (owner) {
        const source = (await this.realms.findById(owner.realmId).session(session).lean<RealmDoc>())?.source;
        throw new DirectoryClash('host', host, { realmId: owner.realmId, source });
      }
      try {
        await this.hosts.create([{ _id: host, realmId }], { session });
      } catch (err) {
        throw isDuplicate(err) ? new DirectoryClash('host', host) : err;
      }
    }
  }

  async createRealm(settings: RealmSettings, at: Date): Promise<DirectoryRealm> {
    return this.connection.transaction(async (session) => {
      const existing = await this.realms.findById(settings.id).session(session).lean<RealmDoc>();
      if (existing) throw new DirectoryClash('realm', settings.id, { realmId: settings.id, source: existing.source });
      const doc: RealmDoc = { _id: settings.id, settings: JSON.stringify(settings), source: 'api', retiredAt: null, createdAt: at, updatedAt: at };
      try {
        await this.realms.create([doc], { session });
      } catch (err) {
        throw isDuplicate(err) ? new DirectoryClash('realm', settings.id) : err;
      }
      await this.putHosts(settings.id, settings, session);
      await this.bump(session);
      return toRealm(doc);
    });
  }

  async updateRealm(id: string, settings: RealmSettings, at: Date): Promise<DirectoryRealm | null> {
    return this.connection.transaction(async (session) => {
      const doc = await this.realms
        .findOneAndUpdate({ _id: id, retiredAt: null }, { $set: { settings: JSON.stringify({ ...settings, id }), updatedAt: at } }, { session, returnDocument: 'after' })
        .lean<RealmDoc>();
      if (!doc) return null;
      await this.putHosts(id, settings, session);
      await this.bump(session);
      return toRealm(doc);
    });
  }

  async deleteRealm(id: string, options: { force?: boolean } = {}): Promise<'deleted' | 'not_found' | 'has_users'> {
    const db = this.connection.db;
    if (!db) throw new Error('MongoDB directory: the connection is not open');
    // Every collection outside the directory: a forced delete purges the realm's documents from each (new ones included).
    const collections = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !DIRECTORY_COLLECTIONS.has(n) && !n.startsWith('system.'));
    return this.connection.transaction(async (session) => {
      if (!(await this.realms.exists({ _id: id }).session(session))) return 'not_found' as const;
      if (!options.force && (await db.collection('users').countDocuments({ realmId: id }, { session, limit: 1 })) > 0) return 'has_users' as const;
      for (const name of collections) await db.collection(name).deleteMany({ realmId: id }, { session });
      await this.apps.deleteMany({ realmId: id }, { session });
      await this.hosts.deleteMany({ realmId: id }, { session });
      await this.realms.deleteOne({ _id: id }, { session });
      await this.bump(session);
      return 'deleted' as const;
    });
  }

  async createApp(app: { realmId: string; settings: AppSettings; secretHash: string }, at: Date): Promise<DirectoryApp> {
    return this.connection.transaction(async (session) => {
      if (!(await this.realms.exists({ _id: app.realmId }).session(session))) throw new DirectoryClash('realm', app.realmId);
      const { clientId } = app.settings;
      const existing = await this.apps.findOne({ realmId: app.realmId, clientId }).session(session).lean<AppDoc>();
      if (existing) throw new DirectoryClash('app', clientId, { realmId: app.realmId, source: existing.source });
      const doc: AppDoc = { realmId: app.realmId, clientId, settings: JSON.stringify(app.settings), secretHash: app.secretHash, source: 'api', createdAt: at, updatedAt: at };
      try {
        await this.apps.create([doc], { session });
      } catch (err) {
        throw isDuplicate(err) ? new DirectoryClash('app', clientId, { realmId: app.realmId }) : err;
      }
      await this.bump(session);
      return toApp(doc);
    });
  }

  async updateApp(realmId: string, clientId: string, change: { settings: AppSettings; secretHash?: string }, at: Date): Promise<DirectoryApp | null> {
    return this.connection.transaction(async (session) => {
      const set: Partial<AppDoc> = { settings: JSON.stringify({ ...change.settings, clientId }), updatedAt: at };
      if (change.secretHash !== undefined) set.secretHash = change.secretHash;
      const doc = await this.apps.findOneAndUpdate({ realmId, clientId }, { $set: set }, { session, returnDocument: 'after' }).lean<AppDoc>();
      if (!doc) return null;
      await this.bump(session);
      return toApp(doc);
    });
  }

  async deleteApp(realmId: string, clientId: string): Promise<boolean> {
    return this.connection.transaction(async (session) => {
      if ((await this.apps.deleteOne({ realmId, clientId }, { session })).deletedCount === 0) return false;
      await this.bump(session);
      return true;
    });
  }

  async provision(realms: RealmConfig[], at: Date): Promise<ProvisionResult> {
    // The transaction may run again on a transient error: everything it decides lives inside it.
    return this.connection.transaction(async (session): Promise<ProvisionResult> => {
      let changed = false;
      const declared = new Set(realms.map((r) => r.id));
      const fileRealms = await this.realms.find({ source: 'file' }).session(session).lean<RealmDoc[]>();
      // Hosts of file realms are laid anew: a host may move from one file realm to another in one edit of the file.
      await this.hosts.deleteMany({ realmId: { $in: fileRealms.map((r) => r._id) } }, { session });
      for (const { apps, ...settings } of realms) {
        const json = JSON.stringify(settings);
        const existing = await this.realms.findById(settings.id).session(session).lean<RealmDoc>();
        if (existing && existing.source !== 'file') throw new DirectoryClash('realm', settings.id, { realmId: settings.id, source: 'api' });
        if (!existing) {
          await this.realms.create([{ _id: settings.id, settings: json, source: 'file', retiredAt: null, createdAt: at, updatedAt: at }], { session });
        } else if (existing.settings !== json || existing.retiredAt != null) {
          await this.realms.updateOne({ _id: settings.id }, { $set: { settings: json, retiredAt: null, updatedAt: at } }, { session });
        }
        if (!existing || existing.settings !== json || existing.retiredAt != null) changed = true;
        await this.putHosts(settings.id, settings, session);

        const stored = new Map((await this.apps.find({ realmId: settings.id }).session(session).lean<AppDoc[]>()).map((a) => [a.clientId, a]));
        for (const app of apps) {
          const appJson = JSON.stringify(app);
          const had = stored.get(app.clientId);
          if (had && had.source !== 'file') throw new DirectoryClash('app', app.clientId, { realmId: settings.id, source: 'api' });
          if (!had) {
            await this.apps.create(
              [{ realmId: settings.id, clientId: app.clientId, settings: appJson, secretHash: null, source: 'file', createdAt: at, updatedAt: at }],
              { session },
            );
          } else if (had.settings !== appJson) {
            await this.apps.updateOne({ realmId: settings.id, clientId: app.clientId }, { $set: { settings: appJson, updatedAt: at } }, { session });
          }
          if (!had || had.settings !== appJson) changed = true;
        }
        const fileApps = new Set(apps.map((a) => a.clientId));
        const dropped = [...stored.values()].filter((a) => a.source === 'file' && !fileApps.has(a.clientId)).map((a) => a.clientId);
        if (dropped.length > 0) {
          await this.apps.deleteMany({ realmId: settings.id, clientId: { $in: dropped } }, { session });
          changed = true;
        }
      }
      const retired = fileRealms.filter((r) => r.retiredAt == null && !declared.has(r._id)).map((r) => r._id);
      if (retired.length > 0) {
        await this.realms.updateMany({ _id: { $in: retired } }, { $set: { retiredAt: at, updatedAt: at } }, { session });
        changed = true;
      }
      if (changed) await this.bump(session);
      return { retired, changed };
    });
  }
}

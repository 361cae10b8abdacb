import type { AppConfig, RealmConfig } from '../config/schema.ts';

/**
 * The directory of realms and apps: the port every store adapter implements (SQLite: src/store/sqlite/directory.ts,
 * MongoDB: src/store/mongo/directory.ts), with its contract suite in test/contract/directory.contract.ts.
 *
 * Realms and apps come from two sources: the configuration file (`file`, provisioned at start, read-only to the
 * API) and the management API (`api`, editable). Every write bumps one counter, `version`, in the same
 * transaction: instances poll it (cheap) and reload the whole directory into memory when it moved. Request hot
 * paths never read the directory, only that in-memory copy (src/realms.ts).
 *
 * Uniqueness is the database's job: realm ids, host names across served realms, clientIds per realm.
 */

/** A realm's settings: the realmSchema output (every default filled in) without its apps. */
export type RealmSettings = Omit<RealmConfig, 'apps'>;

/** An app's settings: the appSchema output. */
export type AppSettings = AppConfig;

export type DirectorySource = 'file' | 'api';

export interface DirectoryRealm {
  id: string;
  settings: RealmSettings;
  source: DirectorySource;
  /**
   * A file realm that the configuration file no longer declares: not served (its hosts fall to the default
   * realm), but kept with its users and its id reserved; declared again, it comes back as it was.
   */
  retired: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface DirectoryApp {
  realmId: string;
  clientId: string;
  settings: AppSettings;
  /** sha-256 (hex) of the generated secret of an API app; null for file apps (their secret is an env var). */
  secretHash: string | null;
  source: DirectorySource;
  createdAt: Date;
  updatedAt: Date;
}

/** Everything, read consistently, with the version it is at. */
export interface DirectorySnapshot {
  version: number;
  realms: DirectoryRealm[];
  apps: DirectoryApp[];
}

/**
 * A write that a unique key refused. `kind` says which key; `owner` is, for a host, the realm serving it; for
 * provisioning, `source` says who holds the id (an API realm or app the file now declares).
 */
export class DirectoryClash extends Error {
  override name = 'DirectoryClash';
  constructor(
    readonly kind: 'realm' | 'host' | 'app',
    readonly value: string,
    readonly owner?: { realmId: string; source?: DirectorySource },
  ) {
    super(`${kind} "${value}" is taken${owner ? ` (by realm "${owner.realmId}"${owner.source ? `, ${owner.source}` : ''})` : ''}`);
  }
}

/** What provisioning changed (for the start log). */
export interface ProvisionResult {
  /** File realms no longer in the file: retired now. */
  retired: string[];
  /** Whether anything changed at all (the version moved). */
  changed: boolean;
}

export interface Directory {
  /** The change counter: moves on every write. */
  version(): Promise<number>;
  snapshot(): Promise<DirectorySnapshot>;
  getRealm(id: string): Promise<DirectoryRealm | null>;
  getApp(realmId: string, clientId: string): Promise<DirectoryApp | null>;
  /** Creates an API realm; DirectoryClash('realm') when the id is taken (also by a retired realm), ('host') for a host. */
  createRealm(settings: RealmSettings, at: Date): Promise<DirectoryRealm>;
  /** Replaces a served realm's settings (and so its hosts); null when there is none. DirectoryClash('host'). */
  updateRealm(id: string, settings: RealmSettings, at: Date): Promise<DirectoryRealm | null>;
  /**
   * Deletes a realm and its apps. With users it refuses ('has_users') unless `force`: then every record of the
   * realm (users, sessions, tokens, keys, events, mails, realm state) goes with it, in the same transaction.
   */
  deleteRealm(id: string, options?: { force?: boolean }): Promise<'deleted' | 'not_found' | 'has_users'>;
  /** Creates an API app in an existing realm; DirectoryClash('app') when the clientId is taken there, ('realm') when the realm is missing. */
  createApp(app: { realmId: string; settings: AppSettings; secretHash: string }, at: Date): Promise<DirectoryApp>;
  /** Replaces an app's settings, and its secret hash when given; null when there is none. */
  updateApp(realmId: string, clientId: string, change: { settings: AppSettings; secretHash?: string }, at: Date): Promise<DirectoryApp | null>;
  deleteApp(realmId: string, clientId: string): Promise<boolean>;
  /**
   * Makes the file's realms and apps the directory's `file` entries, in one transaction: upserts each, retires
   * file realms the file no longer declares, deletes file apps it no longer declares. A realm id, host or
   * clientId the file declares that an API entry holds → DirectoryClash, and nothing is written.
   */
  provision(realms: RealmConfig[], at: Date): Promise<ProvisionResult>;
}

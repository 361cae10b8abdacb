import { createHash, timingSafeEqual } from 'node:crypto';
import { appSecretKey, type AppConfig, type RealmConfig } from './config/index.ts';
import type { Directory, DirectorySnapshot } from './ports/directory.ts';

/** How often each instance asks the directory whether it changed: a change is served everywhere within about this. */
export const DIRECTORY_POLL_MS = 300;

const sha256 = (v: string) => createHash('sha256').update(v).digest();

/**
 * The served realms and their apps, in memory: every request reads this, never the directory. Built from a
 * directory snapshot and rebuilt whole when the directory's version moves (watch()), so a reader sees one
 * consistent set: an object handed out is never changed afterwards, a change makes new ones.
 */
export class Realms {
  private byHost = new Map<string, RealmConfig>();
  private byId = new Map<string, RealmConfig>();
  /** sha-256 (hex) of the secret of each API app, by appSecretKey(realmId, clientId). */
  private secretHashes = new Map<string, string>();
  private current = -1;
  private fallback!: RealmConfig;
  private readonly listeners: Array<(realms: Realms) => void> = [];
  private refreshing: Promise<void> | null = null;
  private again = false;

  /**
   * `realms` (the file's, for a cache without a directory) are served until load() brings a snapshot;
   * `envSecrets` holds the secrets of the file's apps, read from the variables their `secretEnv` name.
   */
  constructor(
    realms: RealmConfig[],
    private readonly defaultRealmId: string,
    private readonly envSecrets: Map<string, string> = new Map(),
  ) {
    this.build(realms, new Map());
  }

  private build(realms: RealmConfig[], secretHashes: Map<string, string>): void {
    const byId = new Map<string, RealmConfig>();
    const byHost = new Map<string, RealmConfig>();
    for (const realm of realms) {
      byId.set(realm.id, realm);
      for (const host of [new URL(realm.publicUrl).host, ...realm.hosts]) byHost.set(host.toLowerCase(), realm);
    }
    const fallback = byId.get(this.defaultRealmId);
    if (!fallback) throw new Error(`default realm ${this.defaultRealmId} is not configured`);
    // Swapped together: a request sees the old set or the new one, never a mix.
    [this.byId, this.byHost, this.secretHashes, this.fallback] = [byId, byHost, secretHashes, fallback];
  }

  /** Serves the snapshot's realms (retired ones left out) with their apps. */
  load(snapshot: DirectorySnapshot): void {
    const appsOf = new Map<string, AppConfig[]>();
    const hashes = new Map<string, string>();
    for (const app of snapshot.apps) {
      // An app saved before access rules existed has no `access`: the schema's default, everyone (never a crash at the hand-off).
      const settings: AppConfig = app.settings.access ? app.settings : { ...app.settings, access: { type: 'everyone' } };
      appsOf.set(app.realmId, [...(appsOf.get(app.realmId) ?? []), settings]);
      if (app.secretHash) hashes.set(appSecretKey(app.realmId, app.clientId), app.secretHash);
    }
    const realms = snapshot.realms.filter((r) => !r.retired).map((r): RealmConfig => ({ ...r.settings, apps: appsOf.get(r.id) ?? [] }));
    this.build(realms, hashes);
    this.current = snapshot.version;
    for (const listener of this.listeners) listener(this);
  }

  /** The directory version served now (-1 before the first load). */
  get version(): number {
    return this.current;
  }

  /** Called after each load (derived state: rendered pages, signing keys). */
  onChange(listener: (realms: Realms) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Loads the directory when its version moved (or `force`). One refresh at a time; a call during one makes
   * it run once more afterwards, so a write this instance just made is always picked up.
   */
  async refresh(directory: Directory, force = false): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          if (force || (await directory.version()) !== this.current) this.load(await directory.snapshot());
          force = false;
        } while (this.again);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Polls the directory's version every `intervalMs` and reloads on a change; returns the stop function. */
  watch(directory: Directory, onError: (err: unknown) => void, intervalMs = DIRECTORY_POLL_MS): () => Promise<void> {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    const tick = () => {
      inFlight = this.refresh(directory)
        .catch(onError)
        .finally(() => {
          if (!stopped) schedule();
        });
    };
    // Polling alone must not keep the process alive.
    const schedule = () => (timer = setTimeout(tick, intervalMs)).unref();
    schedule();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    };
  }

  get defaultRealm(): RealmConfig {
    return this.fallback;
  }

  /** The realm serving `host` (with or without port); unknown hosts get the default realm. */
  forHost(host: string | undefined): RealmConfig {
    if (!host) return this.fallback;
    const h = host.toLowerCase();
    return this.byHost.get(h) ?? this.byHost.get(h.replace(/:\d+$/, '')) ?? this.fallback;
  }

  byIdOrNull(id: string): RealmConfig | null {
    return this.byId.get(id) ?? null;
  }

  all(): RealmConfig[] {
    return [...this.byId.values()];
  }

  /**
   * Whether `secret` is the secret of app `clientId` of the served realm `realmId`: the env-var secret of a file
   * app, or the generated one of an API app (its sha-256 kept). Compared as digests, in constant time.
   */
  appSecretMatches(realmId: string, clientId: string, secret: string): boolean {
    const realm = this.byId.get(realmId);
    if (!realm || !realm.apps.some((a) => a.clientId === clientId)) return false;
    const key = appSecretKey(realmId, clientId);
    const hash = this.secretHashes.get(key);
    if (hash !== undefined) return timingSafeEqual(Buffer.from(hash, 'hex'), sha256(secret));
    const expected = this.envSecrets.get(key);
    return expected !== undefined && timingSafeEqual(sha256(expected), sha256(secret));
  }
}

export function findApp(realm: RealmConfig, clientId: string): AppConfig | null {
  return realm.apps.find((a) => a.clientId === clientId) ?? null;
}

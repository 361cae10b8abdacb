import type { AppConfig, RealmConfig } from './config/index.ts';

/** The configured realms, looked up by host name (custom domains) or id. */
export class Realms {
  private readonly byHost = new Map<string, RealmConfig>();
  private readonly byId = new Map<string, RealmConfig>();
  readonly defaultRealm: RealmConfig;

  constructor(realms: RealmConfig[], defaultRealmId: string) {
    for (const realm of realms) {
      this.byId.set(realm.id, realm);
      for (const host of [new URL(realm.publicUrl).host, ...realm.hosts]) this.byHost.set(host.toLowerCase(), realm);
    }
    const fallback = this.byId.get(defaultRealmId);
    if (!fallback) throw new Error(`default realm ${defaultRealmId} is not configured`);
    this.defaultRealm = fallback;
  }

  /** The realm serving `host` (with or without port); unknown hosts get the default realm. */
  forHost(host: string | undefined): RealmConfig {
    if (!host) return this.defaultRealm;
    const h = host.toLowerCase();
    return this.byHost.get(h) ?? this.byHost.get(h.replace(/:\d+$/, '')) ?? this.defaultRealm;
  }

  byIdOrNull(id: string): RealmConfig | null {
    return this.byId.get(id) ?? null;
  }

  all(): RealmConfig[] {
    return [...this.byId.values()];
  }
}

export function findApp(realm: RealmConfig, clientId: string): AppConfig | null {
  return realm.apps.find((a) => a.clientId === clientId) ?? null;
}

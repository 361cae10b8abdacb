import { hostsOf } from '../domain/realm-rules.ts';
import { realmSchema, type ConsoleFileConfig, type RealmConfig } from './schema.ts';

/** The console's app in its realm: the hosted login hands the operator's JWT to `/admin/callback`. */
export const CONSOLE_CLIENT_ID = 'console';

/** The console as the rest of Gatehouse reads it (Config.console): null when there is none. */
export interface ConsoleConfig {
  /** The id of the generated realm the operators are users of. */
  realmId: string;
  /** Its origin: `<publicUrl>/admin` is the console. */
  publicUrl: string;
  /** The step-up window of sensitive console actions (also the realm's `account.recentAuthMinutes`). */
  recentAuthMinutes: number;
  /** `<publicUrl>/admin/callback`: the console app's one redirect URI. */
  callbackUrl: string;
}

/** The console the file and the environment ask for: off when disabled or without a URL. */
export function resolveConsole(file: ConsoleFileConfig, envPublicUrl: string | undefined): ConsoleConfig | null {
  const publicUrl = envPublicUrl ?? file.publicUrl;
  if (!file.enabled || !publicUrl) return null;
  return { realmId: file.realmId, publicUrl, recentAuthMinutes: file.recentAuthMinutes, callbackUrl: `${publicUrl}/admin/callback` };
}

/**
 * The console's realm, generated at every start and provisioned like a realm of the file (read-only to the
 * API and the console; its users, the operators, are not): no sign-up (operators are created by the CLI or
 * an owner), emails as usernames, an authenticator required of everyone, the setup link's hour as the reset
 * TTL, and one app, the console itself, that receives the JWT by form_post.
 */
export function consoleRealmConfig(console: ConsoleConfig, hosts: readonly string[] = []): RealmConfig {
  return realmSchema.parse({
    id: console.realmId,
    name: 'Gatehouse console',
    publicUrl: console.publicUrl,
    hosts,
    fields: { usernames: 'email' },
    // Operators are created verified: no verification mail, ever.
    emailVerification: { policy: 'off' },
    signup: { policy: 'disabled' },
    mfa: { policy: 'required' },
    recovery: { ttlMinutes: 60 },
    account: { recentAuthMinutes: console.recentAuthMinutes },
    apps: [
      {
        clientId: CONSOLE_CLIENT_ID,
        name: 'Gatehouse console',
        redirectUris: [console.callbackUrl],
        logoutRedirectUris: [`${console.publicUrl}/admin`],
        delivery: 'form_post',
      },
    ],
  });
}

/**
 * The clashes between the file's realms and the console's: its id, or a host it is served on. Each is one
 * line naming the file's key, for the start-time ConfigError.
 */
export function consoleClashes(realms: readonly RealmConfig[], consoleRealm: RealmConfig): string[] {
  const problems: string[] = [];
  const consoleHosts = new Set(hostsOf(consoleRealm));
  realms.forEach((realm, i) => {
    if (realm.id === consoleRealm.id) {
      problems.push(`  realms[${i}].id: "${realm.id}" is the console realm's id (console.realmId): rename the realm, or give the console another realmId`);
    }
    for (const host of hostsOf(realm)) {
      if (consoleHosts.has(host)) {
        problems.push(`  realms[${i}]: host "${host}" is the console's (console.publicUrl, CONSOLE_PUBLIC_URL or console.hosts): the console needs a host of its own`);
      }
    }
  });
  return problems;
}

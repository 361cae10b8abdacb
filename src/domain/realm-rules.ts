import type { AppConfig, RealmConfig } from './realm-settings.ts';

/**
 * The rules over a realm's settings that one key's schema cannot say alone, checked at start for the
 * configuration file (fileSchema) and on every write through the realms service: one place, one set.
 * Each issue's path is relative to the realm (or to the list of realms for the cross-realm rules).
 */
export interface RealmIssue {
  path: (string | number)[];
  code: string;
  message: string;
}

type RealmSettingsLike = Omit<RealmConfig, 'apps'> & { apps?: AppConfig[] };

/** The host names a realm is served on: its publicUrl's host, then `hosts`. */
export function hostsOf(realm: Pick<RealmConfig, 'publicUrl' | 'hosts'>): string[] {
  return [new URL(realm.publicUrl).host, ...realm.hosts];
}

/** Rules inside one realm: field combinations, and clientIds unique among its apps. */
export function realmIssues(realm: RealmSettingsLike): RealmIssue[] {
  const issues: RealmIssue[] = [];
  if (realm.fields.emails === 'duplicates' && realm.fields.usernames === 'email') {
    issues.push({
      path: ['fields', 'emails'],
      code: 'needs_separate_usernames',
      message: 'duplicate emails need separate usernames (fields.usernames: "separate"): with emails as usernames every email is unique',
    });
  }
  if (realm.account.usernameEditable && realm.fields.usernames === 'email') {
    issues.push({
      path: ['account', 'usernameEditable'],
      code: 'needs_separate_usernames',
      message: 'editable usernames need separate usernames (fields.usernames: "separate"): with emails as usernames the username is the email, changed on the email page',
    });
  }
  if (realm.social.only && !realm.social.providers.some((p) => p.enabled)) {
    issues.push({ path: ['social', 'only'], code: 'needs_provider', message: 'social logins only needs at least one enabled provider' });
  }
  const clientIds = new Set<string>();
  (realm.apps ?? []).forEach((app, j) => {
    if (clientIds.has(app.clientId)) issues.push({ path: ['apps', j, 'clientId'], code: 'duplicate', message: `duplicate clientId "${app.clientId}"` });
    clientIds.add(app.clientId);
  });
  return issues;
}

/** Rules across realms: ids unique, and each host served by one realm only. Paths start at the realm's index. */
export function crossRealmIssues(realms: readonly Pick<RealmConfig, 'id' | 'publicUrl' | 'hosts'>[]): RealmIssue[] {
  const issues: RealmIssue[] = [];
  const ids = new Set<string>();
  const hosts = new Map<string, string>();
  realms.forEach((realm, i) => {
    if (ids.has(realm.id)) issues.push({ path: [i, 'id'], code: 'duplicate', message: `duplicate realm id "${realm.id}"` });
    ids.add(realm.id);
    for (const host of hostsOf(realm)) {
      const owner = hosts.get(host);
      if (owner && owner !== realm.id) issues.push({ path: [i, 'hosts'], code: 'host_taken', message: `host "${host}" is already served by realm "${owner}"` });
      hosts.set(host, realm.id);
    }
  });
  return issues;
}

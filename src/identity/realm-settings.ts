import type { RealmConfig } from '../config/index.ts';
import type { RealmStatePort } from '../ports/realm-state.ts';

export class OneWaySettingError extends Error {
  override name = 'OneWaySettingError';
}

/**
 * Why `fields` cannot become what it asks, given what the realm has allowed (`allowed`, the stored
 * `fields.emails`), or null when it may. The one rule of start-up and of every realms-service write.
 */
export function oneWayEmailsProblem(realmId: string, allowed: string | null, fields: Pick<RealmConfig['fields'], 'emails'>): string | null {
  if (allowed === 'duplicates' && fields.emails === 'unique') {
    return `realm "${realmId}" has allowed duplicate email addresses; it cannot go back to "unique" (accounts may already share an address). Keep "duplicates".`;
  }
  return null;
}

/** Remembers the one-way settings `realm` has now taken (after it is written). */
export async function recordOneWaySettings(store: RealmStatePort, realm: Pick<RealmConfig, 'id' | 'fields'>, allowed?: string | null): Promise<void> {
  const stored = allowed === undefined ? await store.getRealmState(realm.id, 'fields.emails') : allowed;
  if (realm.fields.emails === 'duplicates' && stored !== 'duplicates') await store.setRealmState(realm.id, 'fields.emails', 'duplicates');
}

/**
 * Settings that cannot be undone once data depends on them (AuthRocket: a
 * realm that has allowed duplicate emails may hold accounts sharing one, so
 * it cannot require unique emails again). The store remembers; a
 * configuration that tries to go back is refused at start.
 */
export async function enforceOneWaySettings(store: RealmStatePort, realms: RealmConfig[]): Promise<void> {
  const problems: string[] = [];
  for (const [i, realm] of realms.entries()) {
    const allowed = await store.getRealmState(realm.id, 'fields.emails');
    const problem = oneWayEmailsProblem(realm.id, allowed, realm.fields);
    if (problem) problems.push(`  realms[${i}].fields.emails: ${problem}`);
    else await recordOneWaySettings(store, realm, allowed);
  }
  if (problems.length > 0) throw new OneWaySettingError(`Invalid configuration:\n${problems.join('\n')}`);
}

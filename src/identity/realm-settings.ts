import type { RealmConfig } from '../config/index.ts';
import type { Store } from '../store/port.ts';

export class OneWaySettingError extends Error {
  override name = 'OneWaySettingError';
}

/**
 * Settings that cannot be undone once data depends on them (AuthRocket: a
 * realm that has allowed duplicate emails may hold accounts sharing one, so
 * it cannot require unique emails again). The store remembers; a
 * configuration that tries to go back is refused at start.
 */
export async function enforceOneWaySettings(store: Store, realms: RealmConfig[]): Promise<void> {
  const problems: string[] = [];
  for (const [i, realm] of realms.entries()) {
    const allowed = await store.getRealmState(realm.id, 'fields.emails');
    if (allowed === 'duplicates' && realm.fields.emails === 'unique') {
      problems.push(
        `  realms[${i}].fields.emails: realm "${realm.id}" has allowed duplicate email addresses; it cannot go back to "unique" (accounts may already share an address). Keep "duplicates".`,
      );
    } else if (realm.fields.emails === 'duplicates' && allowed !== 'duplicates') {
      await store.setRealmState(realm.id, 'fields.emails', 'duplicates');
    }
  }
  if (problems.length > 0) throw new OneWaySettingError(`Invalid configuration:\n${problems.join('\n')}`);
}

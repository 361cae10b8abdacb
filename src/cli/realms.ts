import type { Config } from '../config/index.ts';
import { directoryOf } from '../store/open.ts';
import type { RealmSettings } from '../ports/directory.ts';
import type { Store } from '../store/port.ts';

/**
 * The realms a command may name, as the server serves them: the configuration
 * file's and those made through the management API (read from the store's
 * directory, so a realm created at run time is known without a restart).
 */
export async function servedRealms(config: Config, store: Store): Promise<Map<string, RealmSettings>> {
  const realms = new Map<string, RealmSettings>(config.realms.map((r) => [r.id, r]));
  const snapshot = await (await directoryOf(store)).snapshot();
  for (const r of snapshot.realms) if (r.source === 'api' && !r.retired && !realms.has(r.id)) realms.set(r.id, r.settings);
  return realms;
}

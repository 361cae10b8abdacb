import type { RealmConfig } from '../config/schema.ts';
import { DirectoryClash, type Directory, type ProvisionResult } from '../ports/directory.ts';

/** The file cannot be provisioned: one line, for "Gatehouse cannot start: …". */
export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
}

/**
 * Makes the directory hold what the configuration file declares (Grafana-style provisioning), at every start:
 * each realm and app of the file is upserted with source "file" (read-only to the API).
 *
 * A file realm that is no longer in the file is retired, not deleted: it is no longer served (its hosts fall to
 * the default realm, its apps stop working) but its users and other data stay, and its id stays reserved so an
 * API realm cannot inherit them by accident. Declared again, it comes back as it was; deleted through the API
 * (with `force` when it has users), its data goes. A file app no longer in the file is deleted (it has no data).
 *
 * An id, host or clientId the file declares that the API already uses stops the start: renaming one of them is
 * the operator's decision, not ours.
 */
export async function provisionFromFile(directory: Directory, file: { realms: RealmConfig[]; configPath: string }, at: Date): Promise<ProvisionResult> {
  try {
    return await directory.provision(file.realms, at);
  } catch (err) {
    if (!(err instanceof DirectoryClash)) throw err;
    const where = file.configPath;
    if (err.kind === 'realm') {
      throw new ProvisioningError(`${where} declares realm "${err.value}", but a realm with that id was created through the management API: rename the realm in the file, or delete the API realm`);
    }
    if (err.kind === 'app') {
      throw new ProvisioningError(`${where} declares app "${err.value}" in realm "${err.owner?.realmId}", but an app with that clientId was created there through the management API: rename one of them`);
    }
    throw new ProvisioningError(`${where} declares host "${err.value}", but realm "${err.owner?.realmId}"${err.owner?.source === 'api' ? ' (created through the management API)' : ''} serves it: change one of them`);
  }
}

import type { AuditPort } from '../ports/audit.ts';
import type { Directory } from '../ports/directory.ts';
import type { ManagementKeysPort } from '../ports/management-keys.ts';
import type { OperatorRolesPort } from '../ports/operator-roles.ts';
import type { UsersAdminPort } from '../ports/users-admin.ts';
import type { Store } from './port.ts';
import { SqliteDirectory } from './sqlite/directory.ts';
import { SqliteStore } from './sqlite/index.ts';
import { SqliteManagement, SqliteOperatorRoles } from './sqlite/management.ts';
import { SqliteUsersAdmin } from './sqlite/users-admin.ts';

/** The management side's ports (users admin, management keys, audit, operators' roles), on one store. */
export interface ManagementPorts {
  usersAdmin: UsersAdminPort;
  keys: ManagementKeysPort;
  audit: AuditPort;
  operatorRoles: OperatorRolesPort;
}

/**
 * The management side's ports on the store's own database: SQLite's adapters on its file, MongoDB's on its
 * connection (mongoose loaded only then). The server and the `api-keys` command both take them from here (this module is
 * light: a CLI command loads it, not the app).
 */
export async function managementPorts(store: Store): Promise<ManagementPorts> {
  if (store instanceof SqliteStore) {
    const management = new SqliteManagement(store.db);
    return { usersAdmin: new SqliteUsersAdmin(store.db, store.events), keys: management, audit: management, operatorRoles: new SqliteOperatorRoles(store.db) };
  }
  const [{ MongoStore }, { MongoManagement, MongoOperatorRoles }, { MongoUsersAdmin }] = await Promise.all([
    import('./mongo/index.ts'),
    import('./mongo/management.ts'),
    import('./mongo/users-admin.ts'),
  ]);
  if (!(store instanceof MongoStore)) throw new Error('the management API needs the SQLite or the MongoDB store');
  const management = await MongoManagement.open(store.connection);
  return { usersAdmin: new MongoUsersAdmin(store), keys: management, audit: management, operatorRoles: new MongoOperatorRoles(store.models.operatorRoles) };
}

/** The realms-and-apps directory on the store's own database (the CLI reads realms made through the API from it). */
export async function directoryOf(store: Store): Promise<Directory> {
  if (store instanceof SqliteStore) return new SqliteDirectory(store.db);
  const [{ MongoStore }, { MongoDirectory }] = await Promise.all([import('./mongo/index.ts'), import('./mongo/directory.ts')]);
  if (!(store instanceof MongoStore)) throw new Error('the directory needs the SQLite or the MongoDB store');
  return MongoDirectory.open(store.connection);
}

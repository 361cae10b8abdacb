import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteDirectory } from '../../src/store/sqlite/directory.ts';
import { SqliteManagement, SqliteOperatorRoles } from '../../src/store/sqlite/management.ts';
import { SqliteUsersAdmin } from '../../src/store/sqlite/users-admin.ts';
import { auditContract } from './audit.contract.ts';
import { managementKeysContract } from './management-keys.contract.ts';
import { operatorRolesContract } from './operator-roles.contract.ts';
import { usersAdminContract } from './users-admin.contract.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-management-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function usersAdminRig(file: string) {
  const store = new SqliteStore(file);
  return { admin: new SqliteUsersAdmin(store.db), store, close: () => store.close() };
}

function managementRig() {
  const store = new SqliteStore(':memory:');
  const management = new SqliteManagement(store.db);
  return { keys: management, audit: management, close: () => store.close() };
}

usersAdminContract('SQLite in memory', async () => usersAdminRig(':memory:'));
usersAdminContract('SQLite file', async () => usersAdminRig(path.join(dir, `users-admin-${++files}`, 'gatehouse.sqlite')));
managementKeysContract('SQLite in memory', async () => managementRig());
auditContract('SQLite in memory', async () => managementRig());
operatorRolesContract('SQLite in memory', async () => {
  const store = new SqliteStore(':memory:');
  return { roles: new SqliteOperatorRoles(store.db), store, admin: new SqliteUsersAdmin(store.db, store.events), directory: new SqliteDirectory(store.db), close: () => store.close() };
});

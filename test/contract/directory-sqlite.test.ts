import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { SqliteDirectory } from '../../src/store/sqlite/directory.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { directoryContract } from './directory.contract.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-directory-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function rig(file: string) {
  const store = new SqliteStore(file);
  return { directory: new SqliteDirectory(store.db), store, close: () => store.close() };
}

directoryContract('SQLite in memory', async () => rig(':memory:'));
directoryContract('SQLite file', async () => rig(path.join(dir, `directory-${++files}`, 'gatehouse.sqlite')));

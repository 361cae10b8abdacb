/**
 * The `scale` scenario's data: SQLite stores of many users, seeded straight
 * into the users table (signing a million users up over HTTP would take
 * hours of argon2) and cached between runs, since a million rows take a while.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PasswordHasher } from '../src/identity/password.ts';
import { SqliteStore } from '../src/store/sqlite/index.ts';

export const SCALE_REALM = 'bench';
export const SCALE_PASSWORD = 'amber-quarry-willow-17';
/** bench/results/scale-cache/ is not gitignored, so the cache lives outside the repository. */
export const SCALE_CACHE_DIR = path.join(os.tmpdir(), 'gatehouse-bench-scale-cache');
const SEED_VERSION = 1;

/** The login of seeded user `i`: emails are the usernames at the realm defaults. Zero-padded, so rows arrive in index order. */
export function scaleLogin(i: number): string {
  return `scale-${String(i).padStart(7, '0')}@example.com`;
}

/** A UUID-shaped id that grows with `i`, so the primary key is appended to rather than split at random. */
function scaleId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Writes `users` users into a new store at `file`, all sharing one argon2id hash of SCALE_PASSWORD, in one transaction. */
async function seed(file: string, users: number): Promise<void> {
  const hash = await new PasswordHasher().hash(SCALE_PASSWORD);
  const store = new SqliteStore(file);
  try {
    const insert = store.db.prepare(`INSERT INTO users (id, realm_id, user_type, username, username_norm, email, email_norm, email_unique_key,
      email_verification, name_norm, password_hash, custom_attributes, created_at, updated_at)
      VALUES (?, ?, 'human', ?, ?, ?, ?, ?, 'none', name_norm_of(NULL, NULL, NULL, ?), ?, '{}', ?, ?)`);
    const at = Date.now();
    store.db.transaction(() => {
      for (let i = 0; i < users; i++) {
        const login = scaleLogin(i);
        insert.run(scaleId(i), SCALE_REALM, login, login, login, login, login, login, hash, at, at);
      }
    })();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    await store.close();
  }
}

/**
 * A data folder (DATA_DIR) holding a fresh copy of a store of `users` users:
 * seeded once into SCALE_CACHE_DIR, copied from there on every run so the
 * servers' writes (sessions, events, login counts) never reach the cache.
 */
export async function scaleDataDir(users: number, into: string): Promise<{ dataDir: string; seededNow: boolean; seedS: number }> {
  const cached = path.join(SCALE_CACHE_DIR, String(users));
  const meta = path.join(cached, 'seed.json');
  const want = JSON.stringify({ version: SEED_VERSION, users, realm: SCALE_REALM, password: SCALE_PASSWORD });
  let seededNow = false;
  const t = performance.now();
  if (!existsSync(meta) || readFileSync(meta, 'utf8') !== want) {
    // Seeded beside the cache and renamed in: an interrupted seeding leaves no half-filled cache.
    const partial = `${cached}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    await seed(path.join(partial, 'gatehouse.sqlite'), users);
    writeFileSync(path.join(partial, 'seed.json'), want);
    rmSync(cached, { recursive: true, force: true });
    renameSync(partial, cached);
    seededNow = true;
  }
  const seedS = (performance.now() - t) / 1000;
  const dataDir = path.join(into, 'data');
  mkdirSync(dataDir, { recursive: true });
  cpSync(path.join(cached, 'gatehouse.sqlite'), path.join(dataDir, 'gatehouse.sqlite'));
  return { dataDir, seededNow, seedS };
}

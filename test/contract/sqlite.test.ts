import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UniqueViolation, type NewUser } from '../../src/store/port.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { storeContract } from './store.contract.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-store-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshFile = () => path.join(dir, `store-${++files}`, 'gatehouse.sqlite');

storeContract('SQLite in memory', async () => new SqliteStore(':memory:'));
storeContract('SQLite file', async () => new SqliteStore(freshFile()));

describe('SQLite file shared by two store instances', () => {
  const user = (i: number): NewUser => ({
    realmId: 'alpha',
    userType: 'human',
    username: `racer${i}`,
    email: 'Race@Example.com',
    emailUnique: true,
    emailVerification: 'none',
    firstName: null,
    lastName: null,
    locale: 'en',
    passwordHash: null,
  });

  it('creates exactly one user when both instances sign up the same email concurrently', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).createUser(user(i), new Date())));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(UniqueViolation);
          expect((r.reason as UniqueViolation).field).toBe('email');
        }
      }
      const seenByA = await a.findUserByLogin('alpha', 'race@example.com');
      const seenByB = await b.findUserByLogin('alpha', 'race@example.com');
      expect(seenByA?.user.id).toBeDefined();
      expect(seenByB?.user.id).toBe(seenByA?.user.id);
      const count = a.db.prepare("SELECT COUNT(*) AS n FROM users WHERE realm_id = 'alpha'").get() as { n: number };
      expect(count.n).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('creates exactly one user when four processes sign up the same email at once', async () => {
    // Separate processes really run at the same time, unlike two connections in one thread.
    const file = freshFile();
    await new SqliteStore(file).close(); // create and migrate once, as main.ts does at start
    const script = path.join(dir, 'signup-racer.mts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/store/sqlite/index.ts')).href)};
const store = new SqliteStore(process.argv[2]);
const worker = process.argv[3];
let won = 0, lost = 0;
for (let i = 0; i < 25; i++) {
  try {
    await store.createUser({ realmId: 'alpha', userType: 'human', username: 'p' + worker + '-' + i, email: 'race@example.com',
      emailUnique: true, emailVerification: 'none', firstName: null, lastName: null, locale: null, passwordHash: null }, new Date());
    won++;
  } catch (err) {
    if (err.name !== 'UniqueViolation') throw err;
    lost++;
  }
}
await store.close();
console.log(JSON.stringify({ won, lost }));
`,
    );
    const run = (worker: number) =>
      new Promise<{ won: number; lost: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(worker)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { won: number; lost: number }) : reject(new Error(`racer ${worker} exited ${code}: ${err}`))));
      });
    const results = await Promise.all([0, 1, 2, 3].map(run));
    expect(results.reduce((n, r) => n + r.won, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.lost, 0)).toBe(99);
    const check = new SqliteStore(file);
    try {
      const count = check.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number };
      expect(count.n).toBe(1);
    } finally {
      await check.close();
    }
  });

  it('shares one secret and one-time-token consumption between instances', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      expect(await a.getOrCreateSecret('session', () => 'from-a')).toBe('from-a');
      expect(await b.getOrCreateSecret('session', () => 'from-b')).toBe('from-a');

      const now = new Date();
      await a.createOneTimeToken({ realmId: 'alpha', purpose: 'verify-email', tokenHash: 'h', userId: 'u', expiresAt: new Date(now.getTime() + 60_000), createdAt: now });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consumeOneTimeToken('alpha', 'verify-email', 'h', now)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps data across a reopen and does not re-run migrations', async () => {
    const file = freshFile();
    const first = new SqliteStore(file);
    const created = await first.createUser(user(1), new Date());
    await first.close();
    const reopened = new SqliteStore(file);
    try {
      expect((await reopened.findUserById('alpha', created.id))?.username).toBe('racer1');
      expect(reopened.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
    } finally {
      await reopened.close();
    }
  });
});

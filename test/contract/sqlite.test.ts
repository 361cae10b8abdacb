import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isEventType, LEGACY_EVENT_TYPES, NO_REQUEST, type NewEvent } from '../../src/domain/events.ts';
import { UniqueViolation, type NewOutboxMail, type NewUser } from '../../src/store/port.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteUsersAdmin } from '../../src/store/sqlite/users-admin.ts';
import { eventsContract } from './events.contract.ts';
import { storeContract } from './store.contract.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-store-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshFile = () => path.join(dir, `store-${++files}`, 'gatehouse.sqlite');

storeContract('SQLite in memory', async () => new SqliteStore(':memory:'));
storeContract('SQLite file', async () => new SqliteStore(freshFile()));
eventsContract('SQLite in memory', async () => new SqliteStore(':memory:'));

describe('SQLite file shared by two store instances', () => {
  const outboxMail = (i: number): NewOutboxMail => ({
    realmId: 'alpha',
    kind: 'verify-email',
    userId: `user-${i}`,
    to: { address: `user${i}@example.com`, name: null },
    from: 'no-reply@alpha.example',
    subject: `mail ${i}`,
    text: 'text',
    html: '<p>html</p>',
    link: null,
  });
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

  it('migrates a new file once when four processes open it at the same moment', async () => {
    const file = freshFile();
    const script = path.join(dir, 'migrate-racer.mts');
    // Each process waits for the same instant, then opens (and migrates) the file.
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/store/sqlite/index.ts')).href)};
const at = Number(process.argv[3]);
while (Date.now() < at) await new Promise((r) => setTimeout(r, 1));
const store = new SqliteStore(process.argv[2]);
console.log(store.db.pragma('user_version', { simple: true }));
await store.close();
`,
    );
    const at = Date.now() + 3000;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(at)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`opener exited ${code}: ${err}`))));
      });
    const versions = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(versions).size).toBe(1);
    expect(Number(versions[0])).toBeGreaterThan(0);
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

  it('never hands one mail to both instances claiming the outbox at once', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const now = new Date();
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await a.enqueueMail(outboxMail(i), now));
      const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claimDueMail(now, 60_000, 3)));
      const claimed = batches.flat().map((m) => m.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.sort()).toEqual([...ids].sort());
      expect(await b.claimDueMail(now, 60_000, 100)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('claims each mail exactly once when four processes drain the outbox at once', async () => {
    const file = freshFile();
    const setup = new SqliteStore(file);
    const queuedAt = new Date(Date.now() - 1000);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 200; i++) ids.push(await setup.enqueueMail(outboxMail(i), queuedAt));
    } finally {
      await setup.close();
    }
    const script = path.join(dir, 'outbox-claimer.mts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/store/sqlite/index.ts')).href)};
const store = new SqliteStore(process.argv[2]);
const ids = [];
// Start together: say ready, wait for the parent's go.
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
for (;;) {
  const batch = await store.claimDueMail(new Date(), 60_000, 2);
  if (batch.length === 0) break;
  for (const m of batch) ids.push(m.id);
  // A worker's pause between batches (as the outbox worker sends each mail): on a busy machine the first
  // process to hear "go" would otherwise drain all 200 before the others start.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
process.stdin.destroy();
console.log(JSON.stringify(ids));
`,
    );
    const children = [0, 1, 2, 3].map((worker) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let onReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => (onReady = resolve));
      child.stdout.on('data', (d) => {
        out += d;
        if (out.startsWith('ready\n')) onReady();
      });
      child.stderr.on('data', (d) => (err += d));
      const done = new Promise<string[]>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          onReady();
          if (code === 0) resolve(JSON.parse(out.slice('ready\n'.length)) as string[]);
          else reject(new Error(`claimer ${worker} exited ${code}: ${err}`));
        });
      });
      return { child, ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.write('go\n');
    const results = await Promise.all(children.map((c) => c.done));
    const claimed = results.flat();
    // Each process got some: they really raced for the same rows.
    expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...ids].sort());
    const check = new SqliteStore(file);
    try {
      const counts = check.db.prepare('SELECT MIN(attempts) AS lo, MAX(attempts) AS hi FROM outbox').get() as { lo: number; hi: number };
      expect(counts).toEqual({ lo: 1, hi: 1 });
    } finally {
      await check.close();
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

describe('SQLite migration 010 (the name key beyond ASCII)', () => {
  it('back-fills the folded name of every user stored at migration 009, and sorts and searches by it from an index', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    // A database as the version before left it: migrations up to 009, name_norm generated by SQLite's ASCII-only lower().
    const old = new Database(file);
    const migrations = path.join(ROOT, 'src/store/sqlite/migrations');
    for (const f of readdirSync(migrations).filter((f) => Number.parseInt(f, 10) <= 9).sort()) old.exec(readFileSync(path.join(migrations, f), 'utf8'));
    old.pragma('user_version = 9');
    const insert = old.prepare(`INSERT INTO users (id, realm_id, user_type, username, username_norm, email_verification, first_name, last_name, name,
      custom_attributes, created_at, updated_at) VALUES (?, 'alpha', ?, ?, lower(?), 'none', ?, ?, ?, '{}', 0, 0)`);
    insert.run('u-zola', 'human', 'ezola', 'ezola', 'Émile', 'Zola', null);
    insert.run('u-durand', 'human', 'edurand', 'edurand', 'émile', 'Durand', null);
    insert.run('u-bot', 'api', 'bot', 'bot', null, null, 'ÅNGSTRÖM Bot');
    insert.run('u-elfred', 'human', 'Ælfred', 'Ælfred', null, null, null);
    insert.run('u-adam', 'human', 'adam', 'adam', 'Adam', null, null);
    expect(old.prepare("SELECT name_norm FROM users WHERE id = 'u-zola'").pluck().get()).toBe('Émile zola');
    old.close();

    const store = new SqliteStore(file);
    try {
      // Every migration since ran too: the database is at the newest.
      const newest = Math.max(...readdirSync(migrations).map((f) => Number.parseInt(f, 10)).filter(Number.isFinite));
      expect(newest).toBeGreaterThanOrEqual(10);
      expect(store.db.pragma('user_version', { simple: true })).toBe(newest);
      const norms = store.db.prepare('SELECT id, name_norm FROM users ORDER BY realm_id, name_norm, id').all();
      expect(norms).toEqual([
        { id: 'u-adam', name_norm: 'adam' },
        { id: 'u-bot', name_norm: 'ångström bot' },
        { id: 'u-elfred', name_norm: 'ælfred' },
        { id: 'u-durand', name_norm: 'émile durand' },
        { id: 'u-zola', name_norm: 'émile zola' },
      ]);
      const admin = new SqliteUsersAdmin(store.db);
      const ids = async (q: string) => (await admin.queryUsers('alpha', { q }, { key: 'name', direction: 'asc' }, null, 10)).users.map((u) => u.id);
      expect(await ids('ÉMILE')).toEqual(['u-durand', 'u-zola']);
      expect(await ids('ångs')).toEqual(['u-bot']);
      const plan = (store.db.prepare("EXPLAIN QUERY PLAN SELECT * FROM users WHERE realm_id = 'alpha' ORDER BY name_norm, id LIMIT 10").all() as { detail: string }[])
        .map((p) => p.detail)
        .join('; ');
      expect(plan).toContain('users_sort_name');
      expect(plan).not.toContain('TEMP B-TREE');
    } finally {
      await store.close();
    }
  });
});

describe('SQLite migration 013 (events counted per day, live sessions)', () => {
  it('back-fills the counts of every event already logged, then the trigger counts each new one', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    // A database as the version before left it: every migration before 013, events of three days and two realms.
    const old = new Database(file);
    const migrations = path.join(ROOT, 'src/store/sqlite/migrations');
    const before = readdirSync(migrations).filter((f) => /^\d+_.*\.sql$/.test(f) && Number.parseInt(f, 10) < 13).sort();
    old.function('name_norm_of', { varargs: true }, () => null); // migration 010's back-fill calls it (no users here)
    for (const f of before) old.exec(readFileSync(path.join(migrations, f), 'utf8'));
    old.pragma(`user_version = ${Number.parseInt(before[before.length - 1]!, 10)}`);
    const insert = old.prepare("INSERT INTO events (realm_id, type, user_id, actor_type, at) VALUES (?, ?, 'u', 'user', ?)");
    const ms = (iso: string) => new Date(iso).getTime();
    insert.run('alpha', 'user.created', ms('2024-01-10T23:59:59.999Z'));
    insert.run('alpha', 'user.login.succeeded', ms('2024-01-10T23:59:59.999Z'));
    insert.run('alpha', 'user.login.succeeded', ms('2024-01-11T00:00:00.000Z'));
    insert.run('alpha', 'user.login.succeeded', ms('2024-01-11T18:30:00.000Z'));
    insert.run('beta', 'user.login.succeeded', ms('2024-01-11T18:30:00.000Z'));
    insert.run('alpha', 'user.login.failed', ms('2025-06-01T12:00:00.000Z'));
    old.close();

    const store = new SqliteStore(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(13);
      const types = ['user.created', 'user.login.succeeded', 'user.login.failed'] as const;
      expect(await store.events.dailyCounts('alpha', types, new Date('2024-01-01T00:00:00Z'))).toEqual([
        { day: '2024-01-10', type: 'user.created', n: 1 },
        { day: '2024-01-10', type: 'user.login.succeeded', n: 1 },
        { day: '2024-01-11', type: 'user.login.succeeded', n: 2 },
        { day: '2025-06-01', type: 'user.login.failed', n: 1 },
      ]);
      await store.events.append({ realmId: 'alpha', type: 'user.login.succeeded', userId: 'u', actor: { type: 'user', id: 'u' }, request: NO_REQUEST, at: new Date('2024-01-11T23:00:00Z'), data: null });
      expect(await store.events.dailyCounts('alpha', ['user.login.succeeded'], new Date('2024-01-11T05:00:00Z'))).toEqual([{ day: '2024-01-11', type: 'user.login.succeeded', n: 3 }]);
      expect(await store.events.dailyCounts('beta', types, new Date('2024-01-01T00:00:00Z'))).toEqual([{ day: '2024-01-11', type: 'user.login.succeeded', n: 1 }]);
      // The counts are the log's, grouped: nothing counted twice by back-fill and trigger.
      const fromLog = store.db.prepare('SELECT COUNT(*) FROM events').pluck().get();
      expect(store.db.prepare('SELECT SUM(n) FROM event_day_counts').pluck().get()).toBe(fromLog);
    } finally {
      await store.close();
    }
  });

  it('counts a day from the count table’s key and live sessions from a covering index, not from the tables', () => {
    const store = new SqliteStore(':memory:');
    try {
      const plan = (sql: string, params: Record<string, unknown>) => (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail).join('; ');
      const days = plan(
        "SELECT day, type, n FROM event_day_counts WHERE realm_id = @r AND type IN (SELECT value FROM json_each(@t)) AND day >= @d ORDER BY day, type",
        { r: 'alpha', t: '["user.created"]', d: '2025-01-01' },
      );
      expect(days).toMatch(/SEARCH event_day_counts USING PRIMARY KEY \(realm_id=\? AND day>\?\)/);
      expect(days).not.toContain('events');
      const live = plan('SELECT COUNT(*) FROM login_sessions WHERE realm_id = @r AND ended_at IS NULL AND last_seen_at >= @i AND created_at >= @c', { r: 'alpha', i: 1, c: 1 });
      expect(live).toContain('USING COVERING INDEX login_sessions_live');
    } finally {
      void store.close();
    }
  });
});

describe('SQLite migration 009 (the event catalogue)', () => {
  it('renames the stored events to the catalogue’s names, with their actor and the password change’s reason', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    // A database as the version before the catalogue left it: migrations up to 006, events under the old names.
    const old = new Database(file);
    const migrations = path.join(ROOT, 'src/store/sqlite/migrations');
    for (const f of readdirSync(migrations).filter((f) => Number.parseInt(f, 10) <= 6).sort()) old.exec(readFileSync(path.join(migrations, f), 'utf8'));
    old.pragma('user_version = 6');
    const insert = old.prepare('INSERT INTO events (realm_id, type, user_id, client_id, ip, user_agent, at, data) VALUES (?, ?, ?, NULL, ?, NULL, ?, ?)');
    const legacy = Object.keys(LEGACY_EVENT_TYPES);
    legacy.forEach((type, i) => insert.run('alpha', type, 'user-1', '192.0.2.1', i, type === 'password.reset' ? '{"endedSessions":2}' : null));
    insert.run('alpha', 'something.else', 'user-1', null, 1000, null);
    old.close();

    const store = new SqliteStore(file);
    try {
      const { data } = await store.events.query({ realmId: 'alpha', limit: 1000 });
      const byOld = new Map(data.map((e) => [legacy[e.at.getTime()] ?? 'something.else', e]));
      for (const [from, to] of Object.entries(LEGACY_EVENT_TYPES)) expect(byOld.get(from)?.type, from).toBe(to);
      expect(byOld.get('something.else')?.type).toBe('something.else');
      expect(data.every((e) => isEventType(e.type) || e.type === 'something.else')).toBe(true);
      expect(byOld.get('login.succeeded')?.actor).toEqual({ type: 'user', id: 'user-1' });
      expect(byOld.get('login.failed')?.actor).toEqual({ type: 'user', id: null });
      expect(byOld.get('password.reset')?.data).toEqual({ endedSessions: 2, reason: 'password_reset' });
      expect(byOld.get('password.changed')?.data).toEqual({ reason: 'password_changed' });
      expect(byOld.get('login.succeeded')?.request).toEqual({ ip: '192.0.2.1', userAgent: null, clientId: null, requestId: null });
    } finally {
      await store.close();
    }
  });

  it('lists a realm’s events newest first from an index, not by sorting the table', () => {
    const store = new SqliteStore(':memory:');
    try {
      const plan = (sql: string) => (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ r: 'alpha', u: 'u', a: 1, i: 1 }) as { detail: string }[]).map((p) => p.detail).join('; ');
      const realm = plan('SELECT * FROM events WHERE realm_id = @r AND (at, id) < (@a, @i) ORDER BY at DESC, id DESC LIMIT 10');
      expect(realm).toContain('events_realm');
      expect(realm).not.toContain('TEMP B-TREE');
      const user = plan('SELECT * FROM events WHERE realm_id = @r AND user_id = @u ORDER BY at DESC, id DESC LIMIT 10');
      expect(user).toContain('events_user');
      expect(user).not.toContain('TEMP B-TREE');
    } finally {
      void store.close();
    }
  });
});

describe('SQLite: a write and its events are one transaction', () => {
  /** A store whose every append to the events table fails, as a full disk or a crash mid-write would. */
  function failingLog(): SqliteStore {
    const store = new SqliteStore(':memory:');
    store.db.exec("CREATE TEMP TRIGGER events_fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'boom'); END");
    return store;
  }
  const event = (userId: string | null, type: NewEvent['type'] = 'user.updated'): NewEvent => ({
    realmId: 'alpha',
    type,
    userId,
    actor: { type: 'system', id: null },
    request: NO_REQUEST,
    at: new Date(),
    data: null,
  });
  const newUser = (username: string): NewUser => ({
    realmId: 'alpha',
    userType: 'human',
    username,
    email: `${username}@example.com`,
    emailUnique: true,
    emailVerification: 'none',
    firstName: null,
    lastName: null,
    locale: 'en',
    passwordHash: 'old-hash',
  });

  it('creates no user when its event cannot be written', async () => {
    const store = failingLog();
    try {
      await expect(store.createUser(newUser('ann'), new Date(), (u) => [event(u.id, 'user.created')])).rejects.toThrow('boom');
      expect(await store.findUserByLogin('alpha', 'ann')).toBeNull();
      expect(await store.countUsers('alpha')).toBe(0);
      // The same write without events is untouched by the trigger: the trigger fails only the log.
      expect((await store.createUser(newUser('ann'), new Date())).username).toBe('ann');
    } finally {
      await store.close();
    }
  });

  it('leaves a profile, a phone, a link, a session and an authenticator as they were when their event cannot be written', async () => {
    const store = failingLog();
    try {
      const user = await store.createUser(newUser('ann'), new Date());
      await expect(store.updateProfile('alpha', user.id, { nickname: 'A' }, new Date(), (u) => [event(u.id)])).rejects.toThrow('boom');
      await expect(store.setPhone('alpha', user.id, '+14155550100', true, new Date(), (u) => [event(u.id, 'user.phone.bound')])).rejects.toThrow('boom');
      const identity = { realmId: 'alpha', provider: 'github', subject: '1', userId: user.id, displayName: null, email: null, createdAt: new Date() };
      await expect(store.linkExternalIdentity(identity, [event(user.id, 'user.identity.linked')])).rejects.toThrow('boom');
      const session = { id: 'sid-1', realmId: 'alpha', userId: user.id, createdAt: new Date(), lastSeenAt: new Date(), ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null };
      await expect(store.createLoginSession(session, [event(user.id, 'session.created')])).rejects.toThrow('boom');
      await store.beginTotp('alpha', user.id, 'enc', new Date());
      await store.confirmTotp('alpha', user.id, 1, new Date());
      await expect(store.deleteTotp('alpha', user.id, [event(user.id, 'user.mfa.removed')])).rejects.toThrow('boom');
      expect(await store.findUserById('alpha', user.id)).toMatchObject({ nickname: null, phone: null });
      expect(await store.listExternalIdentities('alpha', user.id)).toEqual([]);
      expect(await store.findLoginSession('alpha', 'sid-1')).toBeNull();
      expect(await store.getTotp('alpha', user.id)).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('keeps the old password, its sessions and reset links when the new password’s events cannot be written', async () => {
    const store = failingLog();
    try {
      const user = await store.createUser(newUser('ann'), new Date());
      const session = { id: 'sid-1', realmId: 'alpha', userId: user.id, createdAt: new Date(), lastSeenAt: new Date(), ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null };
      await store.createLoginSession(session);
      await store.createOneTimeToken({ realmId: 'alpha', purpose: 'reset-password', tokenHash: 'h', userId: user.id, expiresAt: new Date(Date.now() + 60_000), createdAt: new Date() });
      const change = { passwordHash: 'new-hash', revokePurposes: ['reset-password'] };
      await expect(store.replacePassword('alpha', user.id, change, new Date(), (sids) => [event(user.id, 'user.password.updated'), ...sids.map(() => event(user.id, 'session.deleted'))])).rejects.toThrow('boom');
      expect(await store.passwordHashOf('alpha', user.id)).toBe('old-hash');
      expect((await store.findLoginSession('alpha', 'sid-1'))?.endedAt).toBeNull();
      expect(await store.findOneTimeToken('alpha', 'reset-password', 'h', new Date())).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('deletes no user when the events of a delete cannot be written, by ids or by filter', async () => {
    const store = failingLog();
    try {
      const admin = new SqliteUsersAdmin(store.db, store.events);
      const ann = await store.createUser(newUser('ann'), new Date());
      await store.createUser(newUser('ben'), new Date());
      const deleted = (users: { id: string }[]) => users.map((u) => event(u.id, 'user.deleted'));
      await expect(admin.deleteUsers('alpha', [ann.id], deleted)).rejects.toThrow('boom');
      await expect(admin.deleteMatching('alpha', {}, 2, deleted)).rejects.toThrow('boom');
      await expect(admin.patchUser('alpha', ann.id, { state: 'inactive' }, new Date(), (u) => [event(u?.id ?? null)])).rejects.toThrow('boom');
      expect(await store.countUsers('alpha')).toBe(2);
      expect((await store.findUserById('alpha', ann.id))?.state).toBe('active');
    } finally {
      await store.close();
    }
  });
});

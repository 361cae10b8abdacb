import { spawn } from 'node:child_process';
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stableUserId } from '../../src/cli/user-record.ts';
import { ARGON2_OPTIONS } from '../../src/identity/password.ts';
import type { UserRecord } from '../../src/store/port.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { browser, csrfOf, formPostOf, TEST_CONFIG, testGatehouse } from '../helpers/gatehouse.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'src/cli/gatehouse.ts');
/** Loaded into the CLI's process: its peak resident set, told on stderr as it exits. */
const RSS_PROBE = "data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss='+process.resourceUsage().maxRSS+'\\n'))";

const BIG = 100_000;
/** Beta's users: an export of them shows what the process costs before the number of users counts. */
const SMALL = 10_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS in MB, with `rss`. */
  maxRssMb?: number;
}

interface Place {
  config: string;
  dataDir: string;
}

/** Runs the real CLI in its own process, configured by GATEHOUSE_CONFIG and DATA_DIR like the server. */
async function cli(args: string[], place: Place, options: { stdinFile?: string; stdoutFile?: string; rss?: boolean; npx?: boolean } = {}): Promise<Run> {
  const started = performance.now();
  const command = options.npx ? 'npx' : process.execPath;
  const argv = options.npx ? ['gatehouse', 'users', ...args] : ['--import', 'tsx', ...(options.rss ? ['--import', RSS_PROBE] : []), CLI, 'users', ...args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    // MONGODB_URL empty: not set, whatever the machine has (the CLI would open MongoDB instead of DATA_DIR).
    env: { ...process.env, NODE_ENV: 'test', GATEHOUSE_CONFIG: place.config, DATA_DIR: place.dataDir, MONGODB_URL: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const written = options.stdoutFile ? finished(child.stdout.pipe(createWriteStream(options.stdoutFile))) : null;
  if (!written) child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  if (options.stdinFile) createReadStream(options.stdinFile).pipe(child.stdin);
  else child.stdin.end();
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? -1));
  });
  await written;
  const rss = /^maxrss=(\d+)$/m.exec(stderr);
  return { code, stdout, stderr: stderr.replace(/^maxrss=\d+\n/m, ''), ms: performance.now() - started, maxRssMb: rss ? Number(rss[1]) / 1024 : undefined };
}

const PASSWORDS = { argon: 'violet-harbor-lantern-42', bcrypt: 'amber-quarry-meadow-17', bcryptY: 'cobalt-willow-ember-93' };

/** A few real hashes, each shared by many users: hashing 100 000 passwords would take most of an hour. */
async function makeHashes(): Promise<Array<string | null>> {
  const argon = await argon2.hash(PASSWORDS.argon, ARGON2_OPTIONS);
  const b = await bcrypt.hash(PASSWORDS.bcrypt, 10);
  // PHP's prefix: the same algorithm.
  const y = (await bcrypt.hash(PASSWORDS.bcryptY, 10)).replace(/^\$2b\$/, '$2y$');
  return [argon, b, null, y];
}

const T0 = Date.UTC(2020, 0, 1);

/** The i-th generated user: every field varies, with the values a file format gets wrong (quotes, commas, CJK, nulls, v6 addresses). */
function generatedUser(realmId: string, i: number, hashes: Array<string | null>): UserRecord {
  const id = `${realmId}-${String(i).padStart(6, '0')}-${(i * 2654435761 % 2 ** 32).toString(36)}`;
  const api = i % 13 === 12;
  const email = api ? null : `user${i}@example.com`;
  const createdAt = new Date(T0 + i * 60_000 + (i % 997));
  const identities: UserRecord['identities'] = [];
  if (i % 7 === 0) identities.push({ realmId, provider: 'github', subject: `gh-${i}`, userId: id, displayName: i % 14 === 0 ? `octo, "${i}"` : null, email, createdAt: new Date(createdAt.getTime() + 5) });
  if (i % 21 === 0) identities.push({ realmId, provider: 'google', subject: `g-${i}`, userId: id, displayName: null, email: `g${i}@gmail.example`, createdAt: new Date(createdAt.getTime() + 9) });
  return {
    user: {
      id,
      realmId,
      userType: api ? 'api' : 'human',
      username: api ? `api-client-${i}` : email!,
      email,
      emailVerification: api ? 'none' : (['verified', 'requested', 'none'] as const)[i % 3]!,
      phone: i % 5 === 0 ? `+1415${String(i).padStart(7, '0')}` : null,
      phoneVerified: i % 10 === 0,
      firstName: [null, 'Ada', '晓明', "O'Brien, \"Jr\""][i % 4]!,
      lastName: [null, 'Lovelace', '李', 'Ünal'][i % 4]!,
      name: api ? `Robot ${i}` : null,
      nickname: i % 6 === 0 ? `nick ${i}` : null,
      photo: i % 17 === 0 ? `https://img.example.com/u/${i}.png?s=64&q="x"` : null,
      locale: [null, 'en', 'zh-CN'][i % 3]!,
      state: i % 19 === 18 ? 'inactive' : 'active',
      reference: i % 4 === 0 ? `crm-${i}` : null,
      customAttributes: i % 3 === 0 ? {} : { plan: i % 2 ? 'pro' : 'free', seats: i % 50, ratio: i / 8, beta: i % 2 === 0, tags: ['a', 'b, "c"'], cleared: null },
      loginsCount: i % 50,
      lastLoginAt: i % 8 === 0 ? null : new Date(createdAt.getTime() + 86_400_000 + i),
      lastLoginIp: ['203.0.113.7', '2001:db8::1', null, '::ffff:192.0.2.1'][i % 4]!,
      createdAt,
      updatedAt: new Date(createdAt.getTime() + 3_600_000),
    },
    passwordHash: hashes[i % hashes.length]!,
    identities,
  };
}

/** Writes users with putUser, a thousand to a transaction (one commit per user would take most of the seeding time). */
async function seed(store: SqliteStore, records: Iterable<UserRecord>, emailUnique = true): Promise<void> {
  let n = 0;
  store.db.exec('BEGIN');
  for (const record of records) {
    await store.putUser(record, emailUnique);
    if (++n % 1000 === 0) store.db.exec('COMMIT; BEGIN');
  }
  store.db.exec('COMMIT');
}

function* range(realmId: string, count: number, hashes: Array<string | null>): Generator<UserRecord> {
  for (let i = 0; i < count; i++) yield generatedUser(realmId, i, hashes);
}

const COMPARE_PAGE = 20_000;

/** Every user of the realm in both stores, compared a page at a time (two stores of 100 000 users do not fit in the test's memory twice). */
async function expectSameUsers(a: SqliteStore, b: SqliteStore, realmId: string): Promise<number> {
  let after: string | null = null;
  let count = 0;
  for (;;) {
    // Large pages, few calls: without a (realm_id, id) index, SQLite sorts the realm's users for every page, whatever its size.
    const pa: UserRecord[] = await a.listUsers(realmId, after, COMPARE_PAGE);
    const pb: UserRecord[] = await b.listUsers(realmId, after, COMPARE_PAGE);
    if (!isDeepStrictEqual(pa, pb)) {
      // Only the first difference, so the report stays readable.
      const i = pa.findIndex((r, n) => !isDeepStrictEqual(r, pb[n]));
      expect(pb[i]).toEqual(pa[i]);
      expect(pb.length).toBe(pa.length);
    }
    if (pa.length === 0) return count;
    count += pa.length;
    after = pa.at(-1)!.user.id;
  }
}

function tempPlace(root: string, name: string): Place {
  return { config: path.join(root, 'gatehouse.config.json'), dataDir: path.join(root, name) };
}

const APP = 'https://app.example.com/cb';
const loginUrl = `/login?${new URLSearchParams({ redirect_uri: APP, state: 'st-1' })}`;

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'gatehouse-users-'));
  writeFileSync(path.join(root, 'gatehouse.config.json'), JSON.stringify(TEST_CONFIG));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gatehouse users export and import of 100 000 users', () => {
  let hashes: Array<string | null>;
  let source: Place;
  let target: Place;
  let exported: string;
  let exportRun: Run;
  let smallExportRun: Run;

  beforeAll(async () => {
    hashes = await makeHashes();
    source = tempPlace(root, 'source');
    target = tempPlace(root, 'target');
    const store = new SqliteStore(path.join(source.dataDir, 'gatehouse.sqlite'));
    const seeding = performance.now();
    await seed(store, range('alpha', BIG, hashes));
    await seed(store, range('beta', SMALL, hashes), true);
    console.log(`seeded ${BIG + SMALL} users in ${Math.round(performance.now() - seeding)} ms`);
    await store.close();
    exported = path.join(root, 'alpha.jsonl');
    // Through a pipe, as `gatehouse users export … | gzip` would write it: the export waits for the reader.
    exportRun = await cli(['export', '--realm', 'alpha'], source, { stdoutFile: exported, rss: true });
    smallExportRun = await cli(['export', '--realm', 'beta', '--out', path.join(root, 'beta.jsonl')], source, { rss: true });
    console.log(`export of ${BIG}: ${Math.round(exportRun.ms)} ms (${Math.round(BIG / (exportRun.ms / 1000))} users/s), peak RSS ${exportRun.maxRssMb?.toFixed(0)} MB; of ${SMALL}: peak RSS ${smallExportRun.maxRssMb?.toFixed(0)} MB`);
  }, 180_000);

  it('exports every user as one JSON object per line', () => {
    expect(exportRun.stderr).toBe(`exported ${BIG} users of realm alpha\n`);
    expect(exportRun.code).toBe(0);
    const head = Buffer.alloc(10_000);
    const fd = openSync(exported, 'r');
    readSync(fd, head);
    closeSync(fd);
    const first = head.toString('utf8').split('\n')[0]!;
    const object = JSON.parse(first) as Record<string, unknown>;
    expect(Object.keys(object)).toEqual([
      'id', 'realmId', 'userType', 'username', 'email', 'emailVerification', 'phone', 'phoneVerified', 'firstName', 'lastName', 'name', 'nickname', 'photo', 'locale',
      'state', 'reference', 'customAttributes', 'loginsCount', 'lastLoginAt', 'lastLoginIp', 'createdAt', 'updatedAt', 'passwordHash', 'identities',
    ]);
    expect(object.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('imports the export into a fresh store with every field, identity and hash intact', async () => {
    const run = await cli(['import', '--realm', 'alpha', '--file', exported], target);
    console.log(`import of ${BIG}: ${Math.round(run.ms)} ms (${Math.round(BIG / (run.ms / 1000))} users/s)`);
    expect(run.stderr).toBe(`imported into realm alpha: ${BIG} created, 0 updated, 0 failed\n`);
    expect(run.code).toBe(0);
    const [a, b] = [new SqliteStore(path.join(source.dataDir, 'gatehouse.sqlite')), new SqliteStore(path.join(target.dataDir, 'gatehouse.sqlite'))];
    try {
      const comparing = performance.now();
      expect(await expectSameUsers(a, b, 'alpha')).toBe(BIG);
      console.log(`compared both stores in ${Math.round(performance.now() - comparing)} ms`);
      expect(await b.countUsers('beta')).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 120_000);

  it('keeps the export\'s memory flat: 100 000 users cost about what 10 000 do', () => {
    expect(smallExportRun.code).toBe(0);
    const big = exportRun.maxRssMb!;
    const small = smallExportRun.maxRssMb!;
    // The export file alone is ~65 MB, the users as objects several times that: holding them would show.
    expect(big).toBeLessThan(200);
    expect(big - small).toBeLessThan(50);
  });

  describe('the imported users log in through the real app', () => {
    let gh: Awaited<ReturnType<typeof testGatehouse>>;
    beforeAll(async () => {
      gh = await testGatehouse({ dataDir: target.dataDir });
    });
    afterAll(async () => {
      await gh?.close();
    });

    /** The first generated user with this hash who can log in (human, active, verified). */
    function userWith(hash: string | null): UserRecord {
      for (let i = 0; i < BIG; i++) {
        const r = generatedUser('alpha', i, hashes);
        if (r.passwordHash === hash && r.user.userType === 'human' && r.user.state === 'active' && r.user.emailVerification === 'verified') return r;
      }
      throw new Error('no such user');
    }

    async function logIn(identifier: string, password: string) {
      return browser(gh).submit(loginUrl, { identifier, password });
    }

    it('logs an imported argon2id user in and leaves the hash as it is', async () => {
      const r = userWith(hashes[0]!);
      const res = await logIn(r.user.email!, PASSWORDS.argon);
      expect(res.status).toBe(200);
      expect(formPostOf(res.text).action).toBe(APP);
      expect(await gh.store.passwordHashOf('alpha', r.user.id)).toBe(r.passwordHash);
    });

    it('logs a bcrypt user in, stores an argon2id hash in its place, and logs them in with it again', async () => {
      const r = userWith(hashes[1]!);
      expect(r.passwordHash).toMatch(/^\$2b\$10\$/);
      expect((await logIn(r.user.email!, 'wrong-password-entirely')).status).toBe(401);
      expect(await gh.store.passwordHashOf('alpha', r.user.id)).toBe(r.passwordHash);

      const res = await logIn(r.user.email!, PASSWORDS.bcrypt);
      expect(res.status).toBe(200);
      expect(formPostOf(res.text).action).toBe(APP);
      const upgraded = await gh.store.passwordHashOf('alpha', r.user.id);
      expect(upgraded).toMatch(/^\$argon2id\$v=19\$/);

      const again = await logIn(r.user.username, PASSWORDS.bcrypt);
      expect(again.status).toBe(200);
      expect(await gh.store.passwordHashOf('alpha', r.user.id)).toBe(upgraded);
      expect((await logIn(r.user.email!, 'wrong-password-entirely')).status).toBe(401);
    });

    it('logs a $2y$ (PHP) bcrypt user in', async () => {
      const r = userWith(hashes[3]!);
      expect(r.passwordHash).toMatch(/^\$2y\$/);
      expect((await logIn(r.user.email!, PASSWORDS.bcryptY)).status).toBe(200);
      expect(await gh.store.passwordHashOf('alpha', r.user.id)).toMatch(/^\$argon2id\$/);
    });
  });
});

describe('an imported bcrypt user in a realm that requires MFA', () => {
  let gh: Awaited<ReturnType<typeof testGatehouse>>;
  beforeAll(async () => {
    const gamma = { ...TEST_CONFIG.realms[0]!, id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test', mfa: { policy: 'required' } };
    gh = await testGatehouse({ file: { ...TEST_CONFIG, realms: [...TEST_CONFIG.realms, gamma] } });
  });
  afterAll(async () => {
    await gh?.close();
  });

  it('goes on to set up the authenticator after the upgrade: the pending sign-in is bound to the new hash', async () => {
    const record = generatedUser('gamma', 1, [bcrypt.hashSync(PASSWORDS.bcrypt, 4)]);
    record.user.emailVerification = 'verified';
    await gh.store.putUser(record, true);
    const b = browser(gh, 'gamma.test');
    const res = await b.submit(loginUrl, { identifier: record.user.email!, password: PASSWORDS.bcrypt });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login/mfa');
    expect(await gh.store.passwordHashOf('gamma', record.user.id)).toMatch(/^\$argon2id\$/);
    const intro = await b.get('/login/mfa');
    expect(intro.status).toBe(200);
    expect(intro.text).toContain('Gamma requires a second step at sign-in');
    const started = await b.post('/login/mfa/enrol', { _csrf: csrfOf(intro.text) });
    expect(started.status).toBe(303);
    expect((await b.get('/login/mfa')).text).toContain('mfa-secret');
  });
});

describe('gatehouse users import of bad rows', () => {
  it('reports each bad row by its line and writes the good ones', async () => {
    const place = tempPlace(root, 'bad-rows');
    const hash = bcrypt.hashSync('x', 4);
    const rows = [
      /* 1 */ JSON.stringify({ username: 'good1@example.com', email: 'good1@example.com', passwordHash: hash }),
      /* 2 */ JSON.stringify({ username: 'bad2@example.com', email: 'not-an-email' }),
      /* 3 */ JSON.stringify({ username: 'bad3@example.com', email: 'bad3@example.com\r\nBcc: victim@example.com' }),
      /* 4 */ JSON.stringify({ username: 'bad4@example.com', phone: '0415 555 0100', firstName: 'x'.repeat(101) }),
      /* 5 */ '{"username": "broken',
      /* 6 */ '',
      /* 7 */ JSON.stringify({ username: 'bad7@example.com', emailVerification: 'maybe', customAttributes: { nested: { no: 1 } } }),
      /* 8 */ JSON.stringify({ username: 'bad8@example.com', passwordHash: '$1$md5$abcdefghijklmnopqrstuv', createdAt: 'yesterday' }),
      /* 9 */ JSON.stringify({ id: 'other-9', username: 'GOOD1@example.com' }),
      /* 10 */ JSON.stringify({ username: 'bad10@example.com', email: 'GOOD1@EXAMPLE.COM' }),
      /* 11 */ JSON.stringify({ username: 'bad11@example.com', emial: 'typo@example.com' }),
      /* 12 */ JSON.stringify({ email: 'nobody@example.com' }),
      /* 13 */ JSON.stringify({ username: 'good13@example.com', identities: [{ provider: 'github', subject: '1' }] }),
      /* 14 */ JSON.stringify({ username: 'bad14@example.com', identities: [{ provider: 'github', subject: '1' }] }),
      /* 15 */ JSON.stringify({ username: 'bad15@example.com', identities: [{ provider: 'github', subject: '2' }, { provider: 'github', subject: '3' }] }),
      /* 16 */ JSON.stringify({ username: 'bad16@example.com', lastLoginIp: '999.1.1.1', photo: 'javascript:alert(1)', loginsCount: -1 }),
      /* 17 */ JSON.stringify({ username: 'good17@example.com', email: 'good17@example.com', phone: '+14155550100', phoneVerified: true }),
      /* 18 */ '[1, 2]',
    ];
    const file = path.join(root, 'bad-rows.jsonl');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const run = await cli(['import', '--realm', 'alpha', '--file', file], place);
    expect(run.stderr.split('\n')).toEqual([
      'line 2: email: not an email address',
      'line 3: email: contains control characters (CR, LF, …)',
      'line 4: phone: not an E.164 phone number (+14155550100); firstName: at most 100 characters',
      'line 5: not a JSON object',
      'line 7: emailVerification: none, requested or verified; customAttributes.nested: a string, number, boolean, null or an array of those',
      'line 8: createdAt: not an ISO 8601 date-time (2024-05-01T12:00:00Z); passwordHash: not an argon2id or bcrypt ($2a$, $2b$, $2y$) hash',
      'line 9: username: taken by another user of the realm',
      'line 10: email: taken by another user of the realm (its emails are unique)',
      'line 11: unknown field emial',
      'line 12: username: required',
      'line 14: identities: an identity of this row is linked to another user of the realm',
      'line 15: identities[1].provider: a second identity of github',
      'line 16: photo: not an absolute https URL; loginsCount: not negative; lastLoginIp: not an IP address',
      'line 18: not an object',
      'imported into realm alpha: 3 created, 0 updated, 14 failed',
      '',
    ]);
    expect(run.code).toBe(2);
    const store = new SqliteStore(path.join(place.dataDir, 'gatehouse.sqlite'));
    try {
      const users = await store.listUsers('alpha', null, 100);
      expect(users.map((r) => r.user.username).sort()).toEqual(['good13@example.com', 'good17@example.com', 'good1@example.com']);
      const good1 = users.find((r) => r.user.username === 'good1@example.com')!;
      expect(good1.user.id).toBe(stableUserId('alpha', 'good1@example.com'));
      expect(good1.passwordHash).toBe(hash);
      expect(users.find((r) => r.user.username === 'good13@example.com')!.identities.map((i) => i.subject)).toEqual(['1']);
    } finally {
      await store.close();
    }
  });

  it('refuses a CSV whose header names an unknown column before writing anything', async () => {
    const place = tempPlace(root, 'bad-header');
    const file = path.join(root, 'bad-header.csv');
    writeFileSync(file, 'username,e_mail\nx@example.com,x@example.com\n');
    const run = await cli(['import', '--realm', 'alpha', '--file', file], place);
    expect(run.stderr).toMatch(/^line 1: unknown column e_mail \(the columns are id, realmId, /);
    expect(run.stderr).toContain('nothing imported');
    expect(run.code).toBe(2);
  });

  it('exits 1 on a usage or configuration mistake', async () => {
    const place = tempPlace(root, 'usage');
    const noRealm = await cli(['export', '--realm', 'gamma'], place);
    expect(noRealm.stderr).toBe(`no realm gamma in ${place.config} or made through the API (the realms are alpha, beta)\n`);
    expect(noRealm.code).toBe(1);
    const noFile = await cli(['import', '--realm', 'alpha', '--file', path.join(root, 'missing.jsonl')], place);
    expect(noFile.stderr).toMatch(/^cannot read .*missing\.jsonl: ENOENT/);
    expect(noFile.code).toBe(1);
    const badFormat = await cli(['export', '--realm', 'alpha', '--format', 'xml'], place);
    expect(badFormat.stderr).toMatch(/^--format must be jsonl or csv, not xml\n\nUsage:/);
    expect(badFormat.code).toBe(1);
    const noConfig = await cli(['export', '--realm', 'alpha'], { config: path.join(root, 'none.json'), dataDir: place.dataDir });
    expect(noConfig.stderr).toMatch(/^Cannot read the configuration file .*none\.json \(GATEHOUSE_CONFIG\)/);
    expect(noConfig.code).toBe(1);
  });
});

describe('gatehouse users import run twice', () => {
  it('leaves the same store after the second run, rows without id or dates included', async () => {
    const place = tempPlace(root, 'twice');
    const file = path.join(root, 'twice.jsonl');
    const rows = [
      { id: 'crm-1', username: 'ann@example.com', email: 'ann@example.com', emailVerification: 'verified', createdAt: '2021-03-04T05:06:07.089Z' },
      // No id, no dates: its id comes from realm + username, its createdAt from the first run.
      { username: 'Bob@Example.com', email: 'bob@example.com', customAttributes: { plan: 'pro' }, identities: [{ provider: 'google', subject: 'g-bob' }] },
      { username: 'carol@example.com', passwordHash: bcrypt.hashSync('carol-password-1', 4) },
    ];
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    // Standard input: the default source.
    const first = await cli(['import', '--realm', 'alpha'], place, { stdinFile: file });
    expect(first.stderr).toBe('imported into realm alpha: 3 created, 0 updated, 0 failed\n');
    const store = () => new SqliteStore(path.join(place.dataDir, 'gatehouse.sqlite'));
    const read = async () => {
      const s = store();
      try {
        return await s.listUsers('alpha', null, 100);
      } finally {
        await s.close();
      }
    };
    const afterFirst = await read();
    expect(afterFirst.map((r) => r.user.id).sort()).toEqual(['crm-1', stableUserId('alpha', 'bob@example.com'), stableUserId('alpha', 'carol@example.com')].sort());

    const second = await cli(['import', '--realm', 'alpha', '--file', file], place);
    expect(second.stderr).toBe('imported into realm alpha: 0 created, 3 updated, 0 failed\n');
    expect(second.code).toBe(0);
    expect(await read()).toEqual(afterFirst);
  });
});

describe('gatehouse users in CSV', () => {
  it('round-trips users through CSV, nested fields as JSON in their cells', async () => {
    const source = tempPlace(root, 'csv-source');
    const target = tempPlace(root, 'csv-target');
    const hashes = [bcrypt.hashSync('csv-password-1', 4), null, await argon2.hash('csv-password-2', ARGON2_OPTIONS)];
    const a = new SqliteStore(path.join(source.dataDir, 'gatehouse.sqlite'));
    await seed(a, range('alpha', 300, hashes));
    await a.close();
    const file = path.join(root, 'users.csv');
    const exported = await cli(['export', '--realm', 'alpha', '--out', file], source);
    expect(exported.stderr).toBe('exported 300 users of realm alpha\n');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe(
      'id,realmId,userType,username,email,emailVerification,phone,phoneVerified,firstName,lastName,name,nickname,photo,locale,state,reference,customAttributes,loginsCount,lastLoginAt,lastLoginIp,createdAt,updatedAt,passwordHash,identities',
    );
    expect(text).toContain('"O\'Brien, ""Jr"""');
    const imported = await cli(['import', '--realm', 'alpha', '--file', file], target);
    expect(imported.stderr).toBe('imported into realm alpha: 300 created, 0 updated, 0 failed\n');
    const [x, y] = [new SqliteStore(path.join(source.dataDir, 'gatehouse.sqlite')), new SqliteStore(path.join(target.dataDir, 'gatehouse.sqlite'))];
    try {
      expect(await expectSameUsers(x, y, 'alpha')).toBe(300);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('reports a CSV row that does not parse or validate by its line', async () => {
    const place = tempPlace(root, 'csv-bad');
    const file = path.join(root, 'bad.csv');
    writeFileSync(file, ['username,email,phoneVerified,customAttributes', 'a@example.com,a@example.com,false,{}', 'b@example.com,b@example.com,maybe,', 'c@example.com,c@example.com,false,{not json', 'd@example.com,d@example.com', 'e@example.com,,,"{""plan"":""pro""}"', ''].join('\n'));
    const run = await cli(['import', '--realm', 'alpha', '--file', file, '--format', 'csv'], place);
    expect(run.stderr.split('\n')).toEqual([
      'line 3: phoneVerified: true or false',
      'line 4: customAttributes: an object of attributes',
      'line 5: Invalid Record Length: columns length is 4, got 2',
      'imported into realm alpha: 2 created, 0 updated, 3 failed',
      '',
    ]);
    expect(run.code).toBe(2);
  });
});

describe('gatehouse as an npm bin', () => {
  it('runs as `npx gatehouse users …`', async () => {
    const run = await cli(['export', '--realm', 'beta', '--format', 'csv'], tempPlace(root, 'npx'), { npx: true });
    expect(run.stderr).toBe('exported 0 users of realm beta\n');
    expect(run.stdout).toMatch(/^id,realmId,userType,username,/);
    expect(run.code).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import type { RealmConfig } from '../../src/config/index.ts';
import { exportUsers } from '../../src/services/users-export.ts';
import type { UsersService } from '../../src/services/users.ts';
import type { UserRecord } from '../../src/store/port.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** More than one page of the export (1000 users a page). */
const COUNT = 1203;
const T0 = Date.UTC(2024, 0, 1);
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

function record(i: number): UserRecord {
  const createdAt = new Date(T0 + i * 1000);
  return {
    user: {
      id: `exp-${String(i).padStart(5, '0')}`,
      realmId: 'beta',
      userType: 'human',
      username: `exporter-${String(i).padStart(5, '0')}`,
      email: `exporter${i}@example.com`,
      emailVerification: 'none',
      phone: null,
      phoneVerified: false,
      firstName: i % 2 ? 'Ada, "the first"' : '晓明',
      lastName: null,
      name: null,
      nickname: null,
      photo: null,
      locale: null,
      state: i % 10 === 0 ? 'inactive' : 'active',
      reference: null,
      customAttributes: {},
      loginsCount: 0,
      lastLoginAt: null,
      lastLoginIp: null,
      createdAt,
      updatedAt: createdAt,
    },
    passwordHash: HASH,
    identities: [],
  };
}

describe('exportUsers (the API export and the console export share it)', () => {
  let gh: TestGatehouse;
  let users: UsersService;
  let realm: RealmConfig;

  beforeAll(async () => {
    gh = await testGatehouse();
    users = gh.management!.users;
    realm = gh.realms.byIdOrNull('beta')!;
    const db = (gh.store as SqliteStore).db;
    db.exec('BEGIN');
    for (let i = 0; i < COUNT; i++) await gh.store.putUser(record(i), true);
    db.exec('COMMIT');
  });
  afterAll(() => gh?.close());

  const sort = { key: 'username', direction: 'asc' } as const;

  it('writes the matching users in the sort order, a chunk per page, CSV after its header, without hashes unless asked', async () => {
    const chunks: string[] = [];
    const n = await exportUsers(users, realm, { filter: { state: 'active' }, sort, format: 'csv', includePasswordHashes: false }, async (c) => void chunks.push(c));
    const active = COUNT - Math.ceil(COUNT / 10);
    expect(n).toBe(active);
    // The header, a full page, the rest.
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toMatch(/^id,realmId,userType,username,email,/);
    const rows = parseCsv(chunks.join(''), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(active);
    expect(rows.map((r) => r.username)).toEqual([...rows.map((r) => r.username)].sort());
    expect(rows.every((r) => r.state === 'active' && r.passwordHash === '')).toBe(true);
    expect(rows.find((r) => r.id === 'exp-00001')!.firstName).toBe('Ada, "the first"');
  });

  it('writes JSON Lines with the hashes when asked', async () => {
    let text = '';
    const n = await exportUsers(users, realm, { filter: { q: 'exporter-0000' }, sort: { key: 'createdAt', direction: 'desc' }, format: 'ndjson', includePasswordHashes: true }, async (c) => void (text += c));
    expect(n).toBe(10);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((u) => u.id)).toEqual(Array.from({ length: 10 }, (_, i) => `exp-0000${9 - i}`));
    expect(lines.every((u) => u.passwordHash === HASH)).toBe(true);
  });

  it('reads the next page only once the sink has taken the last one', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let text = '';
    const done = exportUsers(users, realm, { filter: { q: 'exporter-' }, sort, format: 'ndjson', includePasswordHashes: false }, async (c) => {
      const first = text === '';
      text += c;
      if (first) await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    // Written while the first page waits: a later page read only now sees it.
    await gh.store.putUser(record(COUNT + 5), true);
    release();
    expect(await done).toBe(COUNT + 1);
    expect(text).toContain('"exp-01208"');
  });

  it('stops at a sink that throws, with its error, reading no more', async () => {
    let calls = 0;
    const gone = new Error('the reader went away');
    const run = exportUsers(users, realm, { filter: {}, sort, format: 'csv', includePasswordHashes: false }, async () => {
      calls += 1;
      if (calls === 2) throw gone;
    });
    await expect(run).rejects.toBe(gone);
    expect(calls).toBe(2);
  });
});

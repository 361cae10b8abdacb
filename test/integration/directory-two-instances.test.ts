/**
 * Issue 12: a change of the realms directory made on one instance is served by every instance within a second.
 * Two Gatehouse processes share one SQLite file and one Redis; the change is written through the realms service
 * on that same file (what the management API of any instance calls), and the test measures, on both processes,
 * how long until their pages show it. Each instance polls the directory's version (src/realms.ts).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from '../../src/services/audit-log.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { RealmsService } from '../../src/services/realms.ts';
import { SqliteDirectory } from '../../src/store/sqlite/directory.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteManagement } from '../../src/store/sqlite/management.ts';
import { spawnGatehouse, type GatehouseProcess } from '../helpers/gatehouse-process.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freePort } from '../helpers/ports.ts';

const redisUrl = inject('redisUrl');
const hasRedis = partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL');

/** GET `url` with the given Host header (fetch may not set Host): status and body. */
function get(url: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Milliseconds from now until `check` holds on the instance (polled every 10 ms), or Infinity after `limitMs`. */
async function delayUntil(check: () => Promise<boolean>, limitMs = 5000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  return Number.POSITIVE_INFINITY;
}

describe.skipIf(!hasRedis)('a directory change on one instance, served by two processes on one store', () => {
  const suffix = randomBytes(4).toString('hex');
  const realmId = `dir-${suffix}`;
  const host = `${realmId}.test`;
  const REDIRECT = 'https://dir-app.example/cb';
  let dir: string;
  let a: GatehouseProcess | undefined;
  let b: GatehouseProcess | undefined;
  let writerStore: SqliteStore;
  let service: RealmsService;
  const delays: Record<string, number[]> = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-dir-two-'));
    const [portA, portB] = [await freePort(), await freePort()];
    const configPath = path.join(dir, 'gatehouse.config.json');
    writeFileSync(configPath, JSON.stringify({ defaultRealm: `main-${suffix}`, realms: [{ id: `main-${suffix}`, name: 'Main', publicUrl: `http://127.0.0.1:${portA}`, hosts: [`127.0.0.1:${portB}`] }] }));
    const env = { REDIS_URL: redisUrl, SESSION_SECRET: randomBytes(32).toString('base64url'), LOG_LEVEL: 'warn' };
    const dataDir = path.join(dir, 'data');
    a = await spawnGatehouse({ port: portA, configPath, dataDir, env });
    b = await spawnGatehouse({ port: portB, configPath, dataDir, env });
    writerStore = new SqliteStore(path.join(dataDir, 'gatehouse.sqlite'));
    service = new RealmsService({ directory: new SqliteDirectory(writerStore.db), realmState: writerStore, configPath, audit: new AuditLog(new SqliteManagement(writerStore.db), () => new Date()), defaultRealmId: `main-${suffix}` });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await writerStore?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // What was measured, for the report.
    console.info('directory change → served (ms):', JSON.stringify(delays));
  });

  /** Runs `change`, then measures on both instances how long until `served` holds; each delay must be ≤ 1000 ms. */
  async function expectServedWithinASecond(name: string, change: () => Promise<unknown>, served: (p: GatehouseProcess) => Promise<boolean>) {
    for (const p of [a!, b!]) expect(await served(p), `${name}: already served on ${p.url} before the change`).toBe(false);
    await change();
    const measured = await Promise.all([a!, b!].map((p) => delayUntil(() => served(p))));
    delays[name] = measured.map((ms) => Math.round(ms));
    for (const ms of measured) expect(ms).toBeLessThanOrEqual(1000);
  }

  it('serves a new realm on both instances within a second', async () => {
    await expectServedWithinASecond(
      'realm created',
      () => service.createRealm({ id: realmId, name: 'Directory Realm', publicUrl: `http://${host}` }, CLI_CONTEXT),
      async (p) => (await get(`${p.url}/login`, host)).text.includes('Directory Realm'),
    );
  });

  it('serves a new app on both instances within a second', async () => {
    await expectServedWithinASecond(
      'app created',
      () => service.createApp(realmId, { clientId: 'dir-app', name: 'Dir App', redirectUris: [REDIRECT] }, CLI_CONTEXT),
      async (p) => (await get(`${p.url}/login?redirect_uri=${encodeURIComponent(REDIRECT)}`, host)).status === 200,
    );
  });

  it('serves a changed realm on both instances within a second (rendered pages are not kept stale)', async () => {
    await expectServedWithinASecond(
      'realm renamed',
      () => service.updateRealm(realmId, { name: 'Renamed Realm' }, CLI_CONTEXT),
      async (p) => (await get(`${p.url}/login`, host)).text.includes('Renamed Realm'),
    );
  });

  it('stops serving a deleted realm on both instances within a second', async () => {
    await expectServedWithinASecond(
      'realm deleted',
      () => service.deleteRealm(realmId, { force: true }, CLI_CONTEXT),
      async (p) => !(await get(`${p.url}/login`, host)).text.includes('Renamed Realm'),
    );
  });

  it('keeps both processes running without errors in their logs', () => {
    for (const p of [a!, b!]) {
      expect(p.child.exitCode).toBeNull();
      expect(p.log().filter((l) => l.level >= 50)).toEqual([]);
    }
  });
});

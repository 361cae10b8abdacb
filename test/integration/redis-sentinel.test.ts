/**
 * Redis through Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER): a real
 * redis-server as the master and a real sentinel (redis-server --sentinel)
 * monitoring it, both spawned here. Gatehouse asks the sentinel for the
 * master and keeps sessions and rate limits there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freePort } from '../helpers/ports.ts';

const hasRedis = partAvailable('Redis', spawnSync('redis-server', ['--version']).status === 0, 'apt-get install redis-server');

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!hasRedis)('Redis through Sentinel', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-sentinel-'));
  const children: ChildProcess[] = [];
  let masterPort = 0;
  let gh: TestGatehouse;
  const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args]).stdout?.toString().trim() ?? '';

  beforeAll(async () => {
    masterPort = await freePort();
    const sentinelPort = await freePort();
    children.push(spawn('redis-server', ['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    await waitFor(() => cli(masterPort, 'ping') === 'PONG', 'the master');
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor gatehouse-master 127.0.0.1 ${masterPort} 1\n`);
    children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    await waitFor(() => cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', 'gatehouse-master').includes(String(masterPort)), 'the sentinel');
    gh = await testGatehouse({ env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_MASTER: 'gatehouse-master' } });
  });
  afterAll(async () => {
    await gh?.close();
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the browser session in the master the sentinel names, and reports it ready', async () => {
    const b = browser(gh);
    const signup = await b.submit('/signup', { email: uniqueEmail('sentinel'), password: GOOD_PASSWORD });
    expect(signup.status).toBe(303);
    expect((await b.get('/account')).status).toBe(200);
    expect(cli(masterPort, '--scan', '--pattern', 'gh:sess:*').split('\n').filter(Boolean).length).toBeGreaterThan(0);
    const ready = await b.get('/readyz');
    expect(ready.body).toMatchObject({ status: 'ok', checks: { redis: 'ok' } });
  });
});

/**
 * Redis Cluster (REDIS_CLUSTER_NODES): three real redis-server nodes in
 * cluster mode, joined with `redis-cli --cluster create`, spawned here.
 * Sessions and rate-limit counters land on whichever node owns their slot.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freeClusterPort } from '../helpers/ports.ts';

const hasRedis = partAvailable('Redis', spawnSync('redis-server', ['--version']).status === 0, 'apt-get install redis-server');

describe.skipIf(!hasRedis)('Redis Cluster', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let gh: TestGatehouse;
  const cli = (...args: string[]) => spawnSync('redis-cli', args).stdout?.toString().trim() ?? '';

  beforeAll(async () => {
    for (let i = 0; i < 3; i += 1) {
      const port = await freeClusterPort(ports);
      ports.push(port);
      children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
      );
    }
    const deadline = Date.now() + 10_000;
    while (!ports.every((p) => cli('-p', String(p), 'ping') === 'PONG')) {
      if (Date.now() > deadline) throw new Error('the cluster nodes did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    expect(created.status, created.stdout?.toString()).toBe(0);
    while (!cli('-p', String(ports[0]), 'cluster', 'info').includes('cluster_state:ok')) {
      if (Date.now() > deadline + 10_000) throw new Error('the cluster did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    gh = await testGatehouse({ env: { REDIS_CLUSTER_NODES: `127.0.0.1:${ports[0]}` } });
  });
  afterAll(async () => {
    await gh?.close();
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps sessions and failure counts in the cluster, found from one node given', async () => {
    const email = uniqueEmail('cluster');
    const b = browser(gh);
    expect((await b.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    expect((await b.get('/account')).status).toBe(200);
    const keys = ports.flatMap((p) => cli('-p', String(p), '--scan', '--pattern', 'gh:*').split('\n').filter(Boolean));
    expect(keys.some((k) => k.startsWith('gh:sess:'))).toBe(true);
    // The per-identifier limit (5 per 15 minutes) counts in the cluster too.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await browser(gh).submit('/login', { identifier: email, password: 'wrong-password-0' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await b.get('/readyz')).body).toMatchObject({ status: 'ok', checks: { redis: 'ok' } });
  });
});

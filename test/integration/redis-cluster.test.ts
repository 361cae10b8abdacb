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
    // A node whose port (or port + 10000) another test took between the check and the spawn exits at
    // once: it is started again on another port. A busy machine may take a while to answer PING.
    const startNode = async (): Promise<void> => {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const port = await freeClusterPort(ports);
        const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
        let exited = false;
        child.once('exit', () => { exited = true; });
        const deadline = Date.now() + 30_000;
        while (!exited && cli('-p', String(port), 'ping') !== 'PONG') {
          if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`the cluster node on port ${port} did not answer PING in 30 s`); }
          await new Promise((r) => setTimeout(r, 100));
        }
        if (!exited) { ports.push(port); children.push(child); return; }
      }
      throw new Error('a cluster node exited at start five times (its ports taken)');
    };
    for (let i = 0; i < 3; i += 1) await startNode();
    const deadline = Date.now() + 30_000;
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    expect(created.status, created.stdout?.toString()).toBe(0);
    while (!cli('-p', String(ports[0]), 'cluster', 'info').includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error('the cluster did not become ready in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    gh = await testGatehouse({ env: { REDIS_CLUSTER_NODES: `127.0.0.1:${ports[0]}` } });
  }, 180_000);
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

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freePort } from './ports.ts';

export { freePort };

let redis: ChildProcess | undefined;

/**
 * Starts one real redis-server for the whole run on a free port (unless
 * REDIS_URL points at one already) and hands its URL to the tests.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL ?? '';
  if (!url && spawnSync('redis-server', ['--version']).status === 0) {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    // Wait until it answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ping = spawnSync('redis-cli', ['-u', url, 'ping']);
      if (ping.stdout?.toString().trim() === 'PONG') break;
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  redis?.kill('SIGTERM');
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

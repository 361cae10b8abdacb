/**
 * MONGODB_URL selects the MongoDB store in main.ts. No MongoDB server can be
 * installed here, so what runs everywhere is the start-up path: a server that
 * cannot be reached stops Gatehouse with one clear line and exit code 1 (the
 * store contract against a real server is test/contract/mongo.test.ts, with
 * MONGODB_URL set).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG } from '../helpers/gatehouse.ts';
import { freePort } from '../helpers/ports.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-mongo-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const configPath = path.join(dir, 'gatehouse.config.json');
  writeFileSync(configPath, JSON.stringify(TEST_CONFIG));
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', GATEHOUSE_CONFIG: configPath, DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent', PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe('starting on MongoDB', () => {
  it('stops with one line and exit 1 when the MongoDB server cannot be reached, the password kept out', async () => {
    const port = await freePort();
    const res = await run({ MONGODB_URL: `mongodb://admin:hunter2@127.0.0.1:${port}/gatehouse`, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^Gatehouse cannot start: Cannot open the MongoDB store at mongodb:\/\/admin:\*\*\*@127\.0\.0\.1:\d+\/gatehouse: /);
    expect(res.stderr).not.toContain('hunter2');
  }, 30_000);

  it('refuses MONGODB_URL without REDIS_URL before connecting to anything', async () => {
    const res = await run({ MONGODB_URL: 'mongodb://127.0.0.1:1/gatehouse' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('REDIS_URL: is required with MONGODB_URL');
  }, 30_000);
});

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * `gatehouse operators …` as an operator runs it: the real CLI in its own process, on the data folder a running
 * Gatehouse (with a console on https://console.test) uses. The setup link it prints works on that server at once.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'src/cli/gatehouse.ts');
const CONSOLE = 'https://console.test';
const FILE = { ...TEST_CONFIG, console: { publicUrl: CONSOLE } };

let dir: string;
let gh: TestGatehouse;

function cli(args: string[], configFile = 'gatehouse.config.json'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'operators', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', GATEHOUSE_CONFIG: path.join(dir, configFile), DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1)!;

/** The link's page on the console host: 303 into the session, then the reset form (200), or the error (400). */
async function open(link: string): Promise<number> {
  const agent = request.agent(gh.app);
  const first = await agent.get(link.replace(CONSOLE, '')).set('Host', 'console.test');
  if (first.status !== 303) return first.status;
  const page = await agent.get(String(first.headers.location)).set('Host', 'console.test');
  if (page.status === 200) expect(page.text).toContain('name="password"');
  return page.status;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-operators-cli-'));
  writeFileSync(path.join(dir, 'gatehouse.config.json'), JSON.stringify(FILE));
  writeFileSync(path.join(dir, 'no-console.json'), JSON.stringify(TEST_CONFIG));
  gh = await testGatehouse({ file: FILE, dataDir: path.join(dir, 'data') });
});
afterAll(async () => {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse operators', () => {
  let firstLink: string;

  it('create: the first operator is owner of every realm; the setup link alone on the last line works on the running server', async () => {
    const run = await cli(['create', '--email', 'root@example.com']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('setup link for root@example.com (expires in 1 hour):');
    firstLink = lastLine(run.stdout);
    expect(firstLink).toMatch(/^https:\/\/console\.test\/reset-password\?token=[A-Za-z0-9_-]+$/);
    expect(run.stdout).toContain('created operator root@example.com (owner on *)');
    expect(await open(firstLink)).toBe(200);
    const [root] = await gh.store.findUsersByEmail('console', 'root@example.com');
    expect(await gh.management!.operators.grantsOf(root!.user.id)).toEqual([expect.objectContaining({ realmId: '*', role: 'owner', grantedBy: null })]);
    const audit = await gh.management!.audit.query({ targetId: root!.user.id, limit: 10 });
    expect(audit.map((e) => `${e.operation} ${e.actor.type}`)).toContain('operator.grant cli');
  });

  it('the link expires 60 minutes after it was made', async () => {
    const [root] = await gh.store.findUsersByEmail('console', 'root@example.com');
    const store = gh.store as SqliteStore;
    const rows = store.db
      .prepare("SELECT created_at, expires_at FROM one_time_tokens WHERE realm_id = 'console' AND user_id = ? AND purpose = 'reset-password' AND consumed_at IS NULL")
      .all(root!.user.id) as Array<{ created_at: number; expires_at: number }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.expires_at - rows[0]!.created_at).toBe(60 * 60_000);
  });

  it('after the first, create needs --role and --realm', async () => {
    const refused = await cli(['create', '--email', 'second@example.com']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--role and --realm are required');
    expect(await gh.store.findUsersByEmail('console', 'second@example.com')).toEqual([]);
    const made = await cli(['create', '--email', 'second@example.com', '--role', 'admin', '--realm', 'alpha']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('created operator second@example.com (admin on alpha)');
    expect(lastLine(made.stdout)).toMatch(/^https:\/\/console\.test\/reset-password\?token=/);
  });

  it('setup-link re-issues a link; the older one stops working', async () => {
    const run = await cli(['setup-link', '--email', 'Root@Example.com']);
    expect(run.code, run.stderr).toBe(0);
    const link = lastLine(run.stdout);
    expect(link).not.toBe(firstLink);
    expect(await open(link)).toBe(200);
    expect(await open(firstLink)).toBe(400);
    const unknown = await cli(['setup-link', '--email', 'nobody@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no operator has that email');
  });

  it('list, grant and revoke; the last owner of * is kept', async () => {
    const list = await cli(['list']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ['root@example.com', '*:owner'],
      ['second@example.com', 'alpha:admin'],
    ]);
    const kept = await cli(['revoke', '--email', 'root@example.com', '--realm', '*']);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain('last owner');
    const demoted = await cli(['grant', '--email', 'root@example.com', '--realm', '*', '--role', 'viewer']);
    expect(demoted.code).toBe(1);
    const granted = await cli(['grant', '--email', 'second@example.com', '--realm', '*', '--role', 'owner']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout.trim()).toBe('second@example.com: *:owner,alpha:admin');
    const revoked = await cli(['revoke', '--email', 'root@example.com', '--realm', '*']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim()).toBe('root@example.com: (no access)');
    expect((await cli(['revoke', '--email', 'second@example.com', '--realm', '*'])).code).toBe(1);
    const again = await cli(['revoke', '--email', 'root@example.com', '--realm', '*']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no role on that realm');
  }, 60_000);

  it('refuses bad usage with a clear message and exit code 1, changing nothing', async () => {
    const before = (await cli(['list'])).stdout;
    for (const args of [
      [],
      ['rotate'],
      ['create'],
      ['create', '--email', 'x@example.com', '--role', 'root', '--realm', 'alpha'],
      ['create', '--email', 'x@example.com', '--role', 'admin', '--realm', 'nosuch'],
      ['create', '--email', 'x@example.com', '--role', 'admin', '--realm', 'Not A Realm'],
      ['create', '--email', 'not-an-email', '--role', 'admin', '--realm', 'alpha'],
      ['create', '--email', 'root@example.com', '--role', 'admin', '--realm', 'alpha'],
      ['grant', '--email', 'root@example.com', '--realm', 'alpha'],
      ['revoke', '--email', 'root@example.com'],
      ['list', '--email', 'root@example.com'],
      ['setup-link', '--email', 'root@example.com', '--realm', 'alpha'],
      ['create', '--email', 'x@example.com', '--bogus'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr.trim().length, args.join(' ')).toBeGreaterThan(0);
      expect(run.stdout, args.join(' ')).not.toContain('reset-password');
    }
    expect((await cli(['list'])).stdout).toBe(before);
    // Fifteen processes, one at a time, on a busy machine.
  }, 90_000);

  it('without a console in the configuration, says so', async () => {
    const run = await cli(['list'], 'no-console.json');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('there is no console');
  });
});

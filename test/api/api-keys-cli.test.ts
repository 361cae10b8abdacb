import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_KEY_PATTERN, MANAGEMENT_KEY_SCAN } from '../../src/domain/management-key.ts';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

/**
 * `gatehouse api-keys create|list|revoke` as an operator runs it: the real CLI
 * in its own process, on the data folder a running Gatehouse uses.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'src/cli/gatehouse.ts');

let dir: string;
let gh: TestGatehouse;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'api-keys', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', GATEHOUSE_CONFIG: path.join(dir, 'gatehouse.config.json'), DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' },
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

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-api-keys-'));
  writeFileSync(path.join(dir, 'gatehouse.config.json'), JSON.stringify(TEST_CONFIG));
  gh = await testGatehouse({ dataDir: path.join(dir, 'data') });
});
afterAll(() => gh.close());

describe('gatehouse api-keys', () => {
  let keyId: string;
  let secret: string;

  it('create prints the new key alone on the last line, once, in the documented shape a secret scanner finds', async () => {
    const run = await cli(['create', '--realm', 'alpha', '--access', 'read', '--name', 'CRM sync']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    secret = lines.at(-1)!;
    expect(secret).toMatch(MANAGEMENT_KEY_PATTERN);
    expect(`leaked in a log: ${secret}.`).toMatch(new RegExp(MANAGEMENT_KEY_SCAN));
    keyId = /^created (\S+) \(read, realm alpha, "CRM sync"\)/.exec(lines[0]!)?.[1] ?? '';
    expect(keyId).not.toBe('');
    expect(run.stdout.split(secret)).toHaveLength(2);
  });

  it('the key works at once on the running instance, within its realm and access (ASVS 8.2.1)', async () => {
    const api = apiClient(gh, secret);
    expect((await api.get('/realms/alpha/users')).status).toBe(200);
    expect((await api.get('/realms/beta/users')).status).toBe(404);
    expect((await api.post('/realms/alpha/users', { email: 'cli@example.com' })).status).toBe(403);
  });

  it('list shows it without the secret, with its last use', async () => {
    const run = await cli(['list']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(secret);
    const row = run.stdout.split('\n').find((l) => l.startsWith(`${keyId}\t`))!.split('\t');
    expect(row.slice(1, 5)).toEqual(['alpha', 'read', `…${secret.slice(-4)}`, 'active']);
    expect(row[5]).toMatch(/^last used \d{4}-\d\d-\d\dT/);
    expect(row[6]).toBe('CRM sync');
  });

  it('revoke makes the running instance refuse the key on its next request, and is audited', async () => {
    const run = await cli(['revoke', keyId]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`revoked ${keyId}`);
    expect((await apiClient(gh, secret).get('/realms/alpha/users')).status).toBe(401);
    // Revoking again changes nothing (and audits nothing); an unknown id is an error.
    expect((await cli(['revoke', keyId])).code).toBe(0);
    const unknown = await cli(['revoke', 'mk_unknown']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no such key');
    const audit = await apiClient(gh, await managementKey(gh, null)).get('/realms/alpha/audit?limit=10');
    const ops = audit.body.data.map((e: { operation: string; actor: { type: string }; target: { id: string } }) => `${e.operation} ${e.actor.type} ${e.target.id}`);
    expect(ops.filter((o: string) => o === `api_key.revoke cli ${keyId}`)).toHaveLength(1);
    expect(ops).toContain(`api_key.create cli ${keyId}`);
  });

  it('a key for every realm is audited outside any realm: GET /audit shows it, to keys for every realm only', async () => {
    const run = await cli(['create', '--realm', '*', '--access', 'read']);
    const id = /^created (\S+)/.exec(run.stdout)![1]!;
    const all = apiClient(gh, run.stdout.trimEnd().split('\n').at(-1)!);
    const page = await all.get('/audit?limit=100');
    expect(page.status).toBe(200);
    const mine = page.body.data.find((e: { target: { id: string } }) => e.target.id === id);
    expect(mine).toMatchObject({ realmId: null, operation: 'api_key.create', actor: { type: 'cli' } });
    expect(page.body.data.some((e: { realmId: string | null }) => e.realmId === 'alpha')).toBe(true);
    const realmOnly = await apiClient(gh, await managementKey(gh, 'alpha', 'read')).get('/audit');
    expect(realmOnly.status).toBe(403);
    expect((await apiClient(gh, await managementKey(gh, 'alpha', 'read')).get('/realms/alpha/audit?limit=100')).body.data.some((e: { target: { id: string } }) => e.target.id === id)).toBe(false);
  });

  it('knows a realm made through the API without a restart', async () => {
    const admin = apiClient(gh, await managementKey(gh, null));
    const made = await admin.post('/realms', { id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test' });
    expect(made.status).toBe(201);
    const run = await cli(['create', '--realm', 'gamma', '--access', 'write']);
    expect(run.code).toBe(0);
    expect((await apiClient(gh, run.stdout.trimEnd().split('\n').at(-1)!).get('/realms/gamma/users')).status).toBe(200);
  });

  it('refuses bad usage with one line and exit code 1, creating nothing', async () => {
    const before = (await cli(['list'])).stdout;
    for (const args of [
      ['create', '--realm', 'alpha', '--access', 'admin'],
      ['create', '--access', 'read'],
      ['create', '--realm', 'nosuch', '--access', 'read'],
      ['create', '--realm', 'alpha', '--access', 'read', '--name', 'two\nlines'],
      ['revoke'],
      ['rotate'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr.trim().length, args.join(' ')).toBeGreaterThan(0);
      expect(run.stdout, args.join(' ')).not.toMatch(/ghmk_/);
    }
    expect((await cli(['list'])).stdout).toBe(before);
  });
});

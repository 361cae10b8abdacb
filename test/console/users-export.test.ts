import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { GOOD_PASSWORD, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The console's CSV export (issue 13, "Export CSV"): the list's users, in the list's order, streamed. Real HTTP, real SQLite. */
let gh: TestGatehouse;
let alpha: RealmConfig;
let admin: ConsoleBrowser;
const tag = Math.random().toString(36).slice(2, 8);

const usernamesIn = (html: string) => [...html.matchAll(/<td data-label="Username"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]!);
const rowsOf = (csv: string) => parse(csv, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  for (let i = 0; i < 40; i++) {
    const state = i % 4 === 0 ? 'inactive' : 'active';
    // Names out of step with the emails, so each sort gives another order.
    await gh.management!.users.create(alpha, { userType: 'human', email: `${tag}-${String(i).padStart(2, '0')}@example.com`, firstName: `F${(i * 7) % 40}`, lastName: 'Doe, "Jr"', state, emailVerification: 'verified', ...(i === 1 ? { password: GOOD_PASSWORD } : {}) }, CLI_CONTEXT);
  }
  for (let i = 0; i < 3; i++) await gh.management!.users.create(alpha, { userType: 'api', name: `${tag} robot ${i}` }, CLI_CONTEXT);
  // 30 more without the tag: the whole realm is more than a page of the list.
  for (let i = 0; i < 30; i++) await gh.management!.users.create(alpha, { userType: 'human', email: `other-${tag}-${i}@example.com` }, CLI_CONTEXT);
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('console users export', () => {
  it('exports the rows of the list on screen, in its order, for each filter and sort', async () => {
    for (const q of [`?q=${tag}-`, `?q=${tag}-&state=inactive`, `?q=${tag}-&sort=email&direction=desc`, `?q=${tag}-&sort=name&direction=asc`, '?userType=api&sort=username&direction=desc']) {
      const list = await admin.get(`/admin/realms/alpha/users${q}`);
      expect(list.status, q).toBe(200);
      const onScreen = usernamesIn(list.text);
      expect(onScreen.length, q).toBeGreaterThan(0);
      // The list's own link to the export, with its query.
      const link = /href="([^"]*\/users\/export\.csv[^"]*)"/.exec(list.text)![1]!.replace(/&amp;/g, '&');
      const params = (s: string) => [...new URLSearchParams(s.split('?')[1]).entries()].sort();
      expect(params(link), q).toEqual(params(q));
      const res = await admin.get(link);
      expect(res.status, q).toBe(200);
      expect(rowsOf(res.text).map((r) => r.username), q).toEqual(onScreen);
    }
  });

  it('exports every matching user, not the page on screen (the cursor is ignored), as a dated attachment never cached', async () => {
    const first = await admin.get('/admin/realms/alpha/users');
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const res = await admin.get(next.replace('/users?', '/users/export.csv?'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const day = new Date().toISOString().slice(0, 10);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="alpha-users-${day}.csv"`);
    const rows = rowsOf(res.text);
    expect(rows).toHaveLength(73);
    expect(rows.slice(0, 50).map((r) => r.username)).toEqual(usernamesIn(first.text));
    expect(new Set(rows.map((r) => r.realmId))).toEqual(new Set(['alpha']));
    // Quotes and commas survive; the console never exports password hashes.
    const withPassword = rows.find((r) => r.username === `${tag}-01@example.com`)!;
    expect(withPassword.lastName).toBe('Doe, "Jr"');
    expect(rows.every((r) => r.passwordHash === '')).toBe(true);
    expect(res.text).not.toContain('$argon2');
  });

  it('a viewer may export (a read); an admin of another realm gets 404', async () => {
    const viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
    const res = await viewer.get(`/admin/realms/alpha/users/export.csv?userType=api`);
    expect(res.status).toBe(200);
    expect(rowsOf(res.text)).toHaveLength(3);
    const beta = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }]));
    const other = await beta.get('/admin/realms/alpha/users/export.csv');
    expect(other.status).toBe(404);
    expect(other.text).not.toContain(tag);
  });

  it('refuses a bad query with a 400 page, never a 500 or a half CSV', async () => {
    for (const q of ['?createdFrom=2026-02-31', '?state=gone', '?sort=password', '?state=active&state=inactive', '?q=a%0D%0Ab', `?q=${'x'.repeat(300)}`]) {
      const res = await admin.get(`/admin/realms/alpha/users/export.csv${q}`);
      expect(res.status, q).toBe(400);
      expect(res.headers['content-type'], q).toMatch(/^text\/html/);
      expect(res.headers['content-disposition'], q).toBeUndefined();
    }
  });
});

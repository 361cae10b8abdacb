import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The console's users list (issue 13, "Users list"): filter, search, sort links, cursor paging, cheap count. Real HTTP, real SQLite. */
let gh: TestGatehouse;
let alpha: RealmConfig;
let b: ConsoleBrowser;
const tag = Math.random().toString(36).slice(2, 8);

const usernamesIn = (html: string) => [...html.matchAll(/<td data-label="Username"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]!);

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  for (let i = 0; i < 60; i++) {
    const state = i % 3 === 0 ? 'inactive' : 'active';
    await gh.management!.users.create(alpha, { userType: 'human', email: `${tag}-${String(i).padStart(2, '0')}@example.com`, firstName: `N${i}`, state, emailVerification: 'verified' }, CLI_CONTEXT);
  }
  await gh.management!.users.create(alpha, { userType: 'api', name: `${tag} robot` }, CLI_CONTEXT);
  b = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('console users list', () => {
  it('lists 50 a page, newest first, with the count, and a next page by cursor', async () => {
    const first = await b.get('/admin/realms/alpha/users');
    expect(first.status, first.text).toBe(200);
    expect(first.text).toContain('61 users');
    const names = usernamesIn(first.text);
    expect(names).toHaveLength(50);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await b.get(next);
    expect(second.status).toBe(200);
    const rest = usernamesIn(second.text);
    expect(rest).toHaveLength(11);
    expect(new Set([...names, ...rest]).size).toBe(61);
    expect(second.text).not.toContain('rel="next"');
  });

  it('sorts by a header; the same header again reverses', async () => {
    const all = Array.from({ length: 60 }, (_, i) => `${tag}-${String(i).padStart(2, '0')}@example.com`);
    const asc = await b.get(`/admin/realms/alpha/users?userType=human&q=${tag}&sort=email&direction=asc`);
    expect(usernamesIn(asc.text)).toEqual(all.slice(0, 50));
    // The sorted header links to the reverse order.
    expect(asc.text).toMatch(/aria-sort="ascending"><a href="[^"]*sort=email&amp;direction=desc/);
    const desc = await b.get(`/admin/realms/alpha/users?userType=human&q=${tag}&sort=email&direction=desc`);
    expect(usernamesIn(desc.text)).toEqual([...all].reverse().slice(0, 50));
  });

  it('filters by state: the Filter button is highlighted and pressed; the search finds by prefix', async () => {
    const page = await b.get('/admin/realms/alpha/users?state=inactive');
    expect(page.status).toBe(200);
    expect(page.text).toContain('filter-on');
    expect(page.text).toContain('aria-pressed="true"');
    expect(page.text).toContain('20 users');
    const plain = await b.get('/admin/realms/alpha/users');
    expect(plain.text).toContain('aria-pressed="false"');
    const search = await b.get(`/admin/realms/alpha/users?q=${tag}-0`);
    expect(usernamesIn(search.text).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `${tag}-0${i}@example.com`));
    // A search is not counted on every view: a link counts on demand.
    expect(search.text).toContain('/users/count?q=');
    const counted = await b.get(`/admin/realms/alpha/users/count?q=${tag}-0`);
    expect(counted.text).toContain('10 users');
  });

  it('refuses a bad query with a 400 page, never a 500', async () => {
    for (const q of ['?createdFrom=2026-02-31', '?state=gone', '?sort=password', '?after=not-a-cursor', '?state=active&state=inactive', `?q=${'x'.repeat(300)}`, '?q=a%0Db']) {
      const res = await b.get('/admin/realms/alpha/users' + q);
      expect(res.status, q).toBe(400);
      expect(res.text).toContain('alert-error');
    }
  });
});

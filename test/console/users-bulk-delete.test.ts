import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_HOST, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * The console's bulk delete (issue 13, "Bulk delete"): by selection and by filter, each behind a confirmation
 * page, step-up and `expect`. Real HTTP, real SQLite; what is gone is read back from the store.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let admin: ConsoleBrowser;
/** The test clock runs this far ahead of the wall clock: a sign-in goes stale without waiting. */
let ahead = 0;
const tag = Math.random().toString(36).slice(2, 8);

const human = async (realm: RealmConfig, email: string, extra: Record<string, unknown> = {}) =>
  (await gh.management!.users.create(realm, { userType: 'human', email, emailVerification: 'verified', ...extra }, CLI_CONTEXT)).user.id;
const exists = async (realm: RealmConfig, id: string) => (await gh.store.findUserById(realm.id, id)) !== null;
const deletedEvents = async (id: string) => (await gh.store.events.query({ realmId: 'alpha', userId: id, limit: 50 })).data.filter((e) => e.type === 'user.deleted');
/** The hidden fields of the page's confirmation form (repeated names as arrays, as a browser posts them). */
function confirmForm(html: string): Record<string, string | string[]> {
  const form = /<form method="post" action="[^"]*\/delete\/confirm">([\s\S]*?)<\/form>/.exec(html)![1]!;
  const out: Record<string, string | string[]> = {};
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    const prev = out[name!];
    out[name!] = prev === undefined ? value! : [...(Array.isArray(prev) ? prev : [prev]), value!];
  }
  return out;
}
const listToken = async (b: ConsoleBrowser) => csrfOf((await b.get('/admin/realms/alpha/users')).text);

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(Date.now() + ahead) });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('console bulk delete', () => {
  it('a selection of 2 asks to confirm, listing them, then deletes exactly those 2: their sessions end, one user.deleted each', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await human(alpha, `${tag}-sel-${i}@example.com`, { password: GOOD_PASSWORD }));
    const [a, b, c, d] = ids as [string, string, string, string];
    const signedIn = browser(gh);
    expect((await signedIn.submit('/login', { identifier: `${tag}-sel-0@example.com`, password: GOOD_PASSWORD })).status).toBe(303);
    expect((await signedIn.get('/account')).status).toBe(200);
    expect(await gh.store.listLoginSessions('alpha', a)).toHaveLength(1);

    const ask = await admin.post('/admin/realms/alpha/users/delete', { _csrf: await listToken(admin), scope: 'ids', ids: [a, b], q: `${tag}-sel` });
    expect(ask.status, ask.text).toBe(200);
    expect(ask.text).toContain('Delete 2 users?');
    expect(ask.text).toContain(`${tag}-sel-0@example.com`);
    expect(ask.text).toContain(`${tag}-sel-1@example.com`);
    expect(ask.text).not.toContain(`${tag}-sel-2@example.com`);
    // Asking deletes nothing.
    expect(await exists(alpha, a)).toBe(true);
    const form = confirmForm(ask.text);
    expect(form.ids).toEqual([a, b]);

    const done = await admin.post('/admin/realms/alpha/users/delete/confirm', form);
    expect(done.status, done.text).toBe(303);
    expect(done.headers.location).toBe(`/admin/realms/alpha/users?q=${tag}-sel`);
    expect(await exists(alpha, a)).toBe(false);
    expect(await exists(alpha, b)).toBe(false);
    expect(await exists(alpha, c)).toBe(true);
    expect(await exists(alpha, d)).toBe(true);
    expect(await gh.store.listLoginSessions('alpha', a)).toEqual([]);
    expect((await signedIn.get('/account')).status).not.toBe(200);
    for (const id of [a, b]) expect((await deletedEvents(id)).map((e) => e.actor?.type)).toEqual(['operator']);
    expect(await deletedEvents(c)).toEqual([]);
    // The list says so once.
    const list = await admin.get(String(done.headers.location));
    expect(list.text).toContain('2 users deleted.');
    expect((await admin.get('/admin/realms/alpha/users')).text).not.toContain('users deleted.');
  });

  it('ids of another realm, or unknown, are not listed and not deleted, even when posted to the confirmation', async () => {
    const mine = await human(alpha, `${tag}-mine@example.com`);
    const theirs = await human(beta, `${tag}-theirs@example.com`, { username: `${tag}-theirs` });
    const ask = await admin.post('/admin/realms/alpha/users/delete', { _csrf: await listToken(admin), scope: 'ids', ids: [mine, theirs, randomUUID()] });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Delete 1 user?');
    expect(ask.text).not.toContain(`${tag}-theirs`);
    expect(confirmForm(ask.text).ids).toBe(mine);
    const onlyTheirs = await admin.post('/admin/realms/alpha/users/delete', { _csrf: await listToken(admin), scope: 'ids', ids: theirs });
    expect(onlyTheirs.status).toBe(404);
    // A forged confirmation: beta's user survives.
    const forged = await admin.post('/admin/realms/alpha/users/delete/confirm', { _csrf: await listToken(admin), scope: 'ids', ids: [mine, theirs] });
    expect(forged.status).toBe(303);
    expect(await exists(alpha, mine)).toBe(false);
    expect(await exists(beta, theirs)).toBe(true);
  });

  it('"select all matching" with 60 users asks to delete all 60 (expect=60), then deletes them', async () => {
    for (let i = 0; i < 60; i++) await human(alpha, `${tag}-mass-${String(i).padStart(2, '0')}@example.com`, { state: i % 2 ? 'active' : 'inactive' });
    const other = await human(alpha, `${tag}-massive@example.org`);
    const q = `${tag}-mass-`;
    expect(await gh.management!.users.count(alpha, { q })).toBe(60);
    const ask = await admin.post('/admin/realms/alpha/users/delete', { _csrf: await listToken(admin), scope: 'filter', q });
    expect(ask.status, ask.text).toBe(200);
    expect(ask.text).toContain('Delete all 60 users matching this filter?');
    expect(ask.text).toContain('100,000');
    const form = confirmForm(ask.text);
    expect(form).toMatchObject({ scope: 'filter', expect: '60', q });
    const done = await admin.post('/admin/realms/alpha/users/delete/confirm', form);
    expect(done.status, done.text).toBe(303);
    expect(await gh.management!.users.count(alpha, { q })).toBe(0);
    expect(await exists(alpha, other)).toBe(true);
    expect((await admin.get(String(done.headers.location))).text).toContain('60 users deleted.');
  });

  it('a sorted list keeps its order through the delete: the list form and the confirmation carry sort and direction', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await human(alpha, `${tag}-srt-${i}@example.com`));
    const list = await admin.get(`/admin/realms/alpha/users?q=${tag}-srt-&sort=email&direction=desc`);
    expect(list.status).toBe(200);
    // The hidden fields of the list's bulk form, as the browser posts them with the ticked rows.
    const bulk = /<form method="post" action="[^"]*\/users\/delete" class="users-form">([\s\S]*?)<\/form>/.exec(list.text)![1]!;
    const hidden = Object.fromEntries([...bulk.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(([, n, v]) => [n!, v!]));
    expect(hidden).toMatchObject({ q: `${tag}-srt-`, sort: 'email', direction: 'desc' });
    const ask = await admin.post('/admin/realms/alpha/users/delete', { ...hidden, scope: 'ids', ids: [ids[1]!] });
    expect(ask.status, ask.text).toBe(200);
    expect(ask.text).toContain(`href="/admin/realms/alpha/users?q=${tag}-srt-&amp;sort=email&amp;direction=desc"`);
    const form = confirmForm(ask.text);
    expect(form).toMatchObject({ sort: 'email', direction: 'desc' });
    const done = await admin.post('/admin/realms/alpha/users/delete/confirm', form);
    expect(done.status, done.text).toBe(303);
    expect(done.headers.location).toBe(`/admin/realms/alpha/users?q=${tag}-srt-&sort=email&direction=desc`);
    expect(await exists(alpha, ids[1]!)).toBe(false);
  });

  it('a changed count since the confirmation page deletes nothing and asks again with the count now (409)', async () => {
    for (let i = 0; i < 3; i++) await human(alpha, `${tag}-mm-${i}@example.com`, { state: 'inactive' });
    const values = { scope: 'filter', q: `${tag}-mm-`, state: 'inactive' };
    const ask = await admin.post('/admin/realms/alpha/users/delete', { _csrf: await listToken(admin), ...values });
    expect(ask.text).toContain('Delete all 3 users matching this filter?');
    await human(alpha, `${tag}-mm-late@example.com`, { state: 'inactive' });
    const stale = await admin.post('/admin/realms/alpha/users/delete/confirm', confirmForm(ask.text));
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('The number of matching users changed meanwhile.');
    expect(stale.text).toContain('Delete all 4 users matching this filter?');
    expect(await gh.management!.users.count(alpha, { q: `${tag}-mm-` })).toBe(4);
    const again = await admin.post('/admin/realms/alpha/users/delete/confirm', confirmForm(stale.text));
    expect(again.status).toBe(303);
    expect(await gh.management!.users.count(alpha, { q: `${tag}-mm-` })).toBe(0);
  });

  it('a viewer gets 403, an admin of another realm 404; nothing is deleted', async () => {
    const id = await human(alpha, `${tag}-kept@example.com`);
    const viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
    const token = await listToken(viewer);
    for (const path of ['/delete', '/delete/confirm']) {
      expect((await viewer.post(`/admin/realms/alpha/users${path}`, { _csrf: token, scope: 'ids', ids: id })).status, path).toBe(403);
    }
    const betaAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }]));
    const betaToken = csrfOf((await betaAdmin.get('/admin/realms/beta/users')).text);
    for (const path of ['/delete', '/delete/confirm']) {
      const res = await betaAdmin.post(`/admin/realms/alpha/users${path}`, { _csrf: betaToken, scope: 'ids', ids: id });
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain(`${tag}-kept`);
    }
    expect(await exists(alpha, id)).toBe(true);
  });

  it('a stale sign-in is sent to "confirm it’s you", coming back to a GET that shows the list', async () => {
    const id = await human(alpha, `${tag}-stale@example.com`);
    const token = await listToken(admin);
    ahead = 10 * 60_000;
    try {
      for (const path of ['/delete', '/delete/confirm']) {
        const res = await admin.post(`/admin/realms/alpha/users${path}`, { _csrf: token, scope: 'ids', ids: id });
        expect(res.status, path).toBe(303);
        expect(res.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(`/admin/realms/alpha/users${path}`)}`);
      }
    } finally {
      ahead = 0;
    }
    expect(await exists(alpha, id)).toBe(true);
    for (const path of ['/delete', '/delete/confirm']) {
      const back = await admin.get(`/admin/realms/alpha/users${path}`);
      expect(back.status).toBe(303);
      expect(back.headers.location).toBe('/admin/realms/alpha/users');
    }
  });

  it('refuses bad bodies with a 4xx page: nested ids, none, 1001, CRLF, an unknown scope, a bad or too large expect', async () => {
    const id = await human(alpha, `${tag}-bad@example.com`);
    const token = await listToken(admin);
    const many = Array.from({ length: 1001 }, () => randomUUID());
    const bodies: Array<[string, Record<string, string | string[]>]> = [
      ['/delete', { 'ids[0]': id, scope: 'ids' }],
      ['/delete', { 'ids[a]': id, scope: 'ids' }],
      ['/delete', { scope: 'ids' }],
      ['/delete', { scope: 'ids', ids: many }],
      ['/delete', { scope: 'ids', ids: `${id}\r\nX-Evil: 1` }],
      ['/delete', { scope: 'filter', q: 'a\r\nb' }],
      ['/delete', { scope: 'filter', state: ['active', 'inactive'] }],
      ['/delete', { scope: 'everything' }],
      ['/delete', { ids: id }],
      ['/delete/confirm', { scope: 'ids', ids: many }],
      ['/delete/confirm', { scope: 'filter', q: `${tag}-bad` }],
      ['/delete/confirm', { scope: 'filter', q: `${tag}-bad`, expect: '1e3' }],
      ['/delete/confirm', { scope: 'filter', q: `${tag}-bad`, expect: ['1', '1'] }],
      ['/delete/confirm', { scope: 'filter', expect: '100001' }],
    ];
    for (const [path, body] of bodies) {
      const res = await admin.post(`/admin/realms/alpha/users${path}`, { _csrf: token, ...body });
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
    }
    const tooMany = await admin.post('/admin/realms/alpha/users/delete', { _csrf: token, scope: 'ids', ids: many });
    expect(tooMany.text).toContain('Select at most 1,000 users at once');
    const overCap = await admin.post('/admin/realms/alpha/users/delete/confirm', { _csrf: token, scope: 'filter', expect: '100001' });
    expect(overCap.text).toContain('More than 100,000 users match');
    expect(await exists(alpha, id)).toBe(true);
    // Without the console's CSRF token: refused before anything.
    const noToken = await admin.agent.post('/admin/realms/alpha/users/delete/confirm').set('Host', CONSOLE_HOST).type('form').send({ scope: 'ids', ids: id });
    expect(noToken.status).toBe(403);
    expect(await exists(alpha, id)).toBe(true);
  });
});

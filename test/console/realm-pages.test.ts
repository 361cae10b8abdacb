import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The console's read pages of a realm (issue 13 "Realm pages"): dashboard, events, audit log. Real HTTP, real SQLite. */
let gh: TestGatehouse;
let alpha: RealmConfig;
let viewer: ConsoleBrowser;
let otherAdmin: ConsoleBrowser;
const emails = [uniqueEmail('dash'), uniqueEmail('dash'), uniqueEmail('dash')];

const textOf = (html: string) => html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  for (const [i, email] of emails.entries()) {
    await gh.management!.users.create(alpha, { userType: 'human', email, password: GOOD_PASSWORD, emailVerification: 'verified', state: i === 2 ? 'inactive' : 'active' }, CLI_CONTEXT);
  }
  await gh.management!.users.create(alpha, { userType: 'api', name: 'dash robot' }, CLI_CONTEXT);
  // Two sign-ins and a failed one through the hosted login.
  for (const password of [GOOD_PASSWORD, GOOD_PASSWORD, 'not-the-password-1']) await browser(gh).submit('/login', { identifier: emails[0]!, password });
  // Enough events of one kind for two pages of the events list.
  for (let i = 0; i < 55; i++) await gh.management!.users.create(alpha, { userType: 'api', name: `bulk ${i}` }, CLI_CONTEXT);
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
  otherAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('console dashboard', () => {
  it('shows the service’s numbers: users by type and state, totals, live sessions, and every day in the table', async () => {
    const page = await viewer.get('/admin/realms/alpha');
    expect(page.status, page.text).toBe(200);
    const summary = await gh.management!.dashboard.summary(alpha, 30);
    expect(summary.totals.signUps).toBeGreaterThanOrEqual(4);
    expect(summary.totals.signIns).toBeGreaterThanOrEqual(2);
    expect(summary.totals.failedSignIns).toBeGreaterThanOrEqual(1);
    const total = (name: string) => new RegExp(`data-total="${name}">([^<]+)<`).exec(page.text)![1];
    expect(total('users')).toBe(summary.users.total.toLocaleString('en'));
    expect(total('liveSessions')).toBe(String(summary.liveSessions));
    expect(total('signUps')).toBe(String(summary.totals.signUps));
    expect(total('signIns')).toBe(String(summary.totals.signIns));
    expect(total('failedSignIns')).toBe(String(summary.totals.failedSignIns));
    for (const type of ['human', 'api'] as const) {
      for (const state of ['active', 'inactive'] as const) {
        const cell = new RegExp(`<tr data-type="${type}">[\\s\\S]*?<td data-state="${state}">([^<]+)<`).exec(page.text)![1];
        expect(cell, `${type} ${state}`).toBe(String(summary.users[type][state]));
      }
    }
    // The screen readers' table: one row per day, the service's numbers.
    const rows = [...page.text.matchAll(/<tr data-day="([\d-]+)"><th scope="row">[\d-]+<\/th><td>(\d+)<\/td><td>(\d+)<\/td><td>(\d+)<\/td><\/tr>/g)];
    expect(rows.map((r) => ({ day: r[1], signUps: Number(r[2]), signIns: Number(r[3]), failedSignIns: Number(r[4]) }))).toEqual(summary.days);
  });

  it('draws one bar group per day, two bars each, with classes and no inline style', async () => {
    const page = await viewer.get('/admin/realms/alpha');
    const svg = /<svg class="bar-chart"[\s\S]*?<\/svg>/.exec(page.text)![0];
    const groups = [...svg.matchAll(/<g class="chart-day" data-day="([\d-]+)">([\s\S]*?)<\/g>/g)];
    expect(groups).toHaveLength(30);
    for (const g of groups) expect([...g[2]!.matchAll(/<rect class="chart-bar chart-bar-(signUps|signIns)"/g)].map((m) => m[1])).toEqual(['signUps', 'signIns']);
    // Today's group has its sign-ups bar standing above the baseline.
    const today = new Date().toISOString().slice(0, 10);
    const todays = groups.find((g) => g[1] === today)![2]!;
    expect(Number(/chart-bar-signUps"[^>]* height="([\d.]+)"/.exec(todays)![1])).toBeGreaterThan(0);
    expect(page.text).not.toMatch(/style=/);
  });

  it('is 404 for an operator of another realm', async () => {
    expect((await otherAdmin.get('/admin/realms/alpha')).status).toBe(404);
    expect((await otherAdmin.get('/admin/realms/beta')).status).toBe(200);
  });

  it('speaks Chinese with ?lang=zh-CN', async () => {
    const page = await viewer.get('/admin/realms/alpha?lang=zh-CN');
    expect(page.status).toBe(200);
    expect(textOf(page.text)).toContain('活跃会话');
    // The choice is remembered: switch back for the other tests.
    expect(textOf((await viewer.get('/admin/realms/alpha?lang=en')).text)).toContain('Live sessions');
  });
});

const eventRows = (html: string) =>
  [...html.matchAll(/<tr data-event-id="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
    id: m[1]!,
    type: /<code translate="no" data-type>([^<]+)</.exec(m[2]!)![1]!,
    user: /data-user="([^"]+)"/.exec(m[2]!)?.[1] ?? null,
    actor: /data-actor="([^"]+)"/.exec(m[2]!)![1]!,
    text: textOf(m[2]!),
  }));

describe('console events', () => {
  it('lists the realm’s events newest first, 50 a page, with a cursor to older ones', async () => {
    const first = await viewer.get('/admin/realms/alpha/events');
    expect(first.status, first.text).toBe(200);
    const rows = eventRows(first.text);
    expect(rows).toHaveLength(50);
    const expected = await gh.management!.events.page(alpha, { limit: 50 });
    expect(rows.map((r) => r.id)).toEqual(expected.data.map((e) => e.id));
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = eventRows((await viewer.get(next)).text);
    expect(second.length).toBeGreaterThan(0);
    expect(second.some((r) => rows.some((f) => f.id === r.id))).toBe(false);
  });

  it('filters by type prefix and by user; shows who acted and links the user', async () => {
    const user = (await gh.management!.users.list(alpha, { q: emails[0]! }, { key: 'email', direction: 'asc' }, null, 1)).users[0]!;
    const logins = eventRows((await viewer.get('/admin/realms/alpha/events?type=user.login')).text);
    expect(logins.map((r) => r.type).sort()).toEqual(['user.login.failed', 'user.login.succeeded', 'user.login.succeeded']);
    expect(logins.every((r) => r.user === user.id)).toBe(true);
    const mine = eventRows((await viewer.get(`/admin/realms/alpha/events?userId=${user.id}`)).text);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.every((r) => r.user === user.id)).toBe(true);
    expect(mine.map((r) => r.type)).toContain('user.created');
    expect((await viewer.get(`/admin/realms/alpha/events?userId=${user.id}`)).text).toContain(`href="/admin/realms/alpha/users/${user.id}"`);
    const both = eventRows((await viewer.get(`/admin/realms/alpha/events?type=user.login.failed&userId=${user.id}`)).text);
    expect(both.map((r) => r.type)).toEqual(['user.login.failed']);
    // An operator's change names the operator by email.
    await gh.management!.users.create(alpha, { userType: 'api', name: 'made by an operator' }, { actor: { type: 'operator', id: viewer.operatorId }, requestId: null, ip: '203.0.113.9', userAgent: null });
    const latest = eventRows((await viewer.get('/admin/realms/alpha/events?type=user.created')).text)[0]!;
    expect(latest.actor).toBe('operator');
    expect(latest.text).toContain(viewer.email);
  });

  it('answers a bad filter or cursor with a 400 page, never a 500', async () => {
    for (const q of ['?type=User!', '?type=a..b', '?userId=has%20space', '?after=not-a-cursor', '?type=user&type=session', `?type=${'a'.repeat(200)}`]) {
      const res = await viewer.get('/admin/realms/alpha/events' + q);
      expect(res.status, q).toBe(400);
      expect(res.text).toContain('alert-error');
    }
  });

  it('is 404 for an operator of another realm', async () => {
    expect((await otherAdmin.get('/admin/realms/alpha/events')).status).toBe(404);
  });
});

describe('console audit log', () => {
  it('shows who changed what, when, and the change as a field diff (secrets redacted)', async () => {
    const user = (await gh.management!.users.list(alpha, { q: emails[1]! }, { key: 'email', direction: 'asc' }, null, 1)).users[0]!;
    const ctx = { actor: { type: 'operator' as const, id: viewer.operatorId }, requestId: 'req-audit-1', ip: '203.0.113.7', userAgent: null };
    await gh.management!.users.update(alpha, user.id, { firstName: 'Renamed', password: 'a-brand-new-password-99' }, ctx);
    const page = await viewer.get('/admin/realms/alpha/audit');
    expect(page.status, page.text).toBe(200);
    const [latest] = await gh.management!.audit.query({ realmId: 'alpha', limit: 1 });
    const entry = new RegExp(`<li class="audit-entry" data-audit-id="${latest!.id}">([\\s\\S]*?)</li>`).exec(page.text)![1]!;
    expect(entry).toContain('<code translate="no" class="audit-operation" data-operation>user.update</code>');
    expect(entry).toContain(`href="/admin/realms/alpha/users/${user.id}"`);
    expect(textOf(entry)).toContain(`Operator ${viewer.email}`);
    expect(entry).toContain('203.0.113.7');
    const row = (path: string) => new RegExp(`<tr class="diff-(\\w+)" data-path="${path.replace(/\./g, '\\.')}" data-kind="\\w+">([\\s\\S]*?)</tr>`).exec(entry);
    expect(row('firstName')![1]).toBe('changed');
    expect(textOf(row('firstName')![2]!)).toMatch(/firstName changed .*Renamed/);
    // The password's change is recorded, its value redacted by the audit log: never the password itself.
    expect(entry).not.toContain('a-brand-new-password-99');
    expect(row('lastName')).toBeNull();
    expect([...entry.matchAll(/data-path="([^"]+)" data-kind="(\w+)"/g)].map((m) => `${m[1]}:${m[2]}`)).toEqual(['firstName:changed', 'password:added', 'updatedAt:changed']);
    expect(textOf(row('password')![2]!)).toContain('[redacted]');
  });

  it('pages with a cursor; a bad cursor is a 400 page; another realm’s operator gets 404', async () => {
    const first = await viewer.get('/admin/realms/alpha/audit');
    const ids = [...first.text.matchAll(/data-audit-id="([^"]+)"/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(50);
    expect(ids).toEqual((await gh.management!.audit.query({ realmId: 'alpha', limit: 50 })).map((e) => e.id));
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const more = [...(await viewer.get(next)).text.matchAll(/data-audit-id="([^"]+)"/g)].map((m) => m[1]!);
    expect(more.length).toBeGreaterThan(0);
    expect(more.some((id) => ids.includes(id))).toBe(false);
    for (const q of ['?after=abc', '?after=1&after=2', `?after=${'9'.repeat(30)}`]) expect((await viewer.get('/admin/realms/alpha/audit' + q)).status, q).toBe(400);
    expect((await otherAdmin.get('/admin/realms/alpha/audit')).status).toBe(404);
  });
});

import { CLI_CONTEXT } from '../../src/services/context.ts';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/domain/errors.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { csrfOf, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The console's apps pages (issue 13 "Realm pages"): list, add, edit, rotate, delete; provisioned realms read-only. Real HTTP, real SQLite. */
let gh: TestGatehouse;
let owner: ConsoleBrowser;
let viewer: ConsoleBrowser;
let otherAdmin: ConsoleBrowser;

const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** The app back channel's answer for `clientId:secret` on gamma's host. */
const backChannel = (clientId: string, secret: string) => request(gh.app).get(`/api/sessions/${SID}`).set('Host', 'gamma.test').auth(clientId, secret);
const secretIn = (html: string) => /<p class="secret-once"[^>]*>([^<]+)<\/p>/.exec(html)![1]!;
const audits = async (operation: string, id: string) => (await gh.management!.audit.query({ realmId: 'gamma', limit: 100 })).filter((e) => e.operation === operation && e.target.id === id);
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  await gh.realmsService.createRealm({ id: 'gamma', name: 'Gamma', publicUrl: 'http://gamma.test' }, CLI_CONTEXT);
  await gh.realmsService.createApp('gamma', { clientId: 'keep', name: 'Kept app', redirectUris: ['https://keep.example.com/cb'] }, CLI_CONTEXT);
  owner = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'gamma', role: 'owner' }, { realmId: 'alpha', role: 'owner' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'gamma', role: 'viewer' }, { realmId: 'alpha', role: 'viewer' }]));
  otherAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'owner' }]));
});
afterAll(() => gh.close());

describe('console apps', () => {
  it('creates an app: the secret is shown once (no-store), works on the back channel, and the write is audited', async () => {
    const form = await owner.get('/admin/realms/gamma/apps/new');
    expect(form.status).toBe(200);
    const res = await owner.post('/admin/realms/gamma/apps/new', {
      _csrf: csrfOf(form.text),
      clientId: 'g1',
      name: 'Gamma portal',
      redirectUris: 'https://g.example.com/cb\r\n\r\n  https://g.example.com/cb2  \r\n',
      logoutRedirectUris: 'https://g.example.com/bye',
      delivery: 'query',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const secret = secretIn(res.text);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const app = await gh.realmsService.getApp('gamma', 'g1');
    expect(app.settings).toMatchObject({ name: 'Gamma portal', redirectUris: ['https://g.example.com/cb', 'https://g.example.com/cb2'], logoutRedirectUris: ['https://g.example.com/bye'], delivery: 'query' });
    expect((await backChannel('g1', secret)).status).toBe(200);
    const [entry] = await audits('app.create', 'g1');
    expect(entry).toMatchObject({ actor: { type: 'operator', id: owner.operatorId }, target: { type: 'app', id: 'g1' }, after: { clientId: 'g1' } });
    // The list shows it; the secret is never shown again.
    const list = await owner.get('/admin/realms/gamma/apps');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Gamma portal');
    expect(list.text).not.toContain(secret);
    expect((await owner.get('/admin/realms/gamma/apps/g1')).text).not.toContain(secret);
  });

  it('shows the service’s refusals at their fields, 4xx, keeping what was typed', async () => {
    const form = await owner.get('/admin/realms/gamma/apps/new');
    const typed = 'https://ok.example.com/cb\nhttp://evil.example.com/cb';
    const bad = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(form.text), clientId: 'g2', name: 'Second', redirectUris: typed, logoutRedirectUris: '', delivery: 'form_post' });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/<p class="field-error" id="redirectUris-error">Line 2: Use https \(http is allowed for localhost only\)\./);
    expect(bad.text).toContain('aria-invalid="true" aria-describedby="redirectUris-error redirectUris-hint"');
    expect(decode(/<textarea id="redirectUris"[^>]*>([^<]*)<\/textarea>/.exec(bad.text)![1]!)).toBe(typed);
    expect(bad.text).toContain('value="Second"');
    await expect(gh.realmsService.getApp('gamma', 'g2')).rejects.toBeInstanceOf(NotFoundError);

    const taken = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(form.text), clientId: 'keep', name: 'Again', redirectUris: 'https://x.example.com/cb', delivery: 'form_post' });
    expect(taken.status).toBe(409);
    expect(taken.text).toMatch(/<p class="field-error" id="clientId-error">An app with this client id exists/);

    const twice = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(form.text), clientId: 'g3', name: ['a', 'b'], redirectUris: 'https://x.example.com/cb', delivery: 'form_post' });
    expect(twice.status).toBe(400);
    const mode = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(form.text), clientId: 'g3', name: 'x', redirectUris: 'https://x.example.com/cb', delivery: 'carrier_pigeon' });
    expect(mode.status).toBe(400);
    expect(mode.text).toContain('id="delivery-error"');

    // `new` is the new-app page's own path (matched case-insensitively): an app of that id could never be opened.
    const reserved = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(form.text), clientId: 'New', name: 'x', redirectUris: 'https://x.example.com/cb', delivery: 'form_post' });
    expect(reserved.status).toBe(422);
    expect(reserved.text).toMatch(/<p class="field-error" id="clientId-error">[^<]*is reserved/);
    await expect(gh.realmsService.getApp('gamma', 'New')).rejects.toBeInstanceOf(NotFoundError);

    // The same refusals in Simplified Chinese: the realm schema's English words are the API's, not the page's.
    const zhForm = await owner.get('/admin/realms/gamma/apps/new?lang=zh-CN');
    try {
      const zh = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(zhForm.text), clientId: 'x y', name: 'n', redirectUris: 'https://ok.example.com/cb\nhttp://evil.example.com/cb', delivery: 'form_post' });
      expect(zh.status).toBe(422);
      expect(zh.text).toMatch(/<p class="field-error" id="clientId-error">可使用字母、数字、点、短横线和下划线，最多 64 个字符。/);
      expect(zh.text).toMatch(/<p class="field-error" id="redirectUris-error">第 2 行：请使用 https（仅 localhost 可以使用 http）。/);
    } finally {
      await owner.get('/admin/realms/gamma/apps?lang=en');
    }
  });

  it('edits an app: the directory changes, the page says so, and the change is audited with before and after', async () => {
    const page = await owner.get('/admin/realms/gamma/apps/keep');
    expect(page.status).toBe(200);
    const res = await owner.post('/admin/realms/gamma/apps/keep', {
      _csrf: csrfOf(page.text),
      name: 'Kept app (EU)',
      redirectUris: 'https://keep.example.com/cb\nhttps://keep.example.com/other',
      logoutRedirectUris: 'https://keep.example.com/bye',
      delivery: 'fragment',
    });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/admin/realms/gamma/apps/keep');
    const after = await owner.get('/admin/realms/gamma/apps/keep');
    expect(after.text).toContain('The app&#39;s settings are saved.');
    expect(after.text).toContain('value="Kept app (EU)"');
    expect((await gh.realmsService.getApp('gamma', 'keep')).settings).toMatchObject({ name: 'Kept app (EU)', redirectUris: ['https://keep.example.com/cb', 'https://keep.example.com/other'], logoutRedirectUris: ['https://keep.example.com/bye'], delivery: 'fragment' });
    const [entry] = await audits('app.update', 'keep');
    expect(entry).toMatchObject({ actor: { type: 'operator', id: owner.operatorId }, before: { settings: { name: 'Kept app' } }, after: { settings: { name: 'Kept app (EU)' } } });
    // An empty redirect list is the service's refusal (at least one), shown at the field.
    const empty = await owner.post('/admin/realms/gamma/apps/keep', { _csrf: csrfOf(after.text), name: 'Kept app (EU)', redirectUris: '  \n ', delivery: 'fragment' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('id="redirectUris-error"');
  });

  it('sets who may use an app: a permission, then members of an org, then everyone again; refusals at their fields', async () => {
    await gh.realmsService.createApp('gamma', { clientId: 'closed', name: 'Closed app', redirectUris: ['https://closed.example.com/cb'] }, CLI_CONTEXT);
    const url = '/admin/realms/gamma/apps/closed';
    const base = { name: 'Closed app', redirectUris: 'https://closed.example.com/cb', delivery: 'form_post' };
    const page = await owner.get(url);
    expect(page.text).toMatch(/<option value="everyone" selected>/);
    const csrf = csrfOf(page.text);
    expect((await owner.post(url, { _csrf: csrf, ...base, accessType: 'permission', accessPermission: 'Portal:Use' })).status).toBe(303);
    expect((await gh.realmsService.getApp('gamma', 'closed')).settings.access).toEqual({ type: 'permission', permission: 'portal:use' });
    const shown = await owner.get(url);
    expect(shown.text).toMatch(/<option value="permission" selected>/);
    expect(shown.text).toContain('value="portal:use"');

    const org = await gh.management!.orgs.create(gh.realms.byIdOrNull('gamma')!, { name: 'Acme' }, CLI_CONTEXT);
    expect((await owner.post(url, { _csrf: csrf, ...base, accessType: 'members', accessPermission: 'portal:use', accessOrgs: `${org.id}\n` })).status).toBe(303);
    // The permission of the rule it replaced is gone, not left behind.
    expect((await gh.realmsService.getApp('gamma', 'closed')).settings.access).toEqual({ type: 'members', orgs: [org.id], groups: [] });

    const bad = await owner.post(url, { _csrf: csrf, ...base, accessType: 'members', accessOrgs: 'acme' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('id="accessOrgs-error"');
    const none = await owner.post(url, { _csrf: csrf, ...base, accessType: 'members', accessOrgs: '' });
    expect(none.status).toBe(422);
    expect(none.text).toContain('id="accessType-error"');
    const badPermission = await owner.post(url, { _csrf: csrf, ...base, accessType: 'permission', accessPermission: 'no spaces' });
    expect(badPermission.status).toBe(422);
    expect(badPermission.text).toContain('id="accessPermission-error"');
    const unknownType = await owner.post(url, { _csrf: csrf, ...base, accessType: 'admins' });
    expect(unknownType.status).toBe(400);

    expect((await owner.post(url, { _csrf: csrf, ...base, accessType: 'everyone', accessOrgs: org.id })).status).toBe(303);
    expect((await gh.realmsService.getApp('gamma', 'closed')).settings.access).toEqual({ type: 'everyone' });
    const [entry] = (await audits('app.update', 'closed')).filter((e) => (e.after as { settings: { access: { type: string } } }).settings.access.type === 'members');
    expect(entry).toMatchObject({ actor: { type: 'operator', id: owner.operatorId }, before: { settings: { access: { type: 'permission' } } } });
  });

  it('keeps an app’s access rule when an edit posts no accessType (a form from before the field, a script): it never falls open to everyone', async () => {
    // ASVS 5.0 16.5.3 (fail securely): a missing field is not a choice of the widest rule.
    await gh.realmsService.createApp('gamma', { clientId: 'shut', name: 'Shut app', redirectUris: ['https://shut.example.com/cb'], access: { type: 'permission', permission: 'portal:use' } }, CLI_CONTEXT);
    const url = '/admin/realms/gamma/apps/shut';
    const csrf = csrfOf((await owner.get(url)).text);
    const res = await owner.post(url, { _csrf: csrf, name: 'Shut app, renamed', redirectUris: 'https://shut.example.com/cb', delivery: 'form_post' });
    expect(res.status, res.text).toBe(303);
    const app = await gh.realmsService.getApp('gamma', 'shut');
    expect(app.settings.name).toBe('Shut app, renamed');
    expect(app.settings.access).toEqual({ type: 'permission', permission: 'portal:use' });
    // A new app posted without it is open to everyone, the default.
    const made = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrf, clientId: 'open2', name: 'Open', redirectUris: 'https://open2.example.com/cb', delivery: 'form_post' });
    expect(made.status, made.text).toBe(201);
    expect((await gh.realmsService.getApp('gamma', 'open2')).settings.access ?? { type: 'everyone' }).toEqual({ type: 'everyone' });
  });

  it('rotates the secret: the new one is shown once and works on the back channel, the old one stops', async () => {
    const page = await owner.get('/admin/realms/gamma/apps/new');
    const made = await owner.post('/admin/realms/gamma/apps/new', { _csrf: csrfOf(page.text), clientId: 'rot', name: 'Rotating', redirectUris: 'https://rot.example.com/cb', delivery: 'form_post' });
    const old = secretIn(made.text);
    const rotated = await owner.post('/admin/realms/gamma/apps/rot/rotate', { _csrf: csrfOf(page.text) });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    const fresh = secretIn(rotated.text);
    expect(fresh).not.toBe(old);
    expect((await backChannel('rot', fresh)).status).toBe(200);
    expect((await backChannel('rot', old)).status).toBe(401);
    // Audited as the API audits a rotation: an app.update (its secretRotated flag is redacted by the audit log's secret rule).
    const entries = await audits('app.update', 'rot');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: { type: 'operator', id: owner.operatorId }, target: { type: 'app', id: 'rot' } });
    expect(JSON.stringify(entries[0])).not.toContain(fresh);
  });

  it('deletes an app after a confirmation page; audited', async () => {
    const confirm = await owner.get('/admin/realms/gamma/apps/rot/delete');
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Delete Rotating?');
    const res = await owner.post('/admin/realms/gamma/apps/rot/delete', { _csrf: csrfOf(confirm.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/realms/gamma/apps');
    await expect(gh.realmsService.getApp('gamma', 'rot')).rejects.toBeInstanceOf(NotFoundError);
    expect((await owner.get('/admin/realms/gamma/apps')).text).toContain('The app Rotating is deleted.');
    expect(await audits('app.delete', 'rot')).toHaveLength(1);
    expect((await owner.get('/admin/realms/gamma/apps/rot')).status).toBe(404);
    expect((await owner.get('/admin/realms/gamma/apps/bad%20id')).status).toBe(404);
  });

  it('shows a provisioned realm’s apps read-only, naming the file; a POST still gets the service’s 409', async () => {
    const list = await owner.get('/admin/realms/alpha/apps');
    expect(list.status).toBe(200);
    expect(list.text).toContain(gh.config.configPath);
    expect(list.text).toContain('App One');
    expect(list.text).not.toContain('/admin/realms/alpha/apps/new"');
    const page = await owner.get('/admin/realms/alpha/apps/app1');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<fieldset class="app-fields" disabled>');
    expect(page.text).not.toContain('/rotate');
    const res = await owner.post('/admin/realms/alpha/apps/app1', { _csrf: csrfOf(page.text), name: 'Renamed', redirectUris: 'https://app.example.com/cb', delivery: 'form_post' });
    expect(res.status).toBe(409);
    expect(res.text).toContain('from the configuration file');
    expect((await owner.post('/admin/realms/alpha/apps/new', { _csrf: csrfOf(page.text), clientId: 'nope', name: 'N', redirectUris: 'https://n.example.com/cb', delivery: 'form_post' })).status).toBe(409);
    expect((await owner.post('/admin/realms/alpha/apps/app1/rotate', { _csrf: csrfOf(page.text) })).status).toBe(409);
    expect((await gh.realmsService.getApp('alpha', 'app1')).settings.name).toBe('App One');
  });

  it('a viewer sees every page but may not write (403); an operator of another realm gets 404', async () => {
    for (const path of ['/admin/realms/gamma/apps', '/admin/realms/gamma/apps/new', '/admin/realms/gamma/apps/keep', '/admin/realms/gamma/apps/keep/delete']) {
      const page = await viewer.get(path);
      expect(page.status, path).toBe(200);
      expect((await otherAdmin.get(path)).status, path).toBe(404);
    }
    const token = csrfOf((await viewer.get('/admin/realms/gamma/apps/keep')).text);
    const otherToken = csrfOf((await otherAdmin.get('/admin/realms/beta/apps')).text);
    const before = (await gh.management!.audit.query({ realmId: 'gamma', limit: 1000 })).length;
    const form = { name: 'Hacked', redirectUris: 'https://h.example.com/cb', delivery: 'form_post', clientId: 'h' };
    for (const path of ['/admin/realms/gamma/apps/new', '/admin/realms/gamma/apps/keep', '/admin/realms/gamma/apps/keep/rotate', '/admin/realms/gamma/apps/keep/delete']) {
      expect((await viewer.post(path, { _csrf: token, ...form })).status, path).toBe(403);
      expect((await otherAdmin.post(path, { _csrf: otherToken, ...form })).status, path).toBe(404);
    }
    expect((await gh.management!.audit.query({ realmId: 'gamma', limit: 1000 })).length).toBe(before);
    expect((await gh.realmsService.getApp('gamma', 'keep')).settings.name).toBe('Kept app (EU)');
  });
});

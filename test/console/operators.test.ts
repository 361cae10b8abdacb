import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_HOST, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * The console's operators pages and new realm (issue 13, "Operators"): a realm's operators (list, invite with a
 * setup link shown once, role change, revoke after a confirmation, a new setup link), every operator and the
 * role on every realm for owners of '*', and a realm made at run time. Real HTTP, real services, real SQLite.
 */
let gh: TestGatehouse;
let offset = 0;
let root: ConsoleBrowser;
let ownerAlpha: ConsoleBrowser;
let adminAlpha: ConsoleBrowser;
let viewerAlpha: ConsoleBrowser;
let adminBeta: ConsoleBrowser;

const OPS = '/admin/realms/alpha/operators';
const grantsOf = async (id: string) => (await gh.management!.operators.grantsOf(id)).map((g) => `${g.realmId}:${g.role}`).sort();
const linkIn = (html: string) => /id="setup-link"[^>]*?value="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
/** A form body sent as typed (repeated keys, `id[]`), the way a hand-made request would. */
const rawPost = (b: ConsoleBrowser, path: string, body: string) => b.agent.post(path).set('Host', CONSOLE_HOST).type('form').send(body);
/** Opens a setup link as the invited person's browser would: it moves the token into the session (303), then the form to choose a password (200). */
async function openSetupLink(link: string) {
  const b = browser(gh, CONSOLE_HOST);
  const url = new URL(link);
  const opened = await b.get(url.pathname + url.search);
  expect(opened.status).toBe(303);
  const form = await b.get(String(opened.headers.location));
  expect(form.status).toBe(200);
  expect(form.text).toContain('name="password"');
  return { b, form, path: String(opened.headers.location) };
}
const idOf = async (email: string) => (await gh.management!.operators.byEmail(email)).id;

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(Date.now() + offset) });
  // The only owner of every realm ('*'): the last-owner rule is about them.
  root = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: '*', role: 'owner' }]));
  ownerAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]));
  adminAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  viewerAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
  adminBeta = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('a realm’s operators', () => {
  it('lists who can reach the realm with their role there, noting a grant on every realm', async () => {
    const page = await ownerAlpha.get(OPS);
    expect(page.status).toBe(200);
    for (const b of [ownerAlpha, adminAlpha, viewerAlpha, root]) expect(page.text).toContain(`data-operator-id="${b.operatorId}"`);
    expect(page.text).not.toContain(adminBeta.email);
    const rootRow = new RegExp(`<tr data-operator-id="${root.operatorId}">[\\s\\S]*?</tr>`).exec(page.text)![0];
    expect(rootRow).toContain('Owner on every realm (*)');
    const viewerRow = new RegExp(`<tr data-operator-id="${viewerAlpha.operatorId}">[\\s\\S]*?</tr>`).exec(page.text)![0];
    expect(viewerRow).toContain('Viewer on this realm');
  });

  it('is for owners: an admin or viewer of the realm gets 403, an operator of another realm 404', async () => {
    for (const path of [OPS, `${OPS}/new`, `${OPS}/${viewerAlpha.operatorId}`, `${OPS}/${viewerAlpha.operatorId}/revoke`]) {
      expect((await adminAlpha.get(path)).status, path).toBe(403);
      expect((await viewerAlpha.get(path)).status, path).toBe(403);
      expect((await adminBeta.get(path)).status, path).toBe(404);
    }
    const token = csrfOf((await adminAlpha.get('/admin')).text);
    expect((await adminAlpha.post(`${OPS}/new`, { _csrf: token, email: uniqueEmail('x'), role: 'owner' })).status).toBe(403);
    expect((await adminAlpha.post(`${OPS}/${adminAlpha.operatorId}`, { _csrf: token, role: 'owner' })).status).toBe(403);
    expect((await adminBeta.post(`${OPS}/${viewerAlpha.operatorId}/revoke`, { _csrf: csrfOf((await adminBeta.get('/admin')).text) })).status).toBe(404);
    expect(await grantsOf(adminAlpha.operatorId)).toEqual(['alpha:admin']);
    expect(await grantsOf(viewerAlpha.operatorId)).toEqual(['alpha:viewer']);
  });

  it('shows Operators in the realm’s navigation for owners only', async () => {
    expect((await ownerAlpha.get('/admin/realms/alpha')).text).toContain(`href="${OPS}"`);
    expect((await adminAlpha.get('/admin/realms/alpha')).text).not.toContain(`href="${OPS}"`);
  });

  it('invites someone new: the setup link is shown once and opens, the grant exists, the audit says who', async () => {
    const email = uniqueEmail('invitee');
    const form = await ownerAlpha.get(`${OPS}/new`);
    expect(form.status).toBe(200);
    const res = await ownerAlpha.post(`${OPS}/new`, { _csrf: csrfOf(form.text), email, role: 'admin' });
    expect(res.status, res.text).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('expires in 60 minutes');
    const link = linkIn(res.text);
    expect(link).toMatch(/^https:\/\/console\.test\/reset-password\?token=/);
    const url = new URL(link);
    const setup = await openSetupLink(link);
    const id = await idOf(email);
    expect(await grantsOf(id)).toEqual(['alpha:admin']);
    const [entry] = await gh.management!.audit.query({ realmId: 'alpha', targetId: id, limit: 5 });
    expect(entry).toMatchObject({ operation: 'operator.grant', actor: { type: 'operator', id: ownerAlpha.operatorId }, after: { realmId: 'alpha', role: 'admin' } });
    const audit = await ownerAlpha.get('/admin/realms/alpha/audit');
    expect(audit.text).toContain('operator.grant');
    expect(audit.text).toContain(`${OPS}/${id}`);
    // Not shown again: the list and the operator's page never carry it.
    expect((await ownerAlpha.get(OPS)).text).not.toContain(url.search.slice(1));
    expect((await ownerAlpha.get(`${OPS}/${id}`)).text).not.toContain(url.search.slice(1));
    // The link works: the invitee chooses a password with it.
    expect(await gh.management!.operators.hasPassword(id)).toBe(false);
    const set = await setup.b.post(setup.path, { _csrf: csrfOf(setup.form.text), password: 'chosen-by-the-operator-99' });
    expect(set.status, set.text).toBeLessThan(400);
    expect(await gh.management!.operators.hasPassword(id)).toBe(true);
  });

  it('invites an existing operator: a grant only, no new person and no link; twice is a 409', async () => {
    const before = (await gh.management!.operators.list()).length;
    const form = await ownerAlpha.get(`${OPS}/new`);
    const res = await ownerAlpha.post(`${OPS}/new`, { _csrf: csrfOf(form.text), email: adminBeta.email.toUpperCase(), role: 'viewer' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(OPS);
    expect(await grantsOf(adminBeta.operatorId)).toEqual(['alpha:viewer', 'beta:admin']);
    expect((await gh.management!.operators.list()).length).toBe(before);
    expect((await ownerAlpha.get(OPS)).text).toContain(`${adminBeta.email} is now Viewer on this realm`);
    const again = await ownerAlpha.post(`${OPS}/new`, { _csrf: csrfOf(form.text), email: adminBeta.email, role: 'owner' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('has a role on this realm already');
    expect(await grantsOf(adminBeta.operatorId)).toEqual(['alpha:viewer', 'beta:admin']);
    await gh.management!.operators.revoke(adminBeta.operatorId, 'alpha', CLI_CONTEXT);
  });

  it('changes a role, audited', async () => {
    const { id } = await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]);
    const page = await ownerAlpha.get(`${OPS}/${id}`);
    expect(page.status).toBe(200);
    const res = await ownerAlpha.post(`${OPS}/${id}`, { _csrf: csrfOf(page.text), role: 'admin' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(`${OPS}/${id}`);
    expect(await grantsOf(id)).toEqual(['alpha:admin']);
    expect((await gh.management!.audit.query({ realmId: 'alpha', targetId: id, limit: 1 }))[0]).toMatchObject({ operation: 'operator.grant', before: { role: 'viewer' }, after: { role: 'admin' } });
  });

  it('removes from the realm after a confirmation page, audited', async () => {
    const { id, email } = await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }, { realmId: 'beta', role: 'viewer' }]);
    const confirm = await ownerAlpha.get(`${OPS}/${id}/revoke`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain(`Remove ${email} from this realm?`);
    expect(confirm.text).toContain(`action="${OPS}/${id}/revoke"`);
    expect(await grantsOf(id)).toEqual(['alpha:admin', 'beta:viewer']);
    const res = await ownerAlpha.post(`${OPS}/${id}/revoke`, { _csrf: csrfOf(confirm.text) });
    expect(res.status).toBe(303);
    expect(await grantsOf(id)).toEqual(['beta:viewer']);
    const list = await ownerAlpha.get(OPS);
    expect(list.text).toContain(`${email} has no role on Alpha any more`);
    expect(list.text).not.toContain(`data-operator-id="${id}"`);
    expect((await gh.management!.audit.query({ realmId: 'alpha', targetId: id, limit: 1 }))[0]).toMatchObject({ operation: 'operator.revoke', actor: { id: ownerAlpha.operatorId } });
    // Now out of this realm: its pages do not know them.
    expect((await ownerAlpha.get(`${OPS}/${id}`)).status).toBe(404);
  });

  it('refuses revoking or lowering one’s own role (409), and changes nothing', async () => {
    const page = await ownerAlpha.get(`${OPS}/${ownerAlpha.operatorId}`);
    expect(page.text).toContain('You cannot lower your own role or revoke it');
    const token = csrfOf(page.text);
    const demote = await ownerAlpha.post(`${OPS}/${ownerAlpha.operatorId}`, { _csrf: token, role: 'viewer' });
    expect(demote.status).toBe(409);
    expect(demote.text).toContain('You cannot revoke or lower your own role');
    const revoke = await ownerAlpha.post(`${OPS}/${ownerAlpha.operatorId}/revoke`, { _csrf: token });
    expect(revoke.status).toBe(409);
    expect(revoke.text).toContain('You cannot revoke or lower your own role');
    expect(await grantsOf(ownerAlpha.operatorId)).toEqual(['alpha:owner']);
    expect((await gh.management!.audit.query({ realmId: 'alpha', targetId: ownerAlpha.operatorId, limit: 5 })).map((e) => e.operation)).toEqual(['operator.grant']);
  });

  it('shows a grant on every realm but leaves it to the global page (409 here)', async () => {
    const page = await ownerAlpha.get(`${OPS}/${root.operatorId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('They are Owner on every realm (*)');
    expect(page.text).not.toContain(`action="${OPS}/${root.operatorId}"`);
    const token = csrfOf(page.text);
    for (const path of [`${OPS}/${root.operatorId}`, `${OPS}/${root.operatorId}/revoke`]) {
      const res = await ownerAlpha.post(path, { _csrf: token, role: 'viewer' });
      expect(res.status, path).toBe(409);
      expect(res.text).toContain('comes from their grant on every realm');
    }
    expect(await grantsOf(root.operatorId)).toEqual(['*:owner']);
  });

  it('makes a new setup link for someone without a password, only when all their grants are the owner’s to give', async () => {
    const email = uniqueEmail('pending');
    const { operator, setupLink: first } = await gh.management!.operators.create({ email, grants: [{ realmId: 'alpha', role: 'viewer' }] }, CLI_CONTEXT);
    const page = await ownerAlpha.get(`${OPS}/${operator.id}`);
    expect(page.text).toContain('Setup link not used yet');
    expect(page.text).toContain(`href="${OPS}/${operator.id}/setup-link"`);
    const confirm = await ownerAlpha.get(`${OPS}/${operator.id}/setup-link`);
    expect(confirm.status).toBe(200);
    const res = await ownerAlpha.post(`${OPS}/${operator.id}/setup-link`, { _csrf: csrfOf(confirm.text) });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const link = new URL(linkIn(res.text));
    expect(link.href).not.toBe(first);
    await openSetupLink(link.href);

    // Someone with a password: no link (the CLI's setup-link is the way back in).
    const token = csrfOf(confirm.text);
    const hasPassword = await ownerAlpha.post(`${OPS}/${viewerAlpha.operatorId}/setup-link`, { _csrf: token });
    expect(hasPassword.status).toBe(409);
    expect(hasPassword.text).toContain('has chosen a password already');
    // Someone who also holds a role the owner of alpha cannot give: whoever opens the link becomes them.
    await gh.management!.operators.grant(operator.id, 'beta', 'owner', CLI_CONTEXT);
    expect((await ownerAlpha.get(`${OPS}/${operator.id}`)).text).not.toContain(`${OPS}/${operator.id}/setup-link"`);
    const notYours = await ownerAlpha.post(`${OPS}/${operator.id}/setup-link`, { _csrf: token });
    expect(notYours.status).toBe(403);
    expect(notYours.text).toContain('a role on realms you do not own');
    expect(notYours.text).not.toContain('reset-password?token=');
    // The owner of every realm may.
    expect((await root.post(`${OPS}/${operator.id}/setup-link`, { _csrf: csrfOf((await root.get('/admin')).text) })).status).toBe(200);
  });

  it('asks a stale sign-in to confirm it’s you before inviting, coming back to the form', async () => {
    const form = await ownerAlpha.get(`${OPS}/new`);
    const email = uniqueEmail('late');
    offset = 10 * 60_000;
    try {
      const res = await ownerAlpha.post(`${OPS}/new`, { _csrf: csrfOf(form.text), email, role: 'viewer' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(`${OPS}/new`)}`);
      const change = await ownerAlpha.post(`${OPS}/${adminAlpha.operatorId}`, { _csrf: csrfOf(form.text), role: 'viewer' });
      expect(change.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(`${OPS}/${adminAlpha.operatorId}`)}`);
    } finally {
      offset = 0;
    }
    expect(await gh.store.findUsersByEmail('console', email)).toEqual([]);
    expect(await grantsOf(adminAlpha.operatorId)).toEqual(['alpha:admin']);
  });
});

describe('all operators (owners of every realm)', () => {
  it('is 404 for an owner of one realm, pages and forms alike; the home page links it for owners of * only', async () => {
    const token = csrfOf((await ownerAlpha.get('/admin')).text);
    for (const path of ['/admin/operators', `/admin/operators/${viewerAlpha.operatorId}/grants`, '/admin/realms/new']) expect((await ownerAlpha.get(path)).status, path).toBe(404);
    expect((await ownerAlpha.post(`/admin/operators/${viewerAlpha.operatorId}/grants`, { _csrf: token, role: 'owner' })).status).toBe(404);
    expect((await ownerAlpha.post(`/admin/operators/${ownerAlpha.operatorId}/grants`, { _csrf: token, role: 'owner' })).status).toBe(404);
    expect((await ownerAlpha.post('/admin/realms/new', { _csrf: token, id: 'sneaky', name: 'Sneaky', publicUrl: 'https://sneaky.test' })).status).toBe(404);
    expect((await viewerAlpha.get('/admin/operators')).status).toBe(403);
    expect(await grantsOf(viewerAlpha.operatorId)).toEqual(['alpha:viewer']);
    expect(await grantsOf(ownerAlpha.operatorId)).toEqual(['alpha:owner']);
    expect(gh.realms.byIdOrNull('sneaky')).toBeNull();
    expect((await ownerAlpha.get('/admin')).text).not.toContain('href="/admin/operators"');
    const home = (await root.get('/admin')).text;
    expect(home).toContain('href="/admin/operators"');
    expect(home).toContain('href="/admin/realms/new"');
  });

  it('every form on the pages of owners of * carries a CSRF token', async () => {
    for (const path of ['/admin', '/admin/operators', `/admin/operators/${adminBeta.operatorId}/grants`, '/admin/realms/new', `${OPS}/${adminAlpha.operatorId}`]) {
      const html = (await root.get(path)).text;
      const forms = html.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
      expect(forms.length, path).toBeGreaterThan(0);
      for (const form of forms) expect(form, path).toContain('name="_csrf"');
    }
  });

  it('lists every operator with every grant', async () => {
    const page = await root.get('/admin/operators');
    expect(page.status).toBe(200);
    for (const b of [root, ownerAlpha, adminBeta]) expect(page.text).toContain(`data-operator-id="${b.operatorId}"`);
    const betaRow = new RegExp(`<tr data-operator-id="${adminBeta.operatorId}">[\\s\\S]*?</tr>`).exec(page.text)![0];
    expect(betaRow).toContain('Beta');
    expect(betaRow).toContain('Admin');
  });

  it('keeps the last owner of every realm: 409 with the reason on the page, nothing changed', async () => {
    const page = await root.get(`/admin/operators/${root.operatorId}/grants`);
    expect(page.status).toBe(200);
    for (const role of ['admin', 'none']) {
      const res = await root.post(`/admin/operators/${root.operatorId}/grants`, { _csrf: csrfOf(page.text), role });
      expect(res.status, role).toBe(409);
      expect(res.text).toContain('This is the last owner of all realms');
    }
    expect(await grantsOf(root.operatorId)).toEqual(['*:owner']);
  });

  it('grants and takes back a role on every realm; with a second owner, still no lowering one’s own', async () => {
    const page = await root.get(`/admin/operators/${adminBeta.operatorId}/grants`);
    const token = csrfOf(page.text);
    const res = await root.post(`/admin/operators/${adminBeta.operatorId}/grants`, { _csrf: token, role: 'viewer' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/admin/operators');
    expect(await grantsOf(adminBeta.operatorId)).toEqual(['*:viewer', 'beta:admin']);
    // The grant on every realm bites at once: alpha's pages open for them.
    expect((await adminBeta.get('/admin/realms/alpha/users')).status).toBe(200);
    const [entry] = await gh.management!.audit.query({ targetId: adminBeta.operatorId, limit: 1 });
    expect(entry).toMatchObject({ operation: 'operator.grant', realmId: null, actor: { id: root.operatorId }, after: { realmId: '*', role: 'viewer' } });
    expect((await root.post(`/admin/operators/${adminBeta.operatorId}/grants`, { _csrf: token, role: 'none' })).status).toBe(303);
    expect(await grantsOf(adminBeta.operatorId)).toEqual(['beta:admin']);

    const { id: second } = await makeOperator(gh, [{ realmId: '*', role: 'owner' }]);
    const self = await root.post(`/admin/operators/${root.operatorId}/grants`, { _csrf: token, role: 'viewer' });
    expect(self.status).toBe(409);
    expect(self.text).toContain('You cannot revoke or lower your own role');
    expect(await grantsOf(root.operatorId)).toEqual(['*:owner']);
    expect((await root.post(`/admin/operators/${second}/grants`, { _csrf: token, role: 'none' })).status).toBe(303);
    expect(await grantsOf(second)).toEqual([]);
  });
});

describe('the audit log of every realm (owners of every realm)', () => {
  it('lists the entries of no realm (roles on every realm) beside each realm’s, naming the realm; 404 for others', async () => {
    const page = await root.get('/admin/audit');
    expect(page.status, page.text).toBe(200);
    // The grant on every realm given above is audited outside any realm: no realm's page shows it, this one does.
    const grant = new RegExp(`data-operation>operator\\.grant</code>\\s*<span class="audit-realm" data-realm=""><span class="muted">Realm</span> none \\(every realm\\)</span>\\s*<span class="audit-target">[\\s\\S]*?href="/admin/operators/${adminBeta.operatorId}/grants"`);
    expect(page.text).toMatch(grant);
    expect((await root.get('/admin/realms/alpha/audit')).text).not.toContain(`/admin/operators/${adminBeta.operatorId}/grants`);
    // A realm's entry names its realm, linking to that realm's audit page.
    expect(page.text).toContain('data-realm="alpha"><span class="muted">Realm</span> <a href="/admin/realms/alpha/audit">');
    expect((await root.get('/admin')).text).toContain('href="/admin/audit"');
    // As on the all-operators page: an owner of one realm gets 404; an admin or a viewer, who manage no operators, 403.
    expect((await ownerAlpha.get('/admin/audit')).status).toBe(404);
    for (const b of [adminAlpha, viewerAlpha]) expect((await b.get('/admin/audit')).status).toBe(403);
    expect((await ownerAlpha.get('/admin')).text).not.toContain('href="/admin/audit"');
    expect((await root.get('/admin/audit?after=not-a-cursor')).status).toBe(400);
  });
});

describe('new realm', () => {
  it('creates a realm for an owner of every realm, audited, landing on its settings', async () => {
    const form = await root.get('/admin/realms/new');
    expect(form.status).toBe(200);
    const res = await root.post('/admin/realms/new', { _csrf: csrfOf(form.text), id: 'gamma', name: 'Gamma', publicUrl: 'https://gamma.test/', hosts: 'login.gamma.example\nGAMMA.example:8443' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/admin/realms/gamma/settings');
    const made = await gh.realmsService.getRealm('gamma');
    expect(made.settings).toMatchObject({ id: 'gamma', name: 'Gamma', publicUrl: 'https://gamma.test', hosts: ['login.gamma.example', 'gamma.example:8443'] });
    const [entry] = await gh.management!.audit.query({ realmId: 'gamma', limit: 5 });
    expect(entry).toMatchObject({ operation: 'realm.create', actor: { type: 'operator', id: root.operatorId }, target: { type: 'realm', id: 'gamma' } });
    const dashboard = await root.get('/admin/realms/gamma');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain('The realm Gamma (gamma) is created');
    expect((await root.get('/admin/realms/gamma/audit')).text).toContain('realm.create');
    // Owners of one realm do not see it.
    expect((await ownerAlpha.get('/admin/realms/gamma')).status).toBe(404);
  });

  it('shows the schema’s refusals at their fields, keeping what was typed; never a 500', async () => {
    const token = csrfOf((await root.get('/admin/realms/new')).text);
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['empty id', { id: '', name: 'X', publicUrl: 'https://x.test' }, 400, 'id-error'],
      ['bad id', { id: 'Bad Id', name: 'X', publicUrl: 'https://x.test' }, 422, 'Use lower-case letters, digits and dashes'],
      ['reserved id', { id: 'new', name: 'X', publicUrl: 'https://new.test' }, 422, '“new” is reserved'],
      ['taken id', { id: 'alpha', name: 'X', publicUrl: 'https://x2.test' }, 409, 'A realm with this id exists already'],
      ['bad URL', { id: 'delta', name: 'X', publicUrl: 'ftp://x.test' }, 422, 'Use an origin like https://login.example.com'],
      ['URL with a path', { id: 'delta', name: 'X', publicUrl: 'https://x.test/login' }, 422, 'publicUrl-error'],
      ['taken host', { id: 'delta', name: 'X', publicUrl: 'https://x3.test', hosts: 'login.beta.example' }, 409, 'Another realm already serves this host'],
      ['bad host', { id: 'delta', name: 'X', publicUrl: 'https://x4.test', hosts: 'not a host' }, 422, 'hosts-error'],
      ['CRLF in the name', { id: 'delta', name: 'X\r\nY', publicUrl: 'https://x5.test' }, 400, 'name-error'],
    ];
    for (const [what, body, status, text] of cases) {
      const res = await root.post('/admin/realms/new', { _csrf: token, ...body });
      expect(res.status, what).toBe(status);
      expect(res.text, what).toContain(text);
      expect(res.text, what).toContain(`value="${body.publicUrl}"`);
    }
    for (const body of ['id[]=a&id[]=b&name=X&publicUrl=https%3A%2F%2Fx.test', 'id=a&id=b&name=X&publicUrl=https%3A%2F%2Fx.test', 'id=zeta&name=X&publicUrl=https%3A%2F%2Fx.test&hosts=a.test&hosts=b.test']) {
      const res = await rawPost(root, '/admin/realms/new', `_csrf=${encodeURIComponent(token)}&${body}`);
      expect(res.status, body).toBe(400);
      expect(res.text, body).toContain('field-error');
    }
    for (const id of ['a', 'b', 'delta', 'zeta', 'new']) expect(gh.realms.byIdOrNull(id), id).toBeNull();
  });
});

describe('bad input on the operators forms', () => {
  it('answers 4xx with the message, never a 500, and changes nothing', async () => {
    const token = csrfOf((await ownerAlpha.get(`${OPS}/new`)).text);
    const crlf = await ownerAlpha.post(`${OPS}/new`, { _csrf: token, email: 'a@example.com\r\nBcc: b@example.com', role: 'viewer' });
    expect(crlf.status).toBe(400);
    expect(crlf.text).toContain('aria-invalid="true"');
    const role = await ownerAlpha.post(`${OPS}/new`, { _csrf: token, email: uniqueEmail('r'), role: 'root' });
    expect(role.status).toBe(400);
    expect(role.text).toContain('Choose a role: owner, admin or viewer.');
    expect((await ownerAlpha.post(`${OPS}/new`, { _csrf: token, email: 'not-an-email', role: 'viewer' })).status).toBe(400);
    expect((await rawPost(ownerAlpha, `${OPS}/new`, `_csrf=${encodeURIComponent(token)}&email=a%40example.com&email=b%40example.com&role=viewer`)).status).toBe(400);
    expect((await rawPost(ownerAlpha, `${OPS}/new`, `_csrf=${encodeURIComponent(token)}&email[]=a%40example.com&role=viewer`)).status).toBe(400);
    const change = await ownerAlpha.post(`${OPS}/${viewerAlpha.operatorId}`, { _csrf: token, role: 'superuser' });
    expect(change.status).toBe(400);
    expect(change.text).toContain('Choose a role');
    expect((await rawPost(ownerAlpha, `${OPS}/${viewerAlpha.operatorId}`, `_csrf=${encodeURIComponent(token)}&role=owner&role=viewer`)).status).toBe(400);
    expect((await ownerAlpha.post(`${OPS}/no-such-operator`, { _csrf: token, role: 'admin' })).status).toBe(404);
    const global = await root.post(`/admin/operators/${viewerAlpha.operatorId}/grants`, { _csrf: csrfOf((await root.get('/admin')).text), role: 'god' });
    expect(global.status).toBe(400);
    expect(global.text).toContain('Choose a role');
    expect(await grantsOf(viewerAlpha.operatorId)).toEqual(['alpha:viewer']);
    expect(await gh.store.findUsersByEmail('console', 'a@example.com')).toEqual([]);
  });
});

describe('in Chinese', () => {
  it('renders the operators pages and the new realm form’s refusals in zh-CN', async () => {
    const list = await ownerAlpha.agent.get(OPS).set('Host', CONSOLE_HOST).set('Accept-Language', 'zh-CN');
    expect(list.status).toBe(200);
    expect(list.text).toContain('<html lang="zh-CN">');
    expect(list.text).toContain('邀请运营人员');
    expect(list.text).toContain('全部用户池（*）的所有者');
    const token = csrfOf(list.text);
    const self = await ownerAlpha.agent.post(`${OPS}/${ownerAlpha.operatorId}`).set('Host', CONSOLE_HOST).set('Accept-Language', 'zh-CN').type('form').send({ _csrf: token, role: 'viewer' });
    expect(self.status).toBe(409);
    expect(self.text).toContain('你不能撤销或降低自己的角色');
    const bad = await root.agent.post('/admin/realms/new').set('Host', CONSOLE_HOST).set('Accept-Language', 'zh-CN').type('form').send({ _csrf: csrfOf((await root.get('/admin')).text), id: 'Bad Id', name: '测试', publicUrl: 'https://zh.test' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('请使用小写字母、数字和连字符');
    expect(bad.text).toContain('用户池未创建');
  });
});

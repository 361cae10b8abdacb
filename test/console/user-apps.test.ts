import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, postConsoleForm, type ConsoleBrowser } from '../helpers/console-login.ts';
import { listEvents } from '../helpers/events.ts';
import { browser, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';

/**
 * The user page's Apps panel (docs/design/orgs.md §8, §6): each app of the realm, whether the user can reach it
 * and why — the hand-off's own rule — and a permission app's switch (the user-only membership's grant, through
 * MembershipsService: audited, evented). Checked against a real sign-in to the app. Real HTTP, services, SQLite.
 */
const HOST = 'delta.test';
const uri = (app: string) => `https://${app}.example.com/cb`;
let gh: TestGatehouse;
let realm: () => RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;
let acme: string;
let staff: string;

const USERS = '/admin/realms/delta/users';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
/** The Apps panel's entry of one app (its <li>). */
function entry(html: string, clientId: string): string {
  const panel = html.slice(html.indexOf('id="apps-heading"'));
  const li = [...panel.matchAll(/<li class="app-access">([\s\S]*?)<\/li>/g)].map((m) => m[1]!).find((x) => x.includes(`>${clientId}</span>`));
  expect(li, clientId).toBeDefined();
  return li!;
}
const allowed = (li: string) => li.includes(tr('en', 'console.userApps.allowed'));

async function human() {
  const { user } = await gh.management!.users.create(realm(), { userType: 'human', email: uniqueEmail('apps'), password: GOOD_PASSWORD, emailVerification: 'verified' }, CLI_CONTEXT);
  return user;
}
/** Whether the user really gets the app's token at sign-in (the hand-off's answer). */
async function handoffLetsIn(email: string, app: string): Promise<boolean> {
  const b = browser(gh, HOST);
  const res = await b.submit(`/login?redirect_uri=${encodeURIComponent(uri(app))}&state=st`, { identifier: email, password: GOOD_PASSWORD });
  if (res.status === 403) return false;
  expect(formPostOf(res.text).action).toBe(uri(app));
  return true;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  realm = () => gh.realms.byIdOrNull('delta')!;
  await gh.realmsService.createRealm({ id: 'delta', name: 'Delta', publicUrl: `http://${HOST}`, rateLimits: { loginPerIp: { points: 100_000, durationSeconds: 60 } } }, CLI_CONTEXT);
  acme = (await gh.management!.orgs.create(realm(), { name: 'Acme' }, CLI_CONTEXT)).id;
  staff = (await gh.management!.groups.create(realm(), { name: 'Staff', permissions: ['portal:use'] }, CLI_CONTEXT)).id;
  const apps: Record<string, Record<string, unknown>> = {
    open: {},
    portal: { access: { type: 'permission', permission: 'portal:use' } },
    acme: { access: { type: 'members', orgs: [acme] } },
    staff: { access: { type: 'members', groups: [staff] } },
  };
  for (const [id, extra] of Object.entries(apps)) await gh.realmsService.createApp('delta', { clientId: id, name: `The ${id} app`, redirectUris: [uri(id)], ...extra }, CLI_CONTEXT);
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'delta', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'delta', role: 'viewer' }]));
});
afterAll(() => gh?.close());

describe('console user page: Apps', () => {
  it('lists every app with can/cannot and why; the answer is the hand-off’s', async () => {
    const u = await human();
    const page = await admin.get(`${USERS}/${u.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<h2 id="apps-heading">${tr('en', 'console.userApps.heading')}</h2>`);
    expect(allowed(entry(page.text, 'open'))).toBe(true);
    expect(entry(page.text, 'open')).toContain(tr('en', 'console.userApps.why.everyone'));
    expect(allowed(entry(page.text, 'portal'))).toBe(false);
    expect(entry(page.text, 'portal')).toContain(tr('en', 'console.userApps.why.lacksPermission', { permission: 'portal:use' }));
    expect(allowed(entry(page.text, 'acme'))).toBe(false);
    expect(entry(page.text, 'acme')).toContain(tr('en', 'console.userApps.why.notMember'));
    expect(allowed(entry(page.text, 'staff'))).toBe(false);
    for (const [app, want] of [['open', true], ['portal', false], ['acme', false], ['staff', false]] as const) expect(await handoffLetsIn(u.email!, app), app).toBe(want);
  });

  it('says through what: an org membership, a group, the user-only membership', async () => {
    const u = await human();
    await gh.management!.memberships.create(realm(), { userId: u.id, orgId: acme, permissions: ['portal:*'] }, CLI_CONTEXT);
    await gh.management!.groups.addMembers(realm(), staff, [u.id], CLI_CONTEXT);
    const page = (await admin.get(`${USERS}/${u.id}`)).text;
    const portal = entry(page, 'portal');
    expect(allowed(portal)).toBe(true);
    expect(portal).toContain(esc(tr('en', 'console.userApps.why.membership', { permission: 'portal:use', org: 'Acme' })));
    expect(portal).toContain(esc(tr('en', 'console.userApps.why.group', { permission: 'portal:use', group: 'Staff' })));
    expect(entry(page, 'acme')).toContain(tr('en', 'console.userApps.why.memberOfOrg', { org: 'Acme' }));
    expect(entry(page, 'staff')).toContain(tr('en', 'console.userApps.why.memberOfGroup', { group: 'Staff' }));
    // Held through the org (a wildcard), not user-only: the switch offers the grant.
    expect(portal).toContain('aria-checked="false"');
    for (const app of ['open', 'portal', 'acme', 'staff']) expect(await handoffLetsIn(u.email!, app), app).toBe(true);
    // An org closed counts no more, here as at the hand-off.
    const closedOrg = (await gh.management!.orgs.create(realm(), { name: 'Soon closed' }, CLI_CONTEXT)).id;
    const w = await human();
    await gh.management!.memberships.create(realm(), { userId: w.id, orgId: closedOrg, permissions: ['portal:use'] }, CLI_CONTEXT);
    expect(allowed(entry((await admin.get(`${USERS}/${w.id}`)).text, 'portal'))).toBe(true);
    await gh.management!.orgs.close(realm(), closedOrg, CLI_CONTEXT);
    expect(allowed(entry((await admin.get(`${USERS}/${w.id}`)).text, 'portal'))).toBe(false);
    expect(await handoffLetsIn(w.email!, 'portal')).toBe(false);
  });

  it('the switch grants the permission on the user-only membership and revokes it — audited, evented, and the hand-off follows', async () => {
    const u = await human();
    const page = (await admin.get(`${USERS}/${u.id}`)).text;
    expect(entry(page, 'portal')).toMatch(/<button type="submit"[^>]*role="switch" aria-checked="false"/);
    expect(entry(page, 'open')).not.toContain('role="switch"');
    const on = await postConsoleForm(admin, `${USERS}/${u.id}/apps/portal/access`, { grant: 'yes' });
    expect(on.status, on.text).toBe(303);
    expect(on.headers.location).toBe(`${USERS}/${u.id}#apps-heading`);
    const [m] = (await gh.management!.memberships.list(realm(), { userId: u.id, orgId: null }, null, 5)).memberships;
    expect(m).toMatchObject({ orgId: null, permissions: ['portal:use'] });
    const after = (await admin.get(`${USERS}/${u.id}`)).text;
    expect(after).toContain(esc(tr('en', 'console.userApps.granted', { permission: 'portal:use', app: 'The portal app' })));
    expect(entry(after, 'portal')).toContain(tr('en', 'console.userApps.why.userOnly', { permission: 'portal:use' }));
    expect(entry(after, 'portal')).toContain('aria-checked="true"');
    expect(await handoffLetsIn(u.email!, 'portal')).toBe(true);
    // Granting twice changes nothing.
    expect((await postConsoleForm(admin, `${USERS}/${u.id}/apps/portal/access`, { grant: 'yes' })).status).toBe(303);
    expect((await gh.management!.memberships.get(realm(), m!.id)).permissions).toEqual(['portal:use']);
    // Other user-only permissions stay when it is revoked.
    await gh.management!.memberships.update(realm(), m!.id, { permissions: ['portal:use', 'reports:view'] }, CLI_CONTEXT);
    const off = await postConsoleForm(admin, `${USERS}/${u.id}/apps/portal/access`, { grant: 'no' });
    expect(off.status).toBe(303);
    expect((await gh.management!.memberships.get(realm(), m!.id)).permissions).toEqual(['reports:view']);
    expect(await handoffLetsIn(u.email!, 'portal')).toBe(false);
    const audit = (await gh.management!.audit.query({ realmId: 'delta', limit: 50 })).filter((e) => e.target.id === m!.id).map((e) => [e.operation, e.actor.type]);
    expect(audit).toEqual([
      ['membership.update', 'operator'],
      ['membership.update', 'system'],
      ['membership.create', 'operator'],
    ].map(([op, actor]) => [op, actor === 'system' ? expect.any(String) : actor]));
    const events = (await listEvents(gh.store, 'delta', u.id, 50)).map((e) => e.type).filter((t) => t.startsWith('membership.'));
    expect(events).toEqual(['membership.updated', 'membership.updated', 'membership.created']);
    // Revoking the last one takes the user-only membership away, as the permissions form does.
    await gh.management!.memberships.update(realm(), m!.id, { permissions: ['portal:use'] }, CLI_CONTEXT);
    expect((await postConsoleForm(admin, `${USERS}/${u.id}/apps/portal/access`, { grant: 'no' })).status).toBe(303);
    expect((await gh.management!.memberships.list(realm(), { userId: u.id, orgId: null }, null, 5)).memberships).toEqual([]);
  });

  it('refuses what is not a switch: a bad value (400), an app not opened by a permission (409), unknown app or user (404) — translated, never 500', async () => {
    const u = await human();
    const bad = await postConsoleForm(admin, `${USERS}/${u.id}/apps/portal/access`, { grant: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(tr('en', 'validation.invalid'));
    const open = await postConsoleForm(admin, `${USERS}/${u.id}/apps/open/access`, { grant: 'yes' });
    expect(open.status).toBe(409);
    expect(open.text).toContain(esc(tr('en', 'console.userApps.notPermission', { app: 'The open app' })));
    expect((await postConsoleForm(admin, `${USERS}/${u.id}/apps/nope/access`, { grant: 'yes' })).status).toBe(404);
    expect((await postConsoleForm(admin, `${USERS}/usr_AAAAAAAAAAAAAAAA/apps/portal/access`, { grant: 'yes' })).status).toBe(404);
    // Another realm's user under this realm.
    const { user: alphaUser } = await gh.management!.users.create(gh.realms.byIdOrNull('alpha')!, { userType: 'human', email: uniqueEmail('alpha') }, CLI_CONTEXT);
    expect((await postConsoleForm(admin, `${USERS}/${alphaUser.id}/apps/portal/access`, { grant: 'yes' })).status).toBe(404);
    expect((await gh.management!.memberships.list(realm(), { userId: u.id }, null, 5)).memberships).toEqual([]);
  });

  it('a viewer sees the panel without switches and is refused the switch (403)', async () => {
    const u = await human();
    const page = await viewer.get(`${USERS}/${u.id}`);
    expect(page.status).toBe(200);
    expect(allowed(entry(page.text, 'open'))).toBe(true);
    expect(page.text).not.toContain('role="switch"');
    expect((await postConsoleForm(viewer, `${USERS}/${u.id}/apps/portal/access`, { grant: 'yes' })).status).toBe(403);
    expect((await gh.management!.memberships.list(realm(), { userId: u.id }, null, 5)).memberships).toEqual([]);
  });

  it('in Simplified Chinese too', async () => {
    const u = await human();
    const page = await admin.get(`${USERS}/${u.id}?lang=zh-CN`);
    expect(page.text).toContain(tr('zh-CN', 'console.userApps.heading'));
    expect(page.text).toContain(tr('zh-CN', 'console.userApps.why.everyone'));
    await admin.get(`${USERS}/${u.id}?lang=en`);
  });
});

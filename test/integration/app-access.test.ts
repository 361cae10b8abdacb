/**
 * Per-app access (issue 14, docs/design/orgs.md §6): an app's `access` rule — everyone, holders of a permission,
 * or members of orgs (groups: the groups tests) — decides who receives its JWT. A refused user gets a 403 page in
 * their language, no token and a `user.app_access.denied` event; their sign-in still reaches the realm's other
 * apps without a password; the back channel answers 403. Facts come from every live membership, not the token's
 * truncated list. ASVS 8.2.1 (function-level access per app), 8.3.1 (decided on the server at every hand-off).
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteDirectory } from '../../src/store/sqlite/directory.ts';
import { listEvents as userEvents } from '../helpers/events.ts';
import { browser, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';

const HOST = 'delta.test';
const uri = (app: string) => `https://${app}.example.com/cb`;
const loginUrl = (app: string) => `/login?redirect_uri=${encodeURIComponent(uri(app))}&state=st`;

describe('per-app access', () => {
  let gh: TestGatehouse;
  let realm: () => RealmConfig;
  let acme: string;
  let beta: string;
  let staff: string;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    gh = await testGatehouse({});
    realm = () => gh.realms.byIdOrNull('delta')!;
    await gh.realmsService.createRealm(
      {
        id: 'delta',
        name: 'Delta',
        publicUrl: `http://${HOST}`,
        tokens: { fields: ['orgs'], maxOrgs: 5 },
        rateLimits: { loginPerIp: { points: 100_000, durationSeconds: 60 } },
      },
      CLI_CONTEXT,
    );
    acme = (await gh.management!.orgs.create(realm(), { name: 'Acme' }, CLI_CONTEXT)).id;
    beta = (await gh.management!.orgs.create(realm(), { name: 'Beta' }, CLI_CONTEXT)).id;
    const apps = {
      open: {},
      portal: { access: { type: 'permission', permission: 'portal:use' } },
      acme: { access: { type: 'members', orgs: [acme] } },
    };
    staff = (await gh.management!.groups.create(realm(), { name: 'Staff', permissions: ['portal:use'] }, CLI_CONTEXT)).id;
    Object.assign(apps, { staff: { access: { type: 'members', groups: [staff] } } });
    for (const [id, extra] of Object.entries(apps)) {
      secrets[id] = (await gh.realmsService.createApp('delta', { clientId: id, name: `The ${id} app`, redirectUris: [uri(id)], ...extra }, CLI_CONTEXT)).secret;
    }
  });
  afterAll(async () => {
    await gh?.close();
  });

  async function user(memberships: Array<{ orgId: string | null; permissions?: string[]; expiresAt?: Date }> = []) {
    const email = uniqueEmail('access');
    const { user: u } = await gh.management!.users.create(realm(), { userType: 'human', email, password: GOOD_PASSWORD }, CLI_CONTEXT);
    for (const m of memberships) await gh.management!.memberships.create(realm(), { userId: u.id, ...m }, CLI_CONTEXT);
    return { id: u.id, email };
  }

  async function verified(html: string, audience: string) {
    const post = formPostOf(html);
    expect(post.action).toBe(uri(audience));
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', HOST)).body as JSONWebKeySet;
    return (await jwtVerify(post.token, createLocalJWKSet(jwks), { issuer: `http://${HOST}`, audience })).payload;
  }

  /** The user's `type` events, oldest first. */
  const listEvents = async (_: TestGatehouse, realmId: string, q: { type: string; userId: string }) =>
    (await userEvents(gh.store, realmId, q.userId, 100)).filter((e) => e.type === q.type).reverse();

  const signIn = (b: ReturnType<typeof browser>, email: string, app: string) => b.submit(loginUrl(app), { identifier: email, password: GOOD_PASSWORD });

  it('refuses a user without the permission: a 403 page, no token, an event; SSO to an open app still works without a password', async () => {
    const u = await user([{ orgId: acme, permissions: ['billing:read'] }]);
    const b = browser(gh, HOST);
    const refused = await signIn(b, u.email, 'portal');
    expect(refused.status).toBe(403);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.text).toContain(tr('en', 'handoff.noAccess.title', { app: 'The portal app' }));
    expect(refused.text).toContain(tr('en', 'handoff.noAccess.text', { app: 'The portal app' }));
    expect(refused.text).not.toContain('name="token"');
    expect(refused.text).toContain('href="/account"');
    const [event] = await listEvents(gh, 'delta', { type: 'user.app_access.denied', userId: u.id });
    expect(event).toMatchObject({ type: 'user.app_access.denied', userId: u.id, actor: { type: 'user', id: u.id }, data: { clientId: 'portal', rule: 'permission:portal:use' }, request: { clientId: 'portal' } });

    // The sign-in stands: the open app gets its token at once, no password asked.
    const sso = await b.get(loginUrl('open'));
    expect(sso.status).toBe(200);
    expect((await verified(sso.text, 'open')).sub).toBe(u.id);
    // Asking again for the closed app: refused again, with another event.
    expect((await b.get(loginUrl('portal'))).status).toBe(403);
    expect(await listEvents(gh, 'delta', { type: 'user.app_access.denied', userId: u.id })).toHaveLength(2);
  });

  it('says so in Simplified Chinese, by ?lang= and by Accept-Language', async () => {
    const u = await user();
    const b = browser(gh, HOST);
    expect((await signIn(b, u.email, 'open')).status).toBe(200);
    const byParam = await b.get(`${loginUrl('portal')}&lang=zh-CN`);
    expect(byParam.status).toBe(403);
    expect(byParam.text).toContain(tr('zh-CN', 'handoff.noAccess.title', { app: 'The portal app' }));
    expect(byParam.text).toContain(tr('zh-CN', 'handoff.noAccess.signOut'));
    const other = browser(gh, HOST);
    await signIn(other, u.email, 'open');
    const byHeader = await other.get(loginUrl('portal')).set('Accept-Language', 'zh-CN,zh;q=0.9');
    expect(byHeader.status).toBe(403);
    expect(byHeader.text).toContain(tr('zh-CN', 'handoff.noAccess.text', { app: 'The portal app' }));
  });

  it('lets in a holder of the permission, directly, through an org, or by a wildcard; not through an expired membership or a closed org', async () => {
    const direct = await user([{ orgId: null, permissions: ['portal:use'] }]);
    const viaOrg = await user([{ orgId: beta, permissions: ['Portal:Use'] }]);
    const wildcard = await user([{ orgId: null, permissions: ['portal:*'] }]);
    const all = await user([{ orgId: null, permissions: ['*'] }]);
    for (const u of [direct, viaOrg, wildcard, all]) {
      const res = await signIn(browser(gh, HOST), u.email, 'portal');
      expect(res.status, u.email).toBe(200);
      expect((await verified(res.text, 'portal')).sub).toBe(u.id);
    }
    const expired = await user([{ orgId: acme, permissions: ['portal:use'], expiresAt: new Date(Date.now() + 1500) }]);
    const closedOrg = (await gh.management!.orgs.create(realm(), { name: 'Closing' }, CLI_CONTEXT)).id;
    const inClosed = await user([{ orgId: closedOrg, permissions: ['portal:use'] }]);
    await gh.management!.orgs.close(realm(), closedOrg, CLI_CONTEXT);
    expect((await signIn(browser(gh, HOST), inClosed.email, 'portal')).status).toBe(403);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await signIn(browser(gh, HOST), expired.email, 'portal')).status).toBe(403);
    // portal:read is not portal:use, and "portal" alone grants nothing under it.
    const near = await user([{ orgId: null, permissions: ['portal:read', 'portal'] }]);
    expect((await signIn(browser(gh, HOST), near.email, 'portal')).status).toBe(403);
  });

  it('lets in members of the named org only, judged on every membership even when the token lists fewer (maxOrgs 5)', async () => {
    const member = await user([{ orgId: acme }]);
    expect((await signIn(browser(gh, HOST), member.email, 'acme')).status).toBe(200);
    const outsider = await user([{ orgId: beta }]);
    expect((await signIn(browser(gh, HOST), outsider.email, 'acme')).status).toBe(403);
    // Acme is the oldest of seven memberships: the token shows the five newest, the rule still sees Acme.
    const busy = await user([{ orgId: acme }]);
    // The others in later milliseconds than Acme's (within one, the order is the ids').
    const acmeAt = Date.now();
    while (Date.now() <= acmeAt + 1) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 6; i++) {
      const org = await gh.management!.orgs.create(realm(), { name: `Other ${i}` }, CLI_CONTEXT);
      await gh.management!.memberships.create(realm(), { userId: busy.id, orgId: org.id }, CLI_CONTEXT);
    }
    const res = await signIn(browser(gh, HOST), busy.email, 'acme');
    expect(res.status).toBe(200);
    const claims = await verified(res.text, 'acme');
    expect(claims.orgs_truncated).toBe(true);
    expect((claims.orgs as Array<{ oid: string }>).map((o) => o.oid)).not.toContain(acme);
  });

  it('lets in the members of a named group, and the holders of a permission a group gives; leaving the group closes both', async () => {
    const u = await user();
    expect((await signIn(browser(gh, HOST), u.email, 'staff')).status).toBe(403);
    expect((await signIn(browser(gh, HOST), u.email, 'portal')).status).toBe(403);
    await gh.management!.groups.addMembers(realm(), staff, [u.id], CLI_CONTEXT);
    expect((await signIn(browser(gh, HOST), u.email, 'staff')).status).toBe(200);
    expect((await signIn(browser(gh, HOST), u.email, 'portal')).status).toBe(200);
    await gh.management!.groups.removeMember(realm(), staff, u.id, CLI_CONTEXT);
    expect((await signIn(browser(gh, HOST), u.email, 'staff')).status).toBe(403);
    expect((await signIn(browser(gh, HOST), u.email, 'portal')).status).toBe(403);
  });

  it('answers 403 access_denied on the back channel once the rule refuses the user, and a token while it lets them in', async () => {
    const email = uniqueEmail('access');
    const { user: made } = await gh.management!.users.create(realm(), { userType: 'human', email, password: GOOD_PASSWORD }, CLI_CONTEXT);
    const u = { id: made.id, email };
    const membership = await gh.management!.memberships.create(realm(), { userId: u.id, orgId: null, permissions: ['portal:use'] }, CLI_CONTEXT);
    const res = await signIn(browser(gh, HOST), u.email, 'portal');
    const { sid } = await verified(res.text, 'portal');
    const refresh = () => request(gh.app).post('/api/v1/apps/token').set('Host', HOST).auth('portal', secrets.portal!).send({ sid });
    expect((await refresh()).status).toBe(200);
    await gh.management!.memberships.update(realm(), membership.id, { permissions: ['portal:read'] }, CLI_CONTEXT);
    const denied = await refresh();
    expect(denied.status).toBe(403);
    expect(denied.body.type).toBe('/api/v1/problems/access_denied');
    expect(denied.body.token).toBeUndefined();
    const events = await listEvents(gh, 'delta', { type: 'user.app_access.denied', userId: u.id });
    expect(events.at(-1)).toMatchObject({ data: { clientId: 'portal', rule: 'permission:portal:use' } });
    // The open app's back channel is not affected.
    expect((await request(gh.app).post('/api/v1/apps/token').set('Host', HOST).auth('open', secrets.open!).send({ sid })).status).toBe(200);
  });

  it('treats an app stored before access rules existed (no `access` in its settings) as open to everyone, not as an error', async () => {
    // ASVS 5.0 16.5.3: an API or console app saved by an older Gatehouse keeps signing its users in after the upgrade.
    const { secret } = await gh.realmsService.createApp('delta', { clientId: 'legacy', name: 'The legacy app', redirectUris: [uri('legacy')] }, CLI_CONTEXT);
    (gh.store as SqliteStore).db.prepare("UPDATE directory_apps SET settings = json_remove(settings, '$.access') WHERE realm_id = 'delta' AND client_id = 'legacy'").run();
    await gh.realms.refresh(new SqliteDirectory((gh.store as SqliteStore).db), true);
    expect((gh.store as SqliteStore).db.prepare("SELECT json_extract(settings, '$.access') FROM directory_apps WHERE realm_id = 'delta' AND client_id = 'legacy'").pluck().get()).toBeNull();
    const u = await user();
    const res = await signIn(browser(gh, HOST), u.email, 'legacy');
    expect(res.status, res.text).toBe(200);
    const { sid } = await verified(res.text, 'legacy');
    expect((await request(gh.app).post('/api/v1/apps/token').set('Host', HOST).auth('legacy', secret).send({ sid })).status).toBe(200);
  });
});

/**
 * Org selection (issue 14, docs/design/orgs.md §7.1): `/login?…&org=select` — a user with two or more live
 * memberships picks one on /login/org after signing in; one membership is picked without a page; the pick is
 * remembered for the login session (plain `/login` and POST /api/v1/apps/token carry it) and changed by
 * `org=select` again; `selected: true` marks it in `orgs[]`. Real store, real hosted login, no mocks.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';

const APP = 'https://app.example.com/cb';
const SECRET = 'app-one-secret-0123456789-abcdefghijklmnop';
const ROOMY = { loginPerIp: { points: 100_000, durationSeconds: 60 }, signupPerIp: { points: 100_000, durationSeconds: 60 } };
const app = { clientId: 'app1', name: 'Portal', redirectUris: [APP], secretEnv: 'APP1_SECRET' };
const CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    { id: 'alpha', name: 'Alpha', publicUrl: 'http://alpha.test', rateLimits: ROOMY, tokens: { fields: ['orgs'] }, apps: [app] },
    { id: 'mfa', name: 'MFA', publicUrl: 'http://mfa.test', rateLimits: ROOMY, tokens: { fields: ['orgs'] }, mfa: { policy: 'required' }, apps: [{ ...app, secretEnv: undefined }] },
    { id: 'plain', name: 'Plain', publicUrl: 'http://plain.test', rateLimits: ROOMY, apps: [{ ...app, secretEnv: undefined }] },
  ],
};
const SELECT = `/login?redirect_uri=${encodeURIComponent(APP)}&state=s1&org=select`;
const PLAIN = `/login?redirect_uri=${encodeURIComponent(APP)}&state=s2`;

type Browser = ReturnType<typeof browser>;

describe('org selection', () => {
  let gh: TestGatehouse;
  const realmOf = (id: string): RealmConfig => gh.realms.byIdOrNull(id)!;

  beforeAll(async () => {
    gh = await testGatehouse({ file: CONFIG, env: { APP1_SECRET: SECRET } });
  });
  afterAll(async () => {
    await gh?.close();
  });

  async function claimsOf(html: string, realmId = 'alpha'): Promise<JWTPayload> {
    const host = `${realmId}.test`;
    const post = formPostOf(html);
    expect(post.action).toBe(APP);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200)).body as JSONWebKeySet;
    return (await jwtVerify(post.token, createLocalJWKSet(jwks), { issuer: `http://${host}`, audience: 'app1' })).payload;
  }

  /** A user of `realmId` who is a member of each named org (made here). */
  async function member(names: string[], realmId = 'alpha') {
    const r = realmOf(realmId);
    const email = uniqueEmail('pick');
    const { user } = await gh.management!.users.create(r, { userType: 'human', email, password: GOOD_PASSWORD }, CLI_CONTEXT);
    const orgs: Record<string, { id: string; mid: string }> = {};
    for (const name of names) {
      const org = await gh.management!.orgs.create(r, { name, reference: `ref-${name.toLowerCase()}` }, CLI_CONTEXT);
      const m = await gh.management!.memberships.create(r, { userId: user.id, orgId: org.id, permissions: [`${name.toLowerCase()}:read`] }, CLI_CONTEXT);
      orgs[name] = { id: org.id, mid: m.id };
    }
    return { id: user.id, email, orgs };
  }

  async function signIn(b: Browser, email: string, url = SELECT) {
    return b.submit(url, { identifier: email, password: GOOD_PASSWORD });
  }

  /** The picker's radios: [org id, checked]. */
  function radios(html: string): Array<[string, boolean]> {
    return [...html.matchAll(/<input type="radio" name="oid" value="([^"]+)"( checked)?/g)].map((m) => [m[1]!, Boolean(m[2])]);
  }

  it('lets a user with two orgs pick one after the password; the token marks it selected and lists it first', async () => {
    const u = await member(['Zeta', 'Acme']);
    const b = browser(gh);
    const login = await signIn(b, u.email);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/login/org');
    const page = await b.get('/login/org');
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain(tr('en', 'login.org.lead', { app: 'Portal' }));
    // By name; nothing picked yet, so the first is checked.
    expect(radios(page.text)).toEqual([
      [u.orgs.Acme!.id, true],
      [u.orgs.Zeta!.id, false],
    ]);
    expect(page.text).toContain('ref-acme');
    const picked = await b.post('/login/org', { _csrf: csrfOf(page.text), oid: u.orgs.Zeta!.id });
    expect(picked.status, picked.text).toBe(200);
    expect(formPostOf(picked.text).state).toBe('s1');
    const claims = await claimsOf(picked.text);
    expect(claims.orgs).toEqual([
      { oid: u.orgs.Zeta!.id, mid: u.orgs.Zeta!.mid, name: 'Zeta', ref: 'ref-zeta', perm: ['zeta:read'], selected: true },
      { oid: u.orgs.Acme!.id, mid: u.orgs.Acme!.mid, name: 'Acme', ref: 'ref-acme', perm: ['acme:read'] },
    ]);
    // The pick is spent: the page is not there to post to again.
    expect((await b.get('/login/org')).status).toBe(400);
  });

  it('remembers the pick for the session: plain /login and the back channel carry it; org=select again shows it checked', async () => {
    const u = await member(['Acme', 'Beta']);
    const b = browser(gh);
    await signIn(b, u.email);
    const page = await b.get('/login/org');
    await b.post('/login/org', { _csrf: csrfOf(page.text), oid: u.orgs.Beta!.id });

    const again = await b.get(PLAIN);
    expect(again.status).toBe(200);
    const claims = await claimsOf(again.text);
    const selected = (claims.orgs as Array<{ oid: string; selected?: true }>).filter((o) => o.selected);
    expect(selected.map((o) => o.oid)).toEqual([u.orgs.Beta!.id]);

    const refreshed = await request(gh.app)
      .post('/api/v1/apps/token')
      .set('Host', 'alpha.test')
      .auth('app1', SECRET)
      .send({ sid: claims.sid });
    expect(refreshed.status).toBe(200);
    const fresh = JSON.parse(Buffer.from(refreshed.body.token.split('.')[1], 'base64url').toString()) as { orgs: Array<{ oid: string; selected?: true }> };
    expect(fresh.orgs[0]).toMatchObject({ oid: u.orgs.Beta!.id, selected: true });

    // Signed in already: org=select goes straight to the picker, the current pick checked and marked.
    const change = await b.get(SELECT);
    expect(change.status).toBe(303);
    expect(change.headers.location).toBe('/login/org');
    const picker = await b.get('/login/org');
    expect(radios(picker.text)).toEqual([
      [u.orgs.Acme!.id, false],
      [u.orgs.Beta!.id, true],
    ]);
    expect(picker.text).toContain(tr('en', 'login.org.current'));
    const changed = await b.post('/login/org', { _csrf: csrfOf(picker.text), oid: u.orgs.Acme!.id });
    expect((await claimsOf(changed.text)).orgs).toMatchObject([{ oid: u.orgs.Acme!.id, selected: true }, { oid: u.orgs.Beta!.id }]);
  });

  it('skips the page for a user with one org (picked for them) and for a user with none', async () => {
    const one = await member(['Solo']);
    const res = await signIn(browser(gh), one.email);
    expect(res.status).toBe(200);
    expect((await claimsOf(res.text)).orgs).toEqual([{ oid: one.orgs.Solo!.id, mid: one.orgs.Solo!.mid, name: 'Solo', ref: 'ref-solo', perm: ['solo:read'], selected: true }]);

    const none = await member([]);
    const empty = await signIn(browser(gh), none.email);
    expect(empty.status).toBe(200);
    expect((await claimsOf(empty.text)).orgs).toEqual([]);
  });

  it('ignores a pick that is no longer valid: the membership deleted or the org closed leaves no entry selected', async () => {
    const u = await member(['Acme', 'Beta', 'Gamma']);
    const b = browser(gh);
    await signIn(b, u.email);
    const page = await b.get('/login/org');
    await b.post('/login/org', { _csrf: csrfOf(page.text), oid: u.orgs.Gamma!.id });
    await gh.management!.memberships.delete(realmOf('alpha'), u.orgs.Gamma!.mid, CLI_CONTEXT);
    const after = await claimsOf((await b.get(PLAIN)).text);
    expect((after.orgs as Array<{ selected?: true }>).some((o) => o.selected)).toBe(false);
    expect((after.orgs as unknown[]).length).toBe(2);
  });

  it('refuses another user’s org, a malformed or missing choice and a missing CSRF token, and keeps the page', async () => {
    const u = await member(['Acme', 'Beta']);
    const stranger = await member(['Elsewhere']);
    const b = browser(gh);
    await signIn(b, u.email);
    const page = await b.get('/login/org');
    const csrf = csrfOf(page.text);
    for (const [form, message] of [
      [{ _csrf: csrf, oid: stranger.orgs.Elsewhere!.id }, 'login.org.notYours'],
      [{ _csrf: csrf, oid: 'org_not-an-org-id!' }, 'login.org.required'],
      [{ _csrf: csrf }, 'login.org.required'],
      [{ _csrf: csrf, oid: [u.orgs.Acme!.id, u.orgs.Beta!.id] }, 'login.org.required'],
    ] as const) {
      const res = await b.post('/login/org', form as Record<string, string | string[]>);
      expect(res.status, JSON.stringify(form)).toBe(400);
      expect(res.text).toContain(tr('en', message));
      expect(radios(res.text).map(([id]) => id).sort()).toEqual([u.orgs.Acme!.id, u.orgs.Beta!.id].sort());
      expect(res.text).not.toContain('name="token"');
    }
    expect((await b.post('/login/org', { oid: u.orgs.Acme!.id })).status).toBe(403);
    // The stranger's org never became the session's pick.
    const sid = (await gh.store.listLoginSessions('alpha', u.id)).find((s) => !s.endedAt)!;
    expect(sid.selectedOrgId).toBeNull();
    // And the page still works.
    const ok = await b.post('/login/org', { _csrf: csrf, oid: u.orgs.Acme!.id });
    expect(ok.status).toBe(200);
  });

  it('answers 400 for /login/org without a pending pick, and for an org parameter other than select', async () => {
    const nobody = await browser(gh).get('/login/org');
    expect(nobody.status).toBe(400);
    expect(nobody.text).toContain(tr('en', 'login.org.expired'));
    const zh = await browser(gh).get('/login/org?lang=zh-CN');
    expect(zh.text).toContain(tr('zh-CN', 'login.org.expired'));
    const bad = await browser(gh).get(`/login?redirect_uri=${encodeURIComponent(APP)}&org=all`);
    expect(bad.status).toBe(400);
  });

  it('carries org=select through the second factor: enrolment, then the picker, then the token', async () => {
    const u = await member(['Acme', 'Beta'], 'mfa');
    const b = browser(gh, 'mfa.test');
    const login = await signIn(b, u.email);
    expect(login.headers.location).toBe('/login/mfa');
    const mfa = await b.get('/login/mfa');
    await b.post('/login/mfa/enrol', { _csrf: csrfOf(mfa.text) });
    const sheet = await b.get('/login/mfa');
    const secret = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(sheet.text)![1]!.replace(/ /g, '');
    await b.post('/login/mfa/confirm', { _csrf: csrfOf(sheet.text), code: generateSync({ secret }) });
    const codes = await b.get('/login/mfa');
    const next = await b.post('/login/mfa/continue', { _csrf: csrfOf(codes.text) });
    expect(next.status).toBe(303);
    expect(next.headers.location).toBe('/login/org');
    const page = await b.get('/login/org');
    const picked = await b.post('/login/org', { _csrf: csrfOf(page.text), oid: u.orgs.Beta!.id });
    const claims = await claimsOf(picked.text, 'mfa');
    expect(claims.amr).toEqual(['pwd', 'otp']);
    expect(claims.orgs).toMatchObject([{ oid: u.orgs.Beta!.id, selected: true }, { oid: u.orgs.Acme!.id }]);
  });

  it('is ignored by a realm whose tokens carry no orgs', async () => {
    const u = await member(['Acme', 'Beta'], 'plain');
    const res = await signIn(browser(gh, 'plain.test'), u.email);
    expect(res.status).toBe(200);
    const claims = await claimsOf(res.text, 'plain');
    expect(claims.orgs).toBeUndefined();
  });

  it('shows the picker in Simplified Chinese', async () => {
    const u = await member(['Acme', 'Beta']);
    const b = browser(gh);
    await signIn(b, u.email);
    const page = await b.get('/login/org?lang=zh-CN');
    expect(page.status).toBe(200);
    expect(page.text).toContain(tr('zh-CN', 'login.org.heading'));
    expect(page.text).toContain(tr('zh-CN', 'login.org.lead', { app: 'Portal' }));
  });
});

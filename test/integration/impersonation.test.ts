/**
 * Impersonation (docs/design/console.md §3): ImpersonationService.begin as the console will call it, then the
 * operator's browser on the user's realm through the real pages (/impersonate, the personal center, the hosted
 * login's form_post). Realm beta plays the console realm: the operator is one of its users, signed in there.
 * Real store, real HTTP, no mocks.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, RuleViolation } from '../../src/domain/errors.ts';
import type { RealmConfig } from '../../src/config/index.ts';
import type { ManagementServices } from '../../src/app.ts';
import { CLI_CONTEXT, type RequestContext } from '../../src/services/context.ts';
import type { ImpersonationActor } from '../../src/services/impersonation.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { listEvents } from '../helpers/events.ts';

const APP = 'https://app.example.com/cb';
const APP_SECRET = 'app-one-secret-0123456789-abcdefghijklmnop';
/** The test realms, app1 holding a secret for the back channel (GET /api/sessions/:sid). */
const FILE = {
  ...TEST_CONFIG,
  realms: TEST_CONFIG.realms.map((r) => (r.id === 'alpha' ? { ...r, apps: r.apps.map((a) => (a.clientId === 'app1' ? { ...a, secretEnv: 'APP1_SECRET' } : a)) } : r)),
};
const REASON = 'Ticket 4711: the invoices page is empty';

describe('impersonation', () => {
  let gh: TestGatehouse;
  let m: ManagementServices;
  let alpha: RealmConfig;
  let beta: RealmConfig;
  let now = Date.now();

  beforeAll(async () => {
    gh = await testGatehouse({ file: FILE, env: { APP1_SECRET: APP_SECRET }, clock: () => new Date(now) });
    m = gh.management!;
    alpha = gh.realms.byIdOrNull('alpha')!;
    beta = gh.realms.byIdOrNull('beta')!;
  });
  afterAll(async () => {
    await gh.close();
  });

  /** An operator: a user of beta (the stand-in console realm) signed in there; their actor and request context. */
  async function operator() {
    const email = uniqueEmail('operator');
    const username = `op-${Math.random().toString(36).slice(2, 10)}`;
    const { user } = await m.users.create(beta, { userType: 'human', username, email, password: GOOD_PASSWORD }, CLI_CONTEXT);
    const console = browser(gh, 'beta.test');
    expect((await console.submit('/login', { identifier: username, password: GOOD_PASSWORD })).status).toBe(303);
    const [session] = (await gh.store.listLoginSessions('beta', user.id)).filter((s) => !s.endedAt);
    const actor: ImpersonationActor = { operatorId: user.id, consoleRealmId: 'beta', consoleSid: session!.id, iss: beta.publicUrl };
    const ctx: RequestContext = { actor: { type: 'operator', id: user.id }, requestId: 'req-imp', ip: '192.0.2.9', userAgent: 'console' };
    return { user, email, actor, ctx, console };
  }

  async function customer(overrides: { userType?: 'human' | 'api'; state?: 'active' | 'inactive' } = {}) {
    const userType = overrides.userType ?? 'human';
    const input = userType === 'human' ? { userType, email: uniqueEmail('customer'), password: GOOD_PASSWORD, state: overrides.state } : { userType, username: uniqueEmail('bot'), state: overrides.state };
    return (await m.users.create(alpha, input, CLI_CONTEXT)).user;
  }

  /** The path and query of the console's link (supertest speaks to the app, the host goes in a header). */
  const pathOf = (url: string) => {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  };

  /** The operator's browser on the user's realm, through the link and the confirmation: signed in as the user. */
  async function impersonate(op: Awaited<ReturnType<typeof operator>>, userId: string, options: { maxMinutes?: number } = {}) {
    const { url } = await m.impersonation.begin(alpha, userId, op.actor, REASON, op.ctx, options);
    const b = browser(gh);
    const moved = await b.get(pathOf(url));
    expect(moved.status).toBe(303);
    expect(moved.headers.location).toBe('/impersonate');
    const page = await b.get('/impersonate');
    expect(page.status).toBe(200);
    const accepted = await b.post('/impersonate', { _csrf: csrfOf(page.text) });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.location).toBe('/account');
    const [session] = (await gh.store.listLoginSessions('alpha', userId)).filter((s) => !s.endedAt && s.act);
    return { b, session: session!, page };
  }

  it('signs the operator in as the user: banner, JWT with act, not the user’s login, events and audit', async () => {
    const op = await operator();
    const user = await customer();
    const before = await gh.store.findUserById('alpha', user.id);
    const { url, expiresAt } = await m.impersonation.begin(alpha, user.id, op.actor, `  ${REASON}  `, op.ctx);
    expect(url).toMatch(/^http:\/\/alpha\.test\/impersonate\?token=[\w-]{43}$/);
    expect(expiresAt.getTime()).toBe(now + 60_000);

    const b = browser(gh);
    const moved = await b.get(pathOf(url));
    expect(moved.status).toBe(303);
    expect(moved.headers.location).toBe('/impersonate');
    const page = await b.get('/impersonate');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`Continue as ${user.username}`);
    expect(page.text).toContain(op.email);
    expect(page.text).toContain(REASON);
    expect((await b.post('/impersonate', { _csrf: csrfOf(page.text) })).headers.location).toBe('/account');

    const account = await b.get('/account');
    expect(account.status).toBe(200);
    const banner = /<div class="impersonation-banner" role="status">([\s\S]*?)<\/div>/.exec(account.text)?.[1] ?? '';
    expect(banner).toContain(op.email);
    expect(banner).toContain(REASON);
    expect(banner).toContain('action="/impersonate/end"');
    expect(banner).toContain('End session');

    // An app the operator opens gets the user's token, the operator named as its actor (RFC 8693 §4.1).
    const handoff = await b.get(`/login?${new URLSearchParams({ client_id: 'app1', redirect_uri: APP })}`);
    expect(handoff.status).toBe(200);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test')).body as JSONWebKeySet;
    const { payload } = await jwtVerify(formPostOf(handoff.text).token, createLocalJWKSet(jwks), { issuer: 'http://alpha.test', audience: 'app1' });
    expect(payload.sub).toBe(user.id);
    expect(payload.act).toEqual({ sub: op.user.id, iss: 'http://beta.test' });
    expect(payload.amr).toEqual(['pwd']);

    const after = await gh.store.findUserById('alpha', user.id);
    expect(after?.loginsCount).toBe(before?.loginsCount);
    expect(after?.lastLoginAt).toEqual(before?.lastLoginAt);

    const [session] = (await gh.store.listLoginSessions('alpha', user.id)).filter((s) => !s.endedAt);
    expect(session?.act).toMatchObject({ sub: op.user.id, iss: 'http://beta.test', realmId: 'beta', sid: op.actor.consoleSid, reason: REASON });
    expect(session?.act?.expiresAt.getTime()).toBe(now + 30 * 60_000);
    const events = await listEvents(gh.store, 'alpha', user.id, 10);
    const started = events.find((e) => e.type === 'user.impersonation.started');
    expect(started?.actor).toEqual({ type: 'operator', id: op.user.id });
    expect(started?.data).toEqual({ sid: session!.id, reason: REASON, operatorId: op.user.id });
    expect(events.find((e) => e.type === 'session.created')?.actor).toEqual({ type: 'operator', id: op.user.id });
    expect(events.some((e) => e.type === 'user.login.succeeded')).toBe(false);
    const [audit] = await m.audit.query({ realmId: 'alpha', targetId: user.id, limit: 5 });
    expect(audit).toMatchObject({ operation: 'user.impersonate', actor: { type: 'operator', id: op.user.id }, requestId: 'req-imp', target: { type: 'user', id: user.id } });
    expect(audit?.after).toMatchObject({ reason: REASON, operatorId: op.user.id, consoleRealmId: 'beta', maxMinutes: 30 });
    expect(JSON.stringify(audit)).not.toContain(new URL(url).searchParams.get('token'));
  });

  it('shows no banner and no act to a user signed in themself', async () => {
    const user = await customer();
    const b = browser(gh);
    await b.submit('/login', { identifier: user.email!, password: GOOD_PASSWORD });
    expect((await b.get('/account')).text).not.toContain('impersonation-banner');
    const handoff = await b.get(`/login?${new URLSearchParams({ client_id: 'app1', redirect_uri: APP })}`);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'alpha.test')).body as JSONWebKeySet;
    const { payload } = await jwtVerify(formPostOf(handoff.text).token, createLocalJWKSet(jwks), { issuer: 'http://alpha.test', audience: 'app1' });
    expect('act' in payload).toBe(false);
    expect((await gh.store.findUserById('alpha', user.id))?.loginsCount).toBe(1);
  });

  it('uses a link once: of two browsers holding it, one signs in, the other gets a 4xx page', async () => {
    const op = await operator();
    const user = await customer();
    const { url } = await m.impersonation.begin(alpha, user.id, op.actor, REASON, op.ctx);
    const [first, second] = [browser(gh), browser(gh)];
    for (const b of [first, second]) expect((await b.get(pathOf(url))).status).toBe(303);
    const [p1, p2] = [await first.get('/impersonate'), await second.get('/impersonate')];
    expect((await first.post('/impersonate', { _csrf: csrfOf(p1.text) })).status).toBe(303);
    const refused = await second.post('/impersonate', { _csrf: csrfOf(p2.text) });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('already used');
    // And the link itself is dead now.
    expect((await browser(gh).get(pathOf(url))).status).toBe(400);
  });

  it('refuses an expired, garbled or missing link with a 4xx page in the browser’s language, never a 500', async () => {
    const op = await operator();
    const user = await customer();
    const { url } = await m.impersonation.begin(alpha, user.id, op.actor, REASON, op.ctx);
    now += 61_000;
    const expired = await browser(gh).get(pathOf(url)).set('Accept-Language', 'zh-CN');
    expect(expired.status).toBe(400);
    expect(expired.text).toContain('此登录链接无效');
    // Followed in time but confirmed too late.
    const late = await m.impersonation.begin(alpha, user.id, op.actor, REASON, op.ctx);
    const b = browser(gh);
    await b.get(pathOf(late.url));
    const page = await b.get('/impersonate');
    now += 61_000;
    expect((await b.post('/impersonate', { _csrf: csrfOf(page.text) })).status).toBe(400);
    for (const token of ['garbage', 'x'.repeat(43), 'a'.repeat(500), '<script>']) {
      const res = await browser(gh).get(`/impersonate?token=${encodeURIComponent(token)}`);
      expect(res.status, token).toBe(400);
      expect(res.text).toContain('This sign-in link is not valid');
    }
    const fresh = browser(gh);
    expect((await fresh.get('/impersonate')).status).toBe(400);
    const csrf = csrfOf((await fresh.get('/login')).text);
    expect((await fresh.post('/impersonate', { _csrf: csrf })).status).toBe(400);
  });

  it('refuses unknown, API and inactive users, operators of the console realm, bad reasons and a console session that ended', async () => {
    const op = await operator();
    const begin = (userId: string, reason = REASON, actor = op.actor, realm = alpha, options = {}) => m.impersonation.begin(realm, userId, actor, reason, op.ctx, options);
    await expect(begin('no-such-user')).rejects.toBeInstanceOf(NotFoundError);
    await expect(begin((await customer({ userType: 'api' })).id)).rejects.toMatchObject(new ConflictError('user.not_human', 'API users cannot be impersonated', { field: 'userType' }));
    await expect(begin((await customer({ state: 'inactive' })).id)).rejects.toMatchObject({ reason: 'user.inactive' });
    const other = await operator();
    await expect(begin(other.user.id, REASON, op.actor, beta)).rejects.toBeInstanceOf(ForbiddenError);
    const user = await customer();
    for (const reason of ['  a ', '', 'x'.repeat(201), 'bell\u0007here', 'new\nline']) await expect(begin(user.id, reason), JSON.stringify(reason)).rejects.toBeInstanceOf(RuleViolation);
    await expect(begin(user.id, 'ok!')).resolves.toMatchObject({ url: expect.any(String) });
    for (const maxMinutes of [0, 1.5, 241]) await expect(begin(user.id, REASON, op.actor, alpha, { maxMinutes }), String(maxMinutes)).rejects.toBeInstanceOf(RuleViolation);
    // Another operator's session id, or one that ended.
    await expect(begin(user.id, REASON, { ...op.actor, consoleSid: other.actor.consoleSid })).rejects.toBeInstanceOf(ForbiddenError);
    await m.access.endSession(beta, op.actor.consoleSid, CLI_CONTEXT);
    await expect(begin(user.id)).rejects.toBeInstanceOf(ForbiddenError);
    const audits = await m.audit.query({ realmId: 'alpha', targetId: user.id, limit: 10 });
    // Only the one link given is audited: a refusal writes nothing.
    expect(audits.map((a) => a.operation)).toEqual(['user.impersonate', 'user.create']);
  });

  it('ends with the operator’s console session: the next page is signed out, on the events', async () => {
    const op = await operator();
    const user = await customer();
    const { b, session } = await impersonate(op, user.id);
    expect((await b.get('/account')).status).toBe(200);
    const backChannel = () => request(gh.app).get(`/api/sessions/${session.id}`).set('Host', 'alpha.test').set('Authorization', `Basic ${Buffer.from(`app1:${APP_SECRET}`).toString('base64')}`);
    expect((await backChannel()).body).toMatchObject({ active: true, sub: user.id });
    // The console session ends (console logout, or an operator's force-logout): through the login sessions service.
    await m.access.endSession(beta, op.actor.consoleSid, CLI_CONTEXT);
    // An app asking is told at once, before the browser comes back.
    expect((await backChannel()).body).toEqual({ active: false });
    const next = await b.get('/account');
    expect(next.status).toBe(303);
    expect(next.headers.location).toBe('/login');
    expect((await gh.store.findLoginSession('alpha', session.id))?.endedAt).not.toBeNull();
    const events = await listEvents(gh.store, 'alpha', user.id, 10);
    expect(events.find((e) => e.type === 'session.deleted')?.data).toEqual({ sid: session.id, reason: 'impersonation_ended' });
    const ended = events.find((e) => e.type === 'user.impersonation.ended');
    expect(ended?.data).toEqual({ sid: session.id, reason: REASON, operatorId: op.user.id, cause: 'console_session_ended' });
    expect(ended?.actor).toEqual({ type: 'system', id: null });
  });

  it('stops at its time limit', async () => {
    const op = await operator();
    const user = await customer();
    const { b, session } = await impersonate(op, user.id, { maxMinutes: 5 });
    now += 4 * 60_000;
    expect((await b.get('/account')).status).toBe(200);
    now += 61_000;
    expect((await b.get('/account')).headers.location).toBe('/login');
    const ended = (await listEvents(gh.store, 'alpha', user.id, 10)).find((e) => e.type === 'user.impersonation.ended');
    expect(ended?.data).toMatchObject({ sid: session.id, cause: 'impersonation_expired' });
  });

  it('refuses every sensitive change with a 403 page, however recent the sign-in; other pages work', async () => {
    const op = await operator();
    const user = await customer();
    const { b } = await impersonate(op, user.id);
    const csrf = csrfOf((await b.get('/account')).text);
    for (const path of ['/account/password', '/account/profile/username', '/account/mfa', '/account/email/verify']) {
      const res = await b.get(path);
      expect(res.status, path).toBe(403);
      expect(res.text).toContain('cannot be made while signed in from the operator console');
    }
    const posts: Array<[string, Record<string, string>]> = [
      ['/account/password', { currentPassword: GOOD_PASSWORD, password: 'another-harbor-lantern-43' }],
      ['/account/email', { email: uniqueEmail('hijack') }],
      ['/account/phone', { phone: '+14155550123' }],
      ['/account/mfa/enrol', {}],
      ['/account/profile/username', { username: 'taken-over' }],
      ['/account/connected/github/unlink', {}],
    ];
    for (const [path, form] of posts) expect((await b.post(path, { _csrf: csrf, ...form })).status, path).toBe(403);
    const zh = await b.get('/account/password').set('Accept-Language', 'zh-CN');
    expect(zh.text).toContain('通过运营控制台登录时不能进行此项修改');
    expect((await b.get('/account/profile')).status).toBe(200);
    expect((await gh.store.findUserById('alpha', user.id))?.email).toBe(user.email);
  });

  it('ends from the banner’s button: the operator’s events, the browser signed out, a page saying so', async () => {
    const op = await operator();
    const user = await customer();
    const { b, session } = await impersonate(op, user.id);
    const csrf = csrfOf((await b.get('/account')).text);
    const ended = await b.post('/impersonate/end', { _csrf: csrf });
    expect(ended.status).toBe(200);
    expect(ended.text).toContain('You have left the account');
    expect(ended.text).not.toContain('impersonation-banner');
    expect((await b.get('/account')).headers.location).toBe('/login');
    expect((await gh.store.findLoginSession('alpha', session.id))?.endedAt).not.toBeNull();
    const events = await listEvents(gh.store, 'alpha', user.id, 10);
    const event = events.find((e) => e.type === 'user.impersonation.ended');
    expect(event?.data).toEqual({ sid: session.id, reason: REASON, operatorId: op.user.id, cause: 'impersonation_ended' });
    expect(event?.actor).toEqual({ type: 'operator', id: op.user.id });
    // The console session is untouched.
    expect((await gh.store.findLoginSession('beta', op.actor.consoleSid))?.endedAt).toBeNull();
  });

  it('answers 400 to the end button of a session the user started themself', async () => {
    const user = await customer();
    const b = browser(gh);
    await b.submit('/login', { identifier: user.email!, password: GOOD_PASSWORD });
    const csrf = csrfOf((await b.get('/account')).text);
    expect((await b.post('/impersonate/end', { _csrf: csrf })).status).toBe(400);
    expect((await b.get('/account')).status).toBe(200);
  });
});

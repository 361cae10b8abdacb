/**
 * POST /api/v1/apps/token (issue 14, docs/design/orgs.md §5): an app's back end trades the `sid` of a token it
 * holds for a fresh JWT with the user's and orgs' current data (AuthRocket's "Returning a JWT with Updated User
 * and Org Data"). Authenticated as the app (HTTP Basic: client id + secret), realm by Host; 401 for anything
 * else (counted per IP, then 429); 410 whenever the session no longer stands. Real store, real hosted login.
 * ASVS 8.2.1 (the function needs the app's own credentials), 7.4.1 (an ended session gives no new token),
 * 6.3.1 (failed app authentications are limited).
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

const APP = 'https://app.example.com/cb';
const SECRET_1 = 'app-one-secret-0123456789-abcdefghijklmnop';
const SECRET_2 = 'app-two-secret-0123456789-abcdefghijklmnop';
const SECRET_BETA = 'beta-app-secret-0123456789-abcdefghijklmn';
const ROOMY = { loginPerIp: { points: 100_000, durationSeconds: 60 }, signupPerIp: { points: 100_000, durationSeconds: 60 } };

const CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    {
      id: 'alpha',
      name: 'Alpha',
      publicUrl: 'http://alpha.test',
      rateLimits: ROOMY,
      sessions: { idleMinutes: 60, absoluteHours: 24 },
      tokens: { fields: ['custom', 'orgs'] },
      apps: [
        { clientId: 'app1', name: 'App one', redirectUris: [APP], secretEnv: 'APP1_SECRET' },
        { clientId: 'app2', name: 'App two', redirectUris: ['https://two.example.com/cb'], secretEnv: 'APP2_SECRET' },
        { clientId: 'spa', name: 'No secret', redirectUris: ['https://spa.example.com/cb'] },
      ],
    },
    {
      id: 'beta',
      name: 'Beta',
      publicUrl: 'http://beta.test',
      rateLimits: ROOMY,
      apps: [{ clientId: 'app1', name: 'Beta app', redirectUris: [APP], secretEnv: 'BETA_SECRET' }],
    },
  ],
};
const ENV = { APP1_SECRET: SECRET_1, APP2_SECRET: SECRET_2, BETA_SECRET: SECRET_BETA };

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('POST /api/v1/apps/token', () => {
  let gh: TestGatehouse;
  let offset = 0;
  const realmOf = (id: string): RealmConfig => gh.realms.byIdOrNull(id)!;

  beforeAll(async () => {
    gh = await testGatehouse({ file: CONFIG, env: ENV, clock: () => new Date(Date.now() + offset) });
  });
  afterAll(async () => {
    await gh?.close();
  });

  const refresh = (body: unknown, auth: string | null = basic('app1', SECRET_1), host = 'alpha.test') => {
    const req = request(gh.app).post('/api/v1/apps/token').set('Host', host);
    if (auth) req.set('Authorization', auth);
    return typeof body === 'string' ? req.type('json').send(body) : req.send(body as object);
  };

  async function verify(token: string, host = 'alpha.test', audience = 'app1'): Promise<JWTPayload> {
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200)).body as JSONWebKeySet;
    return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: `http://${host}`, audience })).payload;
  }

  /** A user signed in through the hosted login: their id, the browser, and the JWT app1 received. */
  async function signedIn(realmId = 'alpha') {
    const email = uniqueEmail('fresh');
    const { user } = await gh.management!.users.create(realmOf(realmId), { userType: 'human', email, password: GOOD_PASSWORD, firstName: 'Ann' }, CLI_CONTEXT);
    const host = `${realmId}.test`;
    const b = browser(gh, host);
    const res = await b.submit(`/login?redirect_uri=${encodeURIComponent(APP)}&state=s`, { identifier: email, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(200);
    const claims = await verify(formPostOf(res.text).token, host);
    return { id: user.id, email, b, sid: claims.sid as string, claims };
  }

  it('answers a fresh JWT with the current user and org data, for the calling app, without touching the session', async () => {
    const u = await signedIn();
    expect(u.claims.orgs).toEqual([]);
    const r = realmOf('alpha');
    const acme = await gh.management!.orgs.create(r, { name: 'Acme', reference: 'crm-7' }, CLI_CONTEXT);
    const membership = await gh.management!.memberships.create(r, { userId: u.id, orgId: acme.id, permissions: ['billing:read'] }, CLI_CONTEXT);
    await gh.management!.memberships.create(r, { userId: u.id, orgId: null, permissions: ['reports:*'] }, CLI_CONTEXT);
    await gh.management!.users.update(r, u.id, { firstName: 'Anna' }, CLI_CONTEXT);
    // Past the touch interval: a touched session would move its lastSeenAt.
    offset += 5 * 60_000;
    const before = (await gh.store.findLoginSession('alpha', u.sid))!.lastSeenAt;

    const res = await refresh({ sid: u.sid });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'sid', 'token']);
    expect(res.body.sid).toBe(u.sid);
    const claims = await verify(res.body.token);
    expect(claims).toMatchObject({ sub: u.id, sid: u.sid, aud: 'app1', given_name: 'Anna', amr: ['pwd'], perm: ['reports:*'] });
    expect(claims.orgs).toEqual([{ oid: acme.id, mid: membership.id, name: 'Acme', ref: 'crm-7', perm: ['billing:read'] }]);
    expect(claims.jti).not.toBe(u.claims.jti);
    expect(new Date(res.body.expiresAt).getTime()).toBe(claims.exp! * 1000);
    expect((await gh.store.findLoginSession('alpha', u.sid))!.lastSeenAt).toEqual(before);

    // Another app of the realm, with its own credentials, gets a token for itself on the same session.
    const two = await refresh({ sid: u.sid }, basic('app2', SECRET_2));
    expect(two.status).toBe(200);
    expect((await verify(two.body.token, 'alpha.test', 'app2')).aud).toBe('app2');
  });

  it('refuses missing, wrong and malformed app credentials with 401 and a Basic challenge, giving no token', async () => {
    const u = await signedIn();
    for (const auth of [null, basic('app1', 'wrong-secret'), basic('spa', SECRET_1), basic('app1', ''), basic('app1', SECRET_2), `Bearer ${SECRET_1}`, 'Basic !!!', basic('app1%', SECRET_1), basic('nosuch', SECRET_1)]) {
      const res = await refresh({ sid: u.sid }, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="alpha"/);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('/api/v1/problems/invalid_client');
      expect(res.body.token).toBeUndefined();
    }
    // Beta's app1 has the same client id: its secret is not alpha's, and alpha's is not beta's.
    expect((await refresh({ sid: u.sid }, basic('app1', SECRET_BETA))).status).toBe(401);
    expect((await refresh({ sid: u.sid }, basic('app1', SECRET_1), 'beta.test')).status).toBe(401);
  });

  it('answers 410 for an unknown sid and for another realm’s session', async () => {
    const other = await signedIn('beta');
    for (const [sid, auth, host] of [
      ['AAAAAAAAAAAAAAAAAAAAAA', basic('app1', SECRET_1), 'alpha.test'],
      [other.sid, basic('app1', SECRET_1), 'alpha.test'],
    ] as const) {
      const res = await refresh({ sid }, auth, host);
      expect(res.status, sid).toBe(410);
      expect(res.body).toMatchObject({ type: '/api/v1/problems/session_ended', status: 410 });
      expect(res.body.token).toBeUndefined();
    }
    // The beta session is fine in its own realm.
    expect((await refresh({ sid: other.sid }, basic('app1', SECRET_BETA), 'beta.test')).status).toBe(200);
  });

  it('answers 410 once the user signed out', async () => {
    const u = await signedIn();
    expect((await refresh({ sid: u.sid })).status).toBe(200);
    const page = await u.b.get('/logout');
    await u.b.post('/logout', { _csrf: csrfOf(page.text) });
    expect((await refresh({ sid: u.sid })).status).toBe(410);
  });

  it('answers 410 once the user is inactive or deleted', async () => {
    const r = realmOf('alpha');
    const inactive = await signedIn();
    await gh.management!.users.update(r, inactive.id, { state: 'inactive' }, CLI_CONTEXT);
    expect((await refresh({ sid: inactive.sid })).status).toBe(410);
    const deleted = await signedIn();
    await gh.management!.users.delete(r, deleted.id, CLI_CONTEXT);
    expect((await refresh({ sid: deleted.sid })).status).toBe(410);
  });

  it('answers 410 once the session idled out (60 minutes here), refreshing never having kept it alive', async () => {
    const u = await signedIn();
    for (let i = 0; i < 3; i++) {
      offset += 25 * 60_000;
      // 25 and 50 minutes in: still live. 75: idle since sign-in, whatever the refreshes in between.
      expect((await refresh({ sid: u.sid })).status, `after ${(i + 1) * 25} minutes`).toBe(i < 2 ? 200 : 410);
    }
  });

  it('answers 400 with the field named for a body that is not { sid }', async () => {
    const u = await signedIn();
    for (const [body, field] of [
      [{}, 'sid'],
      [{ sid: [u.sid] }, 'sid'],
      [{ sid: 'not a sid!' }, 'sid'],
      [{ sid: 'a'.repeat(65) }, 'sid'],
      [{ sid: u.sid, userId: u.id }, 'userId'],
    ] as const) {
      const res = await refresh(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.type).toBe('/api/v1/problems/validation');
      expect(res.body.errors.map((e: { field: string }) => e.field).join(' '), JSON.stringify(body)).toContain(field);
    }
    for (const raw of ['{"sid":', '"just a string"', `{"sid":"${u.sid}","__proto__":{"x":1}}`]) {
      const res = await refresh(raw);
      expect(res.status, raw).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const huge = await refresh({ sid: u.sid, pad: 'x'.repeat(70 * 1024) });
    expect(huge.status).toBe(413);
  });

  it('is documented in the OpenAPI document with the app client scheme', async () => {
    const doc = (await request(gh.app).get('/api/v1/openapi.json')).body;
    const op = doc.paths['/api/v1/apps/token'].post;
    expect(op.operationId).toBe('refreshAppToken');
    expect(op.security).toEqual([{ appClient: [] }]);
    expect(doc.components.securitySchemes.appClient).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '410', '429']);
  });
});

describe('POST /api/v1/apps/token: failed app authentications are limited per IP', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await testGatehouse({ file: CONFIG, env: ENV });
  });
  afterAll(async () => {
    await gh?.close();
  });

  it('answers 429 with Retry-After after 30 failures from one address (the GET back channel counting with it), while the right secret still passes', async () => {
    const post = (auth: string) => request(gh.app).post('/api/v1/apps/token').set('Host', 'alpha.test').set('Authorization', auth).send({ sid: 'AAAAAAAAAAAAAAAAAAAAAA' });
    for (let i = 0; i < 20; i++) expect((await post(basic('app1', `wrong-${i}`))).status).toBe(401);
    for (let i = 0; i < 10; i++) {
      expect((await request(gh.app).get('/api/sessions/AAAAAAAAAAAAAAAAAAAAAA').set('Host', 'alpha.test').set('Authorization', basic('app1', `wrong-${i}`))).status).toBe(401);
    }
    const limited = await post(basic('app1', 'wrong-again'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.type).toBe('/api/v1/problems/rate_limited');
    // The right credentials still pass: only failures are counted, and a success is no failure.
    expect((await post(basic('app1', SECRET_1))).status).toBe(410);
    const get = await request(gh.app).get('/api/sessions/AAAAAAAAAAAAAAAAAAAAAA').set('Host', 'alpha.test').set('Authorization', basic('app1', 'wrong'));
    expect(get.status).toBe(429);
    expect(get.body.error).toBe('rate_limited');
  });
});

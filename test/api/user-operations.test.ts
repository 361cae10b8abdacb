import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { browser, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

/**
 * The seed's operations on one user (AuthRocket "Users", GenAuth's
 * administrator operations) through the management API, end to end: real
 * HTTP, a real SMTP server, and the user's own browser on the hosted pages.
 */
let gh: TestGatehouse;
let smtp: TestSmtp;
let api: ReturnType<typeof apiClient>;

/** alpha with typed custom attributes and a realm whose API keys are sealed (shown again). */
const FILE = {
  ...TEST_CONFIG,
  realms: [
    {
      ...TEST_CONFIG.realms[0]!,
      account: { attributes: [{ key: 'seats', type: 'number', labels: { en: 'Seats' } }] },
    },
    TEST_CONFIG.realms[1]!,
    { id: 'vault', name: 'Vault', publicUrl: 'http://vault.test', signup: { policy: 'disabled' }, fields: { apiKeys: { policy: 'encrypt', prefix: 'vlt_' } }, apps: [] },
  ],
};

beforeAll(async () => {
  smtp = await startSmtp();
  gh = await testGatehouse({ smtpUrl: smtp.url, file: FILE, tuning: { outbox: { pollMs: 50 } } });
  api = apiClient(gh, await managementKey(gh, null));
});
afterAll(async () => {
  await gh.close();
  await smtp.close();
});

async function human(email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified', ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body.user.id as string;
}

describe('management API: one user’s operations', () => {
  it('a password reset link handed to the user sets their password; mailed when asked', async () => {
    const id = await human('reset-me@example.com');
    const handed = await api.post(`/realms/alpha/users/${id}/password-token`, {});
    expect(handed.status).toBe(201);
    expect(handed.body).toMatchObject({ mailed: false });
    expect(handed.body.link).toMatch(/^http:\/\/alpha\.test\/reset-password\?token=/);
    const b = browser(gh);
    const opened = await b.get(handed.body.link.replace('http://alpha.test', ''));
    expect(opened.status).toBe(303);
    const form = await b.get(String(opened.headers.location));
    expect(form.status).toBe(200);
    expect(form.text).toContain('name="password"');
    const mailed = await api.post(`/realms/alpha/users/${id}/password-token`, { send: true });
    expect(mailed.body.mailed).toBe(true);
    const mail = await smtp.waitFor('reset-me@example.com');
    expect(mail.links.some((l) => l.startsWith('http://alpha.test/reset-password?token='))).toBe(true);
  });

  it('emailVerification "requested" sends the verification mail; a human’s name is derived and read-only', async () => {
    const id = await human('verify-me@example.com', { emailVerification: 'none', firstName: 'Vera', lastName: 'Fy' });
    const asked = await api.patch(`/realms/alpha/users/${id}`, { emailVerification: 'requested' });
    expect(asked.status).toBe(200);
    expect(asked.body.emailVerification).toBe('requested');
    expect(asked.body.name).toBe('Vera Fy');
    const mail = await smtp.waitFor('verify-me@example.com');
    expect(mail.links.length + (mail.code ? 1 : 0)).toBeGreaterThan(0);
    const named = await api.patch(`/realms/alpha/users/${id}`, { name: 'Someone Else' });
    expect(named.status).toBe(422);
    expect(named.body.errors[0]).toMatchObject({ field: 'name', code: 'read_only' });
  });

  it('credentials list the password and authenticator; deleting the authenticator lets the user in with the password alone', async () => {
    const id = await human('device@example.com');
    await gh.store.beginTotp('alpha', id, 'old-device-secret', new Date());
    await gh.store.confirmTotp('alpha', id, 1, new Date());
    const mfa = await browser(gh).submit('/login', { identifier: 'device@example.com', password: GOOD_PASSWORD });
    expect(mfa.headers.location).toBe('/login/mfa');
    const listed = await api.get(`/realms/alpha/users/${id}/credentials`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((c: { id: string }) => c.id).sort()).toEqual(['password', 'totp']);
    expect((await api.delete(`/realms/alpha/users/${id}/credentials/password`)).status).toBe(422);
    expect((await api.delete(`/realms/alpha/users/${id}/credentials/totp`)).status).toBe(204);
    expect((await api.delete(`/realms/alpha/users/${id}/credentials/totp`)).status).toBe(404);
    const plain = await browser(gh).submit('/login', { identifier: 'device@example.com', password: GOOD_PASSWORD });
    expect(plain.headers.location).toBe('/account');
    const events = await api.get(`/realms/alpha/events?userId=${id}&type=user.mfa`);
    expect(events.body.data.map((e: { type: string; actor: { type: string } }) => `${e.type} ${e.actor.type}`)).toEqual(['user.mfa.removed api_key']);
  });

  it('sessions are listed, one ends, then all end ("force offline"): each browser is signed out at once', async () => {
    const id = await human('sessions@example.com');
    const browsers = [browser(gh), browser(gh), browser(gh)];
    for (const b of browsers) expect((await b.submit('/login', { identifier: 'sessions@example.com', password: GOOD_PASSWORD })).status).toBe(303);
    const listed = await api.get(`/realms/alpha/users/${id}/sessions`);
    expect(listed.body.data).toHaveLength(3);
    const [first] = listed.body.data as Array<{ id: string }>;
    expect((await api.delete(`/realms/alpha/sessions/${first!.id}`)).status).toBe(204);
    const signedIn = await Promise.all(browsers.map(async (b) => (await b.get('/account')).status));
    expect(signedIn.filter((s) => s === 200)).toHaveLength(2);
    const all = await api.delete(`/realms/alpha/users/${id}/sessions`);
    expect(all.status).toBe(200);
    expect(all.body.ended).toBe(2);
    for (const b of browsers) expect((await b.get('/account')).status).toBe(303);
    expect((await api.get(`/realms/alpha/users/${id}/sessions`)).body.data.every((s: { endedAt: string | null }) => s.endedAt !== null)).toBe(true);
  });

  it('custom attributes: typed by the realm’s definitions, scalars or arrays of scalars, case-sensitive keys', async () => {
    const id = await human('attrs@example.com');
    const ok = await api.patch(`/realms/alpha/users/${id}`, { customAttributes: { seats: 3, Plan: 'pro', plan: 'basic', tags: ['a', 'b'] } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.customAttributes).toEqual({ seats: 3, Plan: 'pro', plan: 'basic', tags: ['a', 'b'] });
    const wrongType = await api.patch(`/realms/alpha/users/${id}`, { customAttributes: { seats: 'many' } });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors[0].field).toBe('customAttributes.seats');
    const nested = await api.patch(`/realms/alpha/users/${id}`, { customAttributes: { deep: { no: 1 } } });
    expect(nested.status).toBe(400);
    expect((await api.get(`/realms/alpha/users/${id}`)).body.customAttributes).toEqual({ seats: 3, Plan: 'pro', plan: 'basic', tags: ['a', 'b'] });
  });

  it('an inactive API user’s key fails at once, and works again when the user is active', async () => {
    const made = await api.post('/realms/alpha/users', { userType: 'api', name: 'Paused robot' });
    const check = () => api.post('/realms/alpha/users/authenticate-key', { apiKey: made.body.apiKey });
    expect((await check()).status).toBe(200);
    expect((await api.patch(`/realms/alpha/users/${made.body.user.id}`, { state: 'inactive' })).status).toBe(200);
    expect((await check()).status).toBe(401);
    expect((await api.patch(`/realms/alpha/users/${made.body.user.id}`, { state: 'active' })).status).toBe(200);
    expect((await check()).status).toBe(200);
  });

  it('under the "encrypt" policy an API key is shown again, with the realm’s prefix; under "hash" the answer is 409 saying why', async () => {
    const sealed = await api.post('/realms/vault/users', { userType: 'api', name: 'Vault robot' });
    expect(sealed.body.apiKey).toMatch(/^vlt_/);
    const shown = await api.get(`/realms/vault/users/${sealed.body.user.id}/api-key`);
    expect(shown.status).toBe(200);
    expect(shown.body.apiKey).toBe(sealed.body.apiKey);
    const rotated = await api.post(`/realms/vault/users/${sealed.body.user.id}/api-key`, {});
    expect((await api.get(`/realms/vault/users/${sealed.body.user.id}/api-key`)).body.apiKey).toBe(rotated.body.apiKey);
    const hashed = await api.post('/realms/alpha/users', { userType: 'api' });
    const refused = await api.get(`/realms/alpha/users/${hashed.body.user.id}/api-key`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('api_key.hashed');
    expect(refused.body.detail).toMatch(/hash/);
    const reveal = (await api.get(`/realms/vault/audit?targetId=${sealed.body.user.id}`)).body.data.map((e: { operation: string }) => e.operation);
    expect(reveal.filter((o: string) => o === 'user.api_key.reveal')).toHaveLength(2);
  });

  it('creates people in a realm whose sign-up is disabled (the operator is not the public), with their locale and reference', async () => {
    expect((await browser(gh, 'vault.test').get('/signup')).status).toBe(403);
    const made = await api.post('/realms/vault/users', { email: 'invited@example.com', password: GOOD_PASSWORD, emailVerification: 'verified', locale: 'zh-CN', reference: 'crm-9' });
    expect(made.status, made.text).toBe(201);
    expect(made.body.user).toMatchObject({ locale: 'zh-CN', reference: 'crm-9', state: 'active' });
    const login = await browser(gh, 'vault.test').submit('/login', { identifier: 'invited@example.com', password: GOOD_PASSWORD });
    expect(login.status).toBe(303);
  });

  it('deactivating a user ends what their app knows too: the back channel answers inactive for their session (ASVS 7.4.2)', async () => {
    const realm = await api.post('/realms', { id: 'omega', name: 'Omega', publicUrl: 'http://omega.test' });
    expect(realm.status, realm.text).toBe(201);
    const app = await api.post('/realms/omega/apps', { clientId: 'omega-app', name: 'Omega app', redirectUris: ['https://omega.example/cb'] });
    expect(app.status, app.text).toBe(201);
    const made = await api.post('/realms/omega/users', { email: 'worker@example.com', password: GOOD_PASSWORD, emailVerification: 'verified' });
    // Served within the directory's poll: retry the sign-in page until the new realm answers.
    const b = browser(gh, 'omega.test');
    let login = await b.submit('/login?redirect_uri=https%3A%2F%2Fomega.example%2Fcb', { identifier: 'worker@example.com', password: GOOD_PASSWORD });
    for (let i = 0; i < 20 && login.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      login = await b.submit('/login?redirect_uri=https%3A%2F%2Fomega.example%2Fcb', { identifier: 'worker@example.com', password: GOOD_PASSWORD });
    }
    const { sid } = JSON.parse(Buffer.from(formPostOf(login.text).token.split('.')[1]!, 'base64url').toString()) as { sid: string };
    const basic = `Basic ${Buffer.from(`omega-app:${app.body.secret}`).toString('base64')}`;
    const check = () => request(gh.app).get(`/api/sessions/${sid}`).set('Host', 'omega.test').set('Authorization', basic);
    expect((await check()).body).toMatchObject({ active: true, sid });
    expect((await api.patch(`/realms/omega/users/${made.body.user.id}`, { state: 'inactive' })).status).toBe(200);
    expect((await check()).body).toEqual({ active: false });
  });

  it('usernames follow the realm: emails as usernames in alpha; in beta separate, unique whatever their case', async () => {
    const mismatch = await api.post('/realms/alpha/users', { email: 'same@example.com', username: 'other@example.com' });
    expect(mismatch.status).toBe(422);
    const made = await api.post('/realms/beta/users', { username: 'MixedCase', email: 'mixed@example.com' });
    expect(made.status, made.text).toBe(201);
    expect(made.body.user.username).toBe('MixedCase');
    const taken = await api.post('/realms/beta/users', { username: 'MIXEDCASE' });
    expect(taken.status).toBe(409);
  });
});

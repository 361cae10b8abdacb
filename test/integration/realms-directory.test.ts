/**
 * Realms and apps of the directory (issue 12): the realms service's rules — the same as the configuration
 * file's at start — and what a realm and app created through it serve over real HTTP, across a restart.
 * The management API maps the service's errors to problem+json (NotFoundError 404, ConflictError 409,
 * RuleViolation 422); these tests call the service the API calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, RuleViolation } from '../../src/domain/errors.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/** The error `promise` rejects with (the test fails when it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string; sub: string; rid: string; aud: string };

describe('the realms service', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await testGatehouse();
  });
  afterAll(() => gh?.close());

  describe('provisioned realms and apps (source "file")', () => {
    it('refuses every write to a file realm with a conflict naming the configuration file', async () => {
      const writes = [
        gh.realmsService.updateRealm('beta', { name: 'Changed' }, CLI_CONTEXT),
        gh.realmsService.deleteRealm('beta', { force: true }, CLI_CONTEXT),
        gh.realmsService.createApp('beta', { clientId: 'new', name: 'New', redirectUris: ['https://new.example/cb'] }, CLI_CONTEXT),
        gh.realmsService.updateApp('alpha', 'app1', { name: 'Changed' }, {}, CLI_CONTEXT),
        gh.realmsService.updateApp('alpha', 'app1', {}, { rotateSecret: true }, CLI_CONTEXT),
        gh.realmsService.deleteApp('alpha', 'app1', CLI_CONTEXT),
      ];
      for (const write of writes) {
        const err = await errorOf(write);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).reason).toBe('provisioned');
        expect((err as ConflictError).details.file).toBe(gh.config.configPath);
        expect(err.message).toContain(gh.config.configPath);
      }
      expect((await gh.realmsService.getRealm('beta')).settings.name).toBe('Beta');
    });

    it('lists the file realms and their apps with their source', async () => {
      const { data, next } = await gh.realmsService.listRealms();
      expect(data.filter((r) => ['alpha', 'beta'].includes(r.id)).map((r) => [r.id, r.source])).toEqual([
        ['alpha', 'file'],
        ['beta', 'file'],
      ]);
      expect(next).toBeNull();
      const apps = await gh.realmsService.listApps('alpha');
      expect(apps.data.map((a) => [a.clientId, a.source, a.hasSecret])).toEqual([
        ['app1', 'file', false],
        ['legacy', 'file', false],
        ['spa', 'file', false],
      ]);
    });

    it('refuses to delete the default realm', async () => {
      const err = await errorOf(gh.realmsService.deleteRealm('alpha', { force: true }, CLI_CONTEXT));
      expect(err).toMatchObject({ reason: 'default_realm' });
    });

    it('answers NotFoundError for an unknown realm or app', async () => {
      expect(await errorOf(gh.realmsService.getRealm('nobody'))).toBeInstanceOf(NotFoundError);
      expect(await errorOf(gh.realmsService.getApp('alpha', 'nobody'))).toMatchObject({ resource: 'app', id: 'nobody' });
      expect(await errorOf(gh.realmsService.updateRealm('nobody', {}, CLI_CONTEXT))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('rules of a write, as at start', () => {
    it('refuses a taken realm id, and a host another realm serves', async () => {
      expect(await errorOf(gh.realmsService.createRealm({ id: 'alpha', name: 'A', publicUrl: 'https://a2.example' }, CLI_CONTEXT))).toMatchObject({ reason: 'realm_exists' });
      const byHost = await errorOf(gh.realmsService.createRealm({ id: 'clash', name: 'C', publicUrl: 'https://clash.example', hosts: ['login.beta.example'] }, CLI_CONTEXT));
      expect(byHost).toBeInstanceOf(ConflictError);
      expect(byHost).toMatchObject({ reason: 'host_taken', details: { field: 'hosts' } });
      expect(byHost.message).toBe('host "login.beta.example" is already served by realm "beta"');
      expect(await errorOf(gh.realmsService.createRealm({ id: 'clash', name: 'C', publicUrl: 'http://alpha.test' }, CLI_CONTEXT))).toMatchObject({ reason: 'host_taken' });
      await gh.realmsService.createRealm({ id: 'clash', name: 'C', publicUrl: 'https://clash.example' }, CLI_CONTEXT);
      expect(await errorOf(gh.realmsService.updateRealm('clash', { hosts: ['beta.test'] }, CLI_CONTEXT))).toMatchObject({ reason: 'host_taken' });
    });

    it('refuses bad settings with a RuleViolation naming each field', async () => {
      const err = await errorOf(
        gh.realmsService.createRealm({ id: 'Bad Id', name: 'Bad', publicUrl: 'https://bad.example/path', tokens: { ttlSeconds: 5 }, branding: { primaryColor: 'red' }, bogus: 1 }, CLI_CONTEXT),
      );
      expect(err).toBeInstanceOf(RuleViolation);
      const fields = (err as RuleViolation).issues.map((i) => i.field);
      expect(fields).toEqual(expect.arrayContaining(['id', 'publicUrl', 'tokens.ttlSeconds', 'branding.primaryColor', 'bogus']));
      for (const issue of (err as RuleViolation).issues) expect(issue.code).toEqual(expect.any(String));
      // Apps have their own endpoints.
      const withApps = await errorOf(gh.realmsService.createRealm({ id: 'withapps', name: 'W', publicUrl: 'https://w.example', apps: [] }, CLI_CONTEXT));
      expect((withApps as RuleViolation).issues).toEqual([{ field: 'apps', code: 'unrecognized_keys', message: 'unknown key "apps"' }]);
    });

    it('applies the file’s cross-field rules to a PATCH', async () => {
      await gh.realmsService.createRealm({ id: 'rules', name: 'Rules', publicUrl: 'https://rules.example' }, CLI_CONTEXT);
      const err = await errorOf(gh.realmsService.updateRealm('rules', { fields: { emails: 'duplicates' }, account: { usernameEditable: true } }, CLI_CONTEXT));
      expect((err as RuleViolation).issues).toEqual([
        expect.objectContaining({ field: 'fields.emails', code: 'needs_separate_usernames' }),
        expect.objectContaining({ field: 'account.usernameEditable', code: 'needs_separate_usernames' }),
      ]);
      expect(await errorOf(gh.realmsService.updateRealm('rules', { id: 'renamed' }, CLI_CONTEXT))).toMatchObject({ issues: [{ field: 'id', code: 'immutable' }] });
      expect(await errorOf(gh.realmsService.updateRealm('rules', { social: { only: true } }, CLI_CONTEXT))).toMatchObject({ issues: [{ field: 'social.only', code: 'needs_provider' }] });
    });

    it('lets duplicate emails in, then refuses going back to unique, as start-up does', async () => {
      await gh.realmsService.createRealm({ id: 'oneway', name: 'One way', publicUrl: 'https://oneway.example', fields: { usernames: 'separate' } }, CLI_CONTEXT);
      const { before, after } = await gh.realmsService.updateRealm('oneway', { fields: { emails: 'duplicates' } }, CLI_CONTEXT);
      expect(before!.settings.fields).toEqual({ usernames: 'separate', emails: 'unique', lowercaseUsernames: false, apiKeys: { policy: 'hash' } });
      expect(after!.settings.fields).toEqual({ usernames: 'separate', emails: 'duplicates', lowercaseUsernames: false, apiKeys: { policy: 'hash' } });
      expect(await gh.store.getRealmState('oneway', 'fields.emails')).toBe('duplicates');
      const back = await errorOf(gh.realmsService.updateRealm('oneway', { fields: { emails: 'unique' } }, CLI_CONTEXT));
      expect(back).toBeInstanceOf(RuleViolation);
      expect((back as RuleViolation).issues).toEqual([
        {
          field: 'fields.emails',
          code: 'one_way',
          message: 'realm "oneway" has allowed duplicate email addresses; it cannot go back to "unique" (accounts may already share an address). Keep "duplicates".',
        },
      ]);
    });

    it('merges a PATCH into the settings (null removes an optional key) and returns before and after', async () => {
      await gh.realmsService.createRealm({ id: 'merge', name: 'Merge', publicUrl: 'https://merge.example', branding: { logoUrl: 'https://merge.example/logo.png' } }, CLI_CONTEXT);
      const { before, after } = await gh.realmsService.updateRealm('merge', { branding: { logoUrl: null, primaryColor: '#112233' }, tokens: { ttlSeconds: 300 } }, CLI_CONTEXT);
      expect(before!.settings.branding).toEqual({ logoUrl: 'https://merge.example/logo.png', primaryColor: '#4f46e5' });
      expect(after!.settings.branding).toEqual({ primaryColor: '#112233' });
      expect(after!.settings.tokens).toEqual({ ttlSeconds: 300, algorithm: 'ES256', fields: ['custom'], maxOrgs: 50 });
      expect(after!.source).toBe('api');
    });

    it('refuses an app with secretEnv (API apps get a generated secret)', async () => {
      await gh.realmsService.createRealm({ id: 'appsrules', name: 'Apps', publicUrl: 'https://apps.example' }, CLI_CONTEXT);
      const err = await errorOf(gh.realmsService.createApp('appsrules', { clientId: 'x', name: 'X', redirectUris: ['https://x.example/cb'], secretEnv: 'X_SECRET' }, CLI_CONTEXT));
      expect(err).toMatchObject({ issues: [{ field: 'secretEnv', code: 'unsupported' }] });
      await gh.realmsService.createApp('appsrules', { clientId: 'x', name: 'X', redirectUris: ['https://x.example/cb'] }, CLI_CONTEXT);
      expect(await errorOf(gh.realmsService.createApp('appsrules', { clientId: 'x', name: 'X', redirectUris: ['https://x.example/cb'] }, CLI_CONTEXT))).toMatchObject({ reason: 'app_exists' });
      expect(await errorOf(gh.realmsService.updateApp('appsrules', 'x', { redirectUris: ['http://evil.example/cb'] }, {}, CLI_CONTEXT))).toMatchObject({ issues: [{ field: 'redirectUris[0]' }] });
    });
  });

  describe('the audit log', () => {
    const ctx = { actor: { type: 'operator' as const, id: 'op-7' }, requestId: 'req-realms-1', ip: '192.0.2.7', userAgent: 'test' };
    const entriesOf = async (realmId: string) => (await gh.management!.audit.query({ realmId, limit: 100 })).reverse();

    it('has an entry for each realm and app write, by the caller, with before and after and no secret', async () => {
      await gh.realmsService.createRealm({ id: 'audited', name: 'Audited', publicUrl: 'https://audited.example' }, ctx);
      await gh.realmsService.updateRealm('audited', { name: 'Audited twice' }, ctx);
      const { secret } = await gh.realmsService.createApp('audited', { clientId: 'aud', name: 'Aud', redirectUris: ['https://aud.example/cb'] }, ctx);
      const rotated = await gh.realmsService.updateApp('audited', 'aud', { name: 'Aud 2' }, { rotateSecret: true }, ctx);
      await gh.realmsService.updateApp('audited', 'aud', { name: 'Aud 3' }, {}, ctx);
      await gh.realmsService.deleteApp('audited', 'aud', ctx);

      const entries = await entriesOf('audited');
      expect(entries.map((e) => [e.operation, e.target.type, e.target.id])).toEqual([
        ['realm.create', 'realm', 'audited'],
        ['realm.update', 'realm', 'audited'],
        ['app.create', 'app', 'aud'],
        ['app.update', 'app', 'aud'],
        ['app.update', 'app', 'aud'],
        ['app.delete', 'app', 'aud'],
      ]);
      for (const e of entries) expect(e).toMatchObject({ realmId: 'audited', actor: { type: 'operator', id: 'op-7' }, requestId: 'req-realms-1', ip: '192.0.2.7' });
      const [created, updated, appCreated, appRotated, appUpdated, appDeleted] = entries;
      expect(created!.before).toBeNull();
      expect(created!.after).toMatchObject({ id: 'audited', settings: { name: 'Audited' } });
      expect(updated!.before).toMatchObject({ settings: { name: 'Audited' } });
      expect(updated!.after).toMatchObject({ settings: { name: 'Audited twice' } });
      expect(appCreated!.after).toMatchObject({ clientId: 'aud', settings: { name: 'Aud' } });
      expect(appRotated!.before).toMatchObject({ settings: { name: 'Aud' } });
      // Whether the secret was rotated reads as a plain boolean: the audit's secret redaction must not hide it.
      expect(appRotated!.after).toMatchObject({ settings: { name: 'Aud 2' }, credentialRotated: true });
      expect(appUpdated!.after).toMatchObject({ settings: { name: 'Aud 3' }, credentialRotated: false });
      expect(appDeleted!.before).toMatchObject({ clientId: 'aud' });
      expect(appDeleted!.after).toBeNull();
      const text = JSON.stringify(entries);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(rotated.secret!);

      // Deleting a realm deletes its data, its audit entries too: the delete's own entry is written after.
      await gh.realmsService.deleteRealm('audited', {}, ctx);
      const [deleted, ...rest] = await entriesOf('audited');
      expect(rest).toEqual([]);
      expect(deleted).toMatchObject({ operation: 'realm.delete', target: { type: 'realm', id: 'audited' }, actor: { id: 'op-7' }, before: { id: 'audited' }, after: null });
    });

    it('has none for a refused write', async () => {
      await errorOf(gh.realmsService.updateRealm('beta', { name: 'Changed' }, ctx));
      await errorOf(gh.realmsService.createApp('beta', { clientId: 'new', name: 'New', redirectUris: ['https://new.example/cb'] }, ctx));
      expect(await entriesOf('beta')).toEqual([]);
    });

    it('names the configuration file that provisions the read-only realms', async () => {
      expect(gh.realmsService.configPath).toBe(gh.config.configPath);
      expect(await errorOf(gh.realmsService.deleteApp('alpha', 'app1', ctx))).toMatchObject({ reason: 'provisioned', details: { file: gh.realmsService.configPath } });
    });
  });

  describe('deleting a realm', () => {
    it('refuses while it has users, then with force deletes it and all its data', async () => {
      await gh.realmsService.createRealm({ id: 'doomed', name: 'Doomed', publicUrl: 'http://doomed.test' }, CLI_CONTEXT);
      await gh.realmsService.createApp('doomed', { clientId: 'app', name: 'App', redirectUris: ['https://doomed-app.example/cb'] }, CLI_CONTEXT);
      const signup = await browser(gh, 'doomed.test').submit('/signup', { email: uniqueEmail('doomed'), password: GOOD_PASSWORD });
      expect(signup.status).toBe(303);
      expect(await gh.store.countUsers('doomed')).toBe(1);

      expect(await errorOf(gh.realmsService.deleteRealm('doomed', {}, CLI_CONTEXT))).toMatchObject({ reason: 'realm_has_users' });
      const { before, after } = await gh.realmsService.deleteRealm('doomed', { force: true }, CLI_CONTEXT);
      expect(before!.id).toBe('doomed');
      expect(after).toBeNull();
      expect(await gh.store.countUsers('doomed')).toBe(0);
      expect(await errorOf(gh.realmsService.listApps('doomed'))).toBeInstanceOf(NotFoundError);
      // Its host now falls to the default realm.
      const page = await request(gh.app).get('/login').set('Host', 'doomed.test');
      expect(page.text).toContain('Alpha');
      expect(page.text).not.toContain('Doomed');
    });
  });
});

describe('a realm and app created through the service', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-directory-'));
  const dataDir = path.join(dir, 'data');
  const REDIRECT = 'https://delta-app.example/cb';
  let gh: TestGatehouse;
  let secret: string;
  afterAll(async () => {
    await gh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve /login?redirect_uri=… on the realm’s host at once, and sign tokens with the realm’s key', async () => {
    gh = await testGatehouse({ dataDir });
    const realm = await gh.realmsService.createRealm({ id: 'delta', name: 'Delta Realm', publicUrl: 'http://delta.test', tokens: { algorithm: 'RS256' }, emailVerification: { policy: 'off' } }, CLI_CONTEXT);
    expect(realm.after).toMatchObject({ id: 'delta', source: 'api', retired: false });
    const created = await gh.realmsService.createApp('delta', { clientId: 'delta-app', name: 'Delta App', redirectUris: [REDIRECT] }, CLI_CONTEXT);
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.after).toMatchObject({ clientId: 'delta-app', source: 'api', hasSecret: true });
    expect(JSON.stringify(created.after)).not.toContain(created.secret);
    secret = created.secret;

    const page = await request(gh.app).get(`/login?redirect_uri=${encodeURIComponent(REDIRECT)}`).set('Host', 'delta.test');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Delta Realm');
    // The app is unknown on another realm's host.
    expect((await request(gh.app).get(`/login?redirect_uri=${encodeURIComponent(REDIRECT)}`).set('Host', 'alpha.test')).status).toBe(400);

    const b = browser(gh, 'delta.test');
    const signup = await b.submit(`/signup?redirect_uri=${encodeURIComponent(REDIRECT)}`, { email: uniqueEmail('delta'), password: GOOD_PASSWORD });
    const { action, token } = formPostOf(signup.text);
    expect(action).toBe(REDIRECT);
    expect(claimsOf(token)).toMatchObject({ rid: 'delta', aud: 'delta-app' });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256');
  });

  it('lets the API app call the back channel with its generated secret, and only with it', async () => {
    const b = browser(gh, 'delta.test');
    const login = await b.submit(`/signup?redirect_uri=${encodeURIComponent(REDIRECT)}`, { email: uniqueEmail('delta'), password: GOOD_PASSWORD });
    const { sid } = claimsOf(formPostOf(login.text).token);
    const api = (auth: string) => request(gh.app).get(`/api/sessions/${sid}`).set('Host', 'delta.test').set('Authorization', auth);
    const ok = await api(basic('delta-app', secret));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ active: true, sid });
    expect((await api(basic('delta-app', `${secret}x`))).status).toBe(401);
    // On another realm's host the app does not exist.
    expect((await request(gh.app).get(`/api/sessions/${sid}`).set('Host', 'alpha.test').set('Authorization', basic('delta-app', secret))).status).toBe(401);

    const rotated = await gh.realmsService.updateApp('delta', 'delta-app', {}, { rotateSecret: true }, CLI_CONTEXT);
    expect(rotated.secret).toBeDefined();
    expect(rotated.secret).not.toBe(secret);
    expect((await api(basic('delta-app', secret))).status).toBe(401);
    expect((await api(basic('delta-app', rotated.secret!))).status).toBe(200);
    secret = rotated.secret!;
  });

  it('survive a restart on the same data', async () => {
    await gh.close();
    gh = await testGatehouse({ dataDir });
    expect(gh.realms.byIdOrNull('delta')).toMatchObject({ name: 'Delta Realm', apps: [expect.objectContaining({ clientId: 'delta-app' })] });
    const page = await request(gh.app).get(`/login?redirect_uri=${encodeURIComponent(REDIRECT)}`).set('Host', 'delta.test');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Delta Realm');
    const probe = await request(gh.app).get('/api/sessions/AAAAAAAAAAAAAAAAAAAAAA').set('Host', 'delta.test').set('Authorization', basic('delta-app', secret));
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ active: false });
    // Still editable after the restart.
    await gh.realmsService.updateRealm('delta', { name: 'Delta Renamed' }, CLI_CONTEXT);
    expect((await request(gh.app).get('/login').set('Host', 'delta.test')).text).toContain('Delta Renamed');
  });
});

describe('provisioning at start', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-provision-'));
  const dataDir = path.join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fileWith = (...realms: Record<string, unknown>[]) => ({ defaultRealm: 'main', realms: [{ id: 'main', name: 'Main', publicUrl: 'http://main.test' }, ...realms] });
  const side = { id: 'side', name: 'Side Realm', publicUrl: 'http://side.test', emailVerification: { policy: 'off' } };

  it('retires a file realm the file drops (not served, users kept) and serves it again when it comes back', async () => {
    let gh = await testGatehouse({ dataDir, file: fileWith(side) });
    expect((await browser(gh, 'side.test').submit('/signup', { email: uniqueEmail('side'), password: GOOD_PASSWORD })).status).toBe(303);
    await gh.close();

    gh = await testGatehouse({ dataDir, file: fileWith() });
    try {
      expect(gh.realms.byIdOrNull('side')).toBeNull();
      expect((await request(gh.app).get('/login').set('Host', 'side.test')).text).toContain('Main');
      expect(await gh.realmsService.getRealm('side')).toMatchObject({ source: 'file', retired: true });
      expect(await gh.store.countUsers('side')).toBe(1);
      // Its id stays reserved; it stays read-only, except for deletion.
      expect(await errorOf(gh.realmsService.createRealm({ id: 'side', name: 'Other', publicUrl: 'http://other.test' }, CLI_CONTEXT))).toMatchObject({ reason: 'realm_exists' });
      expect(await errorOf(gh.realmsService.updateRealm('side', { name: 'X' }, CLI_CONTEXT))).toMatchObject({ reason: 'provisioned' });
    } finally {
      await gh.close();
    }

    gh = await testGatehouse({ dataDir, file: fileWith(side) });
    try {
      expect((await request(gh.app).get('/login').set('Host', 'side.test')).text).toContain('Side Realm');
      expect(await gh.store.countUsers('side')).toBe(1);
    } finally {
      await gh.close();
    }
  });

  it('stops the start with one line when the file declares a realm id created through the API', async () => {
    const gh = await testGatehouse({ dataDir, file: fileWith() });
    await gh.realmsService.createRealm({ id: 'mine', name: 'Mine', publicUrl: 'http://mine.test' }, CLI_CONTEXT);
    await gh.close();
    const err = await errorOf(testGatehouse({ dataDir, file: fileWith({ id: 'mine', name: 'Mine', publicUrl: 'http://mine2.test' }) }));
    expect(err.name).toBe('StartupError');
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/gatehouse\.config\.json declares realm "mine", but a realm with that id was created through the management API/);
  });

  it('stops the start when the file declares a host an API realm serves', async () => {
    const err = await errorOf(testGatehouse({ dataDir, file: fileWith({ id: 'thief', name: 'Thief', publicUrl: 'http://mine.test' }) }));
    expect(err.name).toBe('StartupError');
    expect(err.message).toMatch(/declares host "mine\.test", but realm "mine" \(created through the management API\) serves it/);
  });
});

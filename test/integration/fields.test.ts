/**
 * The realm's field settings (issue 3, AuthRocket "Settings: Fields"):
 * emails as usernames or separate usernames, unique or duplicate emails (one
 * way only), lower-case usernames.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseFileConfig } from '../../src/config/index.ts';
import { StartupError } from '../../src/main.ts';
import { browser, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

const APP = 'https://app.example.com/cb';
const ROOMY = {
  signupPerIp: { points: 100_000, durationSeconds: 60 },
  recoveryPerIp: { points: 100_000, durationSeconds: 60 },
};

/** A realm on `<id>.test` with one form_post app. */
function realm(id: string, fields: Record<string, unknown>) {
  return {
    id,
    name: id[0]!.toUpperCase() + id.slice(1),
    publicUrl: `http://${id}.test`,
    rateLimits: ROOMY,
    fields,
    apps: [{ clientId: 'app1', name: 'App', redirectUris: [APP] }],
  };
}

const FIELDS_CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    ...TEST_CONFIG.realms,
    realm('gamma', { usernames: 'separate', lowercaseUsernames: true }),
    realm('delta', { usernames: 'separate', emails: 'duplicates' }),
  ],
};

const uniqueName = (prefix = 'u') => `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
const withApp = (path: string) => `${path}?${new URLSearchParams({ redirect_uri: APP, state: 'f-1' })}`;

describe('realm field settings', () => {
  let gh: TestGatehouse;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({ smtpUrl: smtp.url, file: FIELDS_CONFIG });
  });
  afterAll(async () => {
    await gh?.close();
    await smtp?.close();
  });

  async function claimsOf(html: string, host: string): Promise<JWTPayload> {
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200)).body as JSONWebKeySet;
    const { payload } = await jwtVerify(formPostOf(html).token, createLocalJWKSet(jwks), { issuer: `http://${host}`, audience: 'app1' });
    return payload;
  }

  /** Signs up at `host` for the app and returns the JWT's claims. */
  async function signUp(host: string, form: Record<string, string>): Promise<JWTPayload> {
    const res = await browser(gh, host).submit(withApp('/signup'), { password: GOOD_PASSWORD, ...form });
    expect(res.status, res.text).toBe(200);
    return claimsOf(res.text, host);
  }

  /** Logs in at `host` for the app: the JWT's claims, or the refusal. */
  async function logIn(host: string, identifier: string, password = GOOD_PASSWORD) {
    const res = await browser(gh, host).submit(withApp('/login'), { identifier, password });
    return { res, claims: res.status === 200 ? await claimsOf(res.text, host) : null };
  }

  describe('emails as usernames (alpha)', () => {
    it('makes the username the email, ignoring a posted username, and logs in by email', async () => {
      const page = await browser(gh, 'alpha.test').get('/signup');
      expect(page.text).not.toContain('name="username"');
      const email = uniqueEmail('asname');
      const claims = await signUp('alpha.test', { email, username: 'someone_else' });
      expect(claims.preferred_username).toBe(email);
      expect(claims.email).toBe(email);
      const user = (await gh.store.findUserByLogin('alpha', email))!.user;
      expect(user.username).toBe(email);
      expect((await gh.store.findUserByLogin('alpha', 'someone_else'))).toBeNull();

      const { res, claims: again } = await logIn('alpha.test', email);
      expect(res.status).toBe(200);
      expect(again!.sub).toBe(claims.sub);
    });

    it('refuses an email (the username here) that is not an email address', async () => {
      const res = await browser(gh, 'alpha.test').submit('/signup', { email: 'not-an-email', password: GOOD_PASSWORD });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Enter a valid email address');
    });

    it('treats emails as unique case-insensitively but stores the address as typed', async () => {
      const local = uniqueEmail('Casey').replace('@example.com', '');
      const typed = `${local.replace('casey', 'Casey.X')}@Example.COM`;
      const claims = await signUp('alpha.test', { email: typed });
      expect(claims.email).toBe(typed);
      expect((await gh.store.findUserByLogin('alpha', typed.toLowerCase()))!.user.email).toBe(typed);

      const again = await browser(gh, 'alpha.test').submit('/signup', { email: typed.toLowerCase(), password: GOOD_PASSWORD });
      expect(again.status).toBe(409);
      expect(again.text).toContain('An account with this email already exists');
      expect((await logIn('alpha.test', typed.toUpperCase())).res.status).toBe(200);
    });
  });

  describe('separate usernames (beta)', () => {
    it('requires a username and logs in by username or email', async () => {
      const email = uniqueEmail('sep');
      const username = uniqueName('Sep');
      const missing = await browser(gh, 'beta.test').submit('/signup', { email, password: GOOD_PASSWORD });
      expect(missing.status).toBe(400);
      expect(missing.text).toContain('name="username"');

      const res = await browser(gh, 'beta.test').submit('/signup', { email, username, password: GOOD_PASSWORD });
      expect(res.status).toBe(303);
      const user = (await gh.store.findUserByLogin('beta', username))!.user;
      expect(user.username).toBe(username);
      expect(user.email).toBe(email);

      const byName = await browser(gh, 'beta.test').submit('/login', { identifier: username, password: GOOD_PASSWORD });
      const byEmail = await browser(gh, 'beta.test').submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(byName.status).toBe(303);
      expect(byEmail.status).toBe(303);
    });

    it('keeps the case of a username without lowercaseUsernames, and keeps usernames unique case-insensitively', async () => {
      const username = uniqueName('MiXeD');
      const res = await browser(gh, 'beta.test').submit('/signup', { email: uniqueEmail(), username, password: GOOD_PASSWORD });
      expect(res.status).toBe(303);
      expect((await gh.store.findUserByLogin('beta', username.toLowerCase()))!.user.username).toBe(username);
      expect((await browser(gh, 'beta.test').submit('/login', { identifier: username.toUpperCase(), password: GOOD_PASSWORD })).status).toBe(303);

      const taken = await browser(gh, 'beta.test').submit('/signup', { email: uniqueEmail(), username: username.toLowerCase(), password: GOOD_PASSWORD });
      expect(taken.status).toBe(409);
      expect(taken.text).toContain('This username is taken');
    });

    it('keeps emails unique case-insensitively with separate usernames too', async () => {
      const email = uniqueEmail('sepuniq');
      expect((await browser(gh, 'beta.test').submit('/signup', { email, username: uniqueName(), password: GOOD_PASSWORD })).status).toBe(303);
      const again = await browser(gh, 'beta.test').submit('/signup', { email: email.toUpperCase(), username: uniqueName(), password: GOOD_PASSWORD });
      expect(again.status).toBe(409);
      expect(again.text).toContain('An account with this email already exists');
    });
  });

  describe('lower-case usernames (gamma)', () => {
    it('folds the username at signup and accepts any case at login', async () => {
      const typed = uniqueName('MiXeD_Name');
      const claims = await signUp('gamma.test', { email: uniqueEmail(), username: typed });
      expect(claims.preferred_username).toBe(typed.toLowerCase());
      expect(claims.preferred_username).not.toBe(typed);
      expect((await gh.store.findUserByLogin('gamma', typed))!.user.username).toBe(typed.toLowerCase());

      for (const identifier of [typed, typed.toLowerCase(), typed.toUpperCase()]) {
        const { res, claims: again } = await logIn('gamma.test', identifier);
        expect(res.status, identifier).toBe(200);
        expect(again!.sub).toBe(claims.sub);
        expect(again!.preferred_username).toBe(typed.toLowerCase());
      }
    });

    it('refuses a username that differs only in case', async () => {
      const typed = uniqueName('Folded');
      await signUp('gamma.test', { email: uniqueEmail(), username: typed });
      const res = await browser(gh, 'gamma.test').submit('/signup', { email: uniqueEmail(), username: typed.toUpperCase(), password: GOOD_PASSWORD });
      expect(res.status).toBe(409);
      expect(res.text).toContain('This username is taken');
    });
  });

  describe('duplicate emails (delta)', () => {
    const shared = uniqueEmail('shared');
    const first = uniqueName('first');
    const second = uniqueName('second');
    let firstSub: unknown;
    let secondSub: unknown;

    beforeAll(async () => {
      firstSub = (await signUp('delta.test', { email: shared, username: first })).sub;
      // The same address in another case is the same address.
      secondSub = (await signUp('delta.test', { email: shared.toUpperCase(), username: second })).sub;
    });

    it('lets two accounts share an email address', async () => {
      expect(secondSub).not.toBe(firstSub);
      const sharing = await gh.store.findUsersByEmail('delta', shared);
      expect(sharing.map((u) => u.user.username).sort()).toEqual([first, second].sort());
      expect(sharing.map((u) => u.user.email).sort()).toEqual([shared, shared.toUpperCase()].sort());
    });

    it('asks for the username when a login email matches several accounts', async () => {
      const { res } = await logIn('delta.test', shared);
      expect(res.status).toBe(400);
      expect(res.text).toContain('Several accounts use this email address. Sign in with your username instead.');
      expect(res.text).toContain('name="identifier"');
      // Even with a wrong password: the page says nothing about the password.
      expect((await logIn('delta.test', shared, 'wrong-password-123')).res.status).toBe(400);
    });

    it('logs each account in by its username', async () => {
      const a = await logIn('delta.test', first);
      const b = await logIn('delta.test', second.toUpperCase());
      expect(a.claims!.sub).toBe(firstSub);
      expect(b.claims!.sub).toBe(secondSub);
      expect(a.claims!.preferred_username).toBe(first);
    });

    it('logs in by an email only one account uses', async () => {
      const email = uniqueEmail('single');
      const username = uniqueName('single');
      const claims = await signUp('delta.test', { email, username });
      const { res, claims: again } = await logIn('delta.test', email);
      expect(res.status).toBe(200);
      expect(again!.sub).toBe(claims.sub);
    });

    it('mails a reset to every account behind a shared email, each naming its username', async () => {
      const asked = await browser(gh, 'delta.test').submit('/forgot', { identifier: shared });
      expect(asked.status).toBe(200);
      const matching = () => smtp.to(shared).filter((m) => /^Reset your/.test(m.subject));
      await smtp.waitFor(shared, () => matching().length >= 2);
      const mails = matching();
      expect(mails).toHaveLength(2);
      expect(mails.some((m) => m.text.includes(first))).toBe(true);
      expect(mails.some((m) => m.text.includes(second))).toBe(true);
      const links = mails.map((m) => m.links.find((l) => l.includes('/reset-password?token='))!);
      expect(new Set(links).size).toBe(2);
      expect(links.every((l) => l.startsWith('http://delta.test/'))).toBe(true);
      // Each mail goes to the address as that account stored it: the local part keeps its case (nodemailer lower-cases the domain).
      const localParts = (addresses: string[]) => addresses.map((a) => a.split('@')[0]).sort();
      expect(localParts(mails.map((m) => m.envelopeTo[0]!))).toEqual(localParts([shared, shared.toUpperCase()]));
      expect(localParts(mails.map((m) => m.to))).toEqual(localParts([shared, shared.toUpperCase()]));
    });
  });
});

describe('the one-way duplicate emails rule', () => {
  const config = (emails: 'unique' | 'duplicates') => ({
    defaultRealm: 'delta',
    realms: [realm('delta', { usernames: 'separate', emails })],
  });
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-fields-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to start with unique emails once the realm has allowed duplicates', async () => {
    // Unique first: nothing is recorded, so it may later allow duplicates.
    await (await testGatehouse({ dataDir, file: config('unique') })).close();
    await (await testGatehouse({ dataDir, file: config('duplicates') })).close();

    const refused = testGatehouse({ dataDir, file: config('unique') });
    await expect(refused).rejects.toBeInstanceOf(StartupError);
    await expect(refused).rejects.toThrow(/realms\[0\]\.fields\.emails/);
    await expect(refused).rejects.toThrow(/cannot go back/);

    // Keeping duplicates still starts, on the same data.
    const again = await testGatehouse({ dataDir, file: config('duplicates') });
    expect(again.config.realms[0]!.fields.emails).toBe('duplicates');
    await again.close();
  });

  it('is kept per realm: another data folder may still use unique emails', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'gatehouse-fields-'));
    try {
      const gh = await testGatehouse({ dataDir: other, file: config('unique') });
      await gh.close();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses duplicate emails with emails as usernames, naming the path', () => {
    const bad = { defaultRealm: 'delta', realms: [realm('delta', { usernames: 'email', emails: 'duplicates' })] };
    expect(() => parseFileConfig(bad, 'fields.json')).toThrow(ConfigError);
    expect(() => parseFileConfig(bad, 'fields.json')).toThrow(/fields\.json/);
    expect(() => parseFileConfig(bad, 'fields.json')).toThrow(/realms\[0\]\.fields\.emails: duplicate emails need separate usernames/);
    // The default for usernames is "email": leaving it out is the same mistake.
    expect(() => parseFileConfig({ defaultRealm: 'delta', realms: [realm('delta', { emails: 'duplicates' })] })).toThrow(/realms\[0\]\.fields\.emails/);
    expect(parseFileConfig(config('duplicates')).realms[0]!.fields).toEqual({ usernames: 'separate', emails: 'duplicates', lowercaseUsernames: false, apiKeys: { policy: 'hash' } });
  });

  it('makes the server process exit 1 with one clear line when it cannot go back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-fields-proc-'));
    try {
      const procData = path.join(dir, 'data');
      await (await testGatehouse({ dataDir: procData, file: config('duplicates') })).close();
      const configPath = path.join(dir, 'unique.json');
      writeFileSync(configPath, JSON.stringify(config('unique')));
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { ...process.env, NODE_ENV: 'test', GATEHOUSE_CONFIG: configPath, DATA_DIR: procData, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1' },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^Gatehouse cannot start: Invalid configuration:\n {2}realms\[0\]\.fields\.emails: .*cannot go back/);
      expect(run.stderr).not.toMatch(/\bat .+\(.+:\d+:\d+\)/); // no stack trace
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseFileConfig } from '../../src/config/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'gatehouse-config-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A minimal valid file config; `mutate` edits a fresh copy. */
function fileConfig(mutate: (c: any) => void = () => {}): any {
  const config = {
    defaultRealm: 'alpha',
    realms: [
      {
        id: 'alpha',
        name: 'Alpha',
        publicUrl: 'https://login.alpha.example',
        apps: [{ clientId: 'app1', name: 'App One', redirectUris: ['https://app.example.com/cb'] }],
      },
    ],
  };
  mutate(config);
  return config;
}

/** The ConfigError message `fn` throws. */
function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

function writeTmp(name: string, content: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, content);
  return file;
}

describe('parseFileConfig', () => {
  it('accepts the shipped gatehouse.config.json', () => {
    const raw = JSON.parse(readFileSync(path.join(ROOT, 'gatehouse.config.json'), 'utf8')) as unknown;
    const parsed = parseFileConfig(raw);
    expect(parsed.realms.some((r) => r.id === parsed.defaultRealm)).toBe(true);
    expect(parsed.realms[0]!.apps.length).toBeGreaterThan(0);
  });

  it('fills in every default', () => {
    const realm = parseFileConfig(fileConfig()).realms[0]!;
    expect(realm.fields.usernames).toBe('email');
    expect(realm.signup.policy).toBe('open');
    expect(realm.password).toEqual({ minLength: 8, maxLength: 256, rejectCommon: true });
    expect(realm.tokens).toEqual({ ttlSeconds: 600, algorithm: 'ES256', fields: ['custom'], maxOrgs: 50 });
    expect(realm.memberships).toEqual({ maxPermissions: 20 });
    expect(realm.hosts).toEqual([]);
    expect(realm.branding.primaryColor).toBe('#4f46e5');
    expect(realm.apps[0]!.delivery).toBe('form_post');
    expect(realm.apps[0]!.logoutRedirectUris).toEqual([]);
  });

  it('keeps only the origin of publicUrl and lower-cases hosts', () => {
    const realm = parseFileConfig(
      fileConfig((c) => {
        c.realms[0].publicUrl = 'https://Login.Alpha.Example/';
        c.realms[0].hosts = ['Login.Custom.Example:8443'];
      }),
    ).realms[0]!;
    expect(realm.publicUrl).toBe('https://login.alpha.example');
    expect(realm.hosts).toEqual(['login.custom.example:8443']);
  });

  it('allows http redirect URIs on localhost only', () => {
    const parsed = parseFileConfig(
      fileConfig((c) => {
        c.realms[0].apps[0].redirectUris = ['http://localhost:3001/cb', 'http://127.0.0.1:3001/cb', 'http://[::1]:3001/cb'];
      }),
    );
    expect(parsed.realms[0]!.apps[0]!.redirectUris).toHaveLength(3);
  });

  const badUris: Array<[string, string, RegExp]> = [
    ['an http URI that is not localhost', 'http://app.example.com/cb', /https/],
    ['a URI with a fragment', 'https://app.example.com/cb#x', /fragment/],
    ['a URI with an empty fragment', 'https://app.example.com/cb#', /fragment/],
    ['a wildcard host', 'https://*.example.com/cb', /wildcard/],
    ['a wildcard path', 'https://app.example.com/*', /wildcard/],
    ['user info', 'https://user:pw@app.example.com/cb', /user info/],
    ['a relative URI', '/cb', /absolute URL/],
    ['a javascript: URI', 'javascript:alert(1)', /https/],
  ];
  for (const [what, uri, message] of badUris) {
    it(`refuses a redirect URI with ${what}, naming its path (ASVS 10.4.1)`, () => {
      const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].apps[0].redirectUris = [uri]))));
      expect(msg).toContain('realms[0].apps[0].redirectUris[0]');
      expect(msg).toMatch(message);
    });
  }

  it('checks logout redirect URIs by the same rule, naming their path', () => {
    const msg = configErrorOf(() =>
      parseFileConfig(fileConfig((c) => (c.realms[0].apps[0].logoutRedirectUris = ['https://app.example.com/bye', 'http://evil.example/']))),
    );
    expect(msg).toContain('realms[0].apps[0].logoutRedirectUris[1]');
  });

  it('names the source in the message', () => {
    const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.defaultRealm = 'nope')), '/etc/gatehouse.json'));
    expect(msg).toContain('/etc/gatehouse.json');
  });

  it('refuses duplicate realm ids', () => {
    const msg = configErrorOf(() =>
      parseFileConfig(fileConfig((c) => c.realms.push({ id: 'alpha', name: 'Again', publicUrl: 'https://other.example' }))),
    );
    expect(msg).toContain('realms[1].id');
    expect(msg).toContain('duplicate realm id "alpha"');
  });

  it('refuses a host served by two realms, whether publicUrl or custom host', () => {
    const viaHosts = configErrorOf(() =>
      parseFileConfig(fileConfig((c) => c.realms.push({ id: 'beta', name: 'Beta', publicUrl: 'https://beta.example', hosts: ['LOGIN.alpha.example'] }))),
    );
    expect(viaHosts).toContain('realms[1].hosts');
    expect(viaHosts).toContain('login.alpha.example');

    const viaPublicUrl = configErrorOf(() =>
      parseFileConfig(
        fileConfig((c) => {
          c.realms[0].hosts = ['shared.example'];
          c.realms.push({ id: 'beta', name: 'Beta', publicUrl: 'https://shared.example' });
        }),
      ),
    );
    expect(viaPublicUrl).toContain('realms[1].hosts');
    expect(viaPublicUrl).toContain('"shared.example" is already served by realm "alpha"');
  });

  it('refuses a defaultRealm that no realm has', () => {
    const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.defaultRealm = 'gamma'))));
    expect(msg).toContain('defaultRealm');
    expect(msg).toContain('gamma');
  });

  it('refuses duplicate clientIds within a realm', () => {
    const msg = configErrorOf(() =>
      parseFileConfig(fileConfig((c) => c.realms[0].apps.push({ clientId: 'app1', name: 'Twin', redirectUris: ['https://twin.example/cb'] }))),
    );
    expect(msg).toContain('realms[0].apps[1].clientId');
  });

  it('allows the same clientId in two realms', () => {
    const parsed = parseFileConfig(
      fileConfig((c) =>
        c.realms.push({ id: 'beta', name: 'Beta', publicUrl: 'https://beta.example', apps: [{ clientId: 'app1', name: 'B', redirectUris: ['https://b.example/cb'] }] }),
      ),
    );
    expect(parsed.realms.map((r) => r.apps[0]!.clientId)).toEqual(['app1', 'app1']);
  });

  it('rejects unknown keys at every level, naming where (strict objects)', () => {
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realmz = []))))).toMatch(/\(root\).*realmz/);
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].publicURL = 'x'))))).toMatch(/realms\[0\].*publicURL/);
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].apps[0].redirect_uris = []))))).toMatch(/realms\[0\]\.apps\[0\].*redirect_uris/);
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].password = { minLenght: 12 }))))).toMatch(/realms\[0\]\.password.*minLenght/);
  });

  it('refuses a password policy below 8 characters (ASVS 6.2.1)', () => {
    const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].password = { minLength: 6 }))));
    expect(msg).toContain('realms[0].password.minLength');
  });

  it('refuses a maximum password length below 64 (ASVS 6.2.9)', () => {
    const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].password = { maxLength: 32 }))));
    expect(msg).toContain('realms[0].password.maxLength');
  });

  it('refuses a token algorithm outside the allowlist, such as none (ASVS 9.1.2)', () => {
    for (const algorithm of ['none', 'HS256']) {
      const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].tokens = { algorithm }))));
      expect(msg).toContain('realms[0].tokens.algorithm');
    }
  });

  it('refuses a publicUrl with a path or a non-http scheme', () => {
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].publicUrl = 'https://a.example/login'))))).toContain('realms[0].publicUrl');
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].publicUrl = 'ftp://a.example'))))).toContain('realms[0].publicUrl');
  });

  it('reports a publicUrl that is not a URL as a ConfigError naming its path', () => {
    const msg = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].publicUrl = 'not a url'))));
    expect(msg).toContain('realms[0].publicUrl');
  });

  it('refuses an empty realm list and a document that is not an object', () => {
    expect(configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms = []))))).toContain('realms');
    expect(configErrorOf(() => parseFileConfig(null))).toContain('(root)');
    expect(configErrorOf(() => parseFileConfig([]))).toContain('(root)');
  });
});

describe('loadConfig', () => {
  const good = writeTmp('good.json', JSON.stringify(fileConfig()));

  it('loads the shipped config with every environment default', () => {
    const config = loadConfig({}, ROOT);
    expect(config.configPath).toBe(path.join(ROOT, 'gatehouse.config.json'));
    expect(config.port).toBe(3000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.env).toBe('development');
    expect(config.dataDir).toBe(path.join(ROOT, 'data'));
    expect(config.trustProxy).toBe(false);
    expect(config.logRequests).toBe(true);
    expect(config.redisUrl).toBeUndefined();
    // The shipped realm is served over http, so cookies are not Secure under "auto".
    expect(config.secureCookies).toBe(false);
  });

  it('reads every setting from the env it is given, not from process.env', () => {
    const config = loadConfig(
      {
        GATEHOUSE_CONFIG: good,
        PORT: '8080',
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        DATA_DIR: 'var/db',
        REDIS_URL: 'rediss://cache:6380',
        SESSION_SECRET: 's'.repeat(32),
        TRUST_PROXY: '10.0.0.0/8, 192.168.0.0/16',
        LOG_LEVEL: 'warn',
        LOG_REQUESTS: '0',
      },
      tmp,
    );
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.env).toBe('production');
    expect(config.dataDir).toBe(path.join(tmp, 'var/db'));
    expect(config.redisUrl).toBe('rediss://cache:6380');
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(config.logLevel).toBe('warn');
    expect(config.logRequests).toBe(false);
    expect(config.defaultRealm).toBe('alpha');
    // All realms are https, so "auto" means Secure cookies.
    expect(config.secureCookies).toBe(true);
  });

  it('parses TRUST_PROXY as a boolean or a hop count', () => {
    expect(loadConfig({ GATEHOUSE_CONFIG: good, TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ GATEHOUSE_CONFIG: good, TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('treats an empty variable as unset rather than as 0 or ""', () => {
    const config = loadConfig({ GATEHOUSE_CONFIG: good, PORT: '', REDIS_URL: '' });
    expect(config.port).toBe(3000);
    expect(config.redisUrl).toBeUndefined();
  });

  it('lets COOKIE_SECURE override the automatic choice', () => {
    expect(loadConfig({ GATEHOUSE_CONFIG: good, COOKIE_SECURE: 'false' }).secureCookies).toBe(false);
  });

  it('names PORT when it is not a number', () => {
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: good, PORT: 'abc' }));
    expect(msg).toContain('the environment');
    expect(msg).toMatch(/^\s*PORT:/m);
  });

  it('names PORT when it is out of range', () => {
    expect(configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: good, PORT: '70000' }))).toMatch(/^\s*PORT:/m);
  });

  it('names REDIS_URL when it is not a redis:// URL', () => {
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: good, REDIS_URL: 'http://x' }));
    expect(msg).toMatch(/^\s*REDIS_URL: must start with redis:\/\/ or rediss:\/\//m);
  });

  it('names every bad variable at once', () => {
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: good, PORT: 'abc', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' }));
    expect(msg).toMatch(/^\s*PORT:/m);
    expect(msg).toMatch(/^\s*REDIS_URL:/m);
    expect(msg).toMatch(/^\s*LOG_LEVEL:/m);
  });

  it('refuses a SESSION_SECRET shorter than 32 characters', () => {
    expect(configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: good, SESSION_SECRET: 'short' }))).toMatch(/^\s*SESSION_SECRET:/m);
  });

  it('gives a ConfigError naming the file and GATEHOUSE_CONFIG when the file is missing', () => {
    const missing = path.join(tmp, 'does-not-exist.json');
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: missing }));
    expect(msg).toContain(missing);
    expect(msg).toContain('GATEHOUSE_CONFIG');
  });

  it('gives a ConfigError naming the file when it is not valid JSON', () => {
    const broken = writeTmp('broken.json', '{ "defaultRealm": "alpha", ');
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: broken }));
    expect(msg).toContain(broken);
    expect(msg).toContain('not valid JSON');
  });

  it('names the file and the path of a mistake inside it', () => {
    const bad = writeTmp('bad-uri.json', JSON.stringify(fileConfig((c) => (c.realms[0].apps[0].redirectUris = ['http://evil.example/cb']))));
    const msg = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: bad }));
    expect(msg).toContain(bad);
    expect(msg).toContain('realms[0].apps[0].redirectUris[0]');
  });
});

describe('the server process', () => {
  it('exits with code 1 and prints the path of a config mistake', () => {
    const bad = writeTmp('server-bad.json', JSON.stringify(fileConfig((c) => (c.realms[0].apps[0].redirectUris = ['http://evil.example/cb']))));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_CONFIG: bad, DATA_DIR: path.join(tmp, 'data'), PORT: '0', HOST: '127.0.0.1' },
      timeout: 20_000,
      encoding: 'utf8',
    });
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('realms[0].apps[0].redirectUris[0]');
    expect(result.stderr).toContain(bad);
    // One clear message, not a stack trace.
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('app secrets (secretEnv)', () => {
  const withSecretEnv = (name: string) =>
    writeTmp(`secret-${name}.json`, JSON.stringify(fileConfig((c) => (c.realms[0].apps[0].secretEnv = name))));

  it('reads the secret from the variable the app names, never from the file', () => {
    const config = loadConfig({ GATEHOUSE_CONFIG: withSecretEnv('APP1_SECRET'), APP1_SECRET: 's'.repeat(32) });
    expect([...config.appSecrets.values()]).toEqual(['s'.repeat(32)]);
    expect(JSON.stringify(config.realms)).not.toContain('s'.repeat(32));
  });

  it('refuses to start when the named variable is missing, empty or short, naming the app', () => {
    for (const env of [{}, { APP1_SECRET: '' }, { APP1_SECRET: 'short' }]) {
      const message = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: withSecretEnv('APP1_SECRET'), ...env }));
      expect(message).toContain('realms[0].apps[0].secretEnv');
      expect(message).toMatch(/APP1_SECRET (is not set|must be at least 32 characters)/);
    }
  });

  it('refuses a secretEnv that is not an environment variable name', () => {
    const message = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: withSecretEnv('app secret') }));
    expect(message).toContain('secretEnv');
  });
});

describe('account.usernameEditable', () => {
  it('is refused with emails as usernames, naming the path, and accepted with separate usernames', () => {
    const message = configErrorOf(() => parseFileConfig(fileConfig((c) => (c.realms[0].account = { usernameEditable: true }))));
    expect(message).toContain('realms[0].account.usernameEditable');
    expect(message).toContain('separate usernames');
    const ok = parseFileConfig(fileConfig((c) => Object.assign(c.realms[0], { fields: { usernames: 'separate' }, account: { usernameEditable: true } })));
    expect(ok.realms[0]!.account.usernameEditable).toBe(true);
  });
});

describe('social providers', () => {
  const github = (extra: Record<string, unknown> = {}) => ({ id: 'github', type: 'github', clientId: 'gh-client', secretEnv: 'GITHUB_SECRET', ...extra });
  const withProviders = (providers: unknown[], social: Record<string, unknown> = {}) => fileConfig((c) => (c.realms[0].social = { providers, ...social }));
  const writeProviders = (name: string, providers: unknown[]) => writeTmp(`social-${name}.json`, JSON.stringify(withProviders(providers)));

  it('refuses to start when an enabled provider\'s secretEnv variable is unset, naming the provider', () => {
    const file = writeProviders('unset', [github()]);
    for (const env of [{}, { GITHUB_SECRET: '' }]) {
      const message = configErrorOf(() => loadConfig({ GATEHOUSE_CONFIG: file, ...env }));
      expect(message).toContain('realms[0].social.providers[0].secretEnv');
      expect(message).toContain('GITHUB_SECRET is not set');
    }
    const config = loadConfig({ GATEHOUSE_CONFIG: file, GITHUB_SECRET: 'from-the-environment' });
    expect([...config.providerSecrets.values()]).toEqual(['from-the-environment']);
    expect(JSON.stringify(config.realms)).not.toContain('from-the-environment');
  });

  it('needs no secret for a disabled provider', () => {
    const config = loadConfig({ GATEHOUSE_CONFIG: writeProviders('disabled', [github({ enabled: false })]) });
    expect(config.realms[0]!.social.providers[0]!.enabled).toBe(false);
    expect(config.providerSecrets.size).toBe(0);
  });

  it('refuses an id that is an amr method, a page under /social/, or not lower-case letters, digits and dashes', () => {
    for (const [id, reason] of [
      ['pwd', 'RFC 8176'],
      ['complete', 'page under /social/'],
      ['link', 'page under /social/'],
      ['Bad_Id', 'lower-case letters'],
    ] as const) {
      const message = configErrorOf(() => parseFileConfig(withProviders([github({ id })])));
      expect(message, id).toContain('realms[0].social.providers[0].id');
      expect(message, id).toContain(reason);
    }
  });

  it('refuses two providers with the same id', () => {
    const message = configErrorOf(() =>
      parseFileConfig(withProviders([github(), { id: 'github', type: 'google', clientId: 'g-client', secretEnv: 'GOOGLE_SECRET' }])),
    );
    expect(message).toContain('realms[0].social.providers[1].id');
    expect(message).toContain('duplicate provider id "github"');
  });

  it('refuses an http endpoint or issuer on a host other than localhost, and allows http://127.0.0.1', () => {
    const plain = configErrorOf(() => parseFileConfig(withProviders([github({ endpoints: { token: 'http://github.example/login/oauth/access_token' } })])));
    expect(plain).toContain('realms[0].social.providers[0].endpoints.token');
    expect(plain).toContain('must use https');
    const issuer = configErrorOf(() =>
      parseFileConfig(withProviders([{ id: 'acme', type: 'oidc', clientId: 'acme', secretEnv: 'ACME_SECRET', issuer: 'http://sso.acme.example' }])),
    );
    expect(issuer).toContain('realms[0].social.providers[0].issuer');
    expect(issuer).toContain('must use https');

    const loopback = parseFileConfig(
      withProviders([
        github({ endpoints: { authorization: 'http://127.0.0.1:4010/authorize', token: 'http://127.0.0.1:4010/token' } }),
        { id: 'acme', type: 'oidc', clientId: 'acme', secretEnv: 'ACME_SECRET', issuer: 'http://127.0.0.1:4011' },
      ]),
    ).realms[0]!.social.providers;
    expect(loopback[0]).toMatchObject({ endpoints: { authorization: 'http://127.0.0.1:4010/authorize', token: 'http://127.0.0.1:4010/token' } });
    expect(loopback[1]).toMatchObject({ issuer: 'http://127.0.0.1:4011' });
  });

  it('refuses social.only without an enabled provider', () => {
    for (const providers of [[], [github({ enabled: false })]]) {
      const message = configErrorOf(() => parseFileConfig(withProviders(providers, { only: true })));
      expect(message).toContain('realms[0].social.only');
      expect(message).toContain('at least one enabled provider');
    }
    expect(parseFileConfig(withProviders([github()], { only: true })).realms[0]!.social.only).toBe(true);
  });

  it('fills in the defaults: GitHub\'s scopes and github.com endpoints, enabled, linking by email, not social only', () => {
    const realm = parseFileConfig(withProviders([github()])).realms[0]!;
    expect(realm.social).toMatchObject({ linkByEmail: true, only: false });
    expect(realm.social.providers[0]).toEqual({
      id: 'github',
      type: 'github',
      clientId: 'gh-client',
      secretEnv: 'GITHUB_SECRET',
      enabled: true,
      scopes: ['read:user', 'user:email'],
      endpoints: {
        authorization: 'https://github.com/login/oauth/authorize',
        token: 'https://github.com/login/oauth/access_token',
        user: 'https://api.github.com/user',
        emails: 'https://api.github.com/user/emails',
      },
    });
    expect(parseFileConfig(fileConfig()).realms[0]!.social).toEqual({ providers: [], linkByEmail: true, only: false });
  });
});

describe('MONGODB_URL', () => {
  it('accepts a replica set seed list and an SRV URL, with REDIS_URL beside it', async () => {
    const { envSchema } = await import('../../src/config/schema.ts');
    for (const url of ['mongodb://h1:27017,h2:27017,h3:27017/gatehouse?replicaSet=rs0', 'mongodb+srv://user:pw@cluster0.example.net/gatehouse']) {
      const parsed = envSchema.safeParse({ MONGODB_URL: url, REDIS_URL: 'redis://127.0.0.1:6379' });
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
  });

  it('refuses another scheme, and MONGODB_URL without REDIS_URL', async () => {
    const { envSchema } = await import('../../src/config/schema.ts');
    expect(envSchema.safeParse({ MONGODB_URL: 'postgres://db/x', REDIS_URL: 'redis://r' }).error?.issues[0]?.message).toBe('must start with mongodb:// or mongodb+srv://');
    const alone = envSchema.safeParse({ MONGODB_URL: 'mongodb://db/x' });
    expect(alone.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['REDIS_URL', 'is required with MONGODB_URL (sessions and rate limits must be shared by every instance), or REDIS_SENTINELS or REDIS_CLUSTER_NODES']]);
  });
});

describe('REDIS_SENTINELS', () => {
  it('reads the sentinels and the master name, and needs both', async () => {
    const { loadConfig } = await import('../../src/config/index.ts');
    const { envSchema } = await import('../../src/config/schema.ts');
    expect(envSchema.safeParse({ REDIS_SENTINELS: 's1:26379' }).error?.issues[0]?.path).toEqual(['REDIS_SENTINEL_MASTER']);
    expect(envSchema.safeParse({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'm' }).success).toBe(false);
    expect(envSchema.safeParse({ REDIS_SENTINELS: 's1:1', REDIS_SENTINEL_MASTER: 'm', REDIS_URL: 'redis://r' }).error?.issues[0]?.message).toBe('set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES, not several');
    expect(envSchema.safeParse({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://r' }).success).toBe(false);
    expect(envSchema.safeParse({ MONGODB_URL: 'mongodb://db/x', REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).success).toBe(true);
    expect(loadConfig({ GATEHOUSE_CONFIG: 'gatehouse.config.json', REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).redisCluster).toEqual({ nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: undefined });
    expect(envSchema.safeParse({ MONGODB_URL: 'mongodb://db/x', REDIS_SENTINELS: 's1:1', REDIS_SENTINEL_MASTER: 'm' }).success).toBe(true);
    const config = loadConfig({ GATEHOUSE_CONFIG: 'gatehouse.config.json', REDIS_SENTINELS: 's1:26379,s2.example.com:26380', REDIS_SENTINEL_MASTER: 'mymaster', REDIS_PASSWORD: 'pw' });
    expect(config.redisSentinel).toEqual({ sentinels: [{ host: 's1', port: 26379 }, { host: 's2.example.com', port: 26380 }], master: 'mymaster', password: 'pw' });
  });
});

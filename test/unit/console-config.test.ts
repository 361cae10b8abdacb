import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.ts';

/** The `console` key, CONSOLE_PUBLIC_URL and the console realm loadConfig generates from them. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'gatehouse-console-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;

const ALPHA = { id: 'alpha', name: 'Alpha', publicUrl: 'https://login.alpha.example', apps: [{ clientId: 'app1', name: 'App One', redirectUris: ['https://app.example.com/cb'] }] };

/** loadConfig on a file `{ defaultRealm: 'alpha', realms, console }` and `env`. */
function load(file: { realms?: unknown[]; console?: unknown } = {}, env: Record<string, string> = {}): Config {
  const configPath = path.join(tmp, `config-${++files}.json`);
  writeFileSync(configPath, JSON.stringify({ defaultRealm: 'alpha', realms: file.realms ?? [ALPHA], ...(file.console !== undefined ? { console: file.console } : {}) }));
  return loadConfig({ GATEHOUSE_CONFIG: configPath, ...env }, tmp);
}

function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('the console in the configuration', () => {
  it('is off without a URL: no console realm, nothing else changes', () => {
    const config = load();
    expect(config.console).toBeNull();
    expect(config.realms.map((r) => r.id)).toEqual(['alpha']);
    expect(load({ console: { recentAuthMinutes: 7 } }).console).toBeNull();
  });

  it('with console.publicUrl: a generated realm after the file’s, with the console app', () => {
    const config = load({ console: { publicUrl: 'https://admin.login.example/' } });
    expect(config.console).toEqual({ realmId: 'console', publicUrl: 'https://admin.login.example', recentAuthMinutes: 5, callbackUrl: 'https://admin.login.example/admin/callback' });
    expect(config.realms.map((r) => r.id)).toEqual(['alpha', 'console']);
    const realm = config.realms[1]!;
    expect(realm).toMatchObject({
      publicUrl: 'https://admin.login.example',
      hosts: [],
      fields: { usernames: 'email', emails: 'unique' },
      emailVerification: { policy: 'off' },
      signup: { policy: 'disabled' },
      mfa: { policy: 'required' },
      recovery: { ttlMinutes: 60 },
      account: { recentAuthMinutes: 5 },
    });
    expect(realm.apps).toEqual([
      {
        clientId: 'console',
        name: 'Gatehouse console',
        redirectUris: ['https://admin.login.example/admin/callback'],
        logoutRedirectUris: ['https://admin.login.example/admin'],
        delivery: 'form_post',
        // The console's own app is open to every operator of the console realm (orgs.md §6.1).
        access: { type: 'everyone' },
      },
    ]);
    // Every realm https: __Host- cookies under COOKIE_SECURE=auto.
    expect(config.secureCookies).toBe(true);
  });

  it('CONSOLE_PUBLIC_URL overrides the file; realmId, hosts and recentAuthMinutes come from the key', () => {
    const config = load(
      { console: { publicUrl: 'https://admin.login.example', realmId: 'operators', hosts: ['Admin.Alt.Example:8443'], recentAuthMinutes: 3 } },
      { CONSOLE_PUBLIC_URL: 'http://127.0.0.1:4000' },
    );
    expect(config.console).toMatchObject({ realmId: 'operators', publicUrl: 'http://127.0.0.1:4000', recentAuthMinutes: 3 });
    const realm = config.realms.find((r) => r.id === 'operators')!;
    expect(realm.hosts).toEqual(['admin.alt.example:8443']);
    expect(realm.account.recentAuthMinutes).toBe(3);
    expect(realm.apps[0]!.redirectUris).toEqual(['http://127.0.0.1:4000/admin/callback']);
    // An http console counts like an http realm: no Secure cookies under auto.
    expect(config.secureCookies).toBe(false);
    expect(load({}, { CONSOLE_PUBLIC_URL: 'https://admin.login.example' }).console?.publicUrl).toBe('https://admin.login.example');
  });

  it('console.enabled: false turns it off whatever the URL', () => {
    const config = load({ console: { enabled: false, publicUrl: 'https://admin.login.example' } }, { CONSOLE_PUBLIC_URL: 'https://other.example' });
    expect(config.console).toBeNull();
    expect(config.realms.map((r) => r.id)).toEqual(['alpha']);
  });

  it('refuses a file realm with the console’s id or one of its hosts, naming the realm', () => {
    const byId = configErrorOf(() => load({ realms: [ALPHA, { ...ALPHA, id: 'console', publicUrl: 'https://c.example', apps: [] }], console: { publicUrl: 'https://admin.login.example' } }));
    expect(byId).toContain('realms[1].id: "console" is the console realm\'s id');
    const byHost = configErrorOf(() => load({ realms: [{ ...ALPHA, hosts: ['admin.login.example'] }] }, { CONSOLE_PUBLIC_URL: 'https://admin.login.example' }));
    expect(byHost).toContain('realms[0]: host "admin.login.example" is the console\'s');
    const byExtraHost = configErrorOf(() => load({ console: { publicUrl: 'https://admin.login.example', hosts: ['login.alpha.example'] } }));
    expect(byExtraHost).toContain('realms[0]: host "login.alpha.example" is the console\'s');
    // Off, the same file loads.
    expect(load({ realms: [{ ...ALPHA, hosts: ['admin.login.example'] }], console: { enabled: false, publicUrl: 'https://admin.login.example' } }).console).toBeNull();
  });

  it('refuses a console URL that cannot carry its callback, or is no origin, or an unknown key', () => {
    expect(configErrorOf(() => load({ console: { publicUrl: 'http://admin.login.example' } }))).toContain('console.publicUrl: must use https (http is allowed for localhost only)');
    expect(configErrorOf(() => load({}, { CONSOLE_PUBLIC_URL: 'http://admin.login.example' }))).toContain('CONSOLE_PUBLIC_URL: must use https');
    expect(configErrorOf(() => load({}, { CONSOLE_PUBLIC_URL: 'https://admin.login.example/admin' }))).toContain('CONSOLE_PUBLIC_URL: must be an origin');
    expect(configErrorOf(() => load({ console: { publicUrl: 'https://a.example', colour: 'red' } }))).toContain('console');
    expect(configErrorOf(() => load({ console: { publicUrl: 'https://a.example', recentAuthMinutes: 0 } }))).toContain('console.recentAuthMinutes');
  });

  it('the shipped file: the console on 127.0.0.1:3000, the demo realm on localhost:3000 only', () => {
    const config = loadConfig({}, ROOT);
    expect(config.console).toMatchObject({ realmId: 'console', publicUrl: 'http://127.0.0.1:3000' });
    const demo = config.realms.find((r) => r.id === config.defaultRealm)!;
    expect([new URL(demo.publicUrl).host, ...demo.hosts]).toEqual(['localhost:3000']);
  });
});

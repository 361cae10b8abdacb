import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { createApp, type Gatehouse } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { compose, type Composition, type Tuning } from '../../src/main.ts';
import type { RealmsService } from '../../src/services/realms.ts';
import type { Store } from '../../src/store/port.ts';

/** Every test signs up from 127.0.0.1: the per-IP signup limit has its own test. */
const ROOMY_SIGNUPS = { signupPerIp: { points: 100_000, durationSeconds: 60 } };

/** Two realms on their own hosts, with apps for each delivery mode. */
export const TEST_CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    {
      id: 'alpha',
      name: 'Alpha',
      publicUrl: 'http://alpha.test',
      rateLimits: ROOMY_SIGNUPS,
      apps: [
        {
          clientId: 'app1',
          name: 'App One',
          redirectUris: ['https://app.example.com/cb', 'https://app.example.com/cb2?x=1'],
          logoutRedirectUris: ['https://app.example.com/bye'],
        },
        { clientId: 'spa', name: 'SPA', redirectUris: ['https://spa.example.com/cb'], delivery: 'fragment' },
        { clientId: 'legacy', name: 'Legacy', redirectUris: ['https://legacy.example.com/cb'], delivery: 'query' },
      ],
    },
    {
      id: 'beta',
      name: 'Beta',
      publicUrl: 'http://beta.test',
      hosts: ['login.beta.example'],
      rateLimits: ROOMY_SIGNUPS,
      fields: { usernames: 'separate' },
      tokens: { algorithm: 'RS256' },
      apps: [{ clientId: 'app1', name: 'Beta App', redirectUris: ['https://beta-app.example.com/cb'] }],
    },
  ],
};

export interface TestGatehouse extends Gatehouse {
  config: Config;
  store: Store;
  /** The mail outbox worker (stop it to play a crash; mails stay queued in the store). */
  outbox: Composition['outbox'];
  /** Realms and apps of the directory (what the management API calls). */
  realmsService: RealmsService;
  close(): Promise<void>;
}

/** A Gatehouse on a fresh temporary data folder, embedded or with a real Redis for sessions and limits. */
export async function testGatehouse(
  options: { redisUrl?: string; smtpUrl?: string; file?: unknown; env?: Record<string, string>; clock?: () => Date; tuning?: Tuning; dataDir?: string } = {},
): Promise<TestGatehouse> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-test-'));
  const configPath = path.join(dir, 'gatehouse.config.json');
  writeFileSync(configPath, JSON.stringify(options.file ?? TEST_CONFIG));
  const config = loadConfig({
    NODE_ENV: 'test',
    GATEHOUSE_CONFIG: configPath,
    // A given dataDir outlives this instance (a restart test starts a second one on it).
    DATA_DIR: options.dataDir ?? path.join(dir, 'data'),
    LOG_LEVEL: 'silent',
    LOG_REQUESTS: 'false',
    COOKIE_SECURE: 'false',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...(options.smtpUrl ? { SMTP_URL: options.smtpUrl } : {}),
    ...options.env,
  });
  const composition = await compose(config, pino({ level: 'silent' }), options.clock ? { clock: options.clock } : {}, options.tuning);
  const gatehouse = createApp(composition.deps);
  return {
    ...gatehouse,
    config,
    store: composition.deps.store,
    outbox: composition.outbox,
    realmsService: composition.deps.realmsService!,
    async close() {
      await gatehouse.drain();
      await composition.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CSRF token in a page's form. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token in the page');
  return match[1]!;
}

export type Agent = ReturnType<typeof request.agent>;

/** A browser-like client bound to one realm's host. */
export function browser(gatehouse: Gatehouse, host = 'alpha.test') {
  const agent = request.agent(gatehouse.app);
  const get = (url: string) => agent.get(url).set('Host', host);
  const post = (url: string, form: Record<string, string | string[]>) => agent.post(url).set('Host', host).type('form').send(form);
  /** GETs `url`, then POSTs `form` to it with the page's CSRF token. */
  const submit = async (url: string, form: Record<string, string | string[]>) => {
    const page = await get(url);
    return post(url, { _csrf: csrfOf(page.text), ...form });
  };
  return { agent, get, post, submit };
}

/** An email address no other test uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

export const GOOD_PASSWORD = 'violet-harbor-lantern-42';

/** The token and state a form_post hand-off page carries. */
export function formPostOf(html: string): { action: string; token: string; state?: string } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const token = /name="token" value="([^"]+)"/.exec(html)?.[1];
  const state = /name="state" value="([^"]*)"/.exec(html)?.[1];
  if (!action || !token) throw new Error('not a form_post hand-off page');
  return { action: action.replace(/&amp;/g, '&'), token, state: state?.replace(/&amp;/g, '&') };
}

/**
 * Gatehouse and the demo app on real loopback ports, the way `npm start` runs
 * them: used by the browser journeys (test/e2e) and by scripts/screenshots.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, LaunchOptions, Page } from 'playwright-core';
import { startDemo } from '../../examples/demo-app/server.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { RealmConfig } from '../../src/config/index.ts';
import { start, type Running, type Tuning } from '../../src/main.ts';
import { freePort } from './ports.ts';

export const DEMO_CLIENT_ID = 'demo';
export const DEMO_APP_NAME = 'Demo app';

export interface Stack {
  /** The realm's publicUrl: the JWT's `iss`. */
  gatehouseUrl: string;
  /** The demo app's origin. */
  demoUrl: string;
  /** The operator console's origin (its realm on 127.0.0.1, the main realm on localhost), with `console: true`. */
  consoleUrl: string | null;
  gatehouse: Running;
  demo: Server;
  stop(): Promise<void>;
}

/** Realm settings a stack may set (the JSON file's shape: each section partial, defaults filled in by the schema). */
export type RealmSettings = {
  [K in Exclude<keyof RealmConfig, 'id' | 'name' | 'publicUrl' | 'apps'>]?: RealmConfig[K] extends Array<unknown>
    ? RealmConfig[K]
    : RealmConfig[K] extends object
      ? Partial<RealmConfig[K]>
      : RealmConfig[K];
};

export interface StackOptions {
  realmName?: string;
  /** SMTP_URL: mails go to this server (e.g. a test SMTP server's `.url`); without it they stay in the outbox. */
  smtpUrl?: string;
  /** Settings of the realm, e.g. `{ emailVerification: { policy: 'required' } }`. */
  realm?: RealmSettings;
  /** NODE_ENV; 'development' mounts the /dev/mail outbox pages. Default 'test'. */
  nodeEnv?: 'test' | 'development';
  /** Outbox worker knobs (retry delays). */
  tuning?: Tuning;
  /** More environment, e.g. the variables social providers' `secretEnv` name. */
  env?: Record<string, string>;
  /** Serve the operator console at http://127.0.0.1:<port>/admin. */
  console?: boolean;
  /** More apps of the realm beside the demo app; `{demoUrl}` in a redirect URI is the demo app's origin. */
  apps?: Array<Record<string, unknown> & { clientId: string; name: string; redirectUris: string[] }>;
}

/** Starts Gatehouse (fresh temporary data folder and config file) and the demo app that logs in through it. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [port, demoPort] = [await freePort(), await freePort()];
  const gatehouseUrl = `http://localhost:${port}`;
  const demoUrl = `http://localhost:${demoPort}`;
  const consoleUrl = options.console ? `http://127.0.0.1:${port}` : null;
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-e2e-'));
  const configPath = path.join(dir, 'gatehouse.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      defaultRealm: 'main',
      realms: [
        {
          ...options.realm,
          id: 'main',
          name: options.realmName ?? 'Acme',
          publicUrl: gatehouseUrl,
          apps: [
            {
              clientId: DEMO_CLIENT_ID,
              name: DEMO_APP_NAME,
              redirectUris: [`${demoUrl}/callback`],
              logoutRedirectUris: [`${demoUrl}/`],
            },
            ...(options.apps ?? []).map((a) => ({ ...a, redirectUris: a.redirectUris.map((u) => u.replace('{demoUrl}', demoUrl)) })),
          ],
        },
      ],
    }),
  );
  const config = loadConfig({
    NODE_ENV: options.nodeEnv ?? 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEHOUSE_CONFIG: configPath,
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'silent',
    LOG_REQUESTS: 'false',
    ...(options.smtpUrl ? { SMTP_URL: options.smtpUrl } : {}),
    ...(consoleUrl ? { CONSOLE_PUBLIC_URL: consoleUrl } : {}),
    ...options.env,
  });
  const gatehouse = await start(config, pino({ level: 'silent' }), options.tuning);
  let demo: Server;
  try {
    demo = await startDemo({ port: demoPort, gatehouseUrl, clientId: DEMO_CLIENT_ID, publicUrl: demoUrl });
  } catch (err) {
    await gatehouse.stop();
    throw err;
  }
  return {
    gatehouseUrl,
    consoleUrl,
    demoUrl,
    gatehouse,
    demo,
    async stop() {
      await new Promise<void>((resolve) => demo.close(() => resolve()));
      demo.closeAllConnections();
      await gatehouse.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium package: the only browser the tests use (never a downloaded build). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const hasChromium = (): boolean => existsSync(CHROMIUM_PATH);

/** Launches headless Chromium with everything that would reach beyond loopback turned off. */
export async function launchChromium(extra: LaunchOptions = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--disable-dev-shm-usage',
    ],
    ...extra,
  });
}

/** Gatehouse pages must run under their CSP without a single violation (no inline script or style): the ones seen on `page`. */
export function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return violations;
}

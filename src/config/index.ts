import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { consoleClashes, consoleRealmConfig, resolveConsole, type ConsoleConfig } from './console-realm.ts';
import { envSchema, fileSchema, type FileConfig, type RealmConfig } from './schema.ts';

export type { AppConfig, ProviderConfig, RealmConfig } from './schema.ts';
export { fileSchema, envSchema } from './schema.ts';
export { CONSOLE_CLIENT_ID, type ConsoleConfig } from './console-realm.ts';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  configPath: string;
  dataDir: string;
  /** Set: the MongoDB store instead of SQLite (REDIS_URL is then set too). */
  mongodbUrl?: string;
  redisUrl?: string;
  /** Redis Cluster (instead of redisUrl): some of its nodes. */
  redisCluster?: { nodes: { host: string; port: number }[]; password?: string };
  /** Redis through Sentinel (instead of redisUrl). */
  redisSentinel?: { sentinels: { host: string; port: number }[]; master: string; password?: string };
  sessionSecret?: string;
  trustProxy: boolean | number | string[];
  secureCookies: boolean;
  logLevel: string;
  logRequests: boolean;
  /** Unset: mails stay in the development outbox (and the log). */
  smtpUrl?: string;
  mailFrom: string;
  /** Unset: text messages stay in the development outbox (and the log). */
  smsWebhook?: { url: string; secret: string };
  /** The file's realms, then the console's (generated: src/config/console-realm.ts) when there is a console. */
  realms: RealmConfig[];
  defaultRealm: string;
  /** The operator console (its realm is in `realms`); null: none (no URL, or `console.enabled: false`). */
  console: ConsoleConfig | null;
  /** App secrets read from the variables the apps' `secretEnv` name, by `appSecretKey(realmId, clientId)`. */
  appSecrets: Map<string, string>;
  /** Client secrets of the enabled social providers, from their `secretEnv`, by `providerSecretKey(realmId, providerId)`. */
  providerSecrets: Map<string, string>;
}

/** The key of an app's secret in Config.appSecrets. */
export const appSecretKey = (realmId: string, clientId: string): string => `${realmId}\n${clientId}`;

/** The key of a social provider's client secret in Config.providerSecrets. */
export const providerSecretKey = (realmId: string, providerId: string): string => `${realmId}\n${providerId}`;

interface SecretWanted {
  key: string;
  env: string;
  where: string;
  /** Gatehouse's own app secrets are ≥ 32 characters; a provider issues its client secrets as it likes. */
  minLength: number;
}

/** The secrets the file names by environment variable: each one missing or short is one line of the ConfigError. */
function readSecrets(wanted: SecretWanted[], env: Record<string, string | undefined>, source: string): Map<string, string> {
  const secrets = new Map<string, string>();
  const problems: string[] = [];
  for (const w of wanted) {
    const value = env[w.env];
    if (!value) problems.push(`  ${w.where}: the environment variable ${w.env} is not set`);
    else if (value.length < w.minLength) problems.push(`  ${w.where}: the secret in ${w.env} must be at least ${w.minLength} characters`);
    else secrets.set(w.key, value);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration in ${source}:\n${problems.join('\n')}`);
  return secrets;
}

function appSecretsWanted(file: FileConfig): SecretWanted[] {
  return file.realms.flatMap((realm, i) =>
    realm.apps.flatMap((app, j) =>
      app.secretEnv ? [{ key: appSecretKey(realm.id, app.clientId), env: app.secretEnv, where: `realms[${i}].apps[${j}].secretEnv`, minLength: 32 }] : [],
    ),
  );
}

/** Only enabled providers need their secret: a disabled one may stay configured without it. */
function providerSecretsWanted(file: FileConfig): SecretWanted[] {
  return file.realms.flatMap((realm, i) =>
    realm.social.providers.flatMap((p, j) =>
      p.enabled ? [{ key: providerSecretKey(realm.id, p.id), env: p.secretEnv, where: `realms[${i}].social.providers[${j}].secretEnv`, minLength: 1 }] : [],
    ),
  );
}

/** A configuration mistake: one clear message that names where it is. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describeIssues(source: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.map((issue) => {
    const where = issue.path.reduce<string>(
      (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
      '',
    );
    return `  ${where || '(root)'}: ${issue.message}`;
  });
  return `Invalid configuration in ${source}:\n${lines.join('\n')}`;
}

/** Validates the realms-and-apps document (already parsed from JSON). */
export function parseFileConfig(raw: unknown, source = 'config file'): FileConfig {
  const result = fileSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(source, result.error.issues));
  return result.data;
}

/** "h1:26379,h2:26380" (already checked by the schema) → [{ host, port }]. */
function hostPorts(list: string): { host: string; port: number }[] {
  return list.split(',').map((pair) => {
    const [host, port] = pair.split(':');
    return { host: host!, port: Number(port) };
  });
}

function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The only place that reads the environment. `env` is passed in so tests can
 * build configurations without touching process.env.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) throw new ConfigError(describeIssues('the environment', envResult.error.issues));
  const e = envResult.data;

  const configPath = path.resolve(cwd, e.GATEHOUSE_CONFIG);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read the configuration file ${configPath} (GATEHOUSE_CONFIG): ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`The configuration file ${configPath} is not valid JSON: ${(err as Error).message}`);
  }
  const file = parseFileConfig(raw, configPath);
  const console = resolveConsole(file.console, e.CONSOLE_PUBLIC_URL);
  const realms = [...file.realms];
  if (console) {
    const consoleRealm = consoleRealmConfig(console, file.console.hosts);
    const clashes = consoleClashes(file.realms, consoleRealm);
    if (clashes.length > 0) throw new ConfigError(`Invalid configuration in ${configPath}:\n${clashes.join('\n')}`);
    realms.push(consoleRealm);
  }
  // The console's realm counts like any other: all https (or not) decides the __Host- cookies.
  const allHttps = realms.every((r) => r.publicUrl.startsWith('https:'));

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    configPath,
    dataDir: path.resolve(cwd, e.DATA_DIR),
    mongodbUrl: e.MONGODB_URL,
    redisUrl: e.REDIS_URL,
    redisSentinel: e.REDIS_SENTINELS ? { sentinels: hostPorts(e.REDIS_SENTINELS), master: e.REDIS_SENTINEL_MASTER!, password: e.REDIS_PASSWORD } : undefined,
    redisCluster: e.REDIS_CLUSTER_NODES ? { nodes: hostPorts(e.REDIS_CLUSTER_NODES), password: e.REDIS_PASSWORD } : undefined,
    sessionSecret: e.SESSION_SECRET,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    secureCookies: e.COOKIE_SECURE === 'auto' ? allHttps : e.COOKIE_SECURE === 'true',
    logLevel: e.LOG_LEVEL,
    logRequests: e.LOG_REQUESTS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    // The schema refuses a URL without its secret.
    smsWebhook: e.SMS_WEBHOOK_URL ? { url: e.SMS_WEBHOOK_URL, secret: e.SMS_WEBHOOK_SECRET! } : undefined,
    realms,
    defaultRealm: file.defaultRealm,
    console,
    appSecrets: readSecrets(appSecretsWanted(file), env, configPath),
    providerSecrets: readSecrets(providerSecretsWanted(file), env, configPath),
  };
}

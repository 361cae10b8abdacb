// First: sizes the thread pool before anything uses it.
import './config/runtime.ts';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { createApp, type Deps, type Gatehouse, type ManagementPorts } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config/index.ts';
import { enforceOneWaySettings, OneWaySettingError } from './identity/realm-settings.ts';
import { OutboxWorker, type OutboxWorkerOptions } from './infra/mail/outbox-worker.ts';
import { devOutboxTransport, smtpTransport } from './infra/mail/transports.ts';
import { redisLimiters, sqliteLimiters } from './infra/rate-limit.ts';
import { devOutboxSms } from './infra/sms/dev-outbox.ts';
import { webhookSms } from './infra/sms/webhook.ts';
import type { Directory } from './ports/directory.ts';
import { Realms } from './realms.ts';
import { AuditLog } from './services/audit-log.ts';
import { provisionFromFile, ProvisioningError } from './services/provisioning.ts';
import { RealmsService } from './services/realms.ts';
import type { Store } from './store/port.ts';
import { directoryOf, managementPorts } from './store/open.ts';
import { SqliteStore } from './store/sqlite/index.ts';

/** A dependency that is configured but unusable at start: reported in one line, exit 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export interface Composition {
  deps: Deps;
  outbox: OutboxWorker;
  close(): Promise<void>;
}

/** Knobs tests turn (retry delays); production uses the defaults. */
export interface Tuning {
  outbox?: OutboxWorkerOptions;
  /** false: the outbox worker is not started (a CLI command queues mail for the server to send; it sends none itself). */
  sendMail?: boolean;
}

/**
 * The composition root: the one place that picks adapters. SQLite for users,
 * sessions and rate limits by default; with REDIS_URL, sessions and rate
 * limits move to Redis.
 */
export async function compose(config: Config, logger: Logger, overrides: Partial<Deps> = {}, tuning: Tuning = {}): Promise<Composition> {
  // MONGODB_URL: the MongoDB store (loaded only then), and the schema made sure REDIS_URL is set too. Else the SQLite file.
  let store: Store;
  let directory: Directory;
  let sqlite: SqliteStore | null = null;
  if (config.mongodbUrl) {
    const { openMongoStore } = await import('./store/mongo/index.ts');
    try {
      const mongo = await openMongoStore(config.mongodbUrl);
      store = mongo;
      directory = await directoryOf(mongo).catch(async (err: unknown) => {
        await mongo.close();
        throw err;
      });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
  } else {
    sqlite = new SqliteStore(path.join(config.dataDir, 'gatehouse.sqlite'));
    store = sqlite;
    directory = await directoryOf(sqlite);
  }
  const closers: Array<() => Promise<unknown> | void> = [() => store.close()];
  let management: ManagementPorts;
  try {
    management = await managementPorts(store);
  } catch (err) {
    await store.close();
    throw new StartupError((err as Error).message);
  }
  const secret = config.sessionSecret ?? (await store.getOrCreateSecret('session', () => randomBytes(32).toString('base64url')));

  let sessionStore: Deps['sessionStore'];
  let limiters: Deps['limiters'];
  const readiness: NonNullable<Deps['readiness']> = {};
  if (config.redisUrl || config.redisSentinel || config.redisCluster) {
    // Loaded only when configured: the embedded setup does not carry the Redis client in memory.
    const [{ Redis, Cluster }, { default: RedisStore }] = await Promise.all([import('ioredis'), import('connect-redis')]);
    const target = config.redisSentinel
      ? { sentinels: config.redisSentinel.sentinels, name: config.redisSentinel.master, password: config.redisSentinel.password }
      : {};
    const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(', ');
    const where = config.redisUrl
      ? redactUrl(config.redisUrl)
      : config.redisCluster
        ? `the cluster nodes ${list(config.redisCluster.nodes)}`
        : `the master "${config.redisSentinel!.master}" of the sentinels ${list(config.redisSentinel!.sentinels)}`;
    const options = {
      ...target,
      // While Redis is away, commands fail at once (no offline queue): pages answer 503 instead of hanging.
      maxRetriesPerRequest: 2,
      enableOfflineQueue: false,
      lazyConnect: true,
      // Reconnect forever, at most a second apart: ioredis's default backs off to 5 s, and every page
      // that needs a session would stay 503 that long after Redis is back.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    };
    const redis = config.redisCluster
      ? new Cluster(config.redisCluster.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: options.retryStrategy,
          redisOptions: { password: config.redisCluster.password, maxRetriesPerRequest: options.maxRetriesPerRequest },
        })
      : config.redisUrl
        ? new Redis(config.redisUrl, options)
        : new Redis(options);
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      await store.close();
      throw new StartupError(`Cannot reach Redis at ${where}: ${(err as Error).message || 'connection refused'}`);
    }
    sessionStore = new RedisStore({ client: redis, prefix: 'gh:sess:' });
    limiters = redisLimiters(redis);
    readiness.redis = () => redis.ping();
    // QUIT needs a connection: with Redis unreachable it is refused, and the store must still be closed after it.
    closers.unshift(() => redis.quit().then(() => undefined, () => redis.disconnect()));
  } else {
    // Without Redis there is no MongoDB either (the schema requires it): the store is SQLite's.
    const embedded = sqlite!;
    const sqliteSessions = embedded.sessionStore();
    sessionStore = sqliteSessions;
    limiters = sqliteLimiters(embedded.db);
    closers.unshift(() => sqliteSessions.close());
  }

  // The directory: the file's realms and apps provisioned, then served from memory and followed (every
  // instance polls the directory's version; a write on this one reloads at once through afterWrite).
  const realms = new Realms(config.realms, config.defaultRealm, config.appSecrets);
  try {
    await enforceOneWaySettings(store, config.realms);
    const provisioned = await provisionFromFile(directory, config, overrides.clock?.() ?? new Date());
    if (provisioned.retired.length > 0) logger.warn({ realms: provisioned.retired, file: config.configPath }, 'realms no longer in the configuration file are retired (not served; their data is kept)');
    await realms.refresh(directory, true);
  } catch (err) {
    for (const close of closers) await close();
    if (err instanceof OneWaySettingError || err instanceof ProvisioningError) throw new StartupError(err.message);
    throw err;
  }
  closers.unshift(realms.watch(directory, (err) => logger.warn({ err }, 'reading the realms directory failed')));
  const realmsService = new RealmsService({
    directory,
    realmState: store,
    configPath: config.configPath,
    audit: new AuditLog(management.audit, overrides.clock ?? (() => new Date())),
    defaultRealmId: config.defaultRealm,
    afterWrite: () => realms.refresh(directory),
    clock: overrides.clock,
  });

  // Mail: SMTP when SMTP_URL is set, else the development outbox (stored, logged, shown at /dev/mail).
  const transport = config.smtpUrl ? smtpTransport(config.smtpUrl) : devOutboxTransport(logger, config.env === 'development');
  if (!config.smtpUrl && config.env === 'production') logger.warn('SMTP_URL is not set: mails are stored and logged, not sent');
  const outbox = new OutboxWorker(store, transport, logger, { ...tuning.outbox, clock: overrides.clock });
  if (tuning.sendMail !== false) outbox.start();
  closers.unshift(() => transport.close());
  closers.unshift(() => outbox.stop());

  // SMS: the signed webhook when SMS_WEBHOOK_URL is set, else the development outbox (stored, logged, shown at /dev/mail).
  const sms = config.smsWebhook ? webhookSms({ ...config.smsWebhook, clock: overrides.clock }) : devOutboxSms(store, logger, overrides.clock, config.env === 'development');
  if (!config.smsWebhook && config.env === 'production') logger.warn('SMS_WEBHOOK_URL is not set: text messages are stored and logged, not sent');

  return {
    deps: { config, store, sessionStore, limiters, logger, secret, readiness, onMailQueued: () => outbox.wake(), sms, realms, directory, realmsService, management, ...overrides },
    outbox,
    async close() {
      for (const close of closers) await close();
    },
  };
}

/** How long stop() waits for requests in flight before it cuts their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface Running {
  gatehouse: Gatehouse;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts Gatehouse: config → adapters → app → listen, and makes sure every realm has a signing key. */
export async function start(config: Config, logger: Logger, tuning: Tuning = {}): Promise<Running> {
  const composition = await compose(config, logger, {}, tuning);
  const gatehouse = createApp(composition.deps);
  await Promise.all(gatehouse.realms.all().map((r) => gatehouse.keys.ensure(r.id, r.tokens.algorithm)));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = gatehouse.app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // Keep-alive connections outlive server.close(): it closes the idle ones, but one whose answer is under way
  // (even one only finishing, like express-session saving to Redis after the headers went out) stays open for
  // the client's next request until keepAliveTimeout, and holds the exit that long. Once stopping, answers not
  // yet started say Connection: close, and each answer that ends lets its connection go at once.
  let stopping = false;
  const answering = new Set<ServerResponse>();
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    answering.add(res);
    res.once('close', () => answering.delete(res));
    // On the next turn: Node lets go of the answer (the connection becomes idle) in its own 'finish' listener.
    res.once('finish', () => stopping && setImmediate(() => server.closeIdleConnections()));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  return {
    gatehouse,
    server,
    url,
    async stop() {
      stopping = true;
      for (const res of answering) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // An answer already streaming on a keep-alive connection, or a client that never finishes its request: cut after a grace period.
      const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(grace);
      // A reset mail queued just after its answer left: in the store before the store closes.
      await gatehouse.drain();
      await composition.close();
    },
  };
}

/** Runs Gatehouse until SIGTERM/SIGINT; a configuration mistake exits 1 with one clear message. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<Running> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'gatehouse' } });
  let running: Running;
  try {
    running = await start(config, logger);
  } catch (err) {
    if (err instanceof StartupError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`Gatehouse cannot start: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  logger.info({ url: running.url, realms: config.realms.map((r) => r.id), redis: Boolean(config.redisUrl || config.redisSentinel || config.redisCluster) }, 'Gatehouse is listening');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return running;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

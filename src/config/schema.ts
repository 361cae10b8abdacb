import { z } from 'zod';
import { crossRealmIssues, realmIssues } from '../domain/realm-rules.ts';
import { realmSchema } from '../domain/realm-settings.ts';

/**
 * The configuration schema. Every key carries its default here, and README.md
 * ("Configuration") documents each one. Two sources feed it: environment
 * variables (process-level settings) and a JSON file (realms and apps). A
 * realm's and an app's keys are in src/domain/realm-settings.ts (the API's
 * realm writes parse with the same schema).
 */

export {
  accountAttributeSchema,
  appSchema,
  MAX_ACCOUNT_ATTRIBUTES,
  providerSchema,
  realmSchema,
  registeredUri,
  type AccountAttribute,
  type AppConfig,
  type ProviderConfig,
  type RealmConfig,
} from '../domain/realm-settings.ts';

export const fileSchema = z
  .strictObject({
    /** Realm for requests whose host matches no realm. */
    defaultRealm: z.string(),
    realms: z.array(realmSchema).min(1),
  })
  .superRefine((file, ctx) => {
    // The same rules the realms service applies to every write (src/domain/realm-rules.ts).
    for (const issue of crossRealmIssues(file.realms)) ctx.addIssue({ code: 'custom', path: ['realms', ...issue.path], message: issue.message });
    file.realms.forEach((realm, i) => {
      for (const issue of realmIssues(realm)) ctx.addIssue({ code: 'custom', path: ['realms', i, ...issue.path], message: issue.message });
    });
    if (!file.realms.some((r) => r.id === file.defaultRealm)) {
      ctx.addIssue({ code: 'custom', path: ['defaultRealm'], message: `no realm has the id "${file.defaultRealm}"` });
    }
  });

const booleanString = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** An empty variable (`PORT=`) means "not set", not 0 or "". */
const envObject = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Port Gatehouse listens on. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Interface to bind. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Path of the realms-and-apps JSON file. */
  GATEHOUSE_CONFIG: z.string().min(1).default('gatehouse.config.json'),
  /** Folder of the embedded SQLite database. */
  DATA_DIR: z.string().min(1).default('data'),
  /**
   * With it, users and everything else of the store live in MongoDB (mongoose) instead of the SQLite file:
   * instances become stateless. Needs REDIS_URL (sessions and rate limits) and a replica set (transactions).
   */
  // Not checked with URL.canParse: a replica set's seed list (mongodb://h1:27017,h2:27017/…) is no WHATWG URL. The driver reads it.
  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must start with mongodb:// or mongodb+srv://').optional(),
  /** With it, sessions and rate limits live in Redis (connect-redis + ioredis). */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  /**
   * Redis Sentinel instead of REDIS_URL: the sentinels as host:port, comma-separated; ioredis asks them for the
   * current master of REDIS_SENTINEL_MASTER and follows a failover.
   */
  REDIS_SENTINELS: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'must be host:port pairs separated by commas, like sentinel-1:26379,sentinel-2:26379')
    .optional(),
  /** Redis Cluster instead of REDIS_URL: some of its nodes as host:port, comma-separated; ioredis finds the rest. */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'must be host:port pairs separated by commas, like redis-1:6379,redis-2:6379')
    .optional(),
  /** The master's name the sentinels monitor (`sentinel monitor <name> …`). Required with REDIS_SENTINELS. */
  REDIS_SENTINEL_MASTER: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'a name like mymaster').optional(),
  /** The password of the master (Sentinel) or of the nodes (Cluster); with REDIS_URL, the password is in the URL. */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** Cookie-signing secret (≥ 32 characters); generated and kept in the store when absent. */
  SESSION_SECRET: z.string().min(32).optional(),
  /** Express "trust proxy": false, true, a hop count, or a comma-separated list of subnets. */
  TRUST_PROXY: z.string().default('false'),
  /** Secure cookies: "auto" follows the realms' publicUrl scheme (all https → secure). */
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Log one line per HTTP request. */
  LOG_REQUESTS: booleanString.default(true),
  /** smtp:// or smtps:// (user:password@host:port) to send mail; without it mails stay in the development outbox. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').refine((v) => URL.canParse(v), 'must be a URL').optional(),
  /** Default From of every mail ("Name <address>" or an address). */
  MAIL_FROM: z.string().max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters').default('Gatehouse <no-reply@gatehouse.localhost>'),
  /** http(s) endpoint text messages are POSTed to (signed JSON); without it they stay in the development outbox. */
  SMS_WEBHOOK_URL: z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an absolute http:// or https:// URL', abort: true })
    .refine((v) => !new URL(v).username && !new URL(v).password, 'must not contain user:password (the requests are signed; a token for the receiver can go in the path or query)')
    .optional(),
  /** The HMAC-SHA256 key of the webhook's signature (≥ 32 characters); required with SMS_WEBHOOK_URL. */
  SMS_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});

/** Every environment variable Gatehouse reads (deployment files are checked against it). */
export const ENV_KEYS: readonly string[] = Object.keys(envObject.shape);

export const envSchema = z.preprocess(
  (env) => (env && typeof env === 'object' ? Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')) : env),
  envObject.superRefine((env, ctx) => {
    if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_MASTER) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_MASTER'], message: 'is required with REDIS_SENTINELS (the name of the master they monitor)' });
    }
    if ([env.REDIS_URL, env.REDIS_SENTINELS, env.REDIS_CLUSTER_NODES].filter(Boolean).length > 1) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINELS'], message: 'set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES, not several' });
    }
    if (env.MONGODB_URL && !env.REDIS_URL && !env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required with MONGODB_URL (sessions and rate limits must be shared by every instance), or REDIS_SENTINELS or REDIS_CLUSTER_NODES' });
    }
    if (env.SMS_WEBHOOK_URL && !env.SMS_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['SMS_WEBHOOK_SECRET'], message: 'is required when SMS_WEBHOOK_URL is set (the webhook requests are signed with it)' });
    }
  }),
);

export type FileConfig = z.infer<typeof fileSchema>;
export type EnvConfig = z.infer<typeof envSchema>;

import type Database from 'better-sqlite3';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { reusing, type Limiter, type LimiterFactory, type LimitRule } from '../identity/throttle.ts';

class FlexibleLimiter implements Limiter {
  constructor(private readonly inner: RateLimiterAbstract) {}

  async reset(key: string): Promise<void> {
    await this.inner.delete(key);
  }

  async take(key: string): Promise<number> {
    try {
      // consume() increments and compares in one step (a Lua script in Redis, a transaction in SQLite).
      await this.inner.consume(key);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(err.msBeforeNext, 1);
      throw err;
    }
  }

  async refund(key: string): Promise<void> {
    await this.inner.reward(key, 1);
  }
}

/** Shared counters in Redis: every instance behind the load balancer sees the same numbers. */
export function redisLimiters(client: Redis | Cluster): LimiterFactory {
  return reusing((name: string, rule: LimitRule) =>
    new FlexibleLimiter(
      new RateLimiterRedis({ storeClient: client, keyPrefix: `gh:rl:${name}`, points: rule.points, duration: rule.durationSeconds }),
    ),
  );
}

/** Counters in the embedded SQLite file, for the single-process default. */
export function sqliteLimiters(db: Database.Database): LimiterFactory {
  db.exec('CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER)');
  // rate-limiter-flexible prepares its few fixed statements again on every call; preparing each once
  // takes a measurable share off every login (a counter is read or written three or four times).
  const statements = new Map<string, Database.Statement>();
  const client = {
    prepare(sql: string): Database.Statement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    transaction: db.transaction.bind(db),
  };
  return reusing((name: string, rule: LimitRule) =>
    new FlexibleLimiter(
      new RateLimiterSQLite({
        storeClient: client,
        storeType: 'better-sqlite3',
        tableName: 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: `gh:rl:${name}`,
        points: rule.points,
        duration: rule.durationSeconds,
      }),
    ),
  );
}

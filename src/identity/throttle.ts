/** A counter of failures per key within a window (the brute-force port, DESIGN.md §6). */
export interface Limiter {
  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfterMs(key: string): Promise<number>;
  /** Counts one failure (or one use) against `key`. */
  hit(key: string): Promise<void>;
  /** Forgets `key`'s failures (after a success). */
  reset(key: string): Promise<void>;
}

export interface LimitRule {
  points: number;
  durationSeconds: number;
}

/** Makes the limiter named `name` with `rule`; adapters (Redis, SQLite) live in infra/. */
export type LimiterFactory = (name: string, rule: LimitRule) => Limiter;

/**
 * The same limiter for the same name and rule, made once: services ask for
 * theirs on every request (`${realm.id}:login-ip`) without keeping maps.
 */
export function reusing(factory: LimiterFactory): LimiterFactory {
  const made = new Map<string, Limiter>();
  return (name, rule) => {
    const key = `${name}\n${rule.points}\n${rule.durationSeconds}`;
    let limiter = made.get(key);
    if (!limiter) {
      limiter = factory(name, rule);
      made.set(key, limiter);
    }
    return limiter;
  };
}

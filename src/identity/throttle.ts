/** A counter of failures per key within a window (the brute-force port, DESIGN.md §6). */
export interface Limiter {
  /** Forgets `key`'s failures (after a success). */
  reset(key: string): Promise<void>;
  /**
   * Counts one attempt against `key` and says whether it may go ahead, in one
   * atomic step: 0 when it may, else the milliseconds to wait. There is no
   * separate check: checking first and counting afterwards would let a burst
   * of parallel attempts all pass the check before any is counted.
   */
  take(key: string): Promise<number>;
  /** Gives back one attempt taken for `key` (it succeeded, and the rule counts only failures). */
  refund(key: string): Promise<void>;
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

/** Takes one attempt from each (limiter, key) at once; the longest wait among them, 0 when all may go ahead. */
export async function takeAll(...takes: Array<[Limiter, string]>): Promise<number> {
  const waits = await Promise.all(takes.map(([limiter, key]) => limiter.take(key)));
  return Math.max(0, ...waits);
}

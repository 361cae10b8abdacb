import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

/**
 * argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane). The native
 * binding hashes on libuv's thread pool, so the event loop stays free.
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** The same password typed on two keyboards (NFC vs NFD "café") is the same password (NIST 800-63B 5.1.1.2). */
function normalize(password: string): string {
  return password.normalize('NFKC');
}

/**
 * At most `limit` tasks at once; the rest wait their turn in order, here
 * rather than in libuv's queue, where they would hold up file and DNS work
 * for as long as the whole backlog takes to hash.
 */
class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class PasswordHasher {
  private dummyHash: Promise<string>;
  private readonly gate: Gate;

  constructor(
    private readonly options = ARGON2_OPTIONS,
    // One hash running per core (the thread pool's size, see config/runtime.ts) and one
    // queued behind each, so a thread never idles waiting for the event loop to hand it work.
    concurrency = 2 * availableParallelism(),
  ) {
    this.gate = new Gate(Math.max(1, concurrency));
    // Verifying an unknown user's login against this hash costs what a real one costs.
    this.dummyHash = this.gate.run(() => argon2.hash('gatehouse-dummy-password', this.options));
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => argon2.hash(normalize(password), this.options));
  }

  /**
   * True when `password` matches `hash`. No hash, or one this hasher cannot
   * read, costs a dummy verification first, so timing reveals neither.
   */
  async verify(hash: string | null, password: string): Promise<boolean> {
    if (hash?.startsWith('$argon2')) {
      try {
        return await this.gate.run(() => argon2.verify(hash, normalize(password)));
      } catch {
        // fall through to the dummy work
      }
    }
    const dummy = await this.dummyHash;
    await this.gate.run(() => argon2.verify(dummy, password)).catch(() => false);
    return false;
  }
}

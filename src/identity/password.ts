import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';

/**
 * argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane). The native
 * binding hashes on libuv's thread pool, so the event loop stays free.
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * The hash formats Gatehouse reads: its own argon2id (PHC string; node-argon2
 * writes the parameters in any order), and bcrypt from another system's
 * password database (`$2a$`, `$2b$`, `$2y$`), verified until the user's next
 * successful login replaces it (`needsRehash`).
 */
export const ARGON2ID_HASH = /^\$argon2id\$v=\d+\$(?=[^$]*\bm=\d+)(?=[^$]*\bt=\d+)(?=[^$]*\bp=\d+)[mtp]=\d+(?:,[mtp]=\d+){2}\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{16,}$/;
export const BCRYPT_HASH = /^\$2[aby]\$(?:0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** The argon2id parameters of a PHC string, or null for anything else. */
function argon2idParameters(hash: string): { version: number; m: number; t: number; p: number } | null {
  if (!ARGON2ID_HASH.test(hash)) return null;
  const [, , version, params] = hash.split('$');
  const p = Object.fromEntries(params!.split(',').map((kv) => kv.split('=') as [string, string]));
  return { version: Number(version!.slice(2)), m: Number(p.m), t: Number(p.t), p: Number(p.p) };
}

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
   * True when `password` matches `hash` (argon2, or an imported bcrypt). No
   * hash, or one this hasher cannot read, costs a dummy verification first,
   * so timing reveals neither.
   */
  async verify(hash: string | null, password: string): Promise<boolean> {
    if (hash && BCRYPT_HASH.test(hash)) return this.verifyBcrypt(hash, password);
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

  /**
   * True when `hash` should be replaced by a fresh one from the password just
   * verified: bcrypt (imported), or argon2 of another variant (argon2i, argon2d) or with other
   * parameters than this hasher's. No hash, or one no hasher here reads: false.
   */
  needsRehash(hash: string | null): boolean {
    if (!hash) return false;
    if (BCRYPT_HASH.test(hash)) return true;
    if (!hash.startsWith('$argon2')) return false;
    const params = argon2idParameters(hash);
    const o = this.options;
    // Version 19 (0x13) is argon2's current one, the only one node-argon2 writes.
    return !params || params.version !== 19 || params.m !== o.memoryCost || params.t !== o.timeCost || params.p !== o.parallelism;
  }

  /**
   * bcryptjs is pure JavaScript: it runs on the event loop, in slices that
   * yield to other work (setImmediate), not on the thread pool. The other
   * system hashed the password as it was typed, mostly without normalising
   * it; the NFKC form (what Gatehouse hashes) is tried second.
   */
  private async verifyBcrypt(hash: string, password: string): Promise<boolean> {
    if (await bcrypt.compare(password, hash)) return true;
    const normalized = normalize(password);
    return normalized !== password && bcrypt.compare(normalized, hash);
  }
}

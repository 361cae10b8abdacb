import { availableParallelism } from 'node:os';

/**
 * How the Node.js process is tuned for Gatehouse. Measured with `npm run bench`
 * on 2 cores; the reasons are in docs/configuration.md ("Memory").
 */

/**
 * V8 heap limits for production (Dockerfile CMD, `npm run serve:prod`, and the
 * bench's Gatehouse process). The live heap is ~20 MB; left alone, V8 lets
 * garbage grow the old space to ~90 MB and the young generation to 3 × 16 MB
 * under load before collecting. These bounds keep RSS under load near 146 MB
 * instead of ~235 MB, at no measurable cost in throughput.
 */
export const PRODUCTION_NODE_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=8'] as const;

/**
 * Environment of production processes, read by glibc before Node starts, so
 * it is set outside the process: the Dockerfile's ENV and the bench's
 * children. Two malloc arenas instead of one per thread: the pool threads'
 * argon2 memory (19 MiB a hash) is reused across threads instead of kept by
 * each. Measured with the bench's pages and logins: peak RSS 153.7 → 147.2 MB,
 * login / raw argon2 1.03 → 0.98 (run-to-run noise is ±0.05).
 */
export const PRODUCTION_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/**
 * Sizes libuv's thread pool to the machine's cores unless UV_THREADPOOL_SIZE
 * is set. argon2 hashes there, 19 MiB each, and every pool thread keeps the
 * memory of the last hash it ran in its malloc arena: four threads on two
 * cores hold twice the memory and hash no faster (measured: 91 vs 127 MB RSS,
 * 72 vs 63 verifies/s). Imported first by the entry points, before anything
 * has used the pool, which reads the variable once when it starts.
 */
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));

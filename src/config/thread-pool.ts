import { availableParallelism } from 'node:os';

/**
 * Sizes libuv's thread pool to the machine's cores unless UV_THREADPOOL_SIZE
 * is set. argon2 hashes there, 19 MiB each, and every pool thread keeps the
 * memory of the last hash it ran in its malloc arena: four threads on two
 * cores hold twice the memory and hash no faster (measured: 91 vs 127 MB RSS,
 * 72 vs 63 verifies/s). Imported first by the entry points, before anything
 * has used the pool, which reads the variable once when it starts.
 */
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A dependency loaded on first use instead of at start. Libraries that only
 * a few pages need (QR codes, phone numbers, user agents, TOTP) would
 * otherwise sit in every instance's memory from the first request on; the
 * type stays the module's own (`lazyModule<typeof import('qrcode')>('qrcode')`).
 */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}

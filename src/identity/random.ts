import { createHash, randomBytes } from 'node:crypto';

/** A random identifier of `bytes` bytes (16 = 128 bits), URL-safe. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** What the store keeps of a secret handed to a user: its SHA-256, never the secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

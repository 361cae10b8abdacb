import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { RealmConfig } from '../config/index.ts';
import { RuleViolation } from '../domain/errors.ts';

/** A key a caller gives must be at least this long and carry this much estimated entropy. */
export const GIVEN_KEY_MIN_LENGTH = 24;
export const GIVEN_KEY_MIN_BITS = 96;
const GIVEN_KEY = /^[\x21-\x7e]{24,200}$/;

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 40 base62 characters (≈ 238 bits), drawn without modulo bias. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (byte < 248 && out.length < length) out += B62[byte % 62];
    }
  }
  return out;
}

/** Shannon entropy of the key's characters times its length: a rough but honest floor for a given key. */
export function estimatedBits(key: string): number {
  const counts = new Map<string, number>();
  for (const ch of key) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / key.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * key.length;
}

/**
 * API users' keys under the realm's policy (AuthRocket "Settings: Fields"):
 * always found by a keyed SHA-256 (HMAC under a server-side key: fast on the
 * apps' hot path, useless without the server's key); under "encrypt" also
 * sealed with AES-256-GCM under a key of its own, named by a key id, so it
 * can be shown again.
 */
export class ApiUserKeys {
  private readonly encryptionKeyId: string;

  constructor(
    private readonly lookupKey: Buffer,
    private readonly encryptionKey: Buffer,
  ) {
    this.encryptionKeyId = createHash('sha256').update(encryptionKey).digest('hex').slice(0, 8);
  }

  /** A new key: the realm's prefix + 40 random base62 characters. */
  generate(realm: RealmConfig): string {
    return `${realm.fields.apiKeys.prefix ?? ''}${randomBase62(40)}`;
  }

  /** A key the caller chose, checked: printable ASCII without spaces, long and random enough. */
  checkGiven(key: string): void {
    if (!GIVEN_KEY.test(key)) {
      throw new RuleViolation([
        { field: 'apiKey', code: 'api_key.format', message: `${GIVEN_KEY_MIN_LENGTH} to 200 printable ASCII characters without spaces` },
      ]);
    }
    if (estimatedBits(key) < GIVEN_KEY_MIN_BITS) {
      throw new RuleViolation([{ field: 'apiKey', code: 'api_key.weak', message: `too predictable: give at least ${GIVEN_KEY_MIN_BITS} bits of randomness` }]);
    }
  }

  lookupHash(realmId: string, key: string): string {
    return createHmac('sha256', this.lookupKey).update(`${realmId}\n${key}`).digest('base64url');
  }

  /** What the store keeps of `key` under the realm's policy. */
  stored(realm: RealmConfig, key: string): { lookupHash: string; sealed: string | null } {
    return { lookupHash: this.lookupHash(realm.id, key), sealed: realm.fields.apiKeys.policy === 'encrypt' ? this.seal(realm.id, key) : null };
  }

  private seal(realmId: string, key: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    // The realm is authenticated data: a sealed key copied to another realm's row does not open.
    cipher.setAAD(Buffer.from(realmId));
    const body = Buffer.concat([cipher.update(key, 'utf8'), cipher.final()]);
    return ['v1', this.encryptionKeyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The key again, from its sealed form; null when it was sealed under another key or tampered with. */
  open(realmId: string, sealed: string): string | null {
    const [version, keyId, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || keyId !== this.encryptionKeyId || !iv || !body || !tag) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(realmId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Management API keys (DESIGN.md §2): `ghmk_` + 43 base62 characters of
 * randomness (256 bits) + 6 base62 characters of CRC32 checksum over them.
 * The fixed prefix and the checksum let secret scanners recognise a leaked key
 * without calling anyone, and let Gatehouse refuse a mistyped key before it
 * reads the store. README "Management API" documents MANAGEMENT_KEY_PATTERN.
 */
export const MANAGEMENT_KEY_PREFIX = 'ghmk_';
export const MANAGEMENT_KEY_PATTERN = /^ghmk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/;
/** For scanners: the same, found inside text. */
export const MANAGEMENT_KEY_SCAN = '\\bghmk_[0-9A-Za-z]{49}\\b';

export type KeyAccess = 'read' | 'write';

export interface ManagementKey {
  id: string;
  name: string | null;
  /** null: every realm. */
  realmId: string | null;
  access: KeyAccess;
  /** The key's last four characters, to tell keys apart in lists. */
  lastFour: string;
  createdAt: Date;
  createdBy: string | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `value` in base62, left-padded with zeros to `width` characters. */
function base62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = ALPHABET[Number(v % 62n)]! + out;
    v /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(body: string): string {
  return base62(BigInt(crc32(body)), 6);
}

/** A new key (the secret: shown once, stored only as a hash). */
export function generateManagementKey(): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), 43);
  return `${MANAGEMENT_KEY_PREFIX}${body}${checksum(body)}`;
}

/** Whether `key` has the shape and a correct checksum: a mistyped or made-up key is refused without a lookup. */
export function isWellFormedManagementKey(key: string): boolean {
  if (!MANAGEMENT_KEY_PATTERN.test(key)) return false;
  const body = key.slice(MANAGEMENT_KEY_PREFIX.length, -6);
  return checksum(body) === key.slice(-6);
}

/** Whether a key locked to `key.realmId` may see `realmId`. */
export function keySeesRealm(key: Pick<ManagementKey, 'realmId'>, realmId: string): boolean {
  return key.realmId === null || key.realmId === realmId;
}

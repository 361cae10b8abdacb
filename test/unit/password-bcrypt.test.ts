import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { ARGON2_OPTIONS, BCRYPT_HASH, PasswordHasher } from '../../src/identity/password.ts';

const PASSWORD = 'violet-harbor-lantern-42';

describe('PasswordHasher with imported bcrypt hashes', () => {
  const hasher = new PasswordHasher();
  // Cost 4 keeps the tests quick; the cost is read from the hash, whatever it is.
  const b2b = bcrypt.hashSync(PASSWORD, 4);
  // PHP writes $2y$, older libraries $2a$: the same algorithm for these passwords, only the prefix differs.
  const b2y = b2b.replace(/^\$2b\$/, '$2y$');
  const b2a = b2b.replace(/^\$2b\$/, '$2a$');

  it('verifies the right password against a $2a$, $2b$ and $2y$ hash', async () => {
    expect(b2b.startsWith('$2b$')).toBe(true);
    for (const hash of [b2a, b2b, b2y]) {
      expect(BCRYPT_HASH.test(hash)).toBe(true);
      expect(await hasher.verify(hash, PASSWORD)).toBe(true);
    }
  });

  it('refuses a wrong password against a bcrypt hash', async () => {
    expect(await hasher.verify(b2b, 'violet-harbor-lantern-43')).toBe(false);
    expect(await hasher.verify(b2y, '')).toBe(false);
  });

  it('verifies a bcrypt hash of a password as typed and of its NFKC form', async () => {
    const nfd = 'cafe\u0301-au-lait-42';
    const asTyped = bcrypt.hashSync(nfd, 4);
    expect(await hasher.verify(asTyped, nfd)).toBe(true);
    const normalized = bcrypt.hashSync(nfd.normalize('NFKC'), 4);
    expect(await hasher.verify(normalized, nfd)).toBe(true);
    expect(await hasher.verify(normalized, 'cafe-au-lait-42')).toBe(false);
  });

  it('refuses a malformed bcrypt-looking hash instead of throwing', async () => {
    expect(await hasher.verify('$2b$10$tooShort', PASSWORD)).toBe(false);
    expect(await hasher.verify('$2x$04$' + 'a'.repeat(53), PASSWORD)).toBe(false);
  });

  it('wants every bcrypt hash rehashed', () => {
    expect(hasher.needsRehash(b2b)).toBe(true);
    expect(hasher.needsRehash(b2y)).toBe(true);
    expect(hasher.needsRehash(b2a)).toBe(true);
  });

  it('leaves an argon2id hash with its own parameters alone', async () => {
    expect(hasher.needsRehash(await hasher.hash(PASSWORD))).toBe(false);
  });

  it('wants an argon2 hash of other parameters or another variant rehashed', async () => {
    expect(hasher.needsRehash(await argon2.hash(PASSWORD, { ...ARGON2_OPTIONS, memoryCost: 8192 }))).toBe(true);
    expect(hasher.needsRehash(await argon2.hash(PASSWORD, { ...ARGON2_OPTIONS, timeCost: 3 }))).toBe(true);
    expect(hasher.needsRehash(await argon2.hash(PASSWORD, { ...ARGON2_OPTIONS, type: argon2.argon2i }))).toBe(true);
  });

  it('does not ask to rehash what it cannot verify: no hash, or an unknown format', () => {
    expect(hasher.needsRehash(null)).toBe(false);
    expect(hasher.needsRehash('')).toBe(false);
    expect(hasher.needsRehash('plaintext-password')).toBe(false);
    expect(hasher.needsRehash('$1$md5crypt$abcdefghijklmnopqrstuv')).toBe(false);
  });
});

import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../src/identity/password.ts';
import { checkPassword, type PasswordPolicy } from '../../src/identity/password-policy.ts';

/** The realm defaults (config/schema.ts). */
const POLICY: PasswordPolicy = { minLength: 8, maxLength: 256, rejectCommon: true };

describe('checkPassword', () => {
  it('accepts a good passphrase', () => {
    expect(checkPassword('violet-harbor-lantern-42', POLICY)).toBeNull();
  });

  it('refuses a password shorter than the minimum (ASVS 6.2.1)', () => {
    expect(checkPassword('Ab3$xyz', POLICY)).toBe('password.tooShort');
    expect(checkPassword('', POLICY)).toBe('password.tooShort');
  });

  it('accepts a password of exactly the minimum length (ASVS 6.2.1)', () => {
    expect(checkPassword('zq8vnw3k', POLICY)).toBeNull();
  });

  it('counts code points, not UTF-16 units, so 7 emoji are too short (ASVS 6.2.1)', () => {
    const sevenEmoji = '🦊🐙🦉🐝🦋🐢🐬';
    expect(sevenEmoji.length).toBe(14); // would pass a naive .length check
    expect(checkPassword(sevenEmoji, POLICY)).toBe('password.tooShort');
    expect(checkPassword(`${sevenEmoji}🦒`, POLICY)).toBeNull();
  });

  it('refuses a password over the maximum length, counting code points', () => {
    expect(checkPassword('a'.repeat(257), POLICY)).toBe('password.tooLong');
    expect(checkPassword('x'.repeat(255) + '🦊', POLICY)).toBeNull(); // 256 code points, 257 UTF-16 units
  });

  it('permits passwords of at least 64 characters (ASVS 6.2.9)', () => {
    expect(checkPassword('correct horse battery staple '.repeat(3).slice(0, 64), POLICY)).toBeNull();
    expect(checkPassword(' walnut meadow '.repeat(16), POLICY)).toBeNull(); // 240 characters
  });

  it('refuses common passwords (ASVS 6.2.4)', () => {
    for (const pw of ['password1', 'qwertyuiop', 'iloveyou', 'trustno1', '12345678', 'letmein123']) {
      expect(checkPassword(pw, POLICY), pw).toBe('password.common');
    }
  });

  it('refuses common passwords whatever their case (ASVS 6.2.4)', () => {
    for (const pw of ['PASSWORD1', 'QwertyUiop', 'Iloveyou']) {
      expect(checkPassword(pw, POLICY), pw).toBe('password.common');
    }
  });

  it('lets a realm switch the common-password check off', () => {
    expect(checkPassword('password1', { ...POLICY, rejectCommon: false })).toBeNull();
  });

  it('refuses a password equal to the email or username, whatever the case (ASVS 6.2.11)', () => {
    expect(checkPassword('alice.smith@example.com', POLICY, ['alice.smith@example.com'])).toBe('password.containsIdentifier');
    expect(checkPassword('Alice.Smith@Example.com', POLICY, ['alice.smith@example.com'])).toBe('password.containsIdentifier');
    expect(checkPassword('bobbytables', POLICY, ['BobbyTables', null])).toBe('password.containsIdentifier');
  });

  it("refuses a password equal to the email's local part (ASVS 6.2.11)", () => {
    expect(checkPassword('alice.smith', POLICY, ['alice.smith@example.com'])).toBe('password.containsIdentifier');
  });

  it('ignores missing identifiers', () => {
    expect(checkPassword('violet-harbor-lantern-42', POLICY, [null, undefined, ''])).toBeNull();
  });

  it('has no composition rules: an all-lowercase passphrase passes (ASVS 6.2.5)', () => {
    expect(checkPassword('walnut meadow quietly sings', POLICY)).toBeNull();
    expect(checkPassword('zzzzqqqqxxxxwwww', POLICY)).toBeNull();
    expect(checkPassword('8271946305718264', POLICY)).toBeNull();
  });

  it('allows unicode passwords of any script (ASVS 6.2.5)', () => {
    for (const pw of ['пароль-для-входа', '我的密码非常安全啊', 'Ünïcödé Pässwörd', '🔐🗝️🚪🏰 ok']) {
      expect(checkPassword(pw, POLICY), pw).toBeNull();
    }
  });
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with argon2id, m=19456, t=2, p=1 (ASVS 11.4.2)', async () => {
    const hash = await hasher.hash('violet-harbor-lantern-42');
    // PHC string: $argon2id$v=19$<params>$<salt>$<hash>. node-argon2 0.45 writes the
    // parameters as m,p,t (not the reference m,t,p), so compare them as a set.
    const [, type, version, params, salt, digest] = hash.split('$');
    expect(type).toBe('argon2id');
    expect(version).toBe('v=19');
    expect(Object.fromEntries(params!.split(',').map((kv) => kv.split('=')))).toEqual({ m: '19456', t: '2', p: '1' });
    expect(Buffer.from(salt!, 'base64').length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(digest!, 'base64').length).toBeGreaterThanOrEqual(32);
  });

  it('salts each hash: the same password hashes differently twice (ASVS 11.4.2)', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password here'), hasher.hash('same password here')]);
    expect(a).not.toBe(b);
    expect(await hasher.verify(a, 'same password here')).toBe(true);
    expect(await hasher.verify(b, 'same password here')).toBe(true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hasher.hash('violet-harbor-lantern-42');
    expect(await hasher.verify(hash, 'violet-harbor-lantern-42')).toBe(true);
    expect(await hasher.verify(hash, 'violet-harbor-lantern-43')).toBe(false);
  });

  it('verifies the password exactly as given: no case folding or trimming (ASVS 6.2.8)', async () => {
    const hash = await hasher.hash('Violet Harbor Lantern');
    expect(await hasher.verify(hash, 'violet harbor lantern')).toBe(false);
    expect(await hasher.verify(hash, 'Violet Harbor Lantern ')).toBe(false);
    expect(await hasher.verify(hash, ' Violet Harbor Lantern')).toBe(false);
  });

  it('does not truncate a 1000-character password (ASVS 6.2.8)', async () => {
    const long = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const hash = await hasher.hash(long);
    expect(await hasher.verify(hash, long)).toBe(true);
    expect(await hasher.verify(hash, long.slice(0, -1))).toBe(false);
    expect(await hasher.verify(hash, long.slice(0, 72))).toBe(false);
  });

  it('hashes and verifies unicode passwords', async () => {
    const hash = await hasher.hash('我的密码非常安全啊🔐');
    expect(await hasher.verify(hash, '我的密码非常安全啊🔐')).toBe(true);
    expect(await hasher.verify(hash, '我的密码非常安全啊')).toBe(false);
  });

  it('returns false for an unknown user (null hash)', async () => {
    expect(await hasher.verify(null, 'gatehouse-dummy-password')).toBe(false);
    expect(await hasher.verify(null, 'anything')).toBe(false);
  });

  it('accepts the same password in another Unicode normalisation form (NFC vs NFD)', async () => {
    const hash = await hasher.hash('caf\u00e9-au-lait-42');
    await expect(hasher.verify(hash, 'cafe\u0301-au-lait-42')).resolves.toBe(true);
  });

  it('spends the dummy verification on an unreadable hash, so timing does not tell (ASVS 6.3.8)', async () => {
    const real = await hasher.hash('violet-harbor-lantern-42');
    const time = async (hash: string) => {
      const start = performance.now();
      for (let i = 0; i < 3; i++) await hasher.verify(hash, 'wrong-password-guess');
      return performance.now() - start;
    };
    await time(real);
    const [realMs, garbageMs] = [await time(real), await time('$2b$10$short')];
    expect(garbageMs).toBeGreaterThan(realMs * 0.5);
  });

  it('returns false for a garbage hash rather than throwing', async () => {
    for (const garbage of ['not-a-hash', '$argon2id$v=19$m=19456,t=2,p=1$broken', '$2b$10$short']) {
      await expect(hasher.verify(garbage, 'whatever')).resolves.toBe(false);
    }
  });

  it('spends comparable time on an unknown user as on a real verify (ASVS 6.3.8)', async () => {
    const hash = await hasher.hash('violet-harbor-lantern-42');
    // Warm up both paths (the dummy hash is made lazily in the background).
    await hasher.verify(null, 'x');
    await hasher.verify(hash, 'x');
    let real = 0;
    let unknown = 0;
    // Interleaved so that load from other test files hits both paths alike.
    for (let i = 0; i < 6; i++) {
      let t = performance.now();
      await hasher.verify(hash, 'wrong password');
      real += performance.now() - t;
      t = performance.now();
      await hasher.verify(null, 'wrong password');
      unknown += performance.now() - t;
    }
    expect(unknown).toBeGreaterThanOrEqual(real * 0.5);
  });

  it('hashes off the event loop: timers keep firing while a hash runs (ASVS 11.4.2)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await Promise.all([hasher.hash('a'.repeat(20)), hasher.hash('b'.repeat(20))]);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
  });
});

import { randomBytes } from 'node:crypto';
import { generateSecret, generateSync } from 'otplib';
import { describe, expect, it } from 'vitest';
import {
  decryptSecret,
  encryptSecret,
  generateRecoveryCode,
  groupSecret,
  matchTotp,
  normalizeRecoveryCode,
  otpauthUri,
  passwordTag,
  RECOVERY_CODE_LENGTH,
  secondFactorMethodOf,
  stepAt,
} from '../../src/identity/totp.ts';

const KEY = randomBytes(32);

describe('TOTP secrets at rest', () => {
  it('round-trips through AES-256-GCM in the versioned format, with a fresh IV each time (ASVS 11.3.2, 11.3.4)', () => {
    const secret = generateSecret();
    const a = encryptSecret(KEY, secret);
    const b = encryptSecret(KEY, secret);
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(decryptSecret(KEY, a)).toBe(secret);
    expect(decryptSecret(KEY, b)).toBe(secret);
  });

  it('refuses an altered ciphertext, tag or IV, another key and an unknown format (ASVS 11.3.3)', () => {
    const sealed = encryptSecret(KEY, generateSecret());
    const [v, iv, tag, ct] = sealed.split('.') as [string, string, string, string];
    const flip = (s: string) => {
      const bytes = Buffer.from(s, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64url');
    };
    expect(() => decryptSecret(KEY, [v, iv, tag, flip(ct)].join('.'))).toThrow();
    expect(() => decryptSecret(KEY, [v, iv, flip(tag), ct].join('.'))).toThrow();
    expect(() => decryptSecret(KEY, [v, flip(iv), tag, ct].join('.'))).toThrow();
    expect(() => decryptSecret(randomBytes(32), sealed)).toThrow();
    expect(() => decryptSecret(KEY, ['v2', iv, tag, ct].join('.'))).toThrow(/format/);
    expect(() => decryptSecret(KEY, `${sealed}.extra`)).toThrow(/format/);
    expect(() => decryptSecret(KEY, 'plain-secret')).toThrow(/format/);
  });
});

describe('TOTP codes', () => {
  const secret = generateSecret();
  /** The middle of a step: one step either side is 30 s away. */
  const epoch = 1_700_000_025;
  const at = (seconds: number) => new Date(seconds * 1000);
  const codeAt = (seconds: number) => generateSync({ secret, epoch: seconds });

  it('accepts a code otplib generates, and names its time step', async () => {
    expect(await matchTotp(secret, codeAt(epoch), at(epoch))).toBe(stepAt(at(epoch)));
    expect(stepAt(at(epoch))).toBe(Math.floor(epoch / 30));
  });

  it('accepts the codes of one step before and after, and refuses two steps off (ASVS 6.5.5)', async () => {
    expect(await matchTotp(secret, codeAt(epoch - 30), at(epoch))).toBe(stepAt(at(epoch)) - 1);
    expect(await matchTotp(secret, codeAt(epoch + 30), at(epoch))).toBe(stepAt(at(epoch)) + 1);
    expect(await matchTotp(secret, codeAt(epoch - 60), at(epoch))).toBeNull();
    expect(await matchTotp(secret, codeAt(epoch + 60), at(epoch))).toBeNull();
  });

  it('refuses a code of a step already used, or older (ASVS 6.5.1)', async () => {
    const step = stepAt(at(epoch));
    expect(await matchTotp(secret, codeAt(epoch), at(epoch), step)).toBeNull();
    expect(await matchTotp(secret, codeAt(epoch - 30), at(epoch), step)).toBeNull();
    expect(await matchTotp(secret, codeAt(epoch + 30), at(epoch), step)).toBe(step + 1);
  });

  it('forgives spaces and refuses anything but six digits without throwing', async () => {
    const code = codeAt(epoch);
    expect(await matchTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, at(epoch))).not.toBeNull();
    for (const typed of ['', '12345', '1234567', 'abcdef', '12345x', '１２３４５６']) {
      expect(await matchTotp(secret, typed, at(epoch)), typed).toBeNull();
    }
    expect(await matchTotp(generateSecret(), code, at(epoch))).toBeNull();
  });

  it('answers "no match" without throwing when the last spent step is ahead of the clock (it stepped back)', async () => {
    // Spent at a later step by an instance ahead of this one, or before NTP set this clock back.
    const step = stepAt(at(epoch));
    const code = codeAt(epoch);
    for (const lastStep of [step + 1, step + 2, step + 10, step + 1000]) {
      expect(await matchTotp(secret, code, at(epoch), lastStep), String(lastStep - step)).toBeNull();
      expect(await matchTotp(secret, codeAt(epoch + 30), at(epoch), lastStep)).toBeNull();
    }
    // Once the clock has caught up, the next step's code matches again.
    expect(await matchTotp(secret, codeAt(epoch + 90), at(epoch + 90), step + 2)).toBe(step + 3);
  });

  it('builds the otpauth URI authenticator apps read, and groups the secret in fours', () => {
    const uri = new URL(otpauthUri('JBSWY3DPEHPK3PXP', 'Alpha Co', 'ada@example.com'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Alpha Co:ada@example.com');
    expect(uri.searchParams.get('secret')).toBe('JBSWY3DPEHPK3PXP');
    expect(uri.searchParams.get('issuer')).toBe('Alpha Co');
    expect(groupSecret('JBSWY3DPEHPK3PXP')).toBe('JBSW Y3DP EHPK 3PXP');
    expect(groupSecret('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
  });
});

describe('recovery codes', () => {
  const SHAPE = /^[0-9a-hjkmnp-tv-z]{6}-[0-9a-hjkmnp-tv-z]{6}-[0-9a-hjkmnp-tv-z]{6}-[0-9a-hjkmnp-tv-z]{6}$/;

  it('are 24 characters of a 32-letter unambiguous alphabet (120 random bits), shown as 4 groups of 6 (ASVS 6.5.2, 6.5.3, 6.5.4)', () => {
    const codes = Array.from({ length: 200 }, generateRecoveryCode);
    for (const code of codes) expect(code).toMatch(SHAPE);
    expect(new Set(codes).size).toBe(200);
    // 24 characters of 5 bits each: at least the 112 bits a fast keyed hash needs.
    expect(RECOVERY_CODE_LENGTH * Math.log2(32)).toBeGreaterThanOrEqual(112);
  });

  it('use every letter of the alphabet equally often, wherever in the code: no modulo bias (ASVS 6.5.3)', () => {
    const counts = new Map<string, number>();
    const n = 4000;
    for (let i = 0; i < n; i++) for (const c of generateRecoveryCode().replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    const expected = (n * RECOVERY_CODE_LENGTH) / 32;
    const chiSquare = [...counts.values()].reduce((sum, seen) => sum + (seen - expected) ** 2 / expected, 0);
    // 31 degrees of freedom: a fair generator stays under 90 all but about once in 10^8 runs; a biased one does not.
    expect(chiSquare).toBeLessThan(90);
  });

  it('normalise case, dashes and spaces, and read O as 0 and I or L as 1', () => {
    const canonical = 'k7q2m9xh4tpz3nf8wdc6vbry';
    expect(normalizeRecoveryCode('k7q2m9-xh4tpz-3nf8wd-c6vbry')).toBe(canonical);
    expect(normalizeRecoveryCode(' K7Q2M9 XH4TPZ 3NF8WD C6VBRY ')).toBe(canonical);
    expect(normalizeRecoveryCode('k7q2-m9xh-4tpz-3nf8-wdc6-vbry')).toBe(canonical);
    expect(normalizeRecoveryCode('k7q2m9xh4tpz3nf8wdc6vbry')).toBe(canonical);
    expect(normalizeRecoveryCode('k7q2m9-xh4tpz-3nf8wd-c6vbrO')).toBe('k7q2m9xh4tpz3nf8wdc6vbr0');
    expect(normalizeRecoveryCode('k7q2m9-xh4tpz-3nf8wd-c6vbrI')).toBe(normalizeRecoveryCode('k7q2m9-xh4tpz-3nf8wd-c6vbrl'));
    expect(normalizeRecoveryCode('k7q2m9-xh4tpz-3nf8wd-c6vbrl')).toBe('k7q2m9xh4tpz3nf8wdc6vbr1');
    const code = generateRecoveryCode();
    expect(normalizeRecoveryCode(code)).toBe(code.replace(/-/g, ''));
  });

  it('refuse what cannot be a code', () => {
    for (const typed of ['', 'abcde-12345', 'k7q2m9-xh4tpz-3nf8wd-c6vbr', 'k7q2m9-xh4tpz-3nf8wd-c6vbryy', 'k7q2m9-xh4tpz-3nf8wd-c6vbru', 'k7q2m9_xh4tpz_3nf8wd_c6vbry', 'k7q2m9-xh4tpz-3nf8wd-c6vbrä']) {
      expect(normalizeRecoveryCode(typed), typed).toBeNull();
    }
  });

  it('are told apart from authenticator codes by their shape', () => {
    expect(secondFactorMethodOf('123456')).toBe('otp');
    expect(secondFactorMethodOf(' 123 456 ')).toBe('otp');
    expect(secondFactorMethodOf('123456-789012-345678-901234')).toBe('recovery_code');
    expect(secondFactorMethodOf('k7q2m9-xh4tpz-3nf8wd-c6vbry')).toBe('recovery_code');
  });
});

describe('password tags of pending sign-ins', () => {
  it('are short, tell hashes apart, and never contain the hash', () => {
    const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';
    expect(passwordTag(hash)).toMatch(/^[\w-]{16}$/);
    expect(passwordTag(hash)).toBe(passwordTag(hash));
    expect(passwordTag(hash)).not.toBe(passwordTag(`${hash}x`));
    expect(passwordTag(null)).not.toBe(passwordTag(hash));
    expect(passwordTag(null)).not.toBe(passwordTag(''));
    expect(hash).not.toContain(passwordTag(hash));
  });
});

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
  it('are 10 characters of an unambiguous alphabet (50 random bits), shown as xxxxx-xxxxx (ASVS 6.5.3, 6.5.4)', () => {
    const codes = Array.from({ length: 200 }, generateRecoveryCode);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    expect(new Set(codes).size).toBe(200);
  });

  it('normalise case, dashes and spaces, and read O as 0 and I or L as 1', () => {
    expect(normalizeRecoveryCode('abcde-12345')).toBe('abcde12345');
    expect(normalizeRecoveryCode(' ABCDE 12345 ')).toBe('abcde12345');
    expect(normalizeRecoveryCode('ab-cde-123-45')).toBe('abcde12345');
    expect(normalizeRecoveryCode('abcde-O2345')).toBe('abcde02345');
    expect(normalizeRecoveryCode('abcde-I2345')).toBe(normalizeRecoveryCode('abcde-l2345'));
    expect(normalizeRecoveryCode('abcde-l2345')).toBe('abcde12345');
  });

  it('refuse what cannot be a code', () => {
    for (const typed of ['', 'abcde-1234', 'abcde-123456', 'abcde-1234u', 'abcde_12345', 'äbcde-12345']) {
      expect(normalizeRecoveryCode(typed), typed).toBeNull();
    }
  });

  it('are told apart from authenticator codes by their shape', () => {
    expect(secondFactorMethodOf('123456')).toBe('otp');
    expect(secondFactorMethodOf(' 123 456 ')).toBe('otp');
    expect(secondFactorMethodOf('12345-67890')).toBe('recovery_code');
    expect(secondFactorMethodOf('abcde-12345')).toBe('recovery_code');
  });
});

import { describe, expect, it } from 'vitest';
import { assertHeaderSafe, MailAddressError, normalizeRecipient } from '../../src/mail/address.ts';

/** The MailAddressError `fn` throws. */
function refusal(fn: () => unknown): MailAddressError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MailAddressError);
    return err as MailAddressError;
  }
  throw new Error('expected a MailAddressError, nothing was thrown');
}

describe('normalizeRecipient', () => {
  it('accepts ordinary addresses as they are', () => {
    for (const address of ['alice@example.com', 'Alice.Liddell@Example.COM', 'alice+tag@sub.example.co.uk', 'a@xn--bcher-kva.example']) {
      expect(normalizeRecipient(address, null)).toEqual({ address, name: null });
    }
  });

  it('trims spaces around the address and the name', () => {
    expect(normalizeRecipient('  alice@example.com  ', '  Alice Liddell ')).toEqual({ address: 'alice@example.com', name: 'Alice Liddell' });
  });

  it('turns an empty or blank name into null', () => {
    expect(normalizeRecipient('alice@example.com', '').name).toBeNull();
    expect(normalizeRecipient('alice@example.com', '   ').name).toBeNull();
  });

  it('keeps names with quotes, commas and non-Latin letters (nodemailer encodes them)', () => {
    for (const name of ['Liddell, Alice', 'Alice "Ali" Liddell', '张三', "O'Brien"]) {
      expect(normalizeRecipient('alice@example.com', name).name).toBe(name);
    }
  });

  it('refuses CR, LF, NUL and other control characters in the address (ASVS 1.3.11)', () => {
    for (const address of [
      'alice@example.com\r\nBcc: victim@example.net',
      'alice@example.com\nBcc: victim@example.net',
      'alice@example.com\r',
      'alice@exa\u0000mple.com',
      'alice@example.com\u0000',
      '\nalice@example.com',
      'alice@example.com\t',
      'alice@example.com\u007f',
    ]) {
      expect(refusal(() => normalizeRecipient(address, null)).message, JSON.stringify(address)).toContain('not a deliverable address');
    }
  });

  // A display name is decoration: one that could carry a header or pose as another address is left out, the mail still goes.
  it('leaves out a name with CR, LF, NUL or other control characters, keeping the address (ASVS 1.3.11)', () => {
    for (const name of ['Alice\r\nBcc: victim@example.net', 'Alice\nLiddell', 'Alice\rX', 'Alice\u0000', 'Alice\u001b[31m', 'Alice\u007f']) {
      expect(normalizeRecipient('alice@example.com', name), JSON.stringify(name)).toEqual({ address: 'alice@example.com', name: null });
    }
    // Line breaks at either end are only whitespace, trimmed away with it.
    expect(normalizeRecipient('alice@example.com', '\r\nAlice\r\n').name).toBe('Alice');
  });

  it('leaves out a name with angle brackets, which could pose as another address (ASVS 1.3.11)', () => {
    for (const name of ['Alice <evil@example.net>', 'a<b', 'a>b']) {
      expect(normalizeRecipient(' alice@example.com ', name), name).toEqual({ address: 'alice@example.com', name: null });
    }
  });

  it('still refuses a bad address when the name is bad too', () => {
    refusal(() => normalizeRecipient('alice@example.com\r\nBcc: x@example.net', 'Alice\r\n'));
  });

  it('refuses invalid addresses', () => {
    for (const address of [
      '',
      '   ',
      'alice',
      'alice@',
      '@example.com',
      'alice@@example.com',
      'alice@exa mple.com',
      'alice@example.com, bob@example.com',
      'Alice <alice@example.com>',
      'a..b@example.com',
      `${'a'.repeat(250)}@example.com`,
    ]) {
      refusal(() => normalizeRecipient(address, null));
    }
  });
});

describe('assertHeaderSafe', () => {
  it('accepts one-line values, also with non-ASCII text', () => {
    for (const value of ['Verify your email for Alpha', 'Alpha <no-reply@alpha.example>', '验证你在 Alpha 的邮箱', '']) {
      expect(() => assertHeaderSafe(value, 'Subject')).not.toThrow();
    }
  });

  it('refuses CR, LF, NUL and other control characters, naming the header (ASVS 1.3.11)', () => {
    for (const value of ['Hello\r\nBcc: victim@example.net', 'Hello\nWorld', 'Hello\r', 'Hello\u0000', 'Hello\tWorld', 'Hello\u007f']) {
      const err = refusal(() => assertHeaderSafe(value, 'Subject'));
      expect(err.message, JSON.stringify(value)).toBe('Subject contains control characters');
    }
    expect(refusal(() => assertHeaderSafe('a\nb', 'From')).message).toBe('From contains control characters');
  });
});

import { describe, expect, it } from 'vitest';
import { formatPhone, parsePhone } from '../../src/flows/phone/phone.service.ts';

describe('parsePhone', () => {
  it('reads international numbers in any common spelling as E.164', () => {
    for (const input of ['+1 415 555 0100', '+1 (415) 555-0100', '+14155550100', '+1.415.555.0100']) expect(parsePhone(input, undefined)).toBe('+14155550100');
    expect(parsePhone('+86 138 0013 8000', undefined)).toBe('+8613800138000');
  });

  it('reads a national number as one of the default country, and wants the country code without one', () => {
    expect(parsePhone('(415) 555-0100', 'US')).toBe('+14155550100');
    expect(parsePhone('138 0013 8000', 'CN')).toBe('+8613800138000');
    expect(parsePhone('0151 23456789', 'DE')).toBe('+4915123456789');
    expect(parsePhone('415 555 0100', undefined)).toBeNull();
  });

  it('refuses what is no valid number: letters, too short, too long, an unknown country code, an extension', () => {
    for (const input of ['abc', '12', '+1 41', '+1 415 555 0100 0100 0100', '+999 12345678', '+1 415 555 0100 ext. 5', '', '+']) {
      expect(parsePhone(input, 'US'), input).toBeNull();
    }
  });
});

describe('formatPhone', () => {
  it('shows an E.164 number in international form, and anything unparseable as it is', () => {
    expect(formatPhone('+14155550100')).toBe('+1 415 555 0100');
    expect(formatPhone('+8613800138000')).toBe('+86 138 0013 8000');
    expect(formatPhone('garbage')).toBe('garbage');
  });
});

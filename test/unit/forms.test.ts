import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { field, parseForm } from '../../src/http/forms.ts';

describe('form fields', () => {
  describe('field.totp(): the one shape of an authenticator code, for every form that takes one', () => {
    const form = z.object({ code: field.totp() });

    it('accepts 6 digits as authenticator apps show them, trimmed', () => {
      for (const typed of ['123456', '123 456', ' 012345 ']) {
        const parsed = parseForm(form, { code: typed }, []);
        expect(parsed.ok, typed).toBe(true);
        if (parsed.ok) expect(parsed.data.code).toBe(typed.trim());
      }
    });

    it('refuses anything else with the translated "6 digits" message, and arrays and control characters before that', () => {
      for (const typed of ['12345', '1234567', '12 34 56', '123  456', 'abcdef', '１２３４５６', 'k7q2m9-xh4tpz']) {
        expect(parseForm(form, { code: typed }, []), typed).toMatchObject({ ok: false, field: 'code', messageKey: 'validation.totp' });
      }
      expect(parseForm(form, { code: '' }, [])).toMatchObject({ ok: false, messageKey: 'validation.required' });
      expect(parseForm(form, { code: '1'.repeat(21) }, [])).toMatchObject({ ok: false, messageKey: 'validation.tooLong' });
      expect(parseForm(form, { code: '123\r\n456' }, [])).toMatchObject({ ok: false, messageKey: 'validation.invalidChars' });
      expect(parseForm(form, { code: ['123456', '123456'] }, [])).toMatchObject({ ok: false, messageKey: 'validation.invalid' });
      expect(parseForm(form, {}, [])).toMatchObject({ ok: false, messageKey: 'validation.invalid' });
    });
  });
});

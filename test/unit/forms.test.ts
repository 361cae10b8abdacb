import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FlowError, tooManyAttempts } from '../../src/http/flow-error.ts';
import { field, formError, keptValues, parseForm, rerenderOnFlowError, type FormError } from '../../src/http/forms.ts';

/** Just enough of a response for rerenderOnFlowError: the headers it sets. */
function fakeResponse() {
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => void (headers[name] = value) } as unknown as Response;
  return { res, headers };
}

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

  describe('field.code(): a 6-digit code we sent, by mail or SMS', () => {
    it('accepts exactly 6 digits, trimmed', () => {
      expect(parseForm(z.object({ code: field.code() }), { code: ' 012345 ' }, [])).toEqual({ ok: true, data: { code: '012345' } });
    });

    it('refuses anything else with its "6 digits" message (validation.code unless told), and arrays and control characters before that', () => {
      const byDefault = z.object({ code: field.code() });
      const own = z.object({ code: field.code('validation.totp') });
      for (const typed of ['12345', '1234567', '123 456', 'abcdef', '１２３４５６']) {
        expect(parseForm(byDefault, { code: typed }, []), typed).toMatchObject({ ok: false, field: 'code', messageKey: 'validation.code' });
        expect(parseForm(own, { code: typed }, []), typed).toMatchObject({ ok: false, field: 'code', messageKey: 'validation.totp' });
      }
      expect(parseForm(byDefault, { code: '' }, [])).toMatchObject({ ok: false, messageKey: 'validation.required' });
      expect(parseForm(byDefault, { code: '1'.repeat(21) }, [])).toMatchObject({ ok: false, messageKey: 'validation.tooLong' });
      expect(parseForm(byDefault, { code: '123\n456' }, [])).toMatchObject({ ok: false, messageKey: 'validation.invalidChars' });
      expect(parseForm(byDefault, { code: ['123456'] }, [])).toMatchObject({ ok: false, messageKey: 'validation.invalid' });
    });
  });

  describe('field.username(): the rule for a chosen username, at sign-up and on the profile page', () => {
    const form = z.object({ username: field.username() });

    it('accepts letters (any script), digits, dot, underscore and dash, 2 to 64 of them, trimmed', () => {
      for (const typed of ['ab', 'ada.lovelace', 'a_b-c', '张伟', ' u2 ', 'x'.repeat(64)]) {
        expect(parseForm(form, { username: typed }, []), typed).toEqual({ ok: true, data: { username: typed.trim() } });
      }
    });

    it('refuses the rest', () => {
      for (const typed of ['a', 'ada lovelace', 'ada@example.com', '<b>', 'x'.repeat(63) + '!']) {
        expect(parseForm(form, { username: typed }, []), typed).toMatchObject({ ok: false, field: 'username', messageKey: 'validation.username' });
      }
      expect(parseForm(form, { username: 'x'.repeat(65) }, [])).toMatchObject({ ok: false, messageKey: 'validation.tooLong' });
      expect(parseForm(form, { username: '' }, [])).toMatchObject({ ok: false, messageKey: 'validation.required' });
    });
  });

  describe('keptValues(): what a refused form shows again', () => {
    it('keeps only the named fields that arrived as strings', () => {
      const body = { name: 'Ada', photo: ['a', 'b'], note: 42, password: 'secret', empty: '' };
      expect(keptValues(body, ['name', 'photo', 'note', 'empty', 'missing'])).toEqual({ name: 'Ada', empty: '' });
      expect(keptValues(undefined, ['name'])).toEqual({});
    });

    it('is what parseForm keeps on a refusal', () => {
      const form = z.object({ name: field.requiredText(5), city: field.text(20) });
      const body = { name: 'far too long', city: 'Paris', password: 'secret' };
      expect(parseForm(form, body, ['name', 'city'])).toMatchObject({ ok: false, values: keptValues(body, ['name', 'city']) });
    });
  });
});

describe('a FlowError on a form', () => {
  it('formError(): the message, its params and the field it belongs to (null: the whole form)', () => {
    expect(formError(new FlowError(400, 'phonePage.wrongCode', {}, 'code'))).toEqual({ field: 'code', message: 'phonePage.wrongCode', params: {} });
    expect(formError(new FlowError(409, 'mfa.alreadyOn', { n: 1 }))).toEqual({ field: null, message: 'mfa.alreadyOn', params: { n: 1 } });
  });

  describe('rerenderOnFlowError()', () => {
    it('re-renders the form with the error and its status, and returns what the page returns', async () => {
      const { res, headers } = fakeResponse();
      const shown: Array<[FormError, number]> = [];
      const out = rerenderOnFlowError(res, new FlowError(401, 'login.invalid', {}, 'password'), async (error, status) => {
        shown.push([error, status]);
        return 'rendered';
      });
      expect(await out).toBe('rendered');
      expect(shown).toEqual([[{ field: 'password', message: 'login.invalid', params: {} }, 401]]);
      expect(headers).toEqual({});
    });

    it('always says when to come back after a rate-limit refusal (Retry-After)', () => {
      const { res, headers } = fakeResponse();
      let status = 0;
      rerenderOnFlowError(res, tooManyAttempts(90_500), (_error, s) => void (status = s));
      expect(status).toBe(429);
      expect(headers).toEqual({ 'Retry-After': '91' });
    });

    it('passes anything but a FlowError on, untouched, without rendering', () => {
      const { res } = fakeResponse();
      const bug = new TypeError('boom');
      let rendered = false;
      expect(() => rerenderOnFlowError(res, bug, () => void (rendered = true))).toThrow(bug);
      expect(() => rerenderOnFlowError(res, 'a string', () => void (rendered = true))).toThrow();
      expect(rendered).toBe(false);
    });

    it('passes on the FlowErrors `when` refuses (an error page), still with their Retry-After', () => {
      const { res, headers } = fakeResponse();
      const onlyCode = (e: FlowError) => e.field === 'code';
      let rendered = 0;
      const other = new FlowError(409, 'mfa.alreadyOn');
      expect(() => rerenderOnFlowError(res, other, () => void rendered++, onlyCode)).toThrow(other);
      expect(() => rerenderOnFlowError(res, tooManyAttempts(1000), () => void rendered++, onlyCode)).toThrow(FlowError);
      expect(headers['Retry-After']).toBe('1');
      rerenderOnFlowError(res, new FlowError(400, 'mfa.wrongCode', {}, 'code'), () => void rendered++, onlyCode);
      expect(rendered).toBe(1);
    });
  });
});

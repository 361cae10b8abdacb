import { describe, expect, it } from 'vitest';
import { attributeProblem, formatAttributeText, parseAttributeText } from '../../src/domain/custom-attributes.ts';
import { RuleViolation } from '../../src/domain/errors.ts';

describe('custom attributes as text', () => {
  it('takes the seed’s three examples literally: 1 is a number, elephant a string, "1" the string 1', () => {
    expect(parseAttributeText('1')).toBe(1);
    expect(parseAttributeText('elephant')).toBe('elephant');
    expect(parseAttributeText('"1"')).toBe('1');
  });

  it('reads JSON scalars and arrays of scalars; other text is the string as typed', () => {
    expect(parseAttributeText('true')).toBe(true);
    expect(parseAttributeText('-2.5')).toBe(-2.5);
    expect(parseAttributeText('null')).toBeNull();
    expect(parseAttributeText('[1,"a"]')).toEqual([1, 'a']);
    expect(parseAttributeText('[]')).toEqual([]);
    expect(parseAttributeText('')).toBe('');
    expect(parseAttributeText('Ada Lovelace')).toBe('Ada Lovelace');
    expect(parseAttributeText('[1, 2')).toBe('[1, 2');
    expect(parseAttributeText('01')).toBe('01');
    // Too big to be a number: the text as typed.
    expect(parseAttributeText('1e400')).toBe('1e400');
  });

  it('refuses objects and nested arrays (a form error, not a silent string)', () => {
    for (const raw of ['{"a":1}', '[[1]]', '[{"a":1}]', '[1,null]']) {
      expect(() => parseAttributeText(raw), raw).toThrow(RuleViolation);
    }
  });

  it('formats so that every value reads back as itself', () => {
    const values = [1, 0, -2.5, true, false, null, 'elephant', '1', 'true', 'null', '', ' spaced ', '"quoted"', '[1,"a"]', '{"a":1}', 'line\nbreak', [1, 'a'], [], ['1', true]];
    for (const v of values) expect(parseAttributeText(formatAttributeText(v)), JSON.stringify(v)).toEqual(v);
    expect(formatAttributeText('elephant')).toBe('elephant');
    expect(formatAttributeText('1')).toBe('"1"');
    expect(formatAttributeText(1)).toBe('1');
    expect(formatAttributeText([1, 'a'])).toBe('[1,"a"]');
    // What cannot be typed in one line is quoted (JSON escapes).
    expect(formatAttributeText('line\nbreak')).toBe('"line\\nbreak"');
  });

  it('names what is wrong with a key or a value', () => {
    expect(attributeProblem('Plan', 'pro')).toBeNull();
    expect(attributeProblem('', 'x')).toBe('key');
    expect(attributeProblem('k'.repeat(65), 'x')).toBe('key');
    expect(attributeProblem('a\tb', 'x')).toBe('key');
    expect(attributeProblem('__proto__', 'x')).toBe('reserved');
    expect(attributeProblem('long', 'x'.repeat(2001))).toBe('string');
    expect(attributeProblem('many', Array.from({ length: 101 }, (_, i) => i))).toBe('array');
  });
});

import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_ARRAY_MAX, ATTRIBUTE_STRING_MAX, formatAttributeText, parseAttributeText } from '../../src/domain/custom-attributes.ts';
import type { AttributeValue } from '../../src/identity/user.ts';

const valueOf = (raw: string) => {
  const read = parseAttributeText(raw);
  if (!read.ok) throw new Error(`refused ${JSON.stringify(raw)}: ${read.code}`);
  return read.value;
};
const problemOf = (raw: string) => {
  const read = parseAttributeText(raw);
  return read.ok ? null : read.code;
};

/** A small seeded generator: the same values on every run, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

/** Pieces of strings that look like something else, or that JSON and HTML forms get wrong. */
const FRAGMENTS = ['1', '0', '-0', '1.5', '1e3', '007', ' ', '  ', '\t', 'true', 'false', 'null', '"', '\\', '\\"', '[', ']', '{', '}', ',', ':', 'a', 'elephant', '李', 'é', 'e\u0301', '😀', '\u2028', '\u00a0', '\ufeff', '\n', '\ud800', "'", '<b>', 'NaN', 'Infinity', '12345678901234567890'];
const NUMBERS = [0, -0, 1, -1, 1.5, -2.25, 0.1, 1e-7, 5e-324, 1e20, 1e21, 1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 12345678901234567890, 123456789.123456789, Number.MAX_SAFE_INTEGER];

function generatedValue(r: ReturnType<typeof random>): AttributeValue {
  const string = () => Array.from({ length: Math.floor(r.next() * 6) }, () => r.pick(FRAGMENTS)).join('');
  const number = () => (r.next() < 0.5 ? r.pick(NUMBERS) : (r.next() - 0.5) * 10 ** Math.floor(r.next() * 30 - 10));
  const scalar = (): string | number | boolean => {
    const k = r.next();
    return k < 0.6 ? string() : k < 0.9 ? number() : r.next() < 0.5;
  };
  const k = r.next();
  if (k < 0.05) return null;
  if (k < 0.25) return Array.from({ length: Math.floor(r.next() * 5) }, scalar);
  return scalar();
}

describe('parseAttributeText', () => {
  it('reads the seed’s examples: 1 is the integer 1, elephant a string, "1" the string 1', () => {
    expect(valueOf('1')).toBe(1);
    expect(valueOf('elephant')).toBe('elephant');
    expect(valueOf('"1"')).toBe('1');
  });

  it('reads JSON scalars and arrays of scalars as those values', () => {
    expect(valueOf('true')).toBe(true);
    expect(valueOf('false')).toBe(false);
    expect(valueOf('null')).toBeNull();
    expect(valueOf('-2.5')).toBe(-2.5);
    expect(valueOf('1e3')).toBe(1000);
    expect(valueOf('[1,"a"]')).toEqual([1, 'a']);
    expect(valueOf('[ true, 2.5, "x, y" ]')).toEqual([true, 2.5, 'x, y']);
    expect(valueOf('[]')).toEqual([]);
    expect(valueOf('"null"')).toBe('null');
    expect(valueOf('"say \\"hi\\""')).toBe('say "hi"');
  });

  it('keeps any other text as typed: spaces, case, unicode, quotes inside', () => {
    for (const raw of ['', ' ', '   ', 'Elephant ', ' two words ', 'True', 'NULL', 'NaN', 'Infinity', '007', '1 2', '1,5', '+1', '.5', '李晓明', 'Émile', 'e\u0301', '😀', 'it\'s', 'say "hi"', 'a\\b', '<script>', '1]', 'x[1]']) {
      expect(valueOf(raw), JSON.stringify(raw)).toBe(raw);
    }
  });

  it('reads a JSON number with the whitespace around it, as JSON does', () => {
    expect(valueOf(' 1 ')).toBe(1);
    expect(valueOf('\t"a"\n')).toBe('a');
  });

  it('refuses objects, nested arrays, null in an array, and broken JSON, each with its reason', () => {
    expect(problemOf('{"a":1}')).toBe('object');
    expect(problemOf('{}')).toBe('object');
    expect(problemOf('[[1]]')).toBe('nested');
    expect(problemOf('[1, {"a": 1}]')).toBe('nested');
    expect(problemOf('[1, null]')).toBe('null_in_array');
    expect(problemOf('[a, b]')).toBe('not_json');
    expect(problemOf('[1, 2,]')).toBe('not_json');
    expect(problemOf('{a}')).toBe('not_json');
    expect(problemOf('"unclosed')).toBe('not_json');
    expect(problemOf(' [1')).toBe('not_json');
    const refusal = parseAttributeText('[[1]]');
    expect(refusal).toMatchObject({ ok: false, message: expect.stringContaining('not arrays or objects') });
  });

  it('refuses a number it cannot keep: too large, or an integer with more digits than it keeps', () => {
    expect(problemOf('1e400')).toBe('number');
    expect(problemOf('-1e400')).toBe('number');
    expect(problemOf('12345678901234567890')).toBe('number');
    expect(problemOf('[1, 12345678901234567890]')).toBe('number');
    // Digits in a string are text; exact large integers and decimals are numbers.
    expect(valueOf('"12345678901234567890"')).toBe('12345678901234567890');
    expect(valueOf('["12345678901234567890", 7]')).toEqual(['12345678901234567890', 7]);
    expect(valueOf('9007199254740993.5')).toBe(9007199254740994);
    expect(valueOf('1152921504606846976')).toBe(2 ** 60);
    expect(valueOf('[1e5, 7]')).toEqual([100000, 7]);
  });

  it('holds strings and arrays to the API’s limits', () => {
    const longest = 'x'.repeat(ATTRIBUTE_STRING_MAX);
    expect(valueOf(longest)).toBe(longest);
    expect(valueOf(JSON.stringify(longest))).toBe(longest);
    expect(problemOf(`${longest}x`)).toBe('too_long');
    expect(problemOf(JSON.stringify(`${longest}x`))).toBe('too_long');
    expect(problemOf(JSON.stringify([`${longest}x`]))).toBe('too_long');
    expect(valueOf(JSON.stringify(Array(ATTRIBUTE_ARRAY_MAX).fill(1)))).toHaveLength(ATTRIBUTE_ARRAY_MAX);
    expect(problemOf(JSON.stringify(Array(ATTRIBUTE_ARRAY_MAX + 1).fill(1)))).toBe('too_many');
    // Very long text of no JSON shape is refused for its length, not read in pieces.
    expect(problemOf('a'.repeat(1_000_000))).toBe('too_long');
    expect(problemOf(`[${'['.repeat(100_000)}`)).toBe('not_json');
  });
});

describe('formatAttributeText', () => {
  it('writes values the way an operator types them, quoting only strings that would read as something else', () => {
    expect(formatAttributeText(1)).toBe('1');
    expect(formatAttributeText('elephant')).toBe('elephant');
    expect(formatAttributeText('1')).toBe('"1"');
    expect(formatAttributeText(true)).toBe('true');
    expect(formatAttributeText('true')).toBe('"true"');
    expect(formatAttributeText(null)).toBe('null');
    expect(formatAttributeText('null')).toBe('"null"');
    expect(formatAttributeText([1, 'a', false])).toBe('[1, "a", false]');
    expect(formatAttributeText('[1]')).toBe('"[1]"');
    expect(formatAttributeText('[a, b]')).toBe('"[a, b]"');
    expect(formatAttributeText('"quoted"')).toBe('"\\"quoted\\""');
    expect(formatAttributeText(' 7 ')).toBe('" 7 "');
    expect(formatAttributeText('say "hi"')).toBe('say "hi"');
    expect(formatAttributeText('')).toBe('');
    expect(formatAttributeText('李晓明')).toBe('李晓明');
    expect(formatAttributeText(-0)).toBe('-0');
    expect(formatAttributeText(12345678901234567890)).toBe('12345678901234567168');
  });

  it('round-trips: parseAttributeText(formatAttributeText(v)) is v, over many values', () => {
    const r = random(13);
    const edge: AttributeValue[] = ['', ' ', 'null', 'true', '1', '-0', '"', '\\', '[', '{', '{}', '[]', '"a"', ' "a" ', '\u2028', '\ud800', 'x'.repeat(ATTRIBUTE_STRING_MAX), -0, 0, 5e-324, 1e21, 2 ** 53 + 2, 12345678901234567890, -1.7976931348623157e308, [], [-0, '', 'null', '1', true], Array(ATTRIBUTE_ARRAY_MAX).fill('"')];
    const values = [...edge, ...Array.from({ length: 20_000 }, () => generatedValue(r))];
    for (const v of values) {
      const text = formatAttributeText(v);
      const read = parseAttributeText(text);
      expect(read.ok, `${JSON.stringify(v)} → ${JSON.stringify(text)}`).toBe(true);
      expect((read as { value: AttributeValue }).value, `${JSON.stringify(v)} → ${JSON.stringify(text)}`).toEqual(v);
    }
  });
});

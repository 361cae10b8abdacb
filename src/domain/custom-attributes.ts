import type { AttributeValue } from '../identity/user.ts';
import { RuleViolation } from './errors.ts';

/**
 * Custom attributes as text (the console's key/value rows): the seed's rule
 * that types are detected — `1` is a number, `elephant` a string, `"1"` (in
 * quotes) the string 1 — and the shape every surface accepts: case-sensitive
 * keys, a scalar or an array of scalars as the value.
 */

type AttributeScalar = string | number | boolean;

/** A key: 1 to 64 characters, no control characters (case-sensitive: `Plan` and `plan` are two). */
export const ATTRIBUTE_KEY = /^[^\u0000-\u001f\u007f]{1,64}$/;
/** Names an object's prototype answers to: never keys. */
export const RESERVED_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_STRING = 2000;
export const MAX_ATTRIBUTE_ARRAY = 100;

const CONTROL = /[\u0000-\u001f\u007f]/;

const isScalar = (v: unknown): v is AttributeScalar => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** What JSON makes of `raw`, or undefined when it is not JSON (or a number too big to be one). */
function asJson(raw: string): unknown {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'number' && !Number.isFinite(v) ? undefined : v;
  } catch {
    return undefined;
  }
}

/**
 * The value a row's text stands for: JSON that is a scalar (`1`, `true`, `"1"`,
 * `null`) or an array of scalars (`[1,"a"]`) is that value; an object or a
 * nested array is refused (RuleViolation, field "value", code custom.shape);
 * anything else is the string as typed (`elephant`).
 */
export function parseAttributeText(raw: string): AttributeValue {
  const v = asJson(raw);
  if (v === undefined) return raw;
  if (v === null || isScalar(v)) return v;
  if (Array.isArray(v) && v.every(isScalar)) return v;
  throw new RuleViolation([{ field: 'value', code: 'custom.shape', message: 'a value is a scalar or an array of scalars, not an object or a nested array' }]);
}

/**
 * The text a row shows for `value`: parsed again, it is that value. A string
 * is shown as typed unless it would read as something else (`1`, `true`,
 * `[…]`, text in quotes) or cannot be typed in one line: then it is quoted.
 */
export function formatAttributeText(value: AttributeValue): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  if (CONTROL.test(value)) return JSON.stringify(value);
  let same = false;
  try {
    same = parseAttributeText(value) === value;
  } catch {
    same = false;
  }
  return same ? value : JSON.stringify(value);
}

/** What is wrong with one attribute's key or value (a message for the API and the console), or null. */
export function attributeProblem(key: string, value: AttributeValue): 'key' | 'reserved' | 'string' | 'array' | null {
  if (!ATTRIBUTE_KEY.test(key)) return 'key';
  if (RESERVED_ATTRIBUTE_KEYS.has(key)) return 'reserved';
  const strings = Array.isArray(value) ? value : [value];
  if (strings.some((s) => typeof s === 'string' && s.length > MAX_ATTRIBUTE_STRING)) return 'string';
  if (Array.isArray(value) && value.length > MAX_ATTRIBUTE_ARRAY) return 'array';
  return null;
}

import { attributeProblem, formatAttributeText, MAX_ATTRIBUTES, parseAttributeText } from '../domain/custom-attributes.ts';
import { RuleViolation } from '../domain/errors.ts';
import type { AttributeValue } from '../identity/user.ts';

/**
 * Custom attributes as the console's forms edit them (the user page, the org page): one row a key and its value
 * (parseAttributeText's shape: a number, true/false, a JSON list, else text), empty rows under the stored ones for
 * new keys. Every message is a locale key (console.userPage.attr*).
 */

export interface AttributeRow {
  key: string;
  value: string;
}

/** Empty rows under the attributes, for new ones. */
export const EMPTY_ATTRIBUTE_ROWS = 3;
const MAX_ROWS = MAX_ATTRIBUTES + EMPTY_ATTRIBUTE_ROWS + 20;
const ROW_FIELD = /^attr\.(\d{1,3})\.(key|value)$/;

/** A form refusal: the field it marks (null: the form), a locale key and its parameters. */
export interface RowProblem {
  field: string | null;
  message: string;
  params?: Record<string, string | number>;
}

/** The stored attributes as rows. */
export function rowsOfAttributes(custom: Record<string, AttributeValue>): AttributeRow[] {
  return Object.entries(custom).map(([key, value]) => ({ key, value: formatAttributeText(value) }));
}

/** The rows as posted (in their order), or the field that arrived as something else than one string. */
export function postedRows(body: Record<string, unknown>): { rows: AttributeRow[] } | { bad: string } {
  const byIndex = new Map<number, AttributeRow>();
  for (const [name, raw] of Object.entries(body)) {
    const m = ROW_FIELD.exec(name);
    if (!m) continue;
    if (typeof raw !== 'string') return { bad: name };
    const i = Number(m[1]);
    if (i >= MAX_ROWS) return { bad: name };
    const row = byIndex.get(i) ?? { key: '', value: '' };
    row[m[2] as 'key' | 'value'] = raw;
    byIndex.set(i, row);
  }
  return { rows: [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, row]) => row) };
}

/** The attributes the rows say (a row without a key is an unused one), or the first row that is wrong. */
export function attributesOfRows(rows: readonly AttributeRow[]): { custom: Record<string, AttributeValue> } | { problem: RowProblem } {
  const custom: Record<string, AttributeValue> = {};
  for (const [i, row] of rows.entries()) {
    const key = row.key.trim();
    if (key === '') continue;
    if (Object.hasOwn(custom, key)) return { problem: { field: `attr.${i}.key`, message: 'console.userPage.attrDuplicate', params: { key } } };
    let value: AttributeValue;
    try {
      value = parseAttributeText(row.value);
    } catch (err) {
      if (err instanceof RuleViolation) return { problem: { field: `attr.${i}.value`, message: 'console.userPage.attrShape' } };
      throw err;
    }
    const problem = attributeProblem(key, value);
    if (problem) return { problem: { field: `attr.${i}.${problem === 'key' || problem === 'reserved' ? 'key' : 'value'}`, message: `console.userPage.attrProblem.${problem}` } };
    custom[key] = value;
  }
  if (Object.keys(custom).length > MAX_ATTRIBUTES) return { problem: { field: null, message: 'console.userPage.attrTooMany', params: { max: MAX_ATTRIBUTES } } };
  return { custom };
}

const sameValue = (a: AttributeValue | undefined, b: AttributeValue | undefined) => JSON.stringify(a) === JSON.stringify(b);

export function sameAttributes(a: Record<string, AttributeValue>, b: Record<string, AttributeValue>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
}

/** The stored or typed rows, then empty ones for new attributes. */
export const withEmptyRows = (rows: readonly AttributeRow[]): AttributeRow[] => [...rows, ...Array.from({ length: EMPTY_ATTRIBUTE_ROWS }, () => ({ key: '', value: '' }))];

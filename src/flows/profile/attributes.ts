import type { AccountAttribute } from '../../config/schema.ts';
import type { AttributeValue } from '../../identity/user.ts';
import { FlowError } from '../../http/flow-error.ts';

/**
 * The realm's custom attributes on the profile page (`account.attributes`):
 * what each posted value means for its type, and how a stored value is shown.
 * Only attributes the realm lists, and of those only the editable ones, are
 * ever read from a form; every other key of the body is ignored.
 */

/** The form field of an attribute: a prefix keeps operator keys apart from the page's own fields (and from `_csrf`). */
export const attributeField = (key: string): string => `attr_${key}`;

const NUMBER = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d{1,3})?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CONTROL = /[\u0000-\u001f\u007f\ufffd]/;

/** A real calendar day written YYYY-MM-DD (no 2025-02-30). */
export function isIsoDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function fail(messageKey: string, def: AccountAttribute, params: Record<string, string | number> = {}): never {
  throw new FlowError(400, messageKey, params, attributeField(def.key));
}

/**
 * One posted value, checked against its attribute's type. `undefined` means
 * the field was not in the form: left as it is, except a boolean, whose
 * unchecked checkbox posts nothing and so means false. An empty value clears
 * an optional attribute (null). Anything but a string (`a=1&a=2`) is refused.
 */
export function parseAttributeValue(def: AccountAttribute, raw: unknown): AttributeValue | undefined {
  if (def.type === 'boolean') {
    if (raw === undefined) return false;
    if (raw === 'true') return true;
    return fail('validation.invalid', def);
  }
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') return fail('validation.invalid', def);
  if (CONTROL.test(raw)) return fail('validation.invalidChars', def);
  const value = raw.trim();
  if (value === '') return def.required ? fail('validation.required', def) : null;
  switch (def.type) {
    case 'string':
      if ([...value].length > (def.maxLength ?? 200)) return fail('profile.attributeTooLong', def, { max: def.maxLength ?? 200 });
      return value;
    case 'number': {
      const n = Number(value);
      if (value.length > 40 || !NUMBER.test(value) || !Number.isFinite(n)) return fail('profile.attributeNumber', def);
      return n;
    }
    case 'date':
      if (!isIsoDate(value)) return fail('profile.attributeDate', def);
      return value;
    case 'enum':
      if (!def.options?.some((o) => o.value === value)) return fail('profile.attributeOption', def);
      return value;
  }
}

/**
 * The changes a profile form asks for: attribute key → new value (null
 * removes it). Non-editable attributes and keys the realm does not list are
 * never read, whatever the form carries.
 */
export function readAttributes(defs: readonly AccountAttribute[], body: Record<string, unknown>): Record<string, AttributeValue> {
  const changes: Record<string, AttributeValue> = {};
  for (const def of defs) {
    if (!def.editable) continue;
    const value = parseAttributeValue(def, body[attributeField(def.key)]);
    if (value !== undefined) changes[def.key] = value;
  }
  return changes;
}

/** Whether two stored values are the same (arrays compared element by element). */
export function sameValue(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => v === y[i]);
  return x === y;
}

/** An operator's label in the page's language, English when there is none in it. */
export function labelIn(labels: { en: string; 'zh-CN'?: string }, locale: string): string {
  return (labels as Record<string, string | undefined>)[locale] ?? labels.en;
}

/** What the page shows for one attribute: its input's value, or the read-only text. */
export interface AttributeView {
  key: string;
  field: string;
  type: AccountAttribute['type'];
  label: string;
  editable: boolean;
  required: boolean;
  maxLength: number | null;
  /** The input's value (a stored value as text, or what was just posted). */
  value: string;
  checked: boolean;
  options: Array<{ value: string; label: string }>;
  /** The value as words, for a read-only attribute; null when not set. */
  display: string | null;
  /** For a read-only boolean: which of yes/no to show. */
  yes: boolean | null;
}

function asText(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * The view of every attribute the realm lists. `posted` (the form body after
 * a refused save) wins over the stored values, so the user's typing is kept.
 */
export function attributeViews(
  defs: readonly AccountAttribute[],
  stored: Record<string, AttributeValue>,
  locale: string,
  posted: Record<string, unknown> | null = null,
): AttributeView[] {
  return defs.map((def) => {
    const field = attributeField(def.key);
    const storedValue = Object.hasOwn(stored, def.key) ? stored[def.key] : undefined;
    const postedValue = posted && def.editable ? posted[field] : undefined;
    const options = (def.options ?? []).map((o) => ({ value: o.value, label: labelIn(o.labels, locale) }));
    const value = typeof postedValue === 'string' ? postedValue : asText(storedValue);
    const checked = posted && def.editable ? postedValue === 'true' : storedValue === true;
    let display: string | null = value === '' ? null : value;
    if (def.type === 'enum' && display !== null) display = options.find((o) => o.value === display)?.label ?? display;
    return {
      key: def.key,
      field,
      type: def.type,
      label: labelIn(def.labels, locale),
      editable: def.editable,
      required: def.required,
      maxLength: def.type === 'string' ? (def.maxLength ?? 200) : null,
      value,
      checked,
      options,
      display,
      yes: def.type === 'boolean' ? storedValue === true : null,
    };
  });
}

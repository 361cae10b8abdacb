/**
 * An audit entry's before and after as a list of field changes, for the console's audit log
 * (docs/design/console.md §2.1). Pure. Nested objects are flattened to dotted paths (`settings.name`); an array,
 * an empty object, a date string or any other value is one value, shown as JSON unless it is a string. Secrets
 * are already "[redacted]" by the audit log (services/audit-log.ts redact) and are compared as such.
 */

export type FieldChangeKind = 'changed' | 'added' | 'removed';

export interface FieldChange {
  /** Dotted path: `name`, `settings.redirectUris`. */
  path: string;
  kind: FieldChangeKind;
  /** The value as shown; null when the field is absent on that side. */
  before: string | null;
  after: string | null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{ a: { b: 1 }, c: [1] }` → Map { 'a.b' → 1, 'c' → [1] }: leaves only (an empty object is a leaf). */
export function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (isPlainObject(value) && (Object.keys(value).length > 0 || prefix === '')) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix !== '') {
    out.set(prefix, value);
  }
  return out;
}

/** A value as the diff shows it: a string as it is, anything else as JSON (null, numbers, booleans, arrays). */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/** The fields that differ between `before` and `after` (either may be null: a create or a delete), sorted by path. */
export function auditDiff(before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldChange[] {
  const a = flatten(before ?? {});
  const b = flatten(after ?? {});
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: FieldChange[] = [];
  for (const path of paths) {
    const inBefore = a.has(path);
    const inAfter = b.has(path);
    if (inBefore && inAfter) {
      const x = JSON.stringify(a.get(path));
      const y = JSON.stringify(b.get(path));
      if (x !== y) changes.push({ path, kind: 'changed', before: showValue(a.get(path)), after: showValue(b.get(path)) });
    } else if (inAfter) {
      changes.push({ path, kind: 'added', before: null, after: showValue(b.get(path)) });
    } else {
      changes.push({ path, kind: 'removed', before: showValue(a.get(path)), after: null });
    }
  }
  return changes;
}

import { describe, expect, it } from 'vitest';
import { hasPermission, isPermission, normalizePermissions } from '../../src/domain/permissions.ts';
import { PERMISSION_CASES } from '../helpers/permission-cases.ts';

describe('permissions (nesting with `:`, a trailing `:*`, `*` alone)', () => {
  it.each(PERMISSION_CASES)('%j grants %s: %s', (held, wanted, granted) => {
    expect(hasPermission(held, wanted)).toBe(granted);
  });

  it('accepts 1 to 62 of letters, digits and * : ; . _ -, case-insensitive', () => {
    for (const ok of ['a', 'billing:read', 'role;owner', 'A.b_c-d*', 'x'.repeat(62)]) expect(isPermission(ok), ok).toBe(true);
    for (const bad of ['', 'x'.repeat(63), 'has space', 'é', 'a/b', 'line\nbreak', 7, null, ['a']]) expect(isPermission(bad), String(bad)).toBe(false);
  });

  it('stores a list lower-case, each once, in order; refuses a bad entry', () => {
    expect(normalizePermissions(['Billing:Read', 'reports', 'billing:read', 'BILLING:*'])).toEqual(['billing:read', 'reports', 'billing:*']);
    expect(() => normalizePermissions(['ok', 'not ok'])).toThrow(/not a permission: "not ok"/);
  });
});

import { describe, expect, it } from 'vitest';
import { auditDiff, flatten, showValue } from '../../src/console/audit/diff.ts';

describe('auditDiff', () => {
  it('lists changed, added and removed fields, sorted by path, leaving equal ones out', () => {
    expect(auditDiff({ name: 'Old', state: 'active', email: 'a@example.com' }, { name: 'New', state: 'active', phone: '+15550100' })).toEqual([
      { path: 'email', kind: 'removed', before: 'a@example.com', after: null },
      { path: 'name', kind: 'changed', before: 'Old', after: 'New' },
      { path: 'phone', kind: 'added', before: null, after: '+15550100' },
    ]);
  });

  it('flattens nested objects to dotted paths; arrays are one value', () => {
    const before = { settings: { name: 'App', redirectUris: ['https://a.example/cb'], branding: { color: '#111111' } } };
    const after = { settings: { name: 'App', redirectUris: ['https://a.example/cb', 'https://b.example/cb'], branding: { color: '#222222', logo: 'x.png' } } };
    expect(auditDiff(before, after)).toEqual([
      { path: 'settings.branding.color', kind: 'changed', before: '#111111', after: '#222222' },
      { path: 'settings.branding.logo', kind: 'added', before: null, after: 'x.png' },
      { path: 'settings.redirectUris', kind: 'changed', before: '["https://a.example/cb"]', after: '["https://a.example/cb","https://b.example/cb"]' },
    ]);
  });

  it('a create is every field added, a delete every field removed; nothing on either side is no change', () => {
    expect(auditDiff(null, { id: 'k1', access: 'read' })).toEqual([
      { path: 'access', kind: 'added', before: null, after: 'read' },
      { path: 'id', kind: 'added', before: null, after: 'k1' },
    ]);
    expect(auditDiff({ a: { b: 1 } }, null)).toEqual([{ path: 'a.b', kind: 'removed', before: '1', after: null }]);
    expect(auditDiff(null, null)).toEqual([]);
    expect(auditDiff({ same: [1, { x: true }] }, { same: [1, { x: true }] })).toEqual([]);
  });

  it('tells a value from its type and keeps redacted secrets as they are', () => {
    expect(auditDiff({ n: 1, b: false, v: null }, { n: '1', b: 'false', v: 'null' }).map((c) => [c.path, c.before, c.after])).toEqual([
      ['b', 'false', 'false'],
      ['n', '1', '1'],
      ['v', 'null', 'null'],
    ]);
    expect(auditDiff({ passwordHash: '[redacted]' }, { passwordHash: '[redacted]' })).toEqual([]);
    expect(auditDiff({ secretHash: null }, { secretHash: '[redacted]' })).toEqual([{ path: 'secretHash', kind: 'changed', before: 'null', after: '[redacted]' }]);
  });

  it('an emptied object is a change of the object, not a lost field', () => {
    expect(auditDiff({ attrs: { a: 1 } }, { attrs: {} })).toEqual([
      { path: 'attrs', kind: 'added', before: null, after: '{}' },
      { path: 'attrs.a', kind: 'removed', before: '1', after: null },
    ]);
  });
});

describe('flatten and showValue', () => {
  it('keep leaves only', () => {
    expect([...flatten({ a: { b: { c: 1 } }, d: [] })]).toEqual([
      ['a.b.c', 1],
      ['d', []],
    ]);
    expect(flatten({})).toEqual(new Map());
    expect(showValue('text')).toBe('text');
    expect(showValue({ x: 1 })).toBe('{"x":1}');
  });
});

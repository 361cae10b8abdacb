import { describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import { decodeCreatedCursor, decodeOrgCursor, encodeCreatedCursor, encodeOrgCursor } from '../../src/domain/org-cursor.ts';
import { isLive } from '../../src/domain/orgs.ts';
import { decodeUserCursor, encodeUserCursor, InvalidCursor } from '../../src/domain/user-cursor.ts';

const byName = { key: 'name', direction: 'asc' } as const;
const byTime = { key: 'createdAt', direction: 'desc' } as const;

describe('org and membership cursors', () => {
  it('decode to where the page ended, under the same sort', () => {
    const cursor = encodeOrgCursor(byName, { value: 'acme', id: 'org_1' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeOrgCursor(cursor, byName)).toEqual({ value: 'acme', id: 'org_1' });
    expect(decodeOrgCursor(encodeOrgCursor(byTime, { value: 1_700_000_000_000, id: 'org_2' }), byTime)).toEqual({ value: 1_700_000_000_000, id: 'org_2' });
    const at = new Date('2025-03-01T12:00:00.000Z');
    expect(decodeCreatedCursor(encodeCreatedCursor({ createdAt: at, id: 'mb_1' }))).toEqual({ createdAt: at, id: 'mb_1' });
  });

  it('refuse a cursor of another sort, direction or list, and what we did not issue', () => {
    const cursor = encodeOrgCursor(byName, { value: 'a', id: 'org_1' });
    expect(() => decodeOrgCursor(cursor, { key: 'name', direction: 'desc' })).toThrow(/another sort/);
    expect(() => decodeOrgCursor(cursor, { key: 'createdAt', direction: 'asc' })).toThrow(InvalidCursor);
    // A users-list cursor of a key the orgs list has too is still not an orgs cursor of the wrong kind of value.
    expect(() => decodeOrgCursor(encodeUserCursor({ key: 'name', direction: 'asc' }, { value: 5, id: 'u' }), byName)).toThrow(InvalidCursor);
    expect(() => decodeUserCursor(encodeOrgCursor(byName, { value: 'a', id: 'x' }), { key: 'username', direction: 'asc' })).toThrow(InvalidCursor);
    expect(() => decodeCreatedCursor(cursor)).toThrow(InvalidCursor);
    for (const bad of ['', 'not-a-cursor', Buffer.from('{"c":-1,"i":"x"}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(() => decodeCreatedCursor(bad)).toThrow(InvalidCursor);
      expect(() => decodeOrgCursor(bad, byName)).toThrow(InvalidCursor);
    }
  });
});

describe('ids and liveness', () => {
  it('makes short prefixed ids of 96 random bits', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newId('org')));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^org_[A-Za-z0-9_-]{16}$/);
    expect(newId('mb')).toMatch(/^mb_[A-Za-z0-9_-]{16}$/);
  });

  it('counts a membership until its end, not at it', () => {
    const end = new Date('2025-03-01T12:00:00.000Z');
    expect(isLive({ expiresAt: null }, end)).toBe(true);
    expect(isLive({ expiresAt: end }, new Date(end.getTime() - 1))).toBe(true);
    expect(isLive({ expiresAt: end }, end)).toBe(false);
  });
});

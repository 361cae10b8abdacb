import { describe, expect, it } from 'vitest';
import { decodeUserCursor, encodeUserCursor, InvalidCursor } from '../../src/domain/user-cursor.ts';

const byEmail = { key: 'email', direction: 'asc' } as const;

describe('user cursors', () => {
  it('decode to where the page ended, under the same sort', () => {
    const cursor = encodeUserCursor(byEmail, { value: 'ada@example.com', id: 'u-1' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeUserCursor(cursor, byEmail)).toEqual({ value: 'ada@example.com', id: 'u-1' });
    const byTime = { key: 'createdAt', direction: 'desc' } as const;
    expect(decodeUserCursor(encodeUserCursor(byTime, { value: 1_700_000_000_000, id: 'u-2' }), byTime)).toEqual({ value: 1_700_000_000_000, id: 'u-2' });
  });

  it('refuse a cursor of another sort or direction', () => {
    const cursor = encodeUserCursor(byEmail, { value: 'a', id: 'u-1' });
    expect(() => decodeUserCursor(cursor, { key: 'email', direction: 'desc' })).toThrow(InvalidCursor);
    expect(() => decodeUserCursor(cursor, { key: 'username', direction: 'asc' })).toThrow(/another sort/);
  });

  it('refuse what we did not issue', () => {
    for (const bad of ['', 'not-a-cursor', Buffer.from('{"k":"email","d":"asc","v":"a"}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(() => decodeUserCursor(bad, byEmail)).toThrow(InvalidCursor);
    }
  });
});

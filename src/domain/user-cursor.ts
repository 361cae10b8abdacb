import { z } from 'zod';
import { DomainError } from './errors.ts';
import { USER_SORT_KEYS, type UserCursor, type UserSort } from './user-query.ts';

/**
 * The users list's opaque cursors (DESIGN.md §8), for the API and the
 * console alike: base64url JSON of where the page ended and under which sort,
 * so a cursor from one sort is refused under another rather than silently
 * skipping rows.
 */
const userCursor = z.strictObject({
  k: z.enum(USER_SORT_KEYS),
  d: z.enum(['asc', 'desc']),
  v: z.union([z.string().max(1000), z.number().finite()]),
  i: z.string().min(1).max(100),
});

/** A cursor this server did not issue, or one of another sort. */
export class InvalidCursor extends DomainError {
  override name = 'InvalidCursor';
}

export function encodeUserCursor(sort: UserSort, at: UserCursor): string {
  return Buffer.from(JSON.stringify({ k: sort.key, d: sort.direction, v: at.value, i: at.id })).toString('base64url');
}

export function decodeUserCursor(cursor: string, sort: UserSort): UserCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor('not a cursor this API issued');
  }
  const parsed = userCursor.safeParse(raw);
  if (!parsed.success) throw new InvalidCursor('not a cursor this API issued');
  const c = parsed.data;
  if (c.k !== sort.key || c.d !== sort.direction) throw new InvalidCursor('the cursor belongs to another sort: start again without `after`');
  return { value: c.v, id: c.i };
}

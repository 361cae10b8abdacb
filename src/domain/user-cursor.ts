import { z } from 'zod';
import { DomainError } from './errors.ts';
import { USER_SORT_KEYS, type UserCursor, type UserSort } from './user-query.ts';

/**
 * Opaque cursors (DESIGN.md §8): base64url JSON of where the page ended and
 * under which sort, so a cursor from one sort is refused under another rather
 * than silently skipping rows. The management API and the console hand out
 * the same cursors.
 */

/** An `after` that is not a cursor we handed out, or one of another list or sort (the API answers 400 naming `after`). */
export class InvalidCursor extends DomainError {
  override name = 'InvalidCursor';
}

const userCursor = z.strictObject({
  k: z.enum(USER_SORT_KEYS),
  d: z.enum(['asc', 'desc']),
  v: z.union([z.string().max(1000), z.number().finite()]),
  i: z.string().min(1).max(100),
});

/** The cursor's JSON checked against `schema`; anything else an InvalidCursor. */
export function decodeCursorJson<T>(cursor: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor('not a cursor this API issued');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InvalidCursor('not a cursor this API issued');
  return parsed.data;
}

export function encodeUserCursor(sort: UserSort, at: UserCursor): string {
  return Buffer.from(JSON.stringify({ k: sort.key, d: sort.direction, v: at.value, i: at.id })).toString('base64url');
}

export function decodeUserCursor(cursor: string, sort: UserSort): UserCursor {
  const c = decodeCursorJson(cursor, userCursor);
  if (c.k !== sort.key || c.d !== sort.direction) throw new InvalidCursor('the cursor belongs to another sort: start again without `after`');
  return { value: c.v, id: c.i };
}

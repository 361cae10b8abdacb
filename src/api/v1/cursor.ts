import { z } from 'zod';
import { USER_SORT_KEYS, type UserCursor, type UserSort } from '../../domain/user-query.ts';
import { InvalidRequest } from './problem.ts';

/**
 * Opaque cursors (DESIGN.md §8): base64url JSON of where the page ended and
 * under which sort, so a cursor from one sort is refused under another rather
 * than silently skipping rows.
 */
const userCursor = z.strictObject({
  k: z.enum(USER_SORT_KEYS),
  d: z.enum(['asc', 'desc']),
  v: z.union([z.string().max(1000), z.number().finite()]),
  i: z.string().min(1).max(100),
});

export function encodeUserCursor(sort: UserSort, at: UserCursor): string {
  return Buffer.from(JSON.stringify({ k: sort.key, d: sort.direction, v: at.value, i: at.id })).toString('base64url');
}

function badCursor(message: string): never {
  throw new InvalidRequest([{ field: 'after', code: 'invalid_cursor', message }]);
}

/** The cursor's JSON checked against `schema`; anything else a 400 naming `after`. */
function decoded<T>(cursor: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    badCursor('not a cursor this API issued');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) badCursor('not a cursor this API issued');
  return parsed.data;
}

export function decodeUserCursor(cursor: string, sort: UserSort): UserCursor {
  const c = decoded(cursor, userCursor);
  if (c.k !== sort.key || c.d !== sort.direction) badCursor('the cursor belongs to another sort: start again without `after`');
  return { value: c.v, id: c.i };
}

/**
 * The realms and apps lists page by id; their cursors are opaque too, and name
 * their list (and for apps the realm), so that another list's cursor, or any
 * string, is refused instead of silently starting somewhere.
 */
const idCursor = z.strictObject({ l: z.enum(['realms', 'apps']), r: z.string().max(100).optional(), i: z.string().min(1).max(100) });
type IdList = { list: 'realms' } | { list: 'apps'; realmId: string };

export function encodeIdCursor(of: IdList, id: string): string {
  return Buffer.from(JSON.stringify({ l: of.list, ...(of.list === 'apps' ? { r: of.realmId } : {}), i: id })).toString('base64url');
}

export function decodeIdCursor(cursor: string, of: IdList): string {
  const c = decoded(cursor, idCursor);
  if (c.l !== of.list || c.r !== (of.list === 'apps' ? of.realmId : undefined)) badCursor('not a cursor of this list');
  return c.i;
}

import { z } from 'zod';
import { decodeUserCursor as decodeUser, InvalidCursor } from '../../domain/user-cursor.ts';
import type { UserCursor, UserSort } from '../../domain/user-query.ts';
import { InvalidRequest } from './problem.ts';

/**
 * Opaque cursors (DESIGN.md §8). The users list's live in domain/user-cursor.ts
 * (the console pages with them too); here a bad one is a 400 naming `after`.
 */
export { encodeUserCursor } from '../../domain/user-cursor.ts';

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
  try {
    return decodeUser(cursor, sort);
  } catch (err) {
    if (err instanceof InvalidCursor) badCursor(err.message);
    throw err;
  }
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

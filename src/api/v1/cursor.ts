import { z } from 'zod';
import { decodeCursorJson, InvalidCursor } from '../../domain/user-cursor.ts';

/**
 * The realms and apps lists page by id; their cursors are opaque too, and name
 * their list (and for apps the realm), so that another list's cursor, or any
 * string, is refused instead of silently starting somewhere. (The users list's
 * cursors are domain/user-cursor.ts's, shared with the console.)
 */
const idCursor = z.strictObject({ l: z.enum(['realms', 'apps']), r: z.string().max(100).optional(), i: z.string().min(1).max(100) });
type IdList = { list: 'realms' } | { list: 'apps'; realmId: string };

export function encodeIdCursor(of: IdList, id: string): string {
  return Buffer.from(JSON.stringify({ l: of.list, ...(of.list === 'apps' ? { r: of.realmId } : {}), i: id })).toString('base64url');
}

export function decodeIdCursor(cursor: string, of: IdList): string {
  const c = decodeCursorJson(cursor, idCursor);
  if (c.l !== of.list || c.r !== (of.list === 'apps' ? of.realmId : undefined)) throw new InvalidCursor('not a cursor of this list');
  return c.i;
}

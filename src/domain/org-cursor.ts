import { z } from 'zod';
import { decodeCursorJson, InvalidCursor } from './user-cursor.ts';
import { ORG_SORT_KEYS, type CreatedCursor, type GroupCursor, type OrgCursor, type OrgSort } from './orgs.ts';

/**
 * The orgs, memberships, groups and group members lists' opaque cursors, made as the users list's are
 * (domain/user-cursor.ts): base64url JSON, refused under another sort or list (InvalidCursor).
 */

const orgCursor = z.strictObject({
  k: z.enum(ORG_SORT_KEYS),
  d: z.enum(['asc', 'desc']),
  v: z.union([z.string().max(1000), z.number().finite()]),
  i: z.string().min(1).max(100),
});

const groupCursor = z.strictObject({
  n: z.string().max(1000),
  i: z.string().min(1).max(100),
});

const createdCursor = z.strictObject({
  c: z.number().int().min(0).max(8.64e15),
  i: z.string().min(1).max(100),
});

export function encodeOrgCursor(sort: OrgSort, at: OrgCursor): string {
  return Buffer.from(JSON.stringify({ k: sort.key, d: sort.direction, v: at.value, i: at.id })).toString('base64url');
}

export function decodeOrgCursor(cursor: string, sort: OrgSort): OrgCursor {
  const c = decodeCursorJson(cursor, orgCursor);
  if (c.k !== sort.key || c.d !== sort.direction) throw new InvalidCursor('the cursor belongs to another sort: start again without `after`');
  // A name sorts by a string and a time by a number: the other kind is not a cursor of this sort.
  if (typeof c.v !== (c.k === 'createdAt' ? 'number' : 'string')) throw new InvalidCursor('not a cursor this API issued');
  return { value: c.v, id: c.i };
}

/** The (createdAt, id) cursor of memberships and of group members (id: the member's user id). */
export function encodeCreatedCursor(at: CreatedCursor): string {
  return Buffer.from(JSON.stringify({ c: at.createdAt.getTime(), i: at.id })).toString('base64url');
}

export function decodeCreatedCursor(cursor: string): CreatedCursor {
  const c = decodeCursorJson(cursor, createdCursor);
  return { createdAt: new Date(c.c), id: c.i };
}

/** The groups list's cursor: the last group's folded name and id. */
export function encodeGroupCursor(at: GroupCursor): string {
  return Buffer.from(JSON.stringify({ n: at.nameNorm, i: at.id })).toString('base64url');
}

export function decodeGroupCursor(cursor: string): GroupCursor {
  const c = decodeCursorJson(cursor, groupCursor);
  return { nameNorm: c.n, id: c.i };
}

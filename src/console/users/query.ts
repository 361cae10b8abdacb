import { z } from 'zod';
import { decodeUserCursor } from '../../domain/user-cursor.ts';
import { USER_SORT_KEYS, type UserCursor, type UserFilter, type UserSort } from '../../domain/user-query.ts';
import { field } from '../../http/forms.ts';

/**
 * The users list's query, as the console's filter bar and column headers
 * write it: dates are days (an <input type="date">), an empty select means
 * "any". One parse serves the list, the count, the export and "select all
 * matching", so the CSV and the bulk delete see exactly the list's users.
 */
const day = z.union([z.literal(''), z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'console.users.badDate')]).optional();
export const usersQuery = z.object({
  userType: z.enum(['', 'human', 'api']).optional(),
  state: z.enum(['', 'active', 'inactive']).optional(),
  createdFrom: day,
  createdTo: day,
  q: field.optionalText(200),
  sort: z.enum(USER_SORT_KEYS).optional(),
  direction: z.enum(['asc', 'desc']).optional(),
  after: z.string().max(2000).optional(),
});

export interface ListQuery {
  /** What the form shows again (strings as typed). */
  values: { userType: string; state: string; createdFrom: string; createdTo: string; q: string };
  filter: UserFilter;
  sort: UserSort;
  after: UserCursor | null;
  /** The raw cursor, for the pager. */
  afterRaw: string | null;
  /** A filter (not the search) is set: the Filter button is shown highlighted. */
  filtering: boolean;
}

export const DEFAULT_SORT: UserSort = { key: 'createdAt', direction: 'desc' };

function dayStart(value: string, plusDays = 0): Date | null {
  const d = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) return null;
  return new Date(d.getTime() + plusDays * 86_400_000);
}

/** The list's query, or the locale key of what is wrong with it. */
export function parseUsersQuery(raw: unknown): { ok: true; query: ListQuery } | { ok: false; messageKey: string } {
  const parsed = usersQuery.safeParse(raw ?? {});
  if (!parsed.success) {
    const message = parsed.error.issues[0]!.message;
    return { ok: false, messageKey: message.startsWith('console.') || message.startsWith('validation.') ? message : 'console.users.badQuery' };
  }
  const p = parsed.data;
  const filter: UserFilter = {};
  if (p.userType) filter.userType = p.userType;
  if (p.state) filter.state = p.state;
  if (p.createdFrom) {
    const at = dayStart(p.createdFrom);
    if (!at) return { ok: false, messageKey: 'console.users.badDate' };
    filter.createdAfter = at;
  }
  if (p.createdTo) {
    // "Created on or before this day": before the next day's start.
    const at = dayStart(p.createdTo, 1);
    if (!at) return { ok: false, messageKey: 'console.users.badDate' };
    filter.createdBefore = at;
  }
  if (p.q) filter.q = p.q;
  const sort: UserSort = p.sort ? { key: p.sort, direction: p.direction ?? 'asc' } : DEFAULT_SORT;
  let after: UserCursor | null = null;
  if (p.after) {
    try {
      after = decodeUserCursor(p.after, sort);
    } catch {
      return { ok: false, messageKey: 'console.users.badCursor' };
    }
  }
  return {
    ok: true,
    query: {
      values: { userType: p.userType ?? '', state: p.state ?? '', createdFrom: p.createdFrom ?? '', createdTo: p.createdTo ?? '', q: p.q ?? '' },
      filter,
      sort,
      after,
      afterRaw: p.after ?? null,
      filtering: Boolean(p.userType || p.state || p.createdFrom || p.createdTo),
    },
  };
}

/** The query string of the list with `values`, `sort` and an optional cursor (empty values left out). */
export function listQueryString(values: ListQuery['values'], sort: UserSort | null, after?: string | null): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) params.set(k, v);
  if (sort && (sort.key !== DEFAULT_SORT.key || sort.direction !== DEFAULT_SORT.direction)) {
    params.set('sort', sort.key);
    params.set('direction', sort.direction);
  }
  if (after) params.set('after', after);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/**
 * Permissions on memberships and groups (issue 14; docs/design/orgs.md §4.3): short case-insensitive strings,
 * nested with `:`. A trailing `:*` grants everything under it at any depth (`billing:*` grants `billing:read`
 * and `billing:invoices:write`, not `billing` itself); `*` alone grants everything; a `*` anywhere else is an
 * ordinary character. Plain rules, no I/O — apps get the same few lines in the README.
 */

/** One permission: letters, digits and `* : ; . _ -`, 1 to 62 characters (AuthRocket's rule). */
export const PERMISSION = /^[a-z0-9*:;._-]{1,62}$/i;

export function isPermission(value: unknown): value is string {
  return typeof value === 'string' && PERMISSION.test(value);
}

/** The list as stored: lower-case, each once, in the order given. Throws on an entry that is not a permission. */
export function normalizePermissions(list: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of list) {
    if (!isPermission(p)) throw new TypeError(`not a permission: ${JSON.stringify(p)}`);
    const lower = p.toLowerCase();
    if (!out.includes(lower)) out.push(lower);
  }
  return out;
}

/** Whether `held` grants `wanted`: an equal entry, `*`, or an entry ending in `:*` whose prefix `wanted` starts with. */
export function hasPermission(held: readonly string[], wanted: string): boolean {
  const w = wanted.toLowerCase();
  return held.some((p) => {
    const h = p.toLowerCase();
    return h === w || h === '*' || (h.endsWith(':*') && w.length > h.length - 1 && w.startsWith(h.slice(0, -1)));
  });
}

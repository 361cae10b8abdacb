import { z } from 'zod';
import { decodeOrgCursor } from '../../domain/org-cursor.ts';
import { ORG_SORT_KEYS, type Org, type OrgCursor, type OrgFilter, type OrgSort } from '../../domain/orgs.ts';
import { field, type FormError } from '../../http/forms.ts';
import type { AttributeValue } from '../../identity/user.ts';
import type { OrgChange } from '../../services/orgs.ts';
import { attributesOfRows, postedRows, rowsOfAttributes, sameAttributes, type AttributeRow } from '../attribute-rows.ts';
import { zodProblem } from './member-forms.ts';

/** The orgs list's query as its search box, state filter and column headers write it (the users list's way). */
const orgsQuery = z.object({
  state: z.enum(['', 'active', 'closed']).optional(),
  q: field.optionalText(200),
  sort: z.enum(ORG_SORT_KEYS).optional(),
  direction: z.enum(['asc', 'desc']).optional(),
  after: z.string().max(2000).optional(),
});

export const DEFAULT_ORG_SORT: OrgSort = { key: 'name', direction: 'asc' };

export interface OrgListQuery {
  values: { state: string; q: string };
  filter: OrgFilter;
  sort: OrgSort;
  after: OrgCursor | null;
  afterRaw: string | null;
}

export function parseOrgsQuery(raw: unknown): { ok: true; query: OrgListQuery } | { ok: false; messageKey: string } {
  const parsed = orgsQuery.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, messageKey: 'console.orgs.badQuery' };
  const p = parsed.data;
  const filter: OrgFilter = {};
  if (p.state) filter.state = p.state;
  if (p.q) filter.q = p.q;
  const sort: OrgSort = p.sort ? { key: p.sort, direction: p.direction ?? 'asc' } : DEFAULT_ORG_SORT;
  let after: OrgCursor | null = null;
  if (p.after) {
    try {
      after = decodeOrgCursor(p.after, sort);
    } catch {
      return { ok: false, messageKey: 'console.users.badCursor' };
    }
  }
  return { ok: true, query: { values: { state: p.state ?? '', q: p.q ?? '' }, filter, sort, after, afterRaw: p.after ?? null } };
}

/** The list's query string (empty values and the default sort left out). */
export function orgsQueryString(values: OrgListQuery['values'], sort: OrgSort, after?: string | null): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) params.set(k, v);
  if (sort.key !== DEFAULT_ORG_SORT.key || sort.direction !== DEFAULT_ORG_SORT.direction) {
    params.set('sort', sort.key);
    params.set('direction', sort.direction);
  }
  if (after) params.set('after', after);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** What the org form shows: the stored org, or what was typed. */
export interface OrgFormValues {
  name: string;
  reference: string;
  attrs: AttributeRow[];
}

const orgForm = z.object({
  name: field.requiredText(100),
  reference: field.optionalText(255),
  attrsShown: z.literal('true', { error: 'validation.invalid' }).optional(),
});

export const EMPTY_ORG: OrgFormValues = { name: '', reference: '', attrs: [] };

export function orgValuesOf(org: Org): OrgFormValues {
  return { name: org.name, reference: org.reference ?? '', attrs: rowsOfAttributes(org.customAttributes) };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The org form (new or a stored org's): the change against `org` (only what differs), or the first thing wrong,
 * with what was typed kept.
 */
export function orgChangeOf(rawBody: unknown, org: Org | null): { ok: true; change: OrgChange & { name: string }; values: OrgFormValues } | { ok: false; error: FormError; values: OrgFormValues } {
  const body = (rawBody ?? {}) as Record<string, unknown>;
  const posted = postedRows(body);
  const stored = org ? orgValuesOf(org) : EMPTY_ORG;
  const values: OrgFormValues = { name: str(body.name) ?? stored.name, reference: str(body.reference) ?? stored.reference, attrs: 'rows' in posted ? posted.rows : stored.attrs };
  const fail = (error: FormError) => ({ ok: false as const, error, values });
  if ('bad' in posted) return fail({ field: posted.bad, message: 'validation.invalid' });
  const parsed = orgForm.safeParse(body);
  if (!parsed.success) return fail(zodProblem(parsed.error));
  const f = parsed.data;
  const change: OrgChange & { name: string } = { name: f.name };
  const reference = f.reference ? f.reference : null;
  if (reference !== (org?.reference ?? null)) change.reference = reference;
  if (f.attrsShown && 'rows' in posted) {
    const rows = attributesOfRows(posted.rows);
    if ('problem' in rows) return fail(rows.problem);
    const custom: Record<string, AttributeValue> = rows.custom;
    if (!org || !sameAttributes(custom, org.customAttributes)) change.customAttributes = custom;
  }
  return { ok: true, change, values };
}

import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, DomainError, NotFoundError, RuleViolation } from '../../domain/errors.ts';
import { field, type FormError } from '../../http/forms.ts';
import { displayName, normalizeLogin, type User } from '../../identity/user.ts';
import type { UsersService } from '../../services/users.ts';
import { isLive, type Membership } from '../../domain/orgs.ts';
import { consoleMessageOf } from '../access.ts';

/**
 * What the orgs' and groups' member forms share: a user named by email or username, permissions one a line,
 * an end day. The rules are the services' (MembershipsService, GroupsService); this only reads the form and
 * puts a refusal at its field. Every message is a locale key.
 */

/** The members lists' page size (memberships, group members). */
export const MEMBERS_PAGE_SIZE = 50;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The lines of a textarea, trimmed, blank ones left out. */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** An end day (an <input type="date">) as the instant the membership stops counting: the start of the next day, UTC. '' → null. */
export function expiryOfDay(day: string): Date | null | 'bad' {
  if (day === '') return null;
  if (!DAY.test(day)) return 'bad';
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== day) return 'bad';
  return new Date(d.getTime() + 86_400_000);
}

/** The end day a form shows for a stored end (the last day it counts). */
export function dayOfExpiry(expiresAt: Date | null): string {
  return expiresAt ? new Date(expiresAt.getTime() - 1).toISOString().slice(0, 10) : '';
}

export const permissionsField = z.string({ error: 'validation.invalid' }).max(20_000, 'validation.tooLong').optional();
export const dayField = z.string({ error: 'validation.invalid' }).max(10, 'validation.invalid').optional();
export const userField = field.requiredText(254);

/** The first issue of a zod parse as a form error at its field. */
export function zodProblem(error: z.ZodError): FormError {
  const issue = error.issues[0]!;
  return { field: String(issue.path[0] ?? '') || null, message: issue.message.startsWith('validation.') ? issue.message : 'validation.invalid' };
}

/**
 * The user of the realm whose email or username is exactly `identifier` (any case), found through the users
 * list's search (a prefix of the email, the username or the name); null when none is.
 */
export async function userByLogin(users: UsersService, realm: RealmConfig, identifier: string): Promise<User | null> {
  const wanted = normalizeLogin(identifier);
  const page = await users.list(realm, { q: identifier }, { key: 'username', direction: 'asc' }, null, 50);
  return page.users.find((u) => normalizeLogin(u.username) === wanted || (u.email !== null && normalizeLogin(u.email) === wanted)) ?? null;
}

/** One row of an org's members table (or the user page's memberships panel): the membership and its person, decided. */
export function membershipRow(m: Membership, at: Date) {
  return { id: m.id, userId: m.userId, orgId: m.orgId, permissions: m.permissions, expiresAt: m.expiresAt, expired: !isLive(m, at), createdAt: m.createdAt };
}

/** A member row's person: who, as the lists show them (a user deleted meanwhile shows as their id). */
export interface MemberPerson {
  id: string;
  name: string;
  email: string | null;
  username: string;
}

/** The users of `ids` (in that order), one read each. */
export async function peopleOf(users: UsersService, realm: RealmConfig, ids: readonly string[]): Promise<Map<string, MemberPerson>> {
  const found = await Promise.all(ids.map((id) => users.get(realm, id).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)))));
  const out = new Map<string, MemberPerson>();
  for (const [i, id] of ids.entries()) {
    const u = found[i];
    out.set(id, u ? { id, name: displayName(u), email: u.email, username: u.username } : { id, name: id, email: null, username: id });
  }
  return out;
}

/**
 * A refusal of the memberships or groups service as a form shows it: permissions (a bad one names it, too many
 * says the realm's bound), the end day, a taken name or membership, a closed org; `fields` maps the service's
 * field names to the form's.
 */
export function memberRefusal(err: unknown, fields: Record<string, string> = {}): FormError {
  if (err instanceof NotFoundError) throw err;
  const at = (f: string | undefined) => (f === undefined ? null : (fields[f] ?? f));
  if (err instanceof RuleViolation) {
    const issue = err.issues[0]!;
    if (issue.code === 'permission.invalid') return { field: at('permissions'), message: 'console.members.permissionInvalid' };
    if (issue.code === 'permissions.too_many') return { field: at('permissions'), message: 'console.members.permissionsTooMany', params: { max: issue.limit ?? 0 } };
    if (issue.code === 'expires_at.past') return { field: at('expiresAt'), message: 'console.members.expiryPast' };
    return { field: at(issue.field), message: 'console.errors.refused', params: { reason: issue.message } };
  }
  if (err instanceof ConflictError) return { field: at(err.details.field), message: consoleMessageOf(err) };
  if (err instanceof DomainError) return { field: null, message: 'console.errors.refused', params: { reason: err.message } };
  throw err;
}

/** The status of a refusal memberRefusal put on a form: 409 for a conflict (taken, closed), 422 for a broken rule. */
export const refusalStatus = (error: FormError): number => (error.message.startsWith('console.conflict.') ? 409 : 422);

import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, DomainError, RuleViolation } from '../../domain/errors.ts';
import { field, type FormError } from '../../http/forms.ts';
import type { User } from '../../identity/user.ts';
import type { UserChange } from '../../services/users.ts';
import { consoleMessageOf } from '../access.ts';
import { attributesOfRows, postedRows, rowsOfAttributes, sameAttributes, type AttributeRow } from '../attribute-rows.ts';

/**
 * The user page's form ⇄ a UserChange (src/services/users.ts). Only what the
 * operator changed is sent: the service's rules (a changed address is
 * unverified again, a human's name is derived, usernames of email realms)
 * then apply to that change alone. Every message is a locale key.
 */

/** What the form shows: the stored user, or what was typed (passwords never). */
export interface UserFormValues {
  firstName: string;
  lastName: string;
  name: string;
  email: string;
  emailVerification: string;
  username: string;
  active: boolean;
  reference: string;
  attrs: AttributeRow[];
}

const userForm = z.object({
  firstName: field.optionalText(100),
  lastName: field.optionalText(100),
  name: field.optionalText(100),
  email: field.optionalText(254),
  emailVerification: z.enum(['none', 'requested', 'verified'], { error: 'validation.invalid' }).optional(),
  username: field.optionalText(254),
  /** The Active checkbox was on the form (an unticked box sends nothing). */
  activeShown: z.literal('true', { error: 'validation.invalid' }).optional(),
  active: z.literal('true', { error: 'validation.invalid' }).optional(),
  reference: field.optionalText(255),
  password: z.string({ error: 'validation.invalid' }).max(4096, 'validation.tooLong').optional(),
  passwordAgain: z.string({ error: 'validation.invalid' }).max(4096, 'validation.tooLong').optional(),
  /** The attribute rows were on the form: without it, the attributes are left alone. */
  attrsShown: z.literal('true', { error: 'validation.invalid' }).optional(),
});

export function formValuesOf(user: User): UserFormValues {
  return {
    firstName: user.firstName ?? '',
    lastName: user.lastName ?? '',
    name: user.name ?? '',
    email: user.email ?? '',
    emailVerification: user.emailVerification,
    username: user.username,
    active: user.state === 'active',
    reference: user.reference ?? '',
    attrs: rowsOfAttributes(user.customAttributes),
  };
}

export type UserFormResult = { ok: true; change: UserChange; values: UserFormValues } | { ok: false; error: FormError; values: UserFormValues };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The typed values to show again (as typed, never the passwords). */
function typedValues(body: Record<string, unknown>, user: User, rows: AttributeRow[] | null): UserFormValues {
  const stored = formValuesOf(user);
  const pick = (k: keyof Omit<UserFormValues, 'active' | 'attrs'>) => str(body[k]) ?? stored[k];
  return {
    firstName: pick('firstName'),
    lastName: pick('lastName'),
    name: pick('name'),
    email: pick('email'),
    emailVerification: pick('emailVerification'),
    username: pick('username'),
    active: body.activeShown === 'true' ? body.active === 'true' : stored.active,
    reference: pick('reference'),
    attrs: rows ?? stored.attrs,
  };
}

/** The change the posted form asks for against the stored `user`, or the first thing wrong with it. */
export function userChangeOf(rawBody: unknown, user: User): UserFormResult {
  const body = (rawBody ?? {}) as Record<string, unknown>;
  const posted = postedRows(body);
  const rows = 'rows' in posted ? posted.rows : null;
  const values = typedValues(body, user, rows);
  const fail = (fieldName: string | null, message: string, params?: Record<string, string | number>): UserFormResult => ({ ok: false, error: { field: fieldName, message, params }, values });
  if ('bad' in posted) return fail(posted.bad, 'validation.invalid');
  const parsed = userForm.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(String(issue.path[0] ?? ''), issue.message.startsWith('validation.') ? issue.message : 'validation.invalid');
  }
  const f = parsed.data;
  const change: UserChange = {};
  const nullable = (v: string) => (v === '' ? null : v);
  for (const k of ['firstName', 'lastName', 'name', 'reference'] as const) {
    if (f[k] !== undefined && nullable(f[k]) !== user[k]) change[k] = nullable(f[k]);
  }
  if (f.email !== undefined && nullable(f.email) !== user.email) change.email = nullable(f.email);
  if (f.emailVerification !== undefined && f.emailVerification !== user.emailVerification) change.emailVerification = f.emailVerification;
  // Blank: an API user gets a generated username; a human's refusal is the service's.
  if (f.username !== undefined && f.username !== user.username) change.username = f.username;
  if (f.activeShown) {
    const state = f.active ? 'active' : 'inactive';
    if (state !== user.state) change.state = state;
  }
  const password = f.password ?? '';
  if (password !== '' || (f.passwordAgain ?? '') !== '') {
    if (password !== f.passwordAgain) return fail('passwordAgain', 'console.userPage.passwordMismatch');
    change.password = password;
  }
  if (f.attrsShown) {
    const parsedRows = attributesOfRows(rows!);
    if ('problem' in parsedRows) return fail(parsedRows.problem.field, parsedRows.problem.message, parsedRows.problem.params);
    const custom = parsedRows.custom;
    if (!sameAttributes(custom, user.customAttributes)) change.custom = custom;
  }
  return { ok: true, change, values };
}

/** The users service's rule codes the page has words for (console.userPage.rules.*); others show the service's text. */
const KNOWN_RULES = new Set(['read_only', 'email_invalid', 'required', 'username_is_email', 'username_not_email', 'email_missing', 'custom_type']);

/** The field of the form a service refusal belongs to: an attribute's issue marks its row. */
function formFieldOf(serviceField: string | undefined, values: UserFormValues): string | null {
  if (!serviceField) return null;
  if (serviceField.startsWith('customAttributes.')) {
    const key = serviceField.slice('customAttributes.'.length);
    const i = values.attrs.findIndex((r) => r.key.trim() === key);
    return i >= 0 ? `attr.${i}.value` : null;
  }
  return serviceField === 'state' ? 'active' : serviceField;
}

/**
 * A refusal of UsersService.update as the form shows it: the message at its
 * field. The realm's rules speak English in the service; the codes the console
 * knows get their own text, in the page's language.
 */
export function refusalOf(err: DomainError, realm: RealmConfig, values: UserFormValues): FormError {
  if (err instanceof RuleViolation) {
    const issue = err.issues[0]!;
    const fieldName = formFieldOf(issue.field, values);
    if (issue.code.startsWith('password.')) return { field: fieldName, message: issue.code, params: { min: realm.password.minLength, max: realm.password.maxLength } };
    const code = issue.code.replace(/\./g, '_');
    return { field: fieldName, message: `console.userPage.rules.${KNOWN_RULES.has(code) ? code : 'other'}`, params: { detail: issue.message } };
  }
  if (err instanceof ConflictError) return { field: formFieldOf(err.details.field, values), message: consoleMessageOf(err) };
  return { field: null, message: 'console.errors.refused', params: { reason: err.message } };
}

import { z } from 'zod';
import { ConflictError, RuleViolation } from '../../domain/errors.ts';
import { field } from '../../http/forms.ts';
import type { AppAccess } from '../../domain/realm-settings.ts';
import type { AppView } from '../../services/realms.ts';
import { consoleMessageOf } from '../access.ts';
import { issueText } from '../issue-text.ts';

/**
 * The app form (new and edit): name, redirect URIs and logout redirect URIs one per line, the delivery mode, and
 * who may receive the app's JWT (everyone, holders of a permission, or members of orgs and groups by id).
 * Only the form's shape is checked here (strings, not arrays; no control characters in a line); every rule of an
 * app — a URI must be https and exact, a name one line — is the realms service's (the file's appSchema), and its
 * refusals come back at their field.
 */
const noControlChars = (v: string) => !/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(v);
const lines = z
  .string({ error: 'validation.invalid' })
  .max(20_000, 'validation.tooLong')
  .refine(noControlChars, 'validation.invalidChars')
  .transform((v) => v.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l.length > 0));

export const DELIVERY_MODES = ['form_post', 'query', 'fragment'] as const;
export const ACCESS_TYPES = ['everyone', 'permission', 'members'] as const;

const appForm = z.object({
  name: field.text(200),
  redirectUris: lines,
  logoutRedirectUris: lines.optional(),
  delivery: z.enum(DELIVERY_MODES, { error: 'validation.invalid' }),
  // Absent in a form posted before the access fields existed: a new app is open to everyone, an edited one keeps its rule.
  accessType: z.enum(ACCESS_TYPES, { error: 'validation.invalid' }).optional(),
  accessPermission: field.text(100).optional(),
  accessOrgs: lines.optional(),
  accessGroups: lines.optional(),
});
const newAppForm = appForm.extend({ clientId: field.text(100) });

/** What the form shows: the strings as typed (a refusal keeps them). */
export interface AppFormValues {
  clientId: string;
  name: string;
  redirectUris: string;
  logoutRedirectUris: string;
  delivery: string;
  accessType: string;
  accessPermission: string;
  accessOrgs: string;
  accessGroups: string;
}

/** Messages at their fields (already translated), and one for the whole form (a locale key with params). */
export interface AppFormErrors {
  fields: Record<string, string[]>;
  form: { key: string; params?: Record<string, unknown> } | null;
}

export const FORM_FIELDS = ['clientId', 'name', 'redirectUris', 'logoutRedirectUris', 'delivery', 'accessType', 'accessPermission', 'accessOrgs', 'accessGroups'] as const;

export function valuesOfApp(app: AppView): AppFormValues {
  return {
    clientId: app.clientId,
    name: app.settings.name,
    redirectUris: app.settings.redirectUris.join('\n'),
    logoutRedirectUris: (app.settings.logoutRedirectUris ?? []).join('\n'),
    delivery: app.settings.delivery ?? 'form_post',
    ...accessValues(app.settings.access),
  };
}

function accessValues(access: AppAccess | undefined): Pick<AppFormValues, 'accessType' | 'accessPermission' | 'accessOrgs' | 'accessGroups'> {
  const a = access ?? { type: 'everyone' };
  return {
    accessType: a.type,
    accessPermission: a.type === 'permission' ? a.permission : '',
    accessOrgs: a.type === 'members' ? a.orgs.join('\n') : '',
    accessGroups: a.type === 'members' ? a.groups.join('\n') : '',
  };
}

export const EMPTY_APP: AppFormValues = {
  clientId: '',
  name: '',
  redirectUris: '',
  logoutRedirectUris: '',
  delivery: 'form_post',
  accessType: 'everyone',
  accessPermission: '',
  accessOrgs: '',
  accessGroups: '',
};

/**
 * The access rule the form names. Creating: the rule itself. Editing: a JSON merge patch of the app's rule
 * (RFC 7396), so the keys of the kind it replaces are removed with null.
 */
function accessOf(d: z.infer<typeof appForm>, creating: boolean): Record<string, unknown> | undefined {
  // No accessType: never the widest rule by omission (fail closed); creating, the default applies.
  if (d.accessType === undefined) return creating ? { type: 'everyone' } : undefined;
  const rule: Record<string, unknown> =
    d.accessType === 'permission'
      ? { type: 'permission', permission: d.accessPermission ?? '' }
      : d.accessType === 'members'
        ? { type: 'members', orgs: d.accessOrgs ?? [], groups: d.accessGroups ?? [] }
        : { type: 'everyone' };
  if (creating) return rule;
  return { permission: null, orgs: null, groups: null, ...rule };
}

/** The posted strings worth showing again (a field that came as an array is shown empty). */
export function keptAppValues(body: unknown, fallback: AppFormValues): AppFormValues {
  const source = (body ?? {}) as Record<string, unknown>;
  const out = { ...fallback };
  for (const k of FORM_FIELDS) out[k] = typeof source[k] === 'string' ? (source[k] as string) : '';
  return out;
}

type Translate = (k: string, p?: Record<string, unknown>) => string;

/** The form as the service's input, or the field it stops at. `creating` reads the client id too. */
export function parseAppForm(
  body: unknown,
  creating: boolean,
  t: Translate,
): {
  ok: true;
  input: { clientId?: string; name: string; redirectUris: string[]; logoutRedirectUris: string[]; delivery: (typeof DELIVERY_MODES)[number]; access?: Record<string, unknown> };
} | { ok: false; errors: AppFormErrors } {
  const parsed = (creating ? newAppForm : appForm).safeParse(body ?? {});
  if (!parsed.success) {
    const fields: Record<string, string[]> = {};
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '');
      const key = issue.message.startsWith('validation.') ? issue.message : 'validation.invalid';
      (fields[name] ??= []).push(t(key));
    }
    return { ok: false, errors: { fields, form: { key: 'console.apps.fixFields' } } };
  }
  const d = parsed.data as z.infer<typeof newAppForm>;
  const access = accessOf(d, creating);
  return {
    ok: true,
    input: {
      ...(creating ? { clientId: d.clientId } : {}),
      name: d.name,
      redirectUris: d.redirectUris,
      logoutRedirectUris: d.logoutRedirectUris ?? [],
      delivery: d.delivery,
      ...(access ? { access } : {}),
    },
  };
}

/** An issue of the access rule at its form field: `access.permission` → accessPermission, `access.orgs[2]` → accessOrgs[2]. */
function accessField(field: string): string {
  const m = /^access(?:\.(permission|orgs|groups))?(.*)$/.exec(field);
  if (!m) return field;
  const sub = m[1] ? `access${m[1][0]!.toUpperCase()}${m[1].slice(1)}` : 'accessType';
  return `${sub}${m[1] ? m[2] : ''}`;
}

/**
 * The service's refusal as the form shows it: a RuleViolation's issues at their fields (`redirectUris[1]` is the
 * second line of that box), a ConflictError with a field (a taken client id) there, any other refusal (a
 * provisioned realm) for the whole form. Null when `err` is not a refusal.
 */
export function appFormErrors(err: unknown, t: Translate): { errors: AppFormErrors; status: number } | null {
  if (err instanceof RuleViolation) {
    const fields: Record<string, string[]> = {};
    const other: string[] = [];
    for (const issue of err.issues) {
      const m = /^([A-Za-z]+)(?:\[(\d+)\])?/.exec(accessField(issue.field));
      const name = m?.[1] ?? '';
      const said = issueText(t, issue);
      const message = m?.[2] !== undefined ? t('console.apps.onLine', { line: Number(m[2]) + 1, message: said }) : said;
      if ((FORM_FIELDS as readonly string[]).includes(name)) (fields[name] ??= []).push(message);
      else other.push(issue.field ? `${issue.field}: ${said}` : said);
    }
    return { errors: { fields, form: other.length > 0 ? { key: 'console.errors.refused', params: { reason: other.join('; ') } } : { key: 'console.apps.fixFields' } }, status: 422 };
  }
  if (err instanceof ConflictError) {
    const message = t(consoleMessageOf(err));
    if (err.details.field && (FORM_FIELDS as readonly string[]).includes(err.details.field)) {
      return { errors: { fields: { [err.details.field]: [message] }, form: { key: 'console.apps.fixFields' } }, status: 409 };
    }
    return { errors: { fields: {}, form: { key: 'console.errors.refused', params: { reason: message } } }, status: 409 };
  }
  return null;
}

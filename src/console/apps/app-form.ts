import { z } from 'zod';
import { ConflictError, RuleViolation } from '../../domain/errors.ts';
import { field } from '../../http/forms.ts';
import type { AppView } from '../../services/realms.ts';
import { consoleMessageOf } from '../access.ts';
import { issueText } from '../issue-text.ts';

/**
 * The app form (new and edit): name, redirect URIs and logout redirect URIs one per line, the delivery mode.
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

const appForm = z.object({
  name: field.text(200),
  redirectUris: lines,
  logoutRedirectUris: lines.optional(),
  delivery: z.enum(DELIVERY_MODES, { error: 'validation.invalid' }),
});
const newAppForm = appForm.extend({ clientId: field.text(100) });

/** What the form shows: the strings as typed (a refusal keeps them). */
export interface AppFormValues {
  clientId: string;
  name: string;
  redirectUris: string;
  logoutRedirectUris: string;
  delivery: string;
}

/** Messages at their fields (already translated), and one for the whole form (a locale key with params). */
export interface AppFormErrors {
  fields: Record<string, string[]>;
  form: { key: string; params?: Record<string, unknown> } | null;
}

export const FORM_FIELDS = ['clientId', 'name', 'redirectUris', 'logoutRedirectUris', 'delivery'] as const;

export function valuesOfApp(app: AppView): AppFormValues {
  return {
    clientId: app.clientId,
    name: app.settings.name,
    redirectUris: app.settings.redirectUris.join('\n'),
    logoutRedirectUris: (app.settings.logoutRedirectUris ?? []).join('\n'),
    delivery: app.settings.delivery ?? 'form_post',
  };
}

export const EMPTY_APP: AppFormValues = { clientId: '', name: '', redirectUris: '', logoutRedirectUris: '', delivery: 'form_post' };

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
): { ok: true; input: { clientId?: string; name: string; redirectUris: string[]; logoutRedirectUris: string[]; delivery: (typeof DELIVERY_MODES)[number] } } | { ok: false; errors: AppFormErrors } {
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
  return {
    ok: true,
    input: { ...(creating ? { clientId: d.clientId } : {}), name: d.name, redirectUris: d.redirectUris, logoutRedirectUris: d.logoutRedirectUris ?? [], delivery: d.delivery },
  };
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
      const m = /^([A-Za-z]+)(?:\[(\d+)\])?/.exec(issue.field);
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

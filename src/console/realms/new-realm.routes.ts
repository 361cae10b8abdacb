import type { Response } from 'express';
import { z } from 'zod';
import { ConflictError, RuleViolation } from '../../domain/errors.ts';
import { field } from '../../http/forms.ts';
import type { RealmsService } from '../../services/realms.ts';
import { consoleMessageOf } from '../access.ts';
import { ownsEveryRealm } from '../operators/global.routes.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { flash } from '../../http/account.ts';

type T = (k: string, p?: Record<string, unknown>) => string;

export const NEW_REALM_FIELDS = ['id', 'name', 'publicUrl', 'hosts'] as const;
type NewRealmField = (typeof NEW_REALM_FIELDS)[number];
type Values = Record<NewRealmField, string>;
/** Messages at their fields (already in the page's language), and one for the whole form. */
interface Problems {
  fields: Partial<Record<NewRealmField, string>>;
  alert: string;
}

/** Only the form's shape here (strings, not arrays; no control characters); every rule of a realm is the realms service's (the file's realm schema). */
const noControlChars = (v: string) => !/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(v);
const newRealmForm = z.object({
  id: field.requiredText(100),
  name: field.requiredText(200),
  publicUrl: field.requiredText(2000),
  hosts: z
    .string({ error: 'validation.invalid' })
    .max(20_000, 'validation.tooLong')
    .refine(noControlChars, 'validation.invalidChars')
    .optional(),
});

const fieldOf = (path: string): NewRealmField | null => {
  const name = /^[A-Za-z]+/.exec(path)?.[0];
  return (NEW_REALM_FIELDS as readonly string[]).includes(name ?? '') ? (name as NewRealmField) : null;
};

/**
 * GET/POST /admin/realms/new — a realm made at run time, for owners of '*' only (a realm-free path: the guard
 * checks settings.write on some realm, ownsEveryRealm the rest, 404 otherwise). The input is the API's
 * `POST /api/v1/realms` body (id, name, publicUrl, hosts; every other key its default) through
 * RealmsService.createRealm, which validates it with the file's schema, checks hosts against the other realms
 * and audits it; its refusals are shown at their fields, each field's rule in the page's language.
 */
export function newRealmRoutes(realmsService: Pick<RealmsService, 'createRealm'>): ConsoleRouteSpec[] {
  const render = (res: Response, values: Values, problems: Problems | null, status = 200) => {
    const t = res.locals.t as T;
    renderConsolePage(res, 'realms/new', { title: t('console.newRealm.title'), section: 'realms', values, problems: problems ?? { fields: {}, alert: null } }, status);
  };
  const kept = (body: unknown): Values => {
    const source = (body ?? {}) as Record<string, unknown>;
    const out = { id: '', name: '', publicUrl: '', hosts: '' };
    for (const k of NEW_REALM_FIELDS) if (typeof source[k] === 'string') out[k] = source[k] as string;
    return out;
  };

  const create = async (req: Parameters<ConsoleRouteSpec['handler']>[0], res: Response, c: ConsoleRequest) => {
    if (!ownsEveryRealm(res, c)) return;
    const t = res.locals.t as T;
    const values = kept(req.body);
    const parsed = newRealmForm.safeParse(req.body ?? {});
    if (!parsed.success) {
      const fields: Problems['fields'] = {};
      for (const issue of parsed.error.issues) {
        const name = fieldOf(String(issue.path[0] ?? ''));
        if (name) fields[name] ??= t(issue.message.startsWith('validation.') ? issue.message : 'validation.invalid');
      }
      return render(res, values, { fields, alert: t('console.newRealm.fix') }, 400);
    }
    const f = parsed.data;
    const hosts = (f.hosts ?? '').split(/\r?\n|\r|,/).map((h) => h.trim()).filter((h) => h.length > 0);
    let id = f.id;
    try {
      id = (await realmsService.createRealm({ id: f.id, name: f.name, publicUrl: f.publicUrl, hosts }, c.ctx)).after?.id ?? f.id;
    } catch (err) {
      if (err instanceof RuleViolation) {
        const fields: Problems['fields'] = {};
        const other: string[] = [];
        for (const issue of err.issues) {
          const name = fieldOf(issue.field);
          if (name) fields[name] ??= t(`console.newRealm.issue.${name}`);
          else other.push(`${issue.field}: ${issue.message}`);
        }
        return render(res, values, { fields, alert: other.length > 0 ? t('console.errors.refused', { reason: other.join('; ') }) : t('console.newRealm.fix') }, 422);
      }
      if (err instanceof ConflictError) {
        const message = t(consoleMessageOf(err));
        const name = err.details.field ? fieldOf(err.details.field) : null;
        return render(res, values, { fields: name ? { [name]: message } : {}, alert: name ? t('console.newRealm.fix') : message }, 409);
      }
      throw err;
    }
    flash(req, 'console.newRealm.created', { name: f.name, id });
    res.redirect(303, `/admin/realms/${encodeURIComponent(id)}/settings`);
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/new',
      // Owner of '*' only: the guard checks settings.write on some realm, ownsEveryRealm the rest (404).
      capability: 'settings.write',
      handler(_req, res, c) {
        if (!ownsEveryRealm(res, c)) return;
        render(res, { id: '', name: '', publicUrl: '', hosts: '' }, null);
      },
    }),
    // Owner of '*' only (ownsEveryRealm, 404 otherwise); a recent sign-in.
    consoleRoute({ method: 'post', path: '/realms/new', capability: 'settings.write', stepUp: true, handler: create }),
  ];
}

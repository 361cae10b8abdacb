import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, RuleViolation } from '../../domain/errors.ts';
import { flash } from '../../http/account.ts';
import { field, keptValues, parseForm, type FormError } from '../../http/forms.ts';
import { SUPPORTED_LOCALES } from '../../http/i18n.ts';
import type { NewUserInput, UsersService } from '../../services/users.ts';
import { consoleMessageOf } from '../access.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';

type UserType = 'human' | 'api';
type T = (k: string, p?: Record<string, unknown>) => string;

const typeQuery = z.object({ type: z.enum(['human', 'api']).optional() });

/** Blank is "not set"; every text is one line. The password is never trimmed, and only compared here: its policy is the service's. */
const humanForm = z.object({
  email: field.optionalText(254),
  username: field.optionalText(254),
  firstName: field.optionalText(100),
  lastName: field.optionalText(100),
  password: z.string({ error: 'validation.invalid' }).max(4096, 'validation.tooLong').optional(),
  passwordAgain: z.string({ error: 'validation.invalid' }).max(4096, 'validation.tooLong').optional(),
  emailVerification: z.enum(['none', 'requested', 'verified'], { error: 'validation.invalid' }).optional(),
  locale: z.enum(['', ...SUPPORTED_LOCALES], { error: 'validation.invalid' }).optional(),
  reference: field.optionalText(255),
});
const apiForm = z.object({
  name: field.requiredText(100),
  username: field.optionalText(254),
  email: field.optionalText(254),
});

/** What a refused form shows again: never a password. */
const KEEP: Record<UserType, readonly string[]> = {
  human: ['email', 'username', 'firstName', 'lastName', 'emailVerification', 'locale', 'reference'],
  api: ['name', 'username', 'email'],
};

/** The locale key of a service's field issue (the realm's own password rule with its numbers), else its message as said. */
function issueMessage(realm: RealmConfig, issue: { field: string; code: string; message: string }): FormError {
  const params = { min: realm.password.minLength, max: realm.password.maxLength };
  if (issue.code.startsWith('password.')) return { field: issue.field, message: issue.code, params };
  const known: Record<string, string> = {
    required: 'validation.required',
    'email.invalid': 'validation.email',
    'email.missing': 'console.newUser.verificationNeedsEmail',
    'username.not_email': 'console.newUser.usernameNotEmail',
    'username.is_email': 'console.newUser.usernameNotEmail',
  };
  return known[issue.code] ? { field: issue.field, message: known[issue.code]! } : { field: issue.field, message: 'console.errors.refused', params: { reason: issue.message } };
}

/**
 * GET/POST /admin/realms/:realmId/users/new?type=human|api — add a user
 * through UsersService.create (the API's call: the realm's rules, the event
 * and the audit entry are the service's). A human lands on their page; an
 * API user's key is on this answer only (no-store), never in the session.
 */
export function usersNewRoutes(users: UsersService): ConsoleRouteSpec[] {
  const typeOf = (req: Request, res: Response, realm: RealmConfig): UserType | null => {
    const parsed = typeQuery.safeParse(req.query);
    if (parsed.success) return parsed.data.type ?? 'human';
    renderConsoleMessage(res, 400, { titleKey: 'console.errors.title', textKey: 'console.newUser.badType', link: { href: `/admin/realms/${realm.id}/users`, labelKey: 'console.users.backToList' } });
    return null;
  };

  const form = (res: Response, c: ConsoleRequest, type: UserType, values: Record<string, string>, error: FormError | null, status = 200) => {
    const realm = c.realm!;
    const t = res.locals.t as T;
    const base = `/admin/realms/${realm.id}/users`;
    renderConsolePage(
      res,
      'users/new',
      {
        title: t(type === 'human' ? 'console.newUser.titleHuman' : 'console.newUser.titleApi'),
        section: 'users',
        base,
        type,
        separateUsernames: realm.fields.usernames === 'separate',
        passwordMin: realm.password.minLength,
        values,
        error,
        // Each language in its own name (the footer's switcher's list).
        languageOptions: [{ value: '', label: t('console.newUser.localeNone') }, ...(res.locals.languages as Array<{ locale: string; name: string }>).map((l) => ({ value: l.locale, label: l.name }))],
      },
      status,
    );
  };

  const create = async (req: Request, res: Response, c: ConsoleRequest) => {
    const realm = c.realm!;
    const type = typeOf(req, res, realm);
    if (!type) return;
    const kept = keptValues(req.body, KEEP[type]);
    let input: NewUserInput;
    if (type === 'human') {
      const parsed = parseForm(humanForm, req.body, KEEP.human);
      if (!parsed.ok) return form(res, c, type, parsed.values, { field: parsed.field, message: parsed.messageKey }, 400);
      const f = parsed.data;
      if ((f.password ?? '') !== (f.passwordAgain ?? '')) return form(res, c, type, kept, { field: 'passwordAgain', message: 'console.newUser.passwordsDiffer' }, 400);
      input = {
        userType: 'human',
        email: f.email || null,
        // With emails as usernames the form has no username field: the service takes the email.
        ...(realm.fields.usernames === 'separate' && f.username ? { username: f.username } : {}),
        firstName: f.firstName || null,
        lastName: f.lastName || null,
        ...(f.password ? { password: f.password } : {}),
        emailVerification: f.emailVerification ?? 'none',
        locale: f.locale || null,
        reference: f.reference || null,
      };
    } else {
      const parsed = parseForm(apiForm, req.body, KEEP.api);
      if (!parsed.ok) return form(res, c, type, parsed.values, { field: parsed.field, message: parsed.messageKey }, 400);
      const f = parsed.data;
      input = { userType: 'api', name: f.name, ...(f.username ? { username: f.username } : {}), email: f.email || null };
    }
    let made: Awaited<ReturnType<UsersService['create']>>;
    try {
      made = await users.create(realm, input, c.ctx);
    } catch (err) {
      if (err instanceof RuleViolation && err.issues.length > 0) return form(res, c, type, kept, issueMessage(realm, err.issues[0]!), 422);
      if (err instanceof ConflictError && err.details.field) return form(res, c, type, kept, { field: err.details.field, message: consoleMessageOf(err) }, 409);
      throw err;
    }
    const userPage = `/admin/realms/${realm.id}/users/${encodeURIComponent(made.user.id)}`;
    if (type === 'human') {
      flash(req, 'console.newUser.created', { username: made.user.username });
      return res.redirect(303, userPage);
    }
    // The key, this once: on this answer only, never cached, never in the session.
    res.setHeader('Cache-Control', 'no-store');
    const t = res.locals.t as T;
    renderConsolePage(res, 'users/api-key', { title: t('console.newUser.apiCreatedTitle'), section: 'users', username: made.user.username, name: made.user.name, apiKey: made.apiKey, userPage, list: `/admin/realms/${realm.id}/users` });
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/users/new',
      capability: 'users.write',
      handler(req, res, c) {
        const type = typeOf(req, res, c.realm!);
        if (type) form(res, c, type, type === 'human' ? { emailVerification: 'none' } : {}, null);
      },
    }),
    consoleRoute({ method: 'post', path: '/realms/:realmId/users/new', capability: 'users.write', handler: create }),
  ];
}

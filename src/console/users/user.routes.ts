import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../../domain/errors.ts';
import { flash } from '../../http/account.ts';
import type { FormError } from '../../http/forms.ts';
import { describeUserAgent } from '../../identity/user-agent.ts';
import { displayName, type User } from '../../identity/user.ts';
import type { UserAccessService } from '../../services/user-access.ts';
import type { UsersService } from '../../services/users.ts';
import { askToConfirm, recentlyAuthenticated } from '../access.ts';
import { linesOf, memberRefusal, permissionsField, refusalStatus, zodProblem } from '../orgs/member-forms.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { withEmptyRows } from '../attribute-rows.ts';
import { formValuesOf, refusalOf, userChangeOf, type UserFormValues } from './user-forms.ts';
import { userOrgsPanels, type PermissionsForm, type UserOrgsDeps } from './user-orgs.ts';

export interface UserPageDeps extends UserOrgsDeps {
  users: UsersService;
  access: UserAccessService;
  /** The console realm's recent-auth window (minutes) and the clock: deactivating asks to confirm it's you. */
  recentAuthMinutes: () => number;
  clock: () => Date;
}

const permissionsForm = z.object({ permissions: permissionsField });
const accessSwitch = z.object({ grant: z.enum(['yes', 'no'], { error: 'validation.invalid' }) });

/** The user page's path (and the base of its forms). */
export const userPath = (realm: RealmConfig, userId: string) => `/admin/realms/${realm.id}/users/${encodeURIComponent(userId)}`;

/** The page of one user: facts, the edit form, and what lets them in (credentials, key, sessions). */
export async function renderUserPage(
  res: Response,
  c: ConsoleRequest,
  d: Omit<UserPageDeps, 'users' | 'recentAuthMinutes' | 'clock'>,
  user: User,
  form: { values?: UserFormValues; error?: FormError | null; permissions?: PermissionsForm; appsError?: FormError } = {},
  status = 200,
): Promise<void> {
  const realm = c.realm!;
  const [credentials, sessions, orgsPanels] = await Promise.all([d.access.credentials(realm, user.id), d.access.listSessions(realm, user.id), userOrgsPanels(d, realm, user.id, form.permissions ?? null)]);
  const values = form.values ?? formValuesOf(user);
  // Existing rows, then empty ones for new attributes (as many more after a refusal kept the typed rows).
  const attrs = withEmptyRows(values.attrs);
  renderConsolePage(
    res,
    'users/user',
    {
      title: displayName(user),
      section: 'users',
      base: userPath(realm, user.id),
      listHref: `/admin/realms/${realm.id}/users`,
      user: {
        id: user.id,
        userType: user.userType,
        username: user.username,
        displayName: displayName(user),
        state: user.state,
        createdAt: user.createdAt,
        lastLoginAt: user.lastLoginAt,
        lastLoginIp: user.lastLoginIp,
        loginsCount: user.loginsCount,
        hasEmail: Boolean(user.email),
      },
      human: user.userType === 'human',
      emailUsernames: realm.fields.usernames === 'email',
      passwordMin: realm.password.minLength,
      passwordMax: realm.password.maxLength,
      values: { ...values, attrs },
      error: form.error ?? null,
      credentials: credentials.filter((cr) => cr.type !== 'api_key'),
      hasApiKey: credentials.some((cr) => cr.type === 'api_key'),
      apiKeysEncrypted: realm.fields.apiKeys.policy === 'encrypt',
      ...orgsPanels,
      appsError: form.appsError ?? null,
      sessions: sessions.map((s) => ({ id: s.id, device: describeUserAgent(s.userAgent), ip: s.ip, startedAt: s.createdAt, lastActiveAt: s.lastSeenAt, twoFactor: s.aal >= 2, impersonated: s.act !== null })),
    },
    status,
  );
}

export function userPageRoutes(d: UserPageDeps): ConsoleRouteSpec[] {
  const path = '/realms/:realmId/users/:userId';
  return [
    consoleRoute({
      method: 'get',
      path,
      capability: 'read',
      async handler(req, res, c) {
        const user = await d.users.get(c.realm!, String(req.params.userId));
        await renderUserPage(res, c, d, user);
      },
    }),
    consoleRoute({
      method: 'post',
      path,
      capability: 'users.write',
      async handler(req: Request, res: Response, c) {
        const realm = c.realm!;
        const user = await d.users.get(realm, String(req.params.userId));
        const form = userChangeOf(req.body, user);
        if (!form.ok) return renderUserPage(res, c, d, user, { values: form.values, error: form.error }, 400);
        const change = form.change;
        if (Object.keys(change).length === 0) {
          flash(req, 'console.userPage.nothingChanged');
          return res.redirect(303, userPath(realm, user.id));
        }
        // Deactivating ends every way in at once; a new password or email is a way in for whoever set it (the email
        // takes the next reset link): only with a recent sign-in, as impersonation (the page comes back after "confirm it's you").
        const sensitive = change.state === 'inactive' || change.password !== undefined || change.email !== undefined;
        if (sensitive && !recentlyAuthenticated(req, d)) return askToConfirm(res, userPath(realm, user.id));
        try {
          await d.users.update(realm, user.id, change, c.ctx);
        } catch (err) {
          if (!(err instanceof RuleViolation || err instanceof ConflictError)) throw err;
          return renderUserPage(res, c, d, user, { values: form.values, error: refusalOf(err, realm, form.values) }, err instanceof ConflictError ? 409 : 422);
        }
        flash(req, change.state === 'inactive' ? 'console.userPage.savedInactive' : 'console.userPage.saved');
        res.redirect(303, userPath(realm, user.id));
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${path}/permissions`,
      capability: 'orgs.write',
      async handler(req: Request, res: Response, c) {
        const realm = c.realm!;
        const user = await d.users.get(realm, String(req.params.userId));
        const parsed = permissionsForm.safeParse(req.body ?? {});
        const value = typeof req.body?.permissions === 'string' ? (req.body.permissions as string) : '';
        if (!parsed.success) return renderUserPage(res, c, d, user, { permissions: { value, error: { ...zodProblem(parsed.error), field: 'permissions' } } }, 400);
        const permissions = linesOf(parsed.data.permissions ?? '');
        const current = (await d.memberships.list(realm, { userId: user.id, orgId: null }, null, 1)).memberships[0] ?? null;
        // The user-only membership carries them: made for the first, changed, deleted with the last.
        try {
          if (!current && permissions.length > 0) await d.memberships.create(realm, { userId: user.id, orgId: null, permissions }, c.ctx);
          else if (current && permissions.length === 0) await d.memberships.delete(realm, current.id, c.ctx);
          else if (current && permissions.join('\n') !== current.permissions.join('\n')) await d.memberships.update(realm, current.id, { permissions }, c.ctx);
        } catch (err) {
          return renderUserPage(res, c, d, user, { permissions: { value, error: memberRefusal(err) } }, 422);
        }
        flash(req, 'console.userPage.permissionsSaved');
        res.redirect(303, `${userPath(realm, user.id)}#permissions-heading`);
      },
    }),
    // The Apps panel's switch for an app whose rule is a permission (GenAuth's "application access permission
    // switch"): it edits the user's user-only membership, so it needs what the permissions form above needs —
    // orgs.write (admin and owner) — and not apps.write: the app's rule itself is not changed.
    consoleRoute({
      method: 'post',
      path: `${path}/apps/:clientId/access`,
      capability: 'orgs.write',
      async handler(req: Request, res: Response, c) {
        const realm = c.realm!;
        const user = await d.users.get(realm, String(req.params.userId));
        const app = realm.apps.find((a) => a.clientId === String(req.params.clientId));
        if (!app) throw new NotFoundError('app');
        if (app.access.type !== 'permission') return renderUserPage(res, c, d, user, { appsError: { field: null, message: 'console.userApps.notPermission', params: { app: app.name } } }, 409);
        const parsed = accessSwitch.safeParse(req.body ?? {});
        if (!parsed.success) return renderUserPage(res, c, d, user, { appsError: zodProblem(parsed.error) }, 400);
        const permission = app.access.permission;
        try {
          if (parsed.data.grant === 'yes') await d.memberships.grantUserPermission(realm, user.id, permission, c.ctx);
          else await d.memberships.revokeUserPermission(realm, user.id, permission, c.ctx);
        } catch (err) {
          const error = memberRefusal(err);
          return renderUserPage(res, c, d, user, { appsError: error }, refusalStatus(error));
        }
        flash(req, parsed.data.grant === 'yes' ? 'console.userApps.granted' : 'console.userApps.revoked', { app: app.name, permission: permission.toLowerCase() });
        res.redirect(303, `${userPath(realm, user.id)}#apps-heading`);
      },
    }),
  ];
}

import type { Request, Response } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import { ALL_REALMS, OPERATOR_ROLES, type RoleGrant } from '../../domain/operator-role.ts';
import type { User } from '../../identity/user.ts';
import { parseForm, type FormError } from '../../http/forms.ts';
import type { Realms } from '../../realms.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { formRefusal, refusalOf, type OperatorsPort } from './operators.routes.ts';
import { flash } from '../../http/account.ts';

type T = (k: string, p?: Record<string, unknown>) => string;

/** The role on every realm: one of the roles, or `none` (the '*' grant taken away). */
const allRealmsForm = z.object({ role: z.enum([...OPERATOR_ROLES, 'none'], { error: 'console.operators.badRole' }) });

/** These pages have no :realmId, so the guard only checks operators.write on some realm: the rule of the page is "owner of '*'", answered 404 otherwise. */
export function ownsEveryRealm(res: Response, c: ConsoleRequest): boolean {
  if (c.can('operators.write', ALL_REALMS)) return true;
  renderConsoleMessage(res, 404, { titleKey: 'console.errors.notFoundTitle', textKey: 'console.errors.notFound', link: { href: '/admin', labelKey: 'console.nav.home' } });
  return false;
}

interface GrantView {
  realmId: string;
  realmName: string | null;
  role: string;
}

/**
 * GET /admin/operators, GET/POST /admin/operators/:operatorId/grants — every operator and every grant, and the
 * role on every realm ('*'), for owners of '*' only (checked here: the paths have no realm, see ownsEveryRealm).
 * The writes are OperatorsService.grant/revoke on '*': the last owner of '*' stays, and no one lowers their own.
 */
export function globalOperatorsRoutes(operators: OperatorsPort, realms: Realms): ConsoleRouteSpec[] {
  const grantViews = (grants: RoleGrant[]): GrantView[] =>
    grants
      .filter((g) => g.realmId !== ALL_REALMS)
      .map((g) => ({ realmId: g.realmId, realmName: realms.byIdOrNull(g.realmId)?.name ?? null, role: g.role }))
      .sort((a, b) => a.realmId.localeCompare(b.realmId));

  const targetOf = async (req: Request): Promise<{ operator: User; grants: RoleGrant[] }> => {
    const id = req.params.operatorId;
    const found = typeof id === 'string' ? (await operators.list()).find((o) => o.operator.id === id) : undefined;
    if (!found) throw new NotFoundError('operator');
    return found;
  };

  const renderGrants = async (res: Response, c: ConsoleRequest, operator: User, grants: RoleGrant[], error: FormError | null, status = 200) => {
    const t = res.locals.t as T;
    const email = operator.email ?? operator.username;
    renderConsolePage(
      res,
      'operators/grants',
      {
        title: t('console.operators.grantsTitle', { email }),
        section: 'operators',
        email,
        operatorId: operator.id,
        action: `/admin/operators/${encodeURIComponent(operator.id)}/grants`,
        allRole: grants.find((g) => g.realmId === ALL_REALMS)?.role ?? 'none',
        grants: grantViews(grants),
        roles: [...OPERATOR_ROLES, 'none'],
        self: operator.id === c.operator.id,
        pending: !(await operators.hasPassword(operator.id)),
        error,
      },
      status,
    );
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/operators',
      // Owner of '*' only: the guard checks operators.write on some realm, ownsEveryRealm the rest (404).
      capability: 'operators.write',
      async handler(_req, res, c) {
        if (!ownsEveryRealm(res, c)) return;
        const t = res.locals.t as T;
        const all = await operators.list();
        const rows = await Promise.all(
          all.map(async ({ operator, grants }) => ({
            id: operator.id,
            email: operator.email ?? operator.username,
            allRole: grants.find((g) => g.realmId === ALL_REALMS)?.role ?? null,
            grants: grantViews(grants),
            pending: !(await operators.hasPassword(operator.id)),
            self: operator.id === c.operator.id,
          })),
        );
        renderConsolePage(res, 'operators/all', { title: t('console.operators.allTitle'), section: 'operators', rows });
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/operators/:operatorId/grants',
      // Owner of '*' only (ownsEveryRealm, 404 otherwise).
      capability: 'operators.write',
      async handler(req, res, c) {
        if (!ownsEveryRealm(res, c)) return;
        const { operator, grants } = await targetOf(req);
        await renderGrants(res, c, operator, grants, null);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/operators/:operatorId/grants',
      // Owner of '*' only (ownsEveryRealm, 404 otherwise); the role on every realm, so a recent sign-in.
      capability: 'operators.write',
      stepUp: true,
      async handler(req, res, c) {
        if (!ownsEveryRealm(res, c)) return;
        const { operator, grants } = await targetOf(req);
        const form = parseForm(allRealmsForm, req.body, []);
        if (!form.ok) return renderGrants(res, c, operator, grants, formRefusal(form), 400);
        const role = form.data.role;
        const had = grants.some((g) => g.realmId === ALL_REALMS);
        try {
          if (role !== 'none') await operators.grant(operator.id, ALL_REALMS, role, c.ctx);
          else if (had) await operators.revoke(operator.id, ALL_REALMS, c.ctx);
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal) return renderGrants(res, c, operator, grants, refusal, 409);
          throw err;
        }
        const t = res.locals.t as T;
        flash(req, 'console.operators.allRoleSaved', { email: operator.email ?? operator.username, role: t(`console.operators.allRole.${role}`) });
        res.redirect(303, '/admin/operators');
      },
    }),
  ];
}

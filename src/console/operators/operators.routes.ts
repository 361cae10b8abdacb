import type { Request, Response } from 'express';
import { z } from 'zod';
import { ConflictError, NotFoundError, RuleViolation } from '../../domain/errors.ts';
import { ALL_REALMS, OPERATOR_ROLES, roleOn, type OperatorRole, type RoleGrant } from '../../domain/operator-role.ts';
import type { User } from '../../identity/user.ts';
import { field, keptValues, parseForm, type FormError } from '../../http/forms.ts';
import type { OperatorsService } from '../../services/operators.ts';
import { consoleMessageOf } from '../access.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { flash } from '../../http/account.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
export type OperatorsPort = Pick<OperatorsService, 'list' | 'grantsOf' | 'byEmail' | 'create' | 'grant' | 'revoke' | 'setupLink' | 'hasPassword'>;

const roleField = z.enum(OPERATOR_ROLES, { error: 'console.operators.badRole' });
const inviteForm = z.object({ email: field.email(), role: roleField });
const roleForm = z.object({ role: roleField });

/** A form's refusal: a bad role says which roles there are (parseForm keeps only `validation.*` messages). */
export const formRefusal = (form: { field: string; messageKey: string }): FormError => ({ field: form.field, message: form.field === 'role' ? 'console.operators.badRole' : form.messageKey });

/** One operator as a realm's pages show them: their grant on this realm, their '*' grant, the role those give. */
export interface RealmOperatorRow {
  id: string;
  email: string;
  role: OperatorRole;
  realmGrant: OperatorRole | null;
  allGrant: OperatorRole | null;
  self: boolean;
}

function rowOf(c: ConsoleRequest, operator: User, grants: RoleGrant[]): RealmOperatorRow {
  const realmId = c.realm!.id;
  return {
    id: operator.id,
    email: operator.email ?? operator.username,
    role: roleOn(grants, realmId)!,
    realmGrant: grants.find((g) => g.realmId === realmId)?.role ?? null,
    allGrant: grants.find((g) => g.realmId === ALL_REALMS)?.role ?? null,
    self: operator.id === c.operator.id,
  };
}

/** A service's refusal as the page says it (the last owner, oneself, a taken email), in the page's language. */
export function refusalOf(err: unknown): FormError | null {
  if (err instanceof ConflictError) return { field: err.details.field ?? null, message: consoleMessageOf(err) };
  if (err instanceof RuleViolation) {
    const issue = err.issues[0];
    if (issue?.code === 'email.invalid') return { field: 'email', message: 'validation.email' };
    return { field: null, message: 'console.errors.refused', params: { reason: err.message } };
  }
  return null;
}

/**
 * Who can reach a realm, and an owner's changes to that (issue 13, "Operators"): list, invite (a new person gets
 * a setup link, shown once; an existing operator a grant), change role, revoke (after a confirmation), a new
 * setup link. Owners only (capability operators.write): the list names people by email. Every write is
 * OperatorsService's (its audit entry, the last owner of '*' kept, no one revoking or lowering their own grant);
 * grants on '*' are shown here but changed on the global operators page by an owner of '*'.
 */
export function operatorsRoutes(operators: OperatorsPort, clock: () => Date): ConsoleRouteSpec[] {
  const base = (c: ConsoleRequest) => `/admin/realms/${c.realm!.id}/operators`;

  /** The operator of the path, when they can reach this realm (anyone else is "not found" here). */
  const target = async (req: Request, c: ConsoleRequest): Promise<{ operator: User; row: RealmOperatorRow }> => {
    const id = req.params.operatorId;
    const found = typeof id === 'string' ? (await operators.list(c.realm!.id)).find((o) => o.operator.id === id) : undefined;
    if (!found) throw new NotFoundError('operator');
    return { operator: found.operator, row: rowOf(c, found.operator, found.grants) };
  };

  const renderNew = (res: Response, c: ConsoleRequest, values: Record<string, string>, error: FormError | null, status = 200) => {
    const t = res.locals.t as T;
    renderConsolePage(res, 'operators/new', { title: t('console.operators.newTitle'), section: 'operators', base: base(c), realmName: c.realm!.name, roles: OPERATOR_ROLES, values: { email: '', role: 'viewer', ...values }, error }, status);
  };

  const renderOperator = async (res: Response, c: ConsoleRequest, operator: User, row: RealmOperatorRow, error: FormError | null, status = 200) => {
    const t = res.locals.t as T;
    const [hasPassword, grants] = await Promise.all([operators.hasPassword(operator.id), operators.grantsOf(operator.id)]);
    renderConsolePage(
      res,
      'operators/operator',
      {
        title: t('console.operators.operatorTitle', { email: row.email }),
        section: 'operators',
        base: base(c),
        realmName: c.realm!.name,
        row,
        roles: OPERATOR_ROLES,
        // A setup link lets whoever holds it choose the password: only for someone who has none yet, and whose every grant is this owner's to give.
        setupLink: !hasPassword && grants.every((g) => c.can('operators.write', g.realmId)),
        pending: !hasPassword,
        error,
      },
      status,
    );
  };

  const showLink = (res: Response, c: ConsoleRequest, email: string, role: OperatorRole | null, link: { setupLink: string; expiresAt: Date }, status: number) => {
    const t = res.locals.t as T;
    // The link, this once: on this answer only, never cached, never in the session.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const minutes = Math.max(1, Math.round((link.expiresAt.getTime() - clock().getTime()) / 60_000));
    renderConsolePage(res, 'operators/created', { title: t('console.operators.linkTitle'), section: 'operators', base: base(c), email, role, setupLink: link.setupLink, minutes }, status);
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/operators',
      capability: 'operators.write',
      async handler(_req, res, c) {
        const t = res.locals.t as T;
        const rows = (await operators.list(c.realm!.id)).map((o) => rowOf(c, o.operator, o.grants)).sort((a, b) => a.email.localeCompare(b.email));
        renderConsolePage(res, 'operators/list', { title: t('console.operators.title'), section: 'operators', base: base(c), realmName: c.realm!.name, rows, global: c.can('operators.write', ALL_REALMS) });
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/operators/new',
      capability: 'operators.write',
      handler: (_req, res, c) => renderNew(res, c, {}, null),
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/operators/new',
      capability: 'operators.write',
      stepUp: true,
      async handler(req, res, c) {
        const form = parseForm(inviteForm, req.body, ['email', 'role']);
        if (!form.ok) return renderNew(res, c, form.values, formRefusal(form), 400);
        const { email, role } = form.data;
        const kept = keptValues(req.body, ['email', 'role']);
        const realmId = c.realm!.id;
        const existing = await operators.byEmail(email).catch((err: unknown) => {
          if (err instanceof NotFoundError) return null;
          throw err;
        });
        try {
          if (!existing) {
            const made = await operators.create({ email, grants: [{ realmId, role }] }, c.ctx);
            return showLink(res, c, made.operator.email ?? email, role, made, 201);
          }
          // Someone who already is an operator: a grant on this realm, nothing else (their password and authenticator stay theirs).
          if ((await operators.grantsOf(existing.id)).some((g) => g.realmId === realmId)) {
            return renderNew(res, c, kept, { field: 'email', message: 'console.operators.alreadyHere' }, 409);
          }
          await operators.grant(existing.id, realmId, role, c.ctx);
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal) return renderNew(res, c, kept, refusal, err instanceof RuleViolation ? 422 : 409);
          throw err;
        }
        flash(req, 'console.operators.granted', { email: existing.email ?? email, role: (res.locals.t as T)(`console.roles.${role}`) });
        res.redirect(303, base(c));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/operators/:operatorId',
      capability: 'operators.write',
      async handler(req, res, c) {
        const { operator, row } = await target(req, c);
        await renderOperator(res, c, operator, row, null);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/operators/:operatorId',
      capability: 'operators.write',
      stepUp: true,
      async handler(req, res, c) {
        const { operator, row } = await target(req, c);
        const form = parseForm(roleForm, req.body, []);
        if (!form.ok) return renderOperator(res, c, operator, row, formRefusal(form), 400);
        if (row.realmGrant === null) return renderOperator(res, c, operator, row, { field: null, message: 'console.operators.fromAllOnly' }, 409);
        try {
          await operators.grant(operator.id, c.realm!.id, form.data.role, c.ctx);
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal) return renderOperator(res, c, operator, row, refusal, 409);
          throw err;
        }
        flash(req, 'console.operators.roleChanged', { email: row.email, role: (res.locals.t as T)(`console.roles.${form.data.role}`) });
        res.redirect(303, `${base(c)}/${encodeURIComponent(operator.id)}`);
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/operators/:operatorId/revoke',
      capability: 'operators.write',
      async handler(req, res, c) {
        const { operator, row } = await target(req, c);
        if (row.realmGrant === null) return renderOperator(res, c, operator, row, { field: null, message: 'console.operators.fromAllOnly' }, 409);
        const t = res.locals.t as T;
        renderConsolePage(res, 'operators/confirm', {
          title: t('console.operators.revokeTitle', { email: row.email }),
          section: 'operators',
          lead: t(row.allGrant ? 'console.operators.revokeLeadAll' : 'console.operators.revokeLead', { email: row.email, realm: c.realm!.name, role: t(`console.roles.${row.allGrant ?? 'viewer'}`) }),
          action: `${base(c)}/${encodeURIComponent(operator.id)}/revoke`,
          submit: t('console.operators.revoke'),
          back: `${base(c)}/${encodeURIComponent(operator.id)}`,
          danger: true,
        });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/operators/:operatorId/revoke',
      capability: 'operators.write',
      stepUp: true,
      async handler(req, res, c) {
        const { operator, row } = await target(req, c);
        if (row.realmGrant === null) return renderOperator(res, c, operator, row, { field: null, message: 'console.operators.fromAllOnly' }, 409);
        try {
          await operators.revoke(operator.id, c.realm!.id, c.ctx);
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal) return renderOperator(res, c, operator, row, refusal, 409);
          throw err;
        }
        flash(req, 'console.operators.revoked', { email: row.email, realm: c.realm!.name });
        res.redirect(303, base(c));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/operators/:operatorId/setup-link',
      capability: 'operators.write',
      async handler(req, res, c) {
        const { row } = await target(req, c);
        const t = res.locals.t as T;
        renderConsolePage(res, 'operators/confirm', {
          title: t('console.operators.newLinkTitle', { email: row.email }),
          section: 'operators',
          lead: t('console.operators.newLinkLead', { email: row.email }),
          action: `${base(c)}/${encodeURIComponent(row.id)}/setup-link`,
          submit: t('console.operators.newLink'),
          back: `${base(c)}/${encodeURIComponent(row.id)}`,
          danger: false,
        });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/operators/:operatorId/setup-link',
      capability: 'operators.write',
      stepUp: true,
      async handler(req, res, c) {
        const { operator, row } = await target(req, c);
        if (await operators.hasPassword(operator.id)) return renderOperator(res, c, operator, row, { field: null, message: 'console.operators.hasPassword' }, 409);
        // Whoever opens the link chooses the password: an owner of this realm may not take over someone who holds more than they can give.
        if (!(await operators.grantsOf(operator.id)).every((g) => c.can('operators.write', g.realmId))) {
          return renderOperator(res, c, operator, row, { field: null, message: 'console.operators.linkNotYours' }, 403);
        }
        const link = await operators.setupLink(row.email, c.ctx);
        showLink(res, c, row.email, null, link, 200);
      },
    }),
  ];
}

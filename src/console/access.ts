import type { NextFunction, Request, Response, Router } from 'express';
import type { RealmConfig } from '../config/index.ts';
import { can, roleOn, type Capability } from '../domain/operator-role.ts';
import { ConflictError, DomainError, NotFoundError, RateLimited, RuleViolation } from '../domain/errors.ts';
import { FlowError } from '../http/flow-error.ts';
import type { ConsoleRequest, ConsoleRouteSpec } from './route.ts';
import { renderConsoleMessage } from './render.ts';

export interface GuardDeps {
  realmById: (id: string) => RealmConfig | null;
  /** The console realm's id: its users are the operators, managed on the operators page, not as a realm. */
  consoleRealmId: string;
  /** The console realm's recent-auth window, in minutes. */
  recentAuthMinutes: () => number;
  clock: () => Date;
}

/** True when the operator proved who they are within the recent-auth window. */
export function recentlyAuthenticated(req: Request, d: Pick<GuardDeps, 'recentAuthMinutes' | 'clock'>): boolean {
  const op = req.consoleOperator;
  return op !== undefined && d.clock().getTime() - op.authAt <= d.recentAuthMinutes() * 60_000;
}

/** Sends the operator to "confirm it's you", coming back to `next` (a console GET page). */
export function askToConfirm(res: Response, next: string): void {
  res.redirect(303, `/admin/reauth?next=${encodeURIComponent(next)}`);
}

function notFound(res: Response): void {
  renderConsoleMessage(res, 404, { titleKey: 'console.errors.notFoundTitle', textKey: 'console.errors.notFound', link: { href: '/admin', labelKey: 'console.nav.home' } });
}

/**
 * The one guard of every console page and form (DESIGN.md §6, ASVS V8):
 * signed in (loadOperator ran before), the path's realm known and the
 * operator holding a role on it — another realm answers 404, as the API
 * does — then the capability (403), then step-up for destructive actions.
 * Domain errors a handler lets through become console pages here.
 */
export function mountConsoleRoute(router: Router, spec: ConsoleRouteSpec, d: GuardDeps): void {
  router[spec.method](spec.path, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const op = req.consoleOperator;
      if (!op) return res.redirect(303, '/admin/login');
      let realm: RealmConfig | null = null;
      const realmId = req.params.realmId;
      if (realmId !== undefined) {
        realm = typeof realmId === 'string' && realmId !== d.consoleRealmId ? d.realmById(realmId) : null;
        if (!realm || roleOn(op.grants, realm.id) === null) return notFound(res);
        if (!can(op.grants, realm.id, spec.capability)) return forbidden(res);
      } else if (!op.grants.some((g) => can([g], g.realmId, spec.capability))) {
        return forbidden(res);
      }
      if (spec.stepUp && !recentlyAuthenticated(req, d)) return askToConfirm(res, typeof spec.stepUp === 'function' ? spec.stepUp(req) : stepUpReturn(req));
      const c: ConsoleRequest = {
        operator: op.user,
        grants: op.grants,
        realm,
        ctx: { actor: { type: 'operator', id: op.user.id }, requestId: String(req.id ?? res.getHeader('x-request-id') ?? '') || null, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null },
        can: (capability, id) => can(op.grants, id ?? realm?.id ?? '', capability),
      };
      res.locals.can = c.can;
      res.locals.currentRealm = realm ? { id: realm.id, name: realm.name } : null;
      await spec.handler(req, res, c);
    } catch (err) {
      if (err instanceof NotFoundError) return notFound(res);
      if (err instanceof DomainError || err instanceof FlowError) return domainErrorPage(res, err);
      next(err);
    }
  });
}

function forbidden(res: Response): void {
  renderConsoleMessage(res, 403, { titleKey: 'console.errors.forbiddenTitle', textKey: 'console.errors.forbidden', link: { href: '/admin', labelKey: 'console.nav.home' } });
}

/** A refusal no form caught: a page that says what the service said. */
export function domainErrorPage(res: Response, err: DomainError | FlowError): void {
  const t = res.locals.t as (key: string, params?: Record<string, unknown>) => string;
  if (err instanceof FlowError) return renderConsoleMessage(res, err.status, { titleKey: 'console.errors.title', textKey: err.messageKey, params: err.params });
  if (err instanceof RateLimited) {
    res.setHeader('Retry-After', String(err.retryAfterSeconds));
    return renderConsoleMessage(res, 429, { titleKey: 'console.errors.title', textKey: 'console.errors.rateLimited', params: { minutes: Math.max(1, Math.ceil(err.retryAfterSeconds / 60)) } });
  }
  const status = err instanceof ConflictError ? 409 : err instanceof RuleViolation ? 422 : 400;
  res.status(status);
  renderConsoleMessage(res, status, { titleKey: 'console.errors.title', textKey: 'console.errors.refused', params: { reason: t(consoleMessageOf(err)) } });
}

/** The locale key that says why a service refused, for the console (the service's own English message otherwise). */
export function consoleMessageOf(err: DomainError): string {
  if (err instanceof ConflictError) return `console.conflict.${err.reason.replace(/\./g, '_')}`;
  return err.message;
}

/** Where to come back after "confirm it's you": the page itself for a GET; for a form, the page at the same path. */
function stepUpReturn(req: Request): string {
  return req.method === 'GET' ? req.originalUrl : req.originalUrl.split('?')[0]!;
}

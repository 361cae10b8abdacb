import type { Request, Response } from 'express';
import type { RealmConfig } from '../../config/index.ts';
import type { AuditLog } from '../../services/audit-log.ts';
import type { UsersService } from '../../services/users.ts';
import { actorView, operatorEmails } from '../actors.ts';
import { renderConsolePage } from '../render.ts';
import { ownsEveryRealm } from '../operators/global.routes.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';
import { auditDiff } from './diff.ts';

type Translate = (k: string, p?: Record<string, unknown>) => string;
export const AUDIT_PAGE_SIZE = 50;
/** An entry id as either store issues them (SQLite's row id, MongoDB's ObjectId): the page's cursor. */
const CURSOR = /^(\d{1,18}|[0-9a-f]{24})$/i;

/** Where the console shows an entry's target, when it has a page (entries of no realm: the operators' pages). */
function targetHref(realmId: string | null, target: { type: string; id: string | null }): string | null {
  if (!target.id) return null;
  if (realmId === null) return target.type === 'operator' ? `/admin/operators/${encodeURIComponent(target.id)}/grants` : null;
  const base = `/admin/realms/${realmId}`;
  if (target.type === 'user') return `${base}/users/${encodeURIComponent(target.id)}`;
  if (target.type === 'app') return `${base}/apps/${encodeURIComponent(target.id)}`;
  if (target.type === 'api_key') return `${base}/keys`;
  if (target.type === 'operator') return `${base}/operators/${encodeURIComponent(target.id)}`;
  return null;
}

/**
 * The audit page: one realm's entries, or (realm null) every entry — each realm's and those of no realm (roles on
 * every realm, keys for every realm, realms made) — newest first, a page at a time, each change as a field diff.
 */
async function renderAudit(
  req: Request,
  res: Response,
  d: { audit: Pick<AuditLog, 'query'>; users: Pick<UsersService, 'get'>; consoleRealm: () => RealmConfig | null },
  realm: RealmConfig | null,
): Promise<void> {
  const t = res.locals.t as Translate;
  const base = realm ? `/admin/realms/${realm.id}/audit` : '/admin/audit';
  const after = req.query.after;
  const model = { title: t(realm ? 'console.audit.title' : 'console.audit.allTitle'), section: 'audit', base, everyRealm: realm === null, rows: [] as unknown[], next: null as string | null, first: null as string | null, error: null as string | null };
  if (after !== undefined && (typeof after !== 'string' || !CURSOR.test(after))) {
    return renderConsolePage(res, 'audit/list', { ...model, error: 'console.audit.badCursor' }, 400);
  }
  const found = await d.audit.query({ ...(realm ? { realmId: realm.id } : {}), before: after, limit: AUDIT_PAGE_SIZE + 1 });
  const entries = found.slice(0, AUDIT_PAGE_SIZE);
  const emails = await operatorEmails(d.users, d.consoleRealm(), entries.filter((e) => e.actor.type === 'operator' && e.actor.id).map((e) => e.actor.id!));
  renderConsolePage(res, 'audit/list', {
    ...model,
    rows: entries.map((e) => {
      const userHref = (id: string) => (e.realmId ? `/admin/realms/${e.realmId}/users/${encodeURIComponent(id)}` : null);
      return {
        id: e.id,
        at: e.at,
        realmId: e.realmId,
        operation: e.operation,
        actor: actorView(e.actor, emails, userHref),
        target: { type: e.target.type, id: e.target.id, href: targetHref(e.realmId, e.target) },
        ip: e.ip,
        requestId: e.requestId,
        changes: auditDiff(e.before, e.after),
      };
    }),
    next: found.length > AUDIT_PAGE_SIZE ? `${base}?after=${encodeURIComponent(entries.at(-1)!.id)}` : null,
    first: after ? base : null,
  });
}

/** GET /admin/realms/:realmId/audit — who changed what in this realm; GET /admin/audit — in every realm and outside any (owners of '*'). */
export function auditRoutes(audit: Pick<AuditLog, 'query'>, users: Pick<UsersService, 'get'>, consoleRealm: () => RealmConfig | null): ConsoleRouteSpec[] {
  const d = { audit, users, consoleRealm };
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/audit',
      capability: 'read',
      handler: (req, res, c) => renderAudit(req, res, d, c.realm!),
    }),
    // No :realmId: the guard checks a role on some realm; the page's rule, owner of '*', is ownsEveryRealm's (404 otherwise).
    consoleRoute({
      method: 'get',
      path: '/audit',
      capability: 'operators.write',
      async handler(req, res, c) {
        if (ownsEveryRealm(res, c)) await renderAudit(req, res, d, null);
      },
    }),
  ];
}

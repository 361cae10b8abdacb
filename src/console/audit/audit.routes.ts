import type { RealmConfig } from '../../config/index.ts';
import type { AuditLog } from '../../services/audit-log.ts';
import type { UsersService } from '../../services/users.ts';
import { actorView, operatorEmails } from '../actors.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';
import { auditDiff } from './diff.ts';

type Translate = (k: string, p?: Record<string, unknown>) => string;
export const AUDIT_PAGE_SIZE = 50;
/** An entry id as either store issues them (SQLite's row id, MongoDB's ObjectId): the page's cursor. */
const CURSOR = /^(\d{1,18}|[0-9a-f]{24})$/i;

/** Where the console shows an entry's target, when it has a page. */
function targetHref(realmId: string, target: { type: string; id: string | null }): string | null {
  if (!target.id) return null;
  const base = `/admin/realms/${realmId}`;
  if (target.type === 'user') return `${base}/users/${encodeURIComponent(target.id)}`;
  if (target.type === 'app') return `${base}/apps/${encodeURIComponent(target.id)}`;
  if (target.type === 'api_key') return `${base}/keys`;
  if (target.type === 'operator') return `${base}/operators/${encodeURIComponent(target.id)}`;
  return null;
}

/** GET /admin/realms/:realmId/audit — who changed what in this realm, newest first, each change as a field diff. */
export function auditRoutes(audit: Pick<AuditLog, 'query'>, users: Pick<UsersService, 'get'>, consoleRealm: () => RealmConfig | null): ConsoleRouteSpec[] {
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/audit',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const base = `/admin/realms/${realm.id}/audit`;
        const after = req.query.after;
        const model = { title: t('console.audit.title'), section: 'audit', base, rows: [] as unknown[], next: null as string | null, first: null as string | null, error: null as string | null };
        if (after !== undefined && (typeof after !== 'string' || !CURSOR.test(after))) {
          return renderConsolePage(res, 'audit/list', { ...model, error: 'console.audit.badCursor' }, 400);
        }
        const found = await audit.query({ realmId: realm.id, before: after, limit: AUDIT_PAGE_SIZE + 1 });
        const entries = found.slice(0, AUDIT_PAGE_SIZE);
        const emails = await operatorEmails(users, consoleRealm(), entries.filter((e) => e.actor.type === 'operator' && e.actor.id).map((e) => e.actor.id!));
        const userHref = (id: string) => `/admin/realms/${realm.id}/users/${encodeURIComponent(id)}`;
        renderConsolePage(res, 'audit/list', {
          ...model,
          rows: entries.map((e) => ({
            id: e.id,
            at: e.at,
            operation: e.operation,
            actor: actorView(e.actor, emails, userHref),
            target: { type: e.target.type, id: e.target.id, href: targetHref(realm.id, e.target) },
            ip: e.ip,
            requestId: e.requestId,
            changes: auditDiff(e.before, e.after),
          })),
          next: found.length > AUDIT_PAGE_SIZE ? `${base}?after=${encodeURIComponent(entries.at(-1)!.id)}` : null,
          first: after ? base : null,
        });
      },
    }),
  ];
}

import { ALL_REALMS, roleOn } from '../domain/operator-role.ts';
import type { Realms } from '../realms.ts';
import { renderConsolePage } from './render.ts';
import { consoleRoute, type ConsoleRouteSpec } from './route.ts';

/** GET /admin — the realms this operator has a role on. */
export function homeRoutes(realms: Realms, consoleRealmId: string): ConsoleRouteSpec[] {
  return [
    consoleRoute({
      method: 'get',
      path: '/',
      capability: 'read',
      handler(_req, res, c) {
        const list = realms
          .all()
          .filter((r) => r.id !== consoleRealmId && roleOn(c.grants, r.id) !== null)
          .map((r) => ({ id: r.id, name: r.name, publicUrl: r.publicUrl, role: roleOn(c.grants, r.id)!, apps: r.apps.length }));
        // Owners of '*' also get the pages of no realm: every operator, a new realm.
        renderConsolePage(res, 'home/index', { title: res.locals.t('console.home.title'), realms: list, global: c.can('operators.write', ALL_REALMS) });
      },
    }),
  ];
}

import { ClientGone, responseSink } from '../../http/stream.ts';
import { exportUsers } from '../../services/users-export.ts';
import type { UsersService } from '../../services/users.ts';
import { renderConsoleMessage } from '../render.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';
import { parseUsersQuery } from './query.ts';

/**
 * GET /admin/realms/:realmId/users/export.csv?<the list's query> — the users
 * the list shows, in its order, as the CSV of `gatehouse users export`
 * (never password hashes), every cell a spreadsheet would read as a formula
 * quoted as text (ASVS 1.2.10: users type their own names). The same export the management API streams
 * (services/users-export.ts): a page is read only once the browser has taken
 * the last one, so a million users stream at constant memory. A read, not
 * audited (as the API's export).
 */
export function usersExportRoutes(users: UsersService): ConsoleRouteSpec[] {
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/users/export.csv',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const parsed = parseUsersQuery(req.query);
        if (!parsed.ok) {
          return renderConsoleMessage(res, 400, { titleKey: 'console.export.badQueryTitle', textKey: parsed.messageKey, link: { href: `/admin/realms/${realm.id}/users`, labelKey: 'console.users.backToList' } });
        }
        // The whole list, not the page on screen: the cursor is not the export's business.
        const { filter, sort } = parsed.query;
        const day = (res.locals.now as () => Date)().toISOString().slice(0, 10);
        res.status(200);
        res.type('text/csv; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="${realm.id}-users-${day}.csv"`);
        res.setHeader('Cache-Control', 'no-store');
        if (res.destroyed) return;
        try {
          await exportUsers(users, realm, { filter, sort, format: 'csv', includePasswordHashes: false, escapeFormulas: true }, responseSink(res));
        } catch (err) {
          if (err instanceof ClientGone) return;
          throw err;
        }
        res.end();
      },
    }),
  ];
}

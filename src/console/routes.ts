import type { Realms } from '../realms.ts';
import type { UsersService } from '../services/users.ts';
import { homeRoutes } from './home.routes.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { usersBulkRoutes } from './users/bulk.routes.ts';
import { usersExportRoutes } from './users/export.routes.ts';
import { usersListRoutes } from './users/list.routes.ts';
import { usersNewRoutes } from './users/new.routes.ts';

export interface ConsolePages {
  realms: Realms;
  consoleRealmId: string;
  /** The management services the pages call (the same the API calls). */
  management: { users: UsersService };
}

/** Every console page and form, in one list: the guard mounts them, the authorization corpus enumerates them. */
export function consoleRoutes(p: ConsolePages): ConsoleRouteSpec[] {
  return [...homeRoutes(p.realms, p.consoleRealmId), ...usersListRoutes(p.management.users), ...usersExportRoutes(p.management.users), ...usersBulkRoutes(p.management.users), ...usersNewRoutes(p.management.users)];
}

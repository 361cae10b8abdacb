import type { Realms } from '../realms.ts';
import type { RealmDashboard } from '../services/realm-dashboard.ts';
import type { UsersService } from '../services/users.ts';
import { dashboardRoutes } from './dashboard/dashboard.routes.ts';
import { homeRoutes } from './home.routes.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { usersListRoutes } from './users/list.routes.ts';

export interface ConsolePages {
  realms: Realms;
  consoleRealmId: string;
  /** The management services the pages call (the same the API calls). */
  management: { users: UsersService; dashboard: RealmDashboard };
}

/** Every console page and form, in one list: the guard mounts them, the authorization corpus enumerates them. */
export function consoleRoutes(p: ConsolePages): ConsoleRouteSpec[] {
  return [...homeRoutes(p.realms, p.consoleRealmId), ...dashboardRoutes(p.management.dashboard), ...usersListRoutes(p.management.users)];
}

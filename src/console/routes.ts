import type { Realms } from '../realms.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { RealmsService } from '../services/realms.ts';
import type { UsersService } from '../services/users.ts';
import { homeRoutes } from './home.routes.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { settingsRoutes } from './settings/settings.routes.ts';
import { usersListRoutes } from './users/list.routes.ts';

export interface ConsolePages {
  realms: Realms;
  consoleRealmId: string;
  /** The management services the pages call (the same the API calls); without realmsService, no settings pages (as the API has no realm routes). */
  management: { users: UsersService; audit: AuditLog; realmsService?: RealmsService };
  clock: () => Date;
}

/** Every console page and form, in one list: the guard mounts them, the authorization corpus enumerates them. */
export function consoleRoutes(p: ConsolePages): ConsoleRouteSpec[] {
  const { realmsService } = p.management;
  // The console realm's recent-auth window, as the guard reads it (none without the realm: never recent).
  const recentAuth = { clock: p.clock, recentAuthMinutes: () => p.realms.byIdOrNull(p.consoleRealmId)?.account.recentAuthMinutes ?? 0 };
  return [
    ...homeRoutes(p.realms, p.consoleRealmId),
    ...usersListRoutes(p.management.users),
    ...(realmsService ? settingsRoutes({ realmsService, recentAuth }) : []),
  ];
}

import type { Realms } from '../realms.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { EventLog } from '../services/event-log.ts';
import type { ManagementKeys } from '../services/management-keys.ts';
import type { RealmDashboard } from '../services/realm-dashboard.ts';
import type { RealmsService } from '../services/realms.ts';
import type { UsersService } from '../services/users.ts';
import { appsRoutes } from './apps/apps.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { dashboardRoutes } from './dashboard/dashboard.routes.ts';
import { eventsRoutes } from './events/events.routes.ts';
import { homeRoutes } from './home.routes.ts';
import { keysRoutes } from './keys/keys.routes.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { usersListRoutes } from './users/list.routes.ts';

export interface ConsolePages {
  realms: Realms;
  consoleRealmId: string;
  /** The management services the pages call (the same the API calls). */
  management: { users: UsersService; dashboard: RealmDashboard; audit: AuditLog; keys: ManagementKeys; events: EventLog };
  /** Realms and apps of the directory (absent: no apps pages, as the API then has no realm routes). */
  realmsService?: RealmsService;
  /** The configuration file: named where a provisioned realm's pages are read-only. */
  configPath: string;
}

/** Every console page and form, in one list: the guard mounts them, the authorization corpus enumerates them. */
export function consoleRoutes(p: ConsolePages): ConsoleRouteSpec[] {
  const consoleRealm = () => p.realms.byIdOrNull(p.consoleRealmId);
  return [
    ...homeRoutes(p.realms, p.consoleRealmId),
    ...dashboardRoutes(p.management.dashboard),
    ...usersListRoutes(p.management.users),
    ...(p.realmsService ? appsRoutes(p.realmsService, p.management.audit, p.configPath) : []),
    ...keysRoutes(p.management.keys),
    ...eventsRoutes(p.management.events, p.management.users, consoleRealm),
    ...auditRoutes(p.management.audit, p.management.users, consoleRealm),
  ];
}

import type { Realms } from '../realms.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { EventLog } from '../services/event-log.ts';
import type { ImpersonationService } from '../services/impersonation.ts';
import type { ManagementKeys } from '../services/management-keys.ts';
import type { OperatorsService } from '../services/operators.ts';
import type { RealmDashboard } from '../services/realm-dashboard.ts';
import type { RealmsService } from '../services/realms.ts';
import type { SignInHistory } from '../services/sign-in-history.ts';
import type { UserAccessService } from '../services/user-access.ts';
import type { UsersService } from '../services/users.ts';
import type { GroupsService } from '../services/groups.ts';
import type { InvitationsService } from '../services/invitations.ts';
import type { AppAccessService } from '../services/app-access.ts';
import type { MembershipsService } from '../services/memberships.ts';
import type { OrgsService } from '../services/orgs.ts';
import { groupsRoutes } from './groups/groups.routes.ts';
import { invitationsRoutes } from './orgs/invitations.routes.ts';
import { invitationLinksRoutes } from './invitations/invitation-links.routes.ts';
import type { InvitationLinksService } from '../services/invitation-links.ts';
import { membersRoutes } from './orgs/members.routes.ts';
import { orgsRoutes } from './orgs/orgs.routes.ts';
import { appsRoutes } from './apps/apps.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { dashboardRoutes } from './dashboard/dashboard.routes.ts';
import { eventsRoutes } from './events/events.routes.ts';
import { homeRoutes } from './home.routes.ts';
import { impersonateRoutes } from './impersonation/impersonate.routes.ts';
import { keysRoutes } from './keys/keys.routes.ts';
import { globalOperatorsRoutes } from './operators/global.routes.ts';
import { operatorsRoutes } from './operators/operators.routes.ts';
import { newRealmRoutes } from './realms/new-realm.routes.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { settingsRoutes } from './settings/settings.routes.ts';
import { usersBulkRoutes } from './users/bulk.routes.ts';
import { usersExportRoutes } from './users/export.routes.ts';
import { usersListRoutes } from './users/list.routes.ts';
import { usersNewRoutes } from './users/new.routes.ts';
import { userAccessRoutes } from './users/user-access.routes.ts';
import { userActivityRoutes } from './users/user-activity.routes.ts';
import { userPageRoutes } from './users/user.routes.ts';

export interface ConsolePages {
  realms: Realms;
  consoleRealmId: string;
  /** The console realm's public URL: its issuer, named in an impersonated session's `act.iss`. */
  consolePublicUrl: string;
  clock: () => Date;
  /** The configuration file: named where a provisioned realm's pages are read-only. */
  configPath: string;
  /** The management services the pages call (the same the API calls); without realmsService, no settings or apps pages (as the API has no realm routes). */
  management: {
    users: UsersService;
    access: UserAccessService;
    events: EventLog;
    history: SignInHistory;
    impersonation: ImpersonationService;
    audit: AuditLog;
    dashboard: RealmDashboard;
    keys: ManagementKeys;
    operators: OperatorsService;
    realmsService?: RealmsService;
    orgs: OrgsService;
    memberships: MembershipsService;
    groups: GroupsService;
    invitations: InvitationsService;
    appAccess: AppAccessService;
    invitationLinks: InvitationLinksService;
  };
}

/** Every console page and form, in one list: the guard mounts them, the authorization corpus enumerates them. */
export function consoleRoutes(p: ConsolePages): ConsoleRouteSpec[] {
  const m = p.management;
  const { realmsService } = m;
  const recentAuthMinutes = () => p.realms.byIdOrNull(p.consoleRealmId)?.account.recentAuthMinutes ?? 0;
  const consoleRealm = () => p.realms.byIdOrNull(p.consoleRealmId);
  return [
    ...homeRoutes(p.realms, p.consoleRealmId),
    // Before the dashboard: its /realms/:realmId would take /realms/new (the realm schema refuses the id "new").
    ...(realmsService ? newRealmRoutes(realmsService) : []),
    ...dashboardRoutes(m.dashboard),
    ...usersListRoutes(m.users),
    ...usersExportRoutes(m.users),
    ...usersBulkRoutes(m.users),
    ...usersNewRoutes(m.users),
    ...(realmsService ? settingsRoutes({ realmsService }) : []),
    ...(realmsService ? appsRoutes(realmsService, p.configPath) : []),
    ...keysRoutes(m.keys),
    ...operatorsRoutes(m.operators, p.clock),
    ...globalOperatorsRoutes(m.operators, p.realms),
    ...eventsRoutes(m.events, m.users, consoleRealm),
    ...auditRoutes(m.audit, m.users, consoleRealm),
    // After the users' fixed paths (count, export.csv, delete, new): the user's own, whose :userId would take them.
    ...orgsRoutes(m.orgs),
    ...membersRoutes({ orgs: m.orgs, memberships: m.memberships, users: m.users }),
    ...groupsRoutes({ groups: m.groups, users: m.users }),
    ...invitationsRoutes({ orgs: m.orgs, invitations: m.invitations, links: m.invitationLinks }),
    ...invitationLinksRoutes({ links: m.invitationLinks, orgs: m.orgs }),
    ...userPageRoutes({ users: m.users, access: m.access, orgs: m.orgs, memberships: m.memberships, groups: m.groups, appAccess: m.appAccess, recentAuthMinutes, clock: p.clock }),
    ...userAccessRoutes({ users: m.users, access: m.access }),
    ...userActivityRoutes({ users: m.users, events: m.events, history: m.history }),
    ...impersonateRoutes({ users: m.users, impersonation: m.impersonation, consoleRealmId: p.consoleRealmId, consolePublicUrl: p.consolePublicUrl }),
  ];
}

import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { FormError } from '../../http/forms.ts';
import type { AppAccessService } from '../../services/app-access.ts';
import type { GroupsService } from '../../services/groups.ts';
import type { MembershipsService } from '../../services/memberships.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { membershipRow } from '../orgs/member-forms.ts';

export interface UserOrgsDeps {
  orgs: OrgsService;
  memberships: MembershipsService;
  groups: GroupsService;
  appAccess: AppAccessService;
}

/** How many of a user's memberships and groups the user page lists (the rest: "and more"). */
const PANEL_SIZE = 50;

/** The user-only permissions form as typed, with what is wrong with it. */
export interface PermissionsForm {
  value: string;
  error: FormError | null;
}

/**
 * The user page's Memberships and Groups panels (docs/design/orgs.md §8): each org of the user (a link, the
 * permissions, the end), the user-only membership's permissions as a form, and the groups.
 */
export async function userOrgsPanels(d: UserOrgsDeps, realm: RealmConfig, userId: string, form: PermissionsForm | null) {
  const [page, groups] = await Promise.all([d.memberships.list(realm, { userId }, null, PANEL_SIZE), d.groups.list(realm, { userId }, null, PANEL_SIZE)]);
  const now = d.memberships.now();
  const inOrgs = page.memberships.filter((m) => m.orgId !== null);
  const orgs = await Promise.all(inOrgs.map((m) => d.orgs.get(realm, m.orgId!).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)))));
  const userOnly = page.memberships.find((m) => m.orgId === null) ?? (await d.memberships.list(realm, { userId, orgId: null }, null, 1)).memberships[0] ?? null;
  const apps = await userAppsPanel(d, realm, userId, userOnly?.permissions ?? []);
  return {
    apps,
    memberships: inOrgs.flatMap((m, i) => {
      const org = orgs[i];
      return org ? [{ ...membershipRow(m, now), orgName: org.name, orgClosed: org.state === 'closed', href: `/admin/realms/${realm.id}/memberships/${encodeURIComponent(m.id)}`, orgHref: `/admin/realms/${realm.id}/orgs/${encodeURIComponent(org.id)}` }] : [];
    }),
    moreMemberships: page.next !== null,
    userOnly: userOnly ? membershipRow(userOnly, now) : null,
    permissionsForm: form ?? { value: userOnly ? userOnly.permissions.join('\n') : '', error: null },
    groups: groups.groups.map((g) => ({ id: g.id, name: g.name, href: `/admin/realms/${realm.id}/groups/${encodeURIComponent(g.id)}` })),
    moreGroups: groups.next !== null,
  };
}

/** One line of "why" on the Apps panel: a locale key and its parameters. */
export interface AppReason {
  key: string;
  params: Record<string, string>;
}

/**
 * The user page's Apps panel (docs/design/orgs.md §8, GenAuth's "application access"): each app of the realm,
 * whether this user may receive its JWT now and why — by the hand-off's own rule (AppAccessService.explain) —
 * and, for an app whose rule is a permission, whether the user-only membership holds exactly that permission
 * (the switch's state: granting adds it there, revoking takes it off).
 */
export async function userAppsPanel(d: UserOrgsDeps, realm: RealmConfig, userId: string, userOnlyPermissions: readonly string[]) {
  const rows = await d.appAccess.explain(realm, userId);
  const orgNames = new Map<string, Promise<string | null>>();
  const groupNames = new Map<string, Promise<string | null>>();
  const gone = (err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err));
  const orgName = (id: string) => {
    if (!orgNames.has(id)) orgNames.set(id, d.orgs.get(realm, id).then((o) => o.name, gone));
    return orgNames.get(id)!;
  };
  const groupName = (id: string) => {
    if (!groupNames.has(id)) groupNames.set(id, d.groups.get(realm, id).then((g) => g.name, gone));
    return groupNames.get(id)!;
  };
  return Promise.all(
    rows.map(async ({ app, explanation: x }) => {
      const reasons: AppReason[] = [];
      if (x.type === 'everyone') reasons.push({ key: 'console.userApps.why.everyone', params: {} });
      else if (x.type === 'permission') {
        for (const s of x.via) {
          if (s.kind === 'user_only') reasons.push({ key: 'console.userApps.why.userOnly', params: { permission: x.permission } });
          else if (s.kind === 'org') reasons.push({ key: 'console.userApps.why.membership', params: { permission: x.permission, org: s.name } });
          else reasons.push({ key: 'console.userApps.why.group', params: { permission: x.permission, group: (await groupName(s.groupId)) ?? s.groupId } });
        }
        if (x.via.length === 0) reasons.push({ key: 'console.userApps.why.lacksPermission', params: { permission: x.permission } });
      } else {
        for (const id of x.orgs) reasons.push({ key: 'console.userApps.why.memberOfOrg', params: { org: (await orgName(id)) ?? id } });
        for (const id of x.groups) reasons.push({ key: 'console.userApps.why.memberOfGroup', params: { group: (await groupName(id)) ?? id } });
        if (!x.allowed) reasons.push({ key: 'console.userApps.why.notMember', params: {} });
      }
      const permission = x.type === 'permission' ? x.permission.toLowerCase() : null;
      return {
        clientId: app.clientId,
        name: app.name,
        href: `/admin/realms/${realm.id}/apps/${encodeURIComponent(app.clientId)}`,
        allowed: x.allowed,
        rule: x.type,
        permission,
        reasons,
        /** The switch (permission apps only): whether the user-only membership holds that very permission. */
        granted: permission === null ? null : userOnlyPermissions.includes(permission),
      };
    }),
  );
}

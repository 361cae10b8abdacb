import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { FormError } from '../../http/forms.ts';
import type { GroupsService } from '../../services/groups.ts';
import type { MembershipsService } from '../../services/memberships.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { membershipRow } from '../orgs/member-forms.ts';

export interface UserOrgsDeps {
  orgs: OrgsService;
  memberships: MembershipsService;
  groups: GroupsService;
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
  return {
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

import type { AppConfig, RealmConfig } from '../config/index.ts';
import { explainAccess, type AccessExplanation, type AccessSource } from '../domain/app-access.ts';
import type { OrgsPort } from '../ports/orgs.ts';

/**
 * Every org membership accessOf reads for an access decision: the rule counts all of them, not the JWT's
 * truncated `orgs` (a constant: SQLite prepares one statement per bound).
 */
const ALL_ORGS = 10_000;

/** What the user holds now that an app's access rule can count (docs/design/orgs.md §6.1), in one consistent read. */
export async function accessSourcesOf(orgs: Pick<OrgsPort, 'accessOf'>, realmId: string, userId: string, at: Date): Promise<AccessSource[]> {
  const view = await orgs.accessOf(realmId, userId, at, { maxOrgs: ALL_ORGS, selectedOrgId: null });
  return [
    ...(view.userOnly ? [{ kind: 'user_only' as const, membershipId: view.userOnly.id, permissions: view.userOnly.permissions }] : []),
    ...view.orgs.map((o) => ({ kind: 'org' as const, orgId: o.orgId, membershipId: o.membershipId, name: o.name, permissions: o.permissions })),
    ...view.groups.map((g) => ({ kind: 'group' as const, groupId: g.id, permissions: g.permissions })),
  ];
}

export interface AppAccessRow {
  app: AppConfig;
  explanation: AccessExplanation;
}

/**
 * Who may receive each app's JWT, and why (the console's Apps panel, GenAuth's "application access"): the
 * hand-off's own rule (explainAccess over accessSourcesOf), read once for all the realm's apps.
 */
export class AppAccessService {
  constructor(private readonly d: { orgs: Pick<OrgsPort, 'accessOf'>; clock: () => Date }) {}

  async explain(realm: RealmConfig, userId: string): Promise<AppAccessRow[]> {
    const needsRead = realm.apps.some((a) => a.access.type !== 'everyone');
    const sources = needsRead ? await accessSourcesOf(this.d.orgs, realm.id, userId, this.d.clock()) : [];
    return realm.apps.map((app) => ({ app, explanation: explainAccess(app.access, sources) }));
  }
}

import { describe, expect, it } from 'vitest';
import { accessAllows, explainAccess, type AccessSource } from '../../src/domain/app-access.ts';
import type { AppAccess } from '../../src/domain/realm-settings.ts';

/** explainAccess (the console's Apps panel and the hand-off) answers as accessAllows on the same facts, and names what matched. */
const ORG = 'org_AAAAAAAAAAAAAAAA';
const OTHER = 'org_BBBBBBBBBBBBBBBB';
const GROUP = 'grp_AAAAAAAAAAAAAAAA';
const sources: Record<string, AccessSource[]> = {
  none: [],
  userOnly: [{ kind: 'user_only', membershipId: 'mb_AAAAAAAAAAAAAAAA', permissions: ['portal:use'] }],
  wildcardOrg: [{ kind: 'org', orgId: ORG, membershipId: 'mb_BBBBBBBBBBBBBBBB', name: 'Acme', permissions: ['portal:*'] }],
  group: [{ kind: 'group', groupId: GROUP, permissions: ['PORTAL:USE'] }],
  otherOrg: [{ kind: 'org', orgId: OTHER, membershipId: 'mb_CCCCCCCCCCCCCCCC', name: 'Other', permissions: ['billing:read'] }],
};
const rules: AppAccess[] = [
  { type: 'everyone' },
  { type: 'permission', permission: 'portal:use' },
  { type: 'members', orgs: [ORG], groups: [] },
  { type: 'members', orgs: [], groups: [GROUP] },
];

describe('explainAccess', () => {
  it('decides as accessAllows for every rule and set of sources', () => {
    for (const rule of rules) {
      for (const [name, s] of Object.entries(sources)) {
        const member = rule.type === 'members' && s.some((x) => (x.kind === 'org' && rule.orgs.includes(x.orgId)) || (x.kind === 'group' && rule.groups.includes(x.groupId)));
        expect(explainAccess(rule, s).allowed, `${rule.type} ${name}`).toBe(accessAllows(rule, { permissions: s.flatMap((x) => x.permissions), member }));
      }
    }
  });

  it('names the sources that grant the permission, and the rule’s orgs and groups the user is in', () => {
    const all = [...sources.userOnly!, ...sources.wildcardOrg!, ...sources.group!, ...sources.otherOrg!];
    const x = explainAccess({ type: 'permission', permission: 'portal:use' }, all);
    expect(x).toMatchObject({ allowed: true, type: 'permission', permission: 'portal:use' });
    expect(x.type === 'permission' && x.via.map((s) => s.kind)).toEqual(['user_only', 'org', 'group']);
    expect(explainAccess({ type: 'permission', permission: 'portal:use' }, sources.otherOrg!)).toMatchObject({ allowed: false, via: [] });
    expect(explainAccess({ type: 'members', orgs: [ORG, OTHER], groups: [GROUP] }, all)).toEqual({ allowed: true, type: 'members', orgs: [ORG, OTHER], groups: [GROUP] });
    expect(explainAccess({ type: 'members', orgs: [ORG], groups: [] }, sources.otherOrg!)).toEqual({ allowed: false, type: 'members', orgs: [], groups: [] });
    expect(explainAccess({ type: 'everyone' }, [])).toEqual({ allowed: true, type: 'everyone' });
  });
});

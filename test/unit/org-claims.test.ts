import { describe, expect, it } from 'vitest';
import { needsAccessView, orgClaims } from '../../src/domain/org-claims.ts';
import type { AccessView, OrgEntry } from '../../src/domain/orgs.ts';
import type { TokenField } from '../../src/domain/realm-settings.ts';

const acme: OrgEntry = { membershipId: 'mb_a', orgId: 'org_a', name: 'Acme', reference: 'crm-1', customAttributes: { tier: 'gold' }, permissions: ['admin'] };
const beta: OrgEntry = { membershipId: 'mb_b', orgId: 'org_b', name: 'Beta', reference: null, customAttributes: {}, permissions: [] };
const gamma: OrgEntry = { membershipId: 'mb_c', orgId: 'org_c', name: 'Gamma', reference: '', customAttributes: {}, permissions: ['reports:read'] };

const view = (over: Partial<AccessView> = {}): AccessView => ({
  userOnly: { id: 'mb_u', permissions: ['billing:*', 'reports:read'] },
  orgs: [acme, beta],
  truncated: false,
  groups: [],
  ...over,
});

describe('orgClaims', () => {
  it('sends nothing without memberships or orgs in the fields', () => {
    for (const fields of [[], ['custom']] as TokenField[][]) {
      expect(orgClaims(view({ truncated: true }), fields, 'org_a')).toEqual({});
    }
  });

  it('memberships: perm and { oid, mid, perm } entries, without the org side', () => {
    for (const fields of [['memberships'], ['custom', 'memberships'], ['memberships', 'custom']] as TokenField[][]) {
      expect(orgClaims(view(), fields, null)).toEqual({
        perm: ['billing:*', 'reports:read'],
        orgs: [{ oid: 'org_a', mid: 'mb_a', perm: ['admin'] }, { oid: 'org_b', mid: 'mb_b' }],
      });
    }
  });

  it('orgs (alone, or with memberships and custom): adds name, ref and the org’s cs', () => {
    const fieldsList: TokenField[][] = [['orgs'], ['memberships', 'orgs'], ['custom', 'orgs'], ['custom', 'memberships', 'orgs'], ['orgs', 'memberships', 'custom']];
    for (const fields of fieldsList) {
      expect(orgClaims(view(), fields, null)).toEqual({
        perm: ['billing:*', 'reports:read'],
        orgs: [
          { oid: 'org_a', mid: 'mb_a', name: 'Acme', ref: 'crm-1', cs: { tier: 'gold' }, perm: ['admin'] },
          { oid: 'org_b', mid: 'mb_b', name: 'Beta' },
        ],
      });
    }
  });

  it('leaves out empty ref, cs and perm, and a top-level perm with no user-only permissions', () => {
    expect(orgClaims(view({ userOnly: null, orgs: [gamma] }), ['orgs'], null)).toEqual({ orgs: [{ oid: 'org_c', mid: 'mb_c', name: 'Gamma', perm: ['reports:read'] }] });
    expect(orgClaims(view({ userOnly: { id: 'mb_u', permissions: [] }, orgs: [beta] }), ['memberships'], null)).toEqual({ orgs: [{ oid: 'org_b', mid: 'mb_b' }] });
  });

  it('keeps orgs: [] when asked and the user has none', () => {
    const none = view({ userOnly: null, orgs: [] });
    expect(orgClaims(none, ['memberships'], null)).toEqual({ orgs: [] });
    expect(orgClaims(none, ['orgs'], 'org_a')).toEqual({ orgs: [] });
    expect(orgClaims(view({ orgs: [] }), ['orgs'], null)).toEqual({ perm: ['billing:*', 'reports:read'], orgs: [] });
  });

  it('orgs_truncated only when the view was truncated', () => {
    expect(orgClaims(view({ truncated: true }), ['memberships'], null).orgs_truncated).toBe(true);
    expect(orgClaims(view({ truncated: true, orgs: [] }), ['orgs'], null)).toEqual({ perm: ['billing:*', 'reports:read'], orgs: [], orgs_truncated: true });
    expect('orgs_truncated' in orgClaims(view(), ['orgs'], null)).toBe(false);
  });

  it('puts the selected org first, marked selected: true, the others in the view’s order without selected', () => {
    const c = orgClaims(view({ orgs: [acme, beta, gamma] }), ['memberships'], 'org_b');
    expect(c.orgs).toEqual([{ oid: 'org_b', mid: 'mb_b', selected: true }, { oid: 'org_a', mid: 'mb_a', perm: ['admin'] }, { oid: 'org_c', mid: 'mb_c', perm: ['reports:read'] }]);
    expect(orgClaims(view(), ['orgs'], 'org_a').orgs![0]).toEqual({ oid: 'org_a', mid: 'mb_a', name: 'Acme', ref: 'crm-1', cs: { tier: 'gold' }, perm: ['admin'], selected: true });
    // A selected org the user no longer belongs to marks nothing.
    expect(orgClaims(view(), ['memberships'], 'org_gone').orgs!.some((o) => 'selected' in o)).toBe(false);
  });

  it('merges the groups’ permissions into perm after the user-only ones, each once where it first appears', () => {
    const groups = [
      { id: 'grp_1', permissions: ['reports:read', 'deploy'] },
      { id: 'grp_2', permissions: [] },
      { id: 'grp_3', permissions: ['deploy', 'billing:*', 'logs:read'] },
    ];
    for (const fields of [['memberships'], ['orgs'], ['custom', 'memberships', 'orgs']] as TokenField[][]) {
      expect(orgClaims(view({ groups }), fields, null).perm).toEqual(['billing:*', 'reports:read', 'deploy', 'logs:read']);
    }
    // Groups alone make perm; the org entries keep their own.
    expect(orgClaims(view({ userOnly: null, orgs: [acme], groups }), ['memberships'], null)).toEqual({
      perm: ['reports:read', 'deploy', 'billing:*', 'logs:read'],
      orgs: [{ oid: 'org_a', mid: 'mb_a', perm: ['admin'] }],
    });
    expect(orgClaims(view({ userOnly: { id: 'mb_u', permissions: [] }, orgs: [], groups: [groups[0]!] }), ['orgs'], null)).toEqual({ perm: ['reports:read', 'deploy'], orgs: [] });
  });

  it('leaves perm out when neither the user-only membership nor any group has a permission, and sends no groups without the fields', () => {
    const empty = [{ id: 'grp_2', permissions: [] }];
    expect(orgClaims(view({ userOnly: null, orgs: [], groups: empty }), ['memberships'], null)).toEqual({ orgs: [] });
    expect(orgClaims(view({ userOnly: { id: 'mb_u', permissions: [] }, groups: empty }), ['orgs'], null)).not.toHaveProperty('perm');
    expect(orgClaims(view({ groups: [{ id: 'grp_1', permissions: ['deploy'] }] }), ['custom'], null)).toEqual({});
  });

  it('does not share the view’s arrays', () => {
    const v = view();
    const c = orgClaims(v, ['memberships'], null);
    c.perm!.push('x');
    c.orgs![0]!.perm!.push('y');
    expect(v.userOnly!.permissions).toEqual(['billing:*', 'reports:read']);
    const g = view({ userOnly: null, groups: [{ id: 'grp_1', permissions: ['deploy'] }] });
    orgClaims(g, ['memberships'], null).perm!.push('z');
    expect(g.groups[0]!.permissions).toEqual(['deploy']);
    expect(acme.permissions).toEqual(['admin']);
  });
});

describe('needsAccessView', () => {
  const realm = (fields: TokenField[]) => ({ tokens: { fields } });
  it('is true only when the JWT carries memberships or orgs', () => {
    expect(needsAccessView(realm([]))).toBe(false);
    expect(needsAccessView(realm(['custom']))).toBe(false);
    expect(needsAccessView(realm(['memberships']))).toBe(true);
    expect(needsAccessView(realm(['orgs']))).toBe(true);
    expect(needsAccessView(realm(['custom', 'orgs']))).toBe(true);
  });
});

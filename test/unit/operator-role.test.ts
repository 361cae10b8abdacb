import { describe, expect, it } from 'vitest';
import { can, higherRole, isOperatorRole, roleOn, ROLE_CAPABILITIES, type Capability, type OperatorRole, type RoleGrant } from '../../src/domain/operator-role.ts';

const grant = (realmId: string, role: OperatorRole): RoleGrant => ({ operatorId: 'op', realmId, role, grantedAt: new Date(0), grantedBy: null });

const ALL: Capability[] = ['read', 'users.write', 'sessions.write', 'credentials.write', 'impersonate', 'orgs.write', 'settings.write', 'apps.write', 'keys.write', 'operators.write'];

describe('operator roles', () => {
  it('the capability table of docs/design/console.md §4, each role above the one below', () => {
    expect(ROLE_CAPABILITIES.viewer).toEqual(['read']);
    expect(ROLE_CAPABILITIES.admin).toEqual(['read', 'users.write', 'sessions.write', 'credentials.write', 'impersonate', 'orgs.write']);
    expect([...ROLE_CAPABILITIES.owner].sort()).toEqual([...ALL].sort());
    for (const c of ROLE_CAPABILITIES.viewer) expect(ROLE_CAPABILITIES.admin).toContain(c);
    for (const c of ROLE_CAPABILITIES.admin) expect(ROLE_CAPABILITIES.owner).toContain(c);
  });

  it('roleOn: the realm’s grant or the every-realm one, the higher of the two; none elsewhere', () => {
    expect(roleOn([], 'alpha')).toBeNull();
    expect(roleOn([grant('alpha', 'admin')], 'alpha')).toBe('admin');
    expect(roleOn([grant('alpha', 'admin')], 'beta')).toBeNull();
    expect(roleOn([grant('*', 'viewer')], 'beta')).toBe('viewer');
    expect(roleOn([grant('*', 'viewer'), grant('alpha', 'owner')], 'alpha')).toBe('owner');
    expect(roleOn([grant('alpha', 'viewer'), grant('*', 'admin')], 'alpha')).toBe('admin');
    expect(roleOn([grant('*', 'owner'), grant('alpha', 'viewer')], 'alpha')).toBe('owner');
  });

  it('can: by the role on the realm; “*” asks about the every-realm grant alone', () => {
    const grants = [grant('alpha', 'owner'), grant('*', 'viewer')];
    expect(can(grants, 'alpha', 'operators.write')).toBe(true);
    expect(can(grants, 'beta', 'read')).toBe(true);
    expect(can(grants, 'beta', 'users.write')).toBe(false);
    expect(can(grants, '*', 'settings.write')).toBe(false);
    expect(can([grant('*', 'owner')], '*', 'settings.write')).toBe(true);
    expect(can([grant('alpha', 'admin')], 'alpha', 'impersonate')).toBe(true);
    expect(can([grant('alpha', 'admin')], 'alpha', 'keys.write')).toBe(false);
    expect(can([], 'alpha', 'read')).toBe(false);
  });

  it('higherRole and isOperatorRole', () => {
    expect(higherRole(null, null)).toBeNull();
    expect(higherRole('viewer', null)).toBe('viewer');
    expect(higherRole('admin', 'owner')).toBe('owner');
    expect(higherRole('admin', 'viewer')).toBe('admin');
    expect(isOperatorRole('owner')).toBe(true);
    expect(isOperatorRole('Owner')).toBe(false);
    expect(isOperatorRole('root')).toBe(false);
    expect(isOperatorRole(undefined)).toBe(false);
  });
});

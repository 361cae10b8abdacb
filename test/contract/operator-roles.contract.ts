import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoleGrant } from '../../src/domain/operator-role.ts';
import type { Directory } from '../../src/ports/directory.ts';
import type { OperatorRolesPort } from '../../src/ports/operator-roles.ts';
import type { UsersAdminPort } from '../../src/ports/users-admin.ts';
import type { Store } from '../../src/store/port.ts';
import { realm, settingsOf } from './directory.contract.ts';
import { newUser } from './store-fixtures.ts';

export interface OperatorRolesRig {
  roles: OperatorRolesPort;
  /** The same database's store, users admin and directory: deleting an operator or a realm takes its grants along. */
  store: Store;
  admin: UsersAdminPort;
  directory: Directory;
  close(): Promise<void>;
}

/**
 * The operator roles port's contract (src/ports/operator-roles.ts): every store adapter runs this suite.
 * `open` returns a fresh, empty, migrated store each time.
 */
export function operatorRolesContract(name: string, open: () => Promise<OperatorRolesRig>): void {
  describe(`Operator roles contract: ${name}`, () => {
    let rig: OperatorRolesRig;
    let roles: OperatorRolesPort;
    beforeEach(async () => {
      rig = await open();
      roles = rig.roles;
    });
    afterEach(async () => {
      await rig.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const grant = (operatorId: string, realmId: string, role: RoleGrant['role'], more: Partial<RoleGrant> = {}): RoleGrant => ({
      operatorId,
      realmId,
      role,
      grantedAt: T0,
      grantedBy: 'op-root',
      ...more,
    });

    it('starts with no operator; a grant reads back whole, every field', async () => {
      expect(await roles.anyOperator()).toBe(false);
      expect(await roles.grantsOf('op-1')).toEqual([]);
      const g = grant('op-1', 'alpha', 'admin');
      await roles.setGrant(g);
      expect(await roles.anyOperator()).toBe(true);
      expect(await roles.grantsOf('op-1')).toEqual([g]);
      // Granted by nobody (the CLI).
      const first = grant('op-0', '*', 'owner', { grantedBy: null });
      await roles.setGrant(first);
      expect(await roles.grantsOf('op-0')).toEqual([first]);
    });

    it('one grant per operator and realm: setting again replaces role, time and granter', async () => {
      await roles.setGrant(grant('op-1', 'alpha', 'viewer'));
      const later = grant('op-1', 'alpha', 'owner', { grantedAt: new Date(T0.getTime() + 5000), grantedBy: 'op-2' });
      await roles.setGrant(later);
      expect(await roles.grantsOf('op-1')).toEqual([later]);
      expect(await roles.allGrants()).toEqual([later]);
    });

    it('an operator’s grants: every realm first, then by realm id; other operators’ stay out', async () => {
      await roles.setGrant(grant('op-1', 'beta', 'viewer'));
      await roles.setGrant(grant('op-1', 'alpha', 'admin'));
      await roles.setGrant(grant('op-1', '*', 'viewer'));
      await roles.setGrant(grant('op-2', 'alpha', 'owner'));
      expect((await roles.grantsOf('op-1')).map((g) => `${g.realmId}:${g.role}`)).toEqual(['*:viewer', 'alpha:admin', 'beta:viewer']);
    });

    it('grants on a realm include the every-realm grants, by operator', async () => {
      await roles.setGrant(grant('op-b', 'alpha', 'admin'));
      await roles.setGrant(grant('op-a', '*', 'owner'));
      await roles.setGrant(grant('op-c', 'beta', 'viewer'));
      await roles.setGrant(grant('op-a', 'alpha', 'viewer'));
      expect((await roles.grantsOn('alpha')).map((g) => `${g.operatorId}/${g.realmId}`)).toEqual(['op-a/*', 'op-a/alpha', 'op-b/alpha']);
      expect((await roles.grantsOn('beta')).map((g) => `${g.operatorId}/${g.realmId}`)).toEqual(['op-a/*', 'op-c/beta']);
      expect((await roles.grantsOn('*')).map((g) => `${g.operatorId}/${g.realmId}`)).toEqual(['op-a/*']);
      expect((await roles.allGrants()).map((g) => `${g.operatorId}/${g.realmId}`)).toEqual(['op-a/*', 'op-a/alpha', 'op-b/alpha', 'op-c/beta']);
    });

    it('removes one grant; removing it again says so', async () => {
      await roles.setGrant(grant('op-1', 'alpha', 'admin'));
      await roles.setGrant(grant('op-1', 'beta', 'admin'));
      expect(await roles.removeGrant('op-1', 'alpha')).toBe(true);
      expect(await roles.removeGrant('op-1', 'alpha')).toBe(false);
      expect(await roles.removeGrant('op-9', 'beta')).toBe(false);
      expect((await roles.grantsOf('op-1')).map((g) => g.realmId)).toEqual(['beta']);
      expect(await roles.removeGrant('op-1', 'beta')).toBe(true);
      expect(await roles.anyOperator()).toBe(false);
    });

    it('counts the owners of exactly one realm (the every-realm owners apart)', async () => {
      await roles.setGrant(grant('op-1', '*', 'owner'));
      await roles.setGrant(grant('op-2', '*', 'admin'));
      await roles.setGrant(grant('op-3', 'alpha', 'owner'));
      await roles.setGrant(grant('op-4', 'alpha', 'owner'));
      await roles.setGrant(grant('op-5', 'alpha', 'viewer'));
      expect(await roles.countOwners('*')).toBe(1);
      expect(await roles.countOwners('alpha')).toBe(2);
      expect(await roles.countOwners('beta')).toBe(0);
      await roles.setGrant(grant('op-1', '*', 'viewer'));
      expect(await roles.countOwners('*')).toBe(0);
    });

    it('deleting operators (by id, and by filter) removes their grants in the same step, not others’', async () => {
      const a = await rig.store.createUser(newUser({ realmId: 'console', username: 'a@example.com', email: 'a@example.com' }), T0);
      const b = await rig.store.createUser(newUser({ realmId: 'console', username: 'b@example.com', email: 'b@example.com' }), T0);
      const c = await rig.store.createUser(newUser({ realmId: 'console', username: 'c@example.com', email: 'c@example.com', userType: 'api' }), T0);
      for (const u of [a, b, c]) {
        await roles.setGrant(grant(u.id, '*', 'viewer'));
        await roles.setGrant(grant(u.id, 'alpha', 'admin'));
      }
      expect((await rig.admin.deleteUsers('console', [a.id])).map((u) => u.id)).toEqual([a.id]);
      expect(await roles.grantsOf(a.id)).toEqual([]);
      expect(await roles.grantsOf(b.id)).toHaveLength(2);
      const matched = await rig.admin.deleteMatching('console', { userType: 'human' }, 1);
      expect(matched).toMatchObject({ deleted: [{ id: b.id }] });
      expect(await roles.grantsOf(b.id)).toEqual([]);
      expect(await roles.grantsOf(c.id)).toHaveLength(2);
    });

    it('deleting a realm removes the grants on it; the every-realm grants stay', async () => {
      await rig.directory.createRealm(settingsOf(realm('gamma')), T0);
      await roles.setGrant(grant('op-1', 'gamma', 'owner'));
      await roles.setGrant(grant('op-1', '*', 'viewer'));
      await roles.setGrant(grant('op-2', 'alpha', 'admin'));
      expect(await rig.directory.deleteRealm('gamma')).toBe('deleted');
      expect((await roles.grantsOf('op-1')).map((g) => g.realmId)).toEqual(['*']);
      expect(await roles.grantsOn('gamma')).toEqual([expect.objectContaining({ operatorId: 'op-1', realmId: '*' })]);
      expect(await roles.grantsOf('op-2')).toHaveLength(1);
    });
  });
}

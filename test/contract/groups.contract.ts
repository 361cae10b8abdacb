import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedCursor, Group, GroupCursor, GroupMember } from '../../src/domain/orgs.ts';
import { normalizeLogin, type User } from '../../src/identity/user.ts';
import type { OrgsPort } from '../../src/ports/orgs.ts';
import { UniqueViolation } from '../../src/store/port.ts';
import { realm, settingsOf } from './directory.contract.ts';
import { created, type OrgsRig } from './orgs.contract.ts';
import { at, eventTypes, newEvent, newUser, T0, uniqueViolationOf } from './store-fixtures.ts';

export const GROUP_ID = /^grp_[A-Za-z0-9_-]{16}$/;

/**
 * The groups part of OrgsPort (src/ports/orgs.ts): groups, their members, and what they add to the hand-off's
 * reads. Every store adapter runs this suite; `open` returns a fresh, empty, migrated store each time.
 */
export function groupsContract(name: string, open: () => Promise<OrgsRig>): void {
  describe(`Groups contract: ${name}`, () => {
    let rig: OrgsRig;
    let orgs: OrgsPort;
    let alice: User;
    let bob: User;
    beforeEach(async () => {
      rig = await open();
      orgs = rig.store.orgs;
      alice = await rig.store.createUser(newUser(), T0);
      bob = await rig.store.createUser(newUser({ username: 'bob', email: 'bob@example.com' }), T0);
    });
    afterEach(async () => {
      await rig.close();
    });

    const group = (name: string, more: Partial<Parameters<OrgsPort['createGroup']>[0]> = {}, when = T0) => orgs.createGroup({ realmId: 'alpha', name, ...more }, when);
    const names = async (q: { q?: string; userId?: string } = {}, realmId = 'alpha') => (await orgs.queryGroups(realmId, q, null, 1000)).groups.map((g) => g.name);
    const members = async (g: Group, realmId = 'alpha') => (await orgs.queryGroupMembers(realmId, g.id, null, 10_000)).members.map((m) => m.userId);
    const add = async (g: Group, ids: string[], when = T0) => (await orgs.addGroupMembers('alpha', g.id, ids, when))!;

    describe('groups', () => {
      it('creates a group with a short prefixed id and the defaults, and finds it in its realm only', async () => {
        const ops = await group('Ops');
        expect(ops).toEqual({ id: expect.stringMatching(GROUP_ID), realmId: 'alpha', name: 'Ops', description: null, permissions: [], createdAt: T0, updatedAt: T0 });
        expect(await orgs.findGroup('alpha', ops.id)).toEqual(ops);
        expect(await orgs.findGroup('beta', ops.id)).toBeNull();
        expect(await orgs.findGroup('alpha', 'grp_AAAAAAAAAAAAAAAA')).toBeNull();
        const full = await group('Finance', { description: 'Money people', permissions: ['billing:*', 'reports:read'] });
        expect(await orgs.findGroup('alpha', full.id)).toEqual({ ...full, description: 'Money people', permissions: ['billing:*', 'reports:read'] });
      });

      it('keeps names unique in a realm in any case (UniqueViolation group), on create and on rename; another realm may reuse one', async () => {
        const ops = await group('Ops');
        const dev = await group('Dev');
        for (const n of ['Ops', 'OPS', 'ops']) expect((await uniqueViolationOf(() => group(n))).field, n).toBe('group');
        expect((await uniqueViolationOf(() => orgs.patchGroup('alpha', dev.id, { name: 'oPs' }, at(1)))).field).toBe('group');
        expect(await orgs.findGroup('alpha', dev.id)).toEqual(dev);
        await orgs.createGroup({ realmId: 'beta', name: 'Ops' }, T0);
        // Its own name in another case is a rename, not a clash.
        expect(await orgs.patchGroup('alpha', ops.id, { name: 'OPS' }, at(2))).toEqual({ ...ops, name: 'OPS', updatedAt: at(2) });
        expect(await names()).toEqual(['Dev', 'OPS']);
      });

      it('patches each field, stamps updatedAt and leaves the rest; null clears the description; nothing of another realm', async () => {
        const ops = await group('Ops', { description: 'd', permissions: ['a'] });
        const p = await orgs.patchGroup('alpha', ops.id, { permissions: ['b', 'c'] }, at(5));
        expect(p).toEqual({ ...ops, permissions: ['b', 'c'], updatedAt: at(5) });
        const q = await orgs.patchGroup('alpha', ops.id, { name: 'Operations', description: null }, at(6));
        expect(q).toEqual({ ...p, name: 'Operations', description: null, updatedAt: at(6) });
        expect(await orgs.findGroup('alpha', ops.id)).toEqual(q);
        expect(await orgs.patchGroup('beta', ops.id, { name: 'X' }, at(7))).toBeNull();
        expect(await orgs.patchGroup('alpha', 'grp_AAAAAAAAAAAAAAAA', { name: 'X' }, at(7))).toBeNull();
        expect(await names({ q: 'oper' })).toEqual(['Operations']);
      });

      it('finds by a prefix of the name in any case, Unicode-aware, no character a wildcard; and a user’s groups', async () => {
        for (const n of ['Ops', 'OPS team', 'opé', 'Équipe', 'a_b', 'axb', 'a%c']) await group(n);
        await orgs.createGroup({ realmId: 'beta', name: 'Ops beta' }, T0);
        expect(await names({ q: 'ops' })).toEqual(['Ops', 'OPS team']);
        expect(await names({ q: 'OP' })).toEqual(['Ops', 'OPS team', 'opé']);
        expect(await names({ q: 'équ' })).toEqual(['Équipe']);
        expect(await names({ q: 'a_' })).toEqual(['a_b']);
        expect(await names({ q: 'a%' })).toEqual(['a%c']);
        const all = (await orgs.queryGroups('alpha', {}, null, 100)).groups;
        await add(all.find((g) => g.name === 'opé')!, [alice.id]);
        await add(all.find((g) => g.name === 'Ops')!, [alice.id, bob.id]);
        expect(await names({ userId: alice.id })).toEqual(['Ops', 'opé']);
        expect(await names({ userId: alice.id, q: 'ops' })).toEqual(['Ops']);
        expect(await names({ userId: bob.id })).toEqual(['Ops']);
        expect(await names({ userId: 'nobody' })).toEqual([]);
        expect(await names({ userId: alice.id }, 'beta')).toEqual([]);
      });

      it('pages 60 groups by folded name without skipping or repeating, next null on an exactly full last page', async () => {
        const made: Group[] = [];
        for (let i = 0; i < 60; i++) made.push(await group(`${i % 2 ? 'Team' : 'TEAM'} ${String(i).padStart(2, '0')}`));
        await orgs.createGroup({ realmId: 'beta', name: 'Team 00x' }, T0);
        const seen: string[] = [];
        let after: GroupCursor | null = null;
        let pages = 0;
        do {
          const page: { groups: Group[]; next: GroupCursor | null } = await orgs.queryGroups('alpha', {}, after, 7);
          seen.push(...page.groups.map((g) => g.id));
          after = page.next;
          pages++;
        } while (after);
        expect(pages).toBe(9);
        const sorted = [...made].sort((a, b) => (normalizeLogin(a.name) < normalizeLogin(b.name) ? -1 : 1)).map((g) => g.id);
        expect(seen).toEqual(sorted);
        const full = await orgs.queryGroups('alpha', { q: 'team 0' }, null, 10);
        expect(full.groups).toHaveLength(10);
        expect(full.next).toBeNull();
        expect((await orgs.queryGroups('alpha', {}, null, 0)).groups).toEqual([]);
      });

      it('deletes a group with its members, only in its realm, and leaves the other groups’', async () => {
        const ops = await group('Ops');
        const dev = await group('Dev');
        await add(ops, [alice.id, bob.id]);
        await add(dev, [alice.id]);
        expect(await orgs.deleteGroup('beta', ops.id)).toBeNull();
        expect(await orgs.deleteGroup('alpha', ops.id)).toEqual({ group: ops, members: 2 });
        expect(await orgs.findGroup('alpha', ops.id)).toBeNull();
        expect(await members(ops)).toEqual([]);
        expect(await members(dev)).toEqual([alice.id]);
        expect(await orgs.deleteGroup('alpha', ops.id)).toBeNull();
        // The name is free again.
        await group('ops');
      });
    });

    describe('members', () => {
      it('adds 1000 ids, some missing and some members already, each id once: says which is which, in the order given', async () => {
        const ops = await group('Ops');
        const users: string[] = [];
        for (let i = 0; i < 600; i++) users.push((await rig.store.createUser(newUser({ username: `u${i}`, email: `u${i}@example.com` }), T0)).id);
        const earlier = users.filter((_, i) => i % 6 === 0);
        expect(await add(ops, earlier)).toEqual({ added: earlier, already: [], missing: [] });
        const betaUser = await rig.store.createUser(newUser({ realmId: 'beta' }), T0);
        const missing = [...Array.from({ length: 399 }, (_, i) => `no-such-user-${i}`), betaUser.id];
        const ids = users.flatMap((u, i) => [u, ...(i < 400 ? [missing[i]!] : [])]);
        expect(ids).toHaveLength(1000);
        const result = await add(ops, [...ids, users[1]!, missing[0]!], at(1));
        expect(result.added).toEqual(users.filter((_, i) => i % 6 !== 0));
        expect(result.already).toEqual(earlier);
        expect(result.missing).toEqual(missing);
        expect(new Set(await members(ops))).toEqual(new Set(users));
        expect(await members(ops)).toHaveLength(600);
        expect(await members(ops, 'beta')).toEqual([]);
      });

      it('adds nothing to a group that is not there (null), nor another realm’s', async () => {
        const ops = await group('Ops');
        expect(await orgs.addGroupMembers('alpha', 'grp_AAAAAAAAAAAAAAAA', [alice.id], T0)).toBeNull();
        expect(await orgs.addGroupMembers('beta', ops.id, [alice.id], T0)).toBeNull();
        expect(await members(ops)).toEqual([]);
        expect(await add(ops, [])).toEqual({ added: [], already: [], missing: [] });
      });

      it('adds one user exactly once under 10 concurrent adds: one says added, nine say already', async () => {
        const ops = await group('Ops');
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => orgs.addGroupMembers('alpha', ops.id, [alice.id], at(i))));
        expect(results.filter((r) => r!.added.length === 1)).toHaveLength(1);
        expect(results.filter((r) => r!.already.length === 1)).toHaveLength(9);
        expect(await members(ops)).toEqual([alice.id]);
      });

      it('removes a member, only of that group and realm; says whether there was one', async () => {
        const ops = await group('Ops');
        const dev = await group('Dev');
        await add(ops, [alice.id, bob.id]);
        await add(dev, [alice.id]);
        expect(await orgs.removeGroupMember('beta', ops.id, alice.id)).toBe(false);
        expect(await orgs.removeGroupMember('alpha', ops.id, alice.id)).toBe(true);
        expect(await orgs.removeGroupMember('alpha', ops.id, alice.id)).toBe(false);
        expect(await members(ops)).toEqual([bob.id]);
        expect(await members(dev)).toEqual([alice.id]);
        // A member again: the pair is free.
        expect(await add(ops, [alice.id])).toMatchObject({ added: [alice.id] });
      });

      it('pages a group’s members oldest first by (addedAt, userId), ties included', async () => {
        const ops = await group('Ops');
        const ids: string[] = [];
        for (let i = 0; i < 23; i++) {
          const u = await rig.store.createUser(newUser({ username: `p${i}`, email: `p${i}@example.com` }), T0);
          ids.push(u.id);
          await add(ops, [u.id], at(i % 4));
        }
        const seen: GroupMember[] = [];
        let after: CreatedCursor | null = null;
        do {
          const page: { members: GroupMember[]; next: CreatedCursor | null } = await orgs.queryGroupMembers('alpha', ops.id, after, 5);
          seen.push(...page.members);
          after = page.next;
        } while (after);
        expect(seen.map((m) => m.userId).sort()).toEqual([...ids].sort());
        for (let i = 1; i < seen.length; i++) {
          const [p, n] = [seen[i - 1]!, seen[i]!];
          expect(p.addedAt.getTime() < n.addedAt.getTime() || (p.addedAt.getTime() === n.addedAt.getTime() && p.userId < n.userId)).toBe(true);
        }
        expect(seen[0]!.addedAt).toEqual(at(0));
      });

      it('deletes a user’s group memberships with the user, by ids and by filter, and leaves the others', async () => {
        const ops = await group('Ops');
        const dev = await group('Dev');
        await add(ops, [alice.id, bob.id]);
        await add(dev, [alice.id]);
        await rig.admin.deleteUsers('alpha', [alice.id]);
        expect(await members(ops)).toEqual([bob.id]);
        expect(await members(dev)).toEqual([]);
        await rig.admin.deleteMatching('alpha', { q: 'bob' }, 1);
        expect(await members(ops)).toEqual([]);
        expect(await orgs.findGroup('alpha', ops.id)).toEqual(ops);
      });

      it('purges a realm’s groups and members with the realm, and leaves another realm’s', async () => {
        await rig.directory.createRealm(settingsOf(realm('mine')), T0);
        await rig.directory.createRealm(settingsOf(realm('other')), T0);
        const ann = await rig.store.createUser(newUser({ realmId: 'mine' }), T0);
        const bea = await rig.store.createUser(newUser({ realmId: 'other' }), T0);
        const mine = await orgs.createGroup({ realmId: 'mine', name: 'Ops' }, T0);
        const other = await orgs.createGroup({ realmId: 'other', name: 'Ops' }, T0);
        await orgs.addGroupMembers('mine', mine.id, [ann.id], T0);
        await orgs.addGroupMembers('other', other.id, [bea.id], T0);
        expect(await rig.directory.deleteRealm('mine', { force: true })).toBe('deleted');
        expect(await orgs.findGroup('mine', mine.id)).toBeNull();
        expect(await members(mine, 'mine')).toEqual([]);
        expect(await orgs.findGroup('other', other.id)).toEqual(other);
        expect(await members(other, 'other')).toEqual([bea.id]);
      });

      it('appends the events of each write with it, and none on a refused one or one that finds nothing', async () => {
        const ev = (type: 'user.created' | 'user.updated' | 'user.deleted') => (r: unknown) => (r ? [newEvent(null, type, { data: null })] : []);
        const ops = await orgs.createGroup({ realmId: 'alpha', name: 'Ops' }, T0, ev('user.created'));
        await expect(orgs.createGroup({ realmId: 'alpha', name: 'OPS' }, T0, ev('user.created'))).rejects.toBeInstanceOf(UniqueViolation);
        await orgs.patchGroup('alpha', ops.id, { permissions: ['x'] }, at(1), ev('user.updated'));
        await orgs.patchGroup('alpha', 'grp_AAAAAAAAAAAAAAAA', { permissions: ['x'] }, at(1), ev('user.updated'));
        expect(await eventTypes(rig.store)).toEqual(['user.created', 'user.updated']);
        // One event per user added, none for the members already, the missing, or a group that is not there.
        const perUser = (ids: string[] | null) => (ids ?? []).map((id) => newEvent(id, 'user.updated', { data: null }));
        await orgs.addGroupMembers('alpha', ops.id, [alice.id, bob.id, 'nobody'], at(2), perUser);
        await orgs.addGroupMembers('alpha', ops.id, [alice.id], at(3), perUser);
        await orgs.addGroupMembers('alpha', 'grp_AAAAAAAAAAAAAAAA', [alice.id], at(3), perUser);
        expect(await eventTypes(rig.store, 'alpha', alice.id)).toEqual(['user.updated']);
        expect(await eventTypes(rig.store, 'alpha', bob.id)).toEqual(['user.updated']);
        await orgs.removeGroupMember('alpha', ops.id, alice.id, (was) => (was ? [newEvent(alice.id, 'user.deleted', { data: null })] : []));
        await orgs.removeGroupMember('alpha', ops.id, alice.id, (was) => (was ? [newEvent(alice.id, 'user.deleted', { data: null })] : []));
        expect(await eventTypes(rig.store, 'alpha', alice.id)).toEqual(['user.updated', 'user.deleted']);
        await orgs.deleteGroup('alpha', ops.id, ev('user.deleted'));
        await orgs.deleteGroup('alpha', ops.id, ev('user.deleted'));
        expect(await eventTypes(rig.store)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.updated', 'user.deleted', 'user.deleted']);
      });
    });

    describe('accessOf, permissionsOf, memberOfAny', () => {
      it('holds the user’s groups with their current permissions, oldest membership first; none of another realm', async () => {
        const ops = await group('Ops', { permissions: ['deploy', 'logs:read'] });
        const dev = await group('Dev', { permissions: ['logs:read', 'code:write'] });
        const empty = await group('Empty');
        await add(dev, [alice.id], at(1));
        await add(ops, [alice.id, bob.id], at(2));
        await add(empty, [alice.id], at(3));
        const view = await orgs.accessOf('alpha', alice.id, at(10), { maxOrgs: 50, selectedOrgId: null });
        expect(view).toEqual({
          userOnly: null,
          orgs: [],
          truncated: false,
          groups: [
            { id: dev.id, permissions: ['logs:read', 'code:write'] },
            { id: ops.id, permissions: ['deploy', 'logs:read'] },
            { id: empty.id, permissions: [] },
          ],
        });
        await orgs.patchGroup('alpha', ops.id, { permissions: ['deploy:*'] }, at(4));
        await orgs.removeGroupMember('alpha', dev.id, alice.id);
        expect((await orgs.accessOf('alpha', alice.id, at(10), { maxOrgs: 50, selectedOrgId: null })).groups).toEqual([
          { id: ops.id, permissions: ['deploy:*'] },
          { id: empty.id, permissions: [] },
        ]);
        expect((await orgs.accessOf('beta', alice.id, at(10), { maxOrgs: 50, selectedOrgId: null })).groups).toEqual([]);
        await orgs.deleteGroup('alpha', ops.id);
        expect((await orgs.accessOf('alpha', alice.id, at(10), { maxOrgs: 50, selectedOrgId: null })).groups).toEqual([{ id: empty.id, permissions: [] }]);
      });

      it('gathers the groups’ permissions with the memberships’, each once', async () => {
        const acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
        created(await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: null, permissions: ['own', 'shared'] }, T0));
        created(await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['org:read'] }, T0));
        const ops = await group('Ops', { permissions: ['shared', 'deploy'] });
        await add(ops, [alice.id]);
        expect([...(await orgs.permissionsOf('alpha', alice.id, at(10)))].sort()).toEqual(['deploy', 'org:read', 'own', 'shared']);
        expect(await orgs.permissionsOf('alpha', bob.id, at(10))).toEqual([]);
        await add(ops, [bob.id]);
        expect(await orgs.permissionsOf('alpha', bob.id, at(10))).toEqual(['shared', 'deploy']);
      });

      it('says whether the user is a member of one of the groups given (or of one of the orgs)', async () => {
        const ops = await group('Ops');
        const dev = await group('Dev');
        const acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
        await add(ops, [alice.id]);
        const any = (orgIds: string[], groupIds: string[], userId = alice.id) => orgs.memberOfAny('alpha', userId, at(5), orgIds, groupIds);
        expect(await any([], [ops.id])).toBe(true);
        expect(await any([], [dev.id, ops.id])).toBe(true);
        expect(await any([acme.id], [ops.id])).toBe(true);
        expect(await any([], [dev.id])).toBe(false);
        expect(await any([acme.id], [])).toBe(false);
        expect(await any([], [])).toBe(false);
        expect(await any([], [ops.id], bob.id)).toBe(false);
        expect(await orgs.memberOfAny('beta', alice.id, at(5), [], [ops.id])).toBe(false);
        created(await orgs.createMembership({ realmId: 'alpha', userId: bob.id, orgId: acme.id }, T0));
        expect(await any([acme.id], [ops.id], bob.id)).toBe(true);
        await orgs.removeGroupMember('alpha', ops.id, alice.id);
        expect(await any([], [ops.id])).toBe(false);
      });
    });
  });
}

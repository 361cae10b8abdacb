import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedCursor, Membership, Org } from '../../src/domain/orgs.ts';
import type { User } from '../../src/identity/user.ts';
import type { OrgsPort } from '../../src/ports/orgs.ts';
import { UniqueViolation } from '../../src/store/port.ts';
import { created, type OrgsRig } from './orgs.contract.ts';
import { at, eventTypes, newEvent, newUser, T0, uniqueViolationOf } from './store-fixtures.ts';

export const MEMBERSHIP_ID = /^mb_[A-Za-z0-9_-]{16}$/;

/**
 * The memberships part of OrgsPort (src/ports/orgs.ts), with the hand-off's reads: every store adapter runs
 * this suite. `open` returns a fresh, empty, migrated store each time.
 */
export function membershipsContract(name: string, open: () => Promise<OrgsRig>): void {
  describe(`Memberships contract: ${name}`, () => {
    let rig: OrgsRig;
    let orgs: OrgsPort;
    let alice: User;
    let bob: User;
    let acme: Org;
    let beta: Org;
    beforeEach(async () => {
      rig = await open();
      orgs = rig.store.orgs;
      alice = await rig.store.createUser(newUser(), T0);
      bob = await rig.store.createUser(newUser({ username: 'bob', email: 'bob@example.com' }), T0);
      acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme', reference: 'acme-1', customAttributes: { plan: 'pro' } }, T0);
      beta = await orgs.createOrg({ realmId: 'alpha', name: 'Beta' }, T0);
    });
    afterEach(async () => {
      await rig.close();
    });

    const join = async (user: User, org: Org | null, more: { permissions?: string[]; expiresAt?: Date | null } = {}, when = T0) =>
      created(await orgs.createMembership({ realmId: 'alpha', userId: user.id, orgId: org?.id ?? null, ...more }, when));
    const all = async (realmId = 'alpha') => (await orgs.queryMemberships(realmId, { includeExpired: true, at: T0 }, null, 1000)).memberships;

    describe('writes', () => {
      it('creates a membership of an org and a user-only one, and finds each by id and by (user, org)', async () => {
        const m = await join(alice, acme, { permissions: ['billing:*', 'read'], expiresAt: at(100) });
        expect(m).toEqual({
          id: expect.stringMatching(MEMBERSHIP_ID), realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['billing:*', 'read'],
          customAttributes: {}, expiresAt: at(100), createdAt: T0, updatedAt: T0,
        });
        const own = await join(alice, null, { permissions: ['admin'] });
        expect(own).toMatchObject({ orgId: null, permissions: ['admin'], expiresAt: null });
        expect(await orgs.findMembership('alpha', m.id)).toEqual(m);
        expect(await orgs.findMembership('beta', m.id)).toBeNull();
        expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toEqual(m);
        expect(await orgs.findMembershipOf('alpha', alice.id, null)).toEqual(own);
        expect(await orgs.findMembershipOf('alpha', alice.id, beta.id)).toBeNull();
        expect(await orgs.findMembershipOf('alpha', bob.id, null)).toBeNull();
      });

      it('refuses a second membership of the same (user, org), and allows the user another org and the org another user', async () => {
        await join(alice, acme);
        expect((await uniqueViolationOf(() => orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id }, at(1)))).field).toBe('membership');
        await join(alice, beta);
        await join(bob, acme);
        expect(await all()).toHaveLength(3);
      });

      it('refuses a second user-only membership of a user, and allows another user’s', async () => {
        await join(alice, null);
        expect((await uniqueViolationOf(() => orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: null, permissions: ['x'] }, at(1)))).field).toBe('membership');
        await join(bob, null);
        expect(await all()).toHaveLength(2);
      });

      it('creates exactly one of 10 concurrent memberships of one (user, org): nine UniqueViolation(membership)', async () => {
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: [`p${i}`] }, at(i))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(refused).toHaveLength(9);
        for (const r of refused) {
          expect(r.reason).toBeInstanceOf(UniqueViolation);
          expect((r.reason as UniqueViolation).field).toBe('membership');
        }
        expect(await all()).toHaveLength(1);
      });

      it('refuses a missing user, a missing org and a closed org, writing nothing and no event', async () => {
        const closed = await orgs.createOrg({ realmId: 'alpha', name: 'Gone' }, T0);
        await orgs.patchOrg('alpha', closed.id, { state: 'closed' }, at(1));
        const elsewhere = await orgs.createOrg({ realmId: 'beta', name: 'Acme' }, T0);
        const betaUser = await rig.store.createUser(newUser({ realmId: 'beta' }), T0);
        const emit = [newEvent(alice.id, 'user.updated')];
        const attempt = (userId: string, orgId: string | null) => orgs.createMembership({ realmId: 'alpha', userId, orgId }, at(2), emit);
        expect(await attempt('no-such-user', acme.id)).toEqual({ missing: 'user' });
        expect(await attempt('no-such-user', null)).toEqual({ missing: 'user' });
        expect(await attempt(betaUser.id, null)).toEqual({ missing: 'user' });
        expect(await attempt(alice.id, 'org_AAAAAAAAAAAAAAAA')).toEqual({ missing: 'org' });
        expect(await attempt(alice.id, elsewhere.id)).toEqual({ missing: 'org' });
        expect(await attempt(alice.id, closed.id)).toEqual({ missing: 'org_closed' });
        expect(await all()).toEqual([]);
        expect(await all('beta')).toEqual([]);
        expect(await eventTypes(rig.store)).toEqual([]);
        // Reopened, it takes members again.
        await orgs.patchOrg('alpha', closed.id, { state: 'active' }, at(3));
        expect(await attempt(alice.id, closed.id)).toEqual({ created: expect.objectContaining({ orgId: closed.id }) });
      });

      it('patches permissions, custom attributes and the end, stamps updatedAt; null makes it last', async () => {
        const m = await join(alice, acme, { permissions: ['a'], expiresAt: at(10) });
        const p = await orgs.patchMembership('alpha', m.id, { permissions: ['b', 'c'], customAttributes: { role: 'lead' } }, at(5));
        expect(p).toEqual({ ...m, permissions: ['b', 'c'], customAttributes: { role: 'lead' }, updatedAt: at(5) });
        const q = await orgs.patchMembership('alpha', m.id, { expiresAt: null }, at(6));
        expect(q).toEqual({ ...p, expiresAt: null, updatedAt: at(6) });
        expect(await orgs.findMembership('alpha', m.id)).toEqual(q);
        expect(await orgs.patchMembership('beta', m.id, { permissions: [] }, at(7))).toBeNull();
        expect(await orgs.patchMembership('alpha', 'mb_AAAAAAAAAAAAAAAA', { permissions: [] }, at(7))).toBeNull();
      });

      it('deletes one membership, only in its realm', async () => {
        const m = await join(alice, acme);
        const other = await join(bob, acme);
        expect(await orgs.deleteMembership('beta', m.id)).toBeNull();
        expect(await orgs.deleteMembership('alpha', m.id)).toEqual(m);
        expect(await orgs.deleteMembership('alpha', m.id)).toBeNull();
        expect(await all()).toEqual([other]);
        // The pair is free again.
        await join(alice, acme);
      });

      it('deletes a user’s memberships with the user, by ids and by filter, and leaves the others', async () => {
        await join(alice, acme);
        await join(alice, null);
        const kept = await join(bob, acme);
        await rig.admin.deleteUsers('alpha', [alice.id]);
        expect(await all()).toEqual([kept]);
        await rig.admin.deleteMatching('alpha', { q: 'bob' }, 1);
        expect(await all()).toEqual([]);
        expect(await orgs.findOrg('alpha', acme.id)).toEqual(acme);
      });

      it('appends the events of each write with it, and none on a refused or missing one', async () => {
        const ev = (type: 'user.created' | 'user.updated' | 'user.deleted') => (r: Membership | null) => (r ? [newEvent(r.userId, type, { data: null })] : []);
        const m = created(await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id }, T0, ev('user.created')));
        await expect(orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id }, T0, ev('user.created'))).rejects.toBeInstanceOf(UniqueViolation);
        await orgs.createMembership({ realmId: 'alpha', userId: 'nobody', orgId: acme.id }, T0, ev('user.created'));
        await orgs.patchMembership('alpha', m.id, { permissions: ['x'] }, at(1), ev('user.updated'));
        await orgs.patchMembership('alpha', 'mb_AAAAAAAAAAAAAAAA', { permissions: ['x'] }, at(1), ev('user.updated'));
        await orgs.deleteMembership('alpha', m.id, ev('user.deleted'));
        await orgs.deleteMembership('alpha', m.id, ev('user.deleted'));
        expect(await eventTypes(rig.store, 'alpha', alice.id)).toEqual(['user.created', 'user.updated', 'user.deleted']);
        expect(await eventTypes(rig.store)).toHaveLength(3);
      });
    });

    describe('queryMemberships', () => {
      it('lists a user’s, an org’s and the user-only ones, oldest first, with or without the expired', async () => {
        const a1 = await join(alice, acme, {}, at(1));
        const a2 = await join(alice, beta, { expiresAt: at(5) }, at(2));
        const a3 = await join(alice, null, {}, at(3));
        const b1 = await join(bob, acme, { expiresAt: at(20) }, at(1));
        const q = (more: { userId?: string; orgId?: string | null; includeExpired?: boolean }, when = at(10)) =>
          orgs.queryMemberships('alpha', { includeExpired: true, at: when, ...more }, null, 100).then((p) => p.memberships.map((m) => m.id));
        expect(await q({ userId: alice.id })).toEqual([a1.id, a2.id, a3.id]);
        expect(await q({ userId: alice.id, includeExpired: false })).toEqual([a1.id, a3.id]);
        expect(await q({ orgId: acme.id })).toEqual([a1.id, b1.id].sort((x, y) => (x < y ? -1 : 1)));
        expect(await q({ orgId: acme.id, includeExpired: false }, at(20))).toEqual([a1.id]);
        expect(await q({ orgId: null })).toEqual([a3.id]);
        expect(await q({ userId: bob.id, orgId: null })).toEqual([]);
        expect(await q({ userId: alice.id, orgId: beta.id })).toEqual([a2.id]);
        expect(await orgs.queryMemberships('beta', { userId: alice.id, includeExpired: true, at: T0 }, null, 10)).toEqual({ memberships: [], next: null });
      });

      it('pages an org’s members by (createdAt, id) without skipping or repeating, ties included', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 23; i++) {
          const u = await rig.store.createUser(newUser({ username: `u${i}`, email: `u${i}@example.com` }), T0);
          ids.push((await join(u, acme, {}, at(i % 4))).id);
        }
        const seen: string[] = [];
        let after: CreatedCursor | null = null;
        do {
          const page: { memberships: Membership[]; next: CreatedCursor | null } = await orgs.queryMemberships('alpha', { orgId: acme.id, includeExpired: true, at: T0 }, after, 5);
          seen.push(...page.memberships.map((m) => m.id));
          after = page.next;
        } while (after);
        const byTime = await all();
        expect(seen).toEqual(byTime.map((m) => m.id));
        expect([...seen].sort()).toEqual([...ids].sort());
        for (let i = 1; i < byTime.length; i++) {
          const [p, n] = [byTime[i - 1]!, byTime[i]!];
          expect(p.createdAt.getTime() < n.createdAt.getTime() || (p.createdAt.getTime() === n.createdAt.getTime() && p.id < n.id)).toBe(true);
        }
      });
    });

    describe('accessOf, permissionsOf, memberOfAny', () => {
      const view = (o: { maxOrgs?: number; selectedOrgId?: string | null } = {}, when = at(10)) => orgs.accessOf('alpha', alice.id, when, { maxOrgs: 50, selectedOrgId: null, ...o });

      it('holds the user-only membership and each live membership of an active org, newest first, with the org’s public side', async () => {
        const own = await join(alice, null, { permissions: ['admin'] });
        const a = await join(alice, acme, { permissions: ['billing:read'] }, at(1));
        const b = await join(alice, beta, {}, at(2));
        await join(bob, acme);
        expect(await view()).toEqual({
          userOnly: { id: own.id, permissions: ['admin'] },
          orgs: [
            { membershipId: b.id, orgId: beta.id, name: 'Beta', reference: null, customAttributes: {}, permissions: [] },
            { membershipId: a.id, orgId: acme.id, name: 'Acme', reference: 'acme-1', customAttributes: { plan: 'pro' }, permissions: ['billing:read'] },
          ],
          truncated: false,
          groups: [],
        });
        expect(await orgs.accessOf('alpha', 'nobody', at(10), { maxOrgs: 50, selectedOrgId: null })).toEqual({ userOnly: null, orgs: [], truncated: false, groups: [] });
        expect(await orgs.accessOf('beta', alice.id, at(10), { maxOrgs: 50, selectedOrgId: acme.id })).toEqual({ userOnly: null, orgs: [], truncated: false, groups: [] });
      });

      it('leaves out expired memberships (the user-only one too) and closed orgs, and takes a reopened org back', async () => {
        await join(alice, null, { expiresAt: at(10) });
        await join(alice, acme, { expiresAt: at(10) }, at(1));
        const b = await join(alice, beta, { expiresAt: at(11) }, at(2));
        expect((await view({}, at(10))).orgs.map((e) => e.orgId)).toEqual([beta.id]);
        expect((await view({}, at(10))).userOnly).toBeNull();
        expect((await view({}, at(9))).userOnly).not.toBeNull();
        expect((await view({ selectedOrgId: acme.id }, at(10))).orgs.map((e) => e.orgId)).toEqual([beta.id]);
        await orgs.patchOrg('alpha', beta.id, { state: 'closed' }, at(3));
        expect(await view({ selectedOrgId: beta.id }, at(9))).toMatchObject({ orgs: [{ orgId: acme.id }], truncated: false });
        await orgs.patchOrg('alpha', beta.id, { state: 'active' }, at(4));
        expect((await view({}, at(9))).orgs.map((e) => e.membershipId)).toEqual([b.id, expect.any(String)]);
      });

      it('puts the selected org first, then the newest, at most maxOrgs with truncated', async () => {
        const extra: Org[] = [];
        for (let i = 0; i < 6; i++) extra.push(await orgs.createOrg({ realmId: 'alpha', name: `Org ${i}` }, T0));
        await join(alice, acme, {}, at(0));
        for (let i = 0; i < 6; i++) await join(alice, extra[i]!, {}, at(i + 1));
        const ids = (v: { orgs: Array<{ orgId: string }> }) => v.orgs.map((e) => e.orgId);
        expect(ids(await view())).toEqual([...extra].reverse().map((o) => o.id).concat(acme.id));
        expect(await view({ maxOrgs: 7 })).toMatchObject({ truncated: false });
        const capped = await view({ maxOrgs: 3 });
        expect(ids(capped)).toEqual([extra[5]!.id, extra[4]!.id, extra[3]!.id]);
        expect(capped.truncated).toBe(true);
        const chosen = await view({ maxOrgs: 3, selectedOrgId: acme.id });
        expect(ids(chosen)).toEqual([acme.id, extra[5]!.id, extra[4]!.id]);
        expect(chosen.truncated).toBe(true);
        expect(ids(await view({ maxOrgs: 7, selectedOrgId: extra[2]!.id }))).toEqual([extra[2]!.id, extra[5]!.id, extra[4]!.id, extra[3]!.id, extra[1]!.id, extra[0]!.id, acme.id]);
        expect(await view({ maxOrgs: 7, selectedOrgId: extra[2]!.id })).toMatchObject({ truncated: false });
        expect(await view({ maxOrgs: 1, selectedOrgId: acme.id })).toMatchObject({ orgs: [{ orgId: acme.id }], truncated: true });
        // A selection the user has no membership of (or of another realm) is ignored.
        expect(ids(await view({ maxOrgs: 2, selectedOrgId: beta.id }))).toEqual([extra[5]!.id, extra[4]!.id]);
      });

      it('gathers every permission of 500 live memberships each once, leaving out the expired and the closed orgs', async () => {
        const many: Org[] = [];
        for (let i = 0; i < 500; i++) many.push(await orgs.createOrg({ realmId: 'alpha', name: `Many ${i}` }, T0));
        for (let i = 0; i < 500; i++) await join(alice, many[i]!, i === 499 ? { permissions: ['expired:only'], expiresAt: at(5) } : { permissions: [`p${i % 40}`, 'common'] }, at(i % 9));
        await join(alice, acme, { permissions: ['closed:perm'] });
        await orgs.patchOrg('alpha', acme.id, { state: 'closed' }, at(1));
        await join(alice, null, { permissions: ['own'] });
        await join(bob, beta, { permissions: ['bobs'] });
        const perms = await orgs.permissionsOf('alpha', alice.id, at(10));
        expect(new Set(perms).size).toBe(perms.length);
        expect([...perms].sort()).toEqual(['common', 'own', ...Array.from({ length: 40 }, (_, i) => `p${i}`)].sort());
        expect(await orgs.permissionsOf('alpha', bob.id, at(10))).toEqual(['bobs']);
        expect(await orgs.permissionsOf('beta', alice.id, at(10))).toEqual([]);
        const v = await view({ maxOrgs: 50 });
        expect(v.orgs).toHaveLength(50);
        expect(v.truncated).toBe(true);
      });

      it('says whether the user has a live membership of an active org among the ones given', async () => {
        await join(alice, acme, { expiresAt: at(10) });
        const any = (ids: string[], when = at(5)) => orgs.memberOfAny('alpha', alice.id, when, ids, []);
        expect(await any([acme.id])).toBe(true);
        expect(await any([beta.id, acme.id])).toBe(true);
        expect(await any([beta.id])).toBe(false);
        expect(await any([])).toBe(false);
        expect(await any([acme.id], at(10))).toBe(false);
        expect(await orgs.memberOfAny('beta', alice.id, at(5), [acme.id], [])).toBe(false);
        await orgs.patchOrg('alpha', acme.id, { state: 'closed' }, at(1));
        expect(await any([acme.id])).toBe(false);
      });
    });
  });
}

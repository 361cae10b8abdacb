import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ORG_SORT_KEYS, type Membership, type Org, type OrgCursor, type OrgFilter, type OrgSort } from '../../src/domain/orgs.ts';
import { normalizeLogin } from '../../src/identity/user.ts';
import type { Directory } from '../../src/ports/directory.ts';
import type { OrgsPort } from '../../src/ports/orgs.ts';
import type { UsersAdminPort } from '../../src/ports/users-admin.ts';
import type { Store } from '../../src/store/port.ts';
import { realm, settingsOf } from './directory.contract.ts';
import { at, eventTypes, newEvent, newUser, T0 } from './store-fixtures.ts';

export interface OrgsRig {
  /** The store whose `orgs` is under test; users are made through it. */
  store: Store;
  /** Deletes users (their memberships go with them). */
  admin: UsersAdminPort;
  /** Purges realms (their orgs and memberships go with them). */
  directory: Directory;
  close(): Promise<void>;
}

export const ORG_ID = /^org_[A-Za-z0-9_-]{16}$/;

/** The membership createMembership made (failing the test when it refused). */
export function created(result: Awaited<ReturnType<OrgsPort['createMembership']>>): Membership {
  if (!('created' in result)) throw new Error(`refused: ${result.missing}`);
  return result.created;
}

/**
 * The orgs part of OrgsPort (src/ports/orgs.ts): every store adapter runs this suite.
 * `open` returns a fresh, empty, migrated store each time.
 */
export function orgsContract(name: string, open: () => Promise<OrgsRig>): void {
  describe(`Orgs contract: ${name}`, () => {
    let rig: OrgsRig;
    let orgs: OrgsPort;
    beforeEach(async () => {
      rig = await open();
      orgs = rig.store.orgs;
    });
    afterEach(async () => {
      await rig.close();
    });

    const org = (name: string, more: Partial<Parameters<OrgsPort['createOrg']>[0]> = {}, when = T0) => orgs.createOrg({ realmId: 'alpha', name, ...more }, when);

    /** Every org of a query, page by page (`limit` each), and the number of pages. */
    async function pageAll(filter: OrgFilter, sort: OrgSort, limit: number, realmId = 'alpha'): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let after: OrgCursor | null = null;
      let pages = 0;
      do {
        const page: { orgs: Org[]; next: OrgCursor | null } = await orgs.queryOrgs(realmId, filter, sort, after, limit);
        ids.push(...page.orgs.map((o) => o.id));
        after = page.next;
        pages++;
        expect(pages).toBeLessThan(1000);
      } while (after);
      return { ids, pages };
    }
    const idsOf = async (filter: OrgFilter, sort: OrgSort = { key: 'name', direction: 'asc' }) => (await orgs.queryOrgs('alpha', filter, sort, null, 1000)).orgs.map((o) => o.name);

    it('creates an org with a short prefixed id and the defaults, and finds it in its realm only', async () => {
      const acme = await org('Acme');
      expect(acme).toEqual({ id: expect.stringMatching(ORG_ID), realmId: 'alpha', name: 'Acme', reference: null, customAttributes: {}, state: 'active', createdAt: T0, updatedAt: T0 });
      expect(await orgs.findOrg('alpha', acme.id)).toEqual(acme);
      expect(await orgs.findOrg('beta', acme.id)).toBeNull();
      expect(await orgs.findOrg('alpha', 'org_AAAAAAAAAAAAAAAA')).toBeNull();
      const other = await org('Acme', { reference: 'ref-1', customAttributes: { plan: 'pro', seats: [1, 2] }, state: 'closed' });
      expect(other.id).not.toBe(acme.id);
      expect(await orgs.findOrg('alpha', other.id)).toEqual({ ...other, reference: 'ref-1', customAttributes: { plan: 'pro', seats: [1, 2] }, state: 'closed' });
    });

    it('patches each field, stamps updatedAt and leaves the rest; null clears the reference', async () => {
      const acme = await org('Acme', { reference: 'r1', customAttributes: { a: 1 } });
      const renamed = await orgs.patchOrg('alpha', acme.id, { name: 'Acme Corp' }, at(5));
      expect(renamed).toEqual({ ...acme, name: 'Acme Corp', updatedAt: at(5) });
      const closed = await orgs.patchOrg('alpha', acme.id, { state: 'closed', reference: null, customAttributes: { b: true } }, at(6));
      expect(closed).toEqual({ ...acme, name: 'Acme Corp', reference: null, customAttributes: { b: true }, state: 'closed', updatedAt: at(6) });
      expect(await orgs.findOrg('alpha', acme.id)).toEqual(closed);
      // The new name is what it sorts and is searched by.
      expect(await idsOf({ q: 'acme c' })).toEqual(['Acme Corp']);
    });

    it('patches nothing of another realm, nor an unknown org', async () => {
      const acme = await org('Acme');
      expect(await orgs.patchOrg('beta', acme.id, { name: 'Taken' }, at(1))).toBeNull();
      expect(await orgs.patchOrg('alpha', 'org_AAAAAAAAAAAAAAAA', { name: 'X' }, at(1))).toBeNull();
      expect(await orgs.findOrg('alpha', acme.id)).toEqual(acme);
    });

    it('deletes an org with its memberships, and leaves the other orgs’ and the user-only ones', async () => {
      const alice = await rig.store.createUser(newUser(), T0);
      const bob = await rig.store.createUser(newUser({ username: 'bob', email: 'bob@example.com' }), T0);
      const acme = await org('Acme');
      const beta = await org('Beta');
      for (const user of [alice, bob]) await orgs.createMembership({ realmId: 'alpha', userId: user.id, orgId: acme.id }, T0);
      const kept = await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: beta.id }, T0);
      const own = await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: null }, T0);
      expect(await orgs.deleteOrg('beta', acme.id)).toBeNull();
      expect(await orgs.deleteOrg('alpha', acme.id)).toEqual({ org: acme, memberships: 2 });
      expect(await orgs.findOrg('alpha', acme.id)).toBeNull();
      expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toBeNull();
      expect(await orgs.findMembershipOf('alpha', bob.id, acme.id)).toBeNull();
      expect(await orgs.findMembership('alpha', created(kept).id)).toEqual(created(kept));
      expect(await orgs.findMembership('alpha', created(own).id)).toEqual(created(own));
      expect(await orgs.deleteOrg('alpha', acme.id)).toBeNull();
    });

    it('filters by state, exact reference and creation time (both bounds exclusive), and counts the same', async () => {
      await org('A', { reference: 'r-1' }, at(0));
      await org('B', { reference: 'r-1', state: 'closed' }, at(1));
      await org('C', { reference: 'R-1' }, at(2));
      await org('D', {}, at(3));
      await orgs.createOrg({ realmId: 'beta', name: 'A', reference: 'r-1' }, at(1));
      const cases: Array<[OrgFilter, string[]]> = [
        [{}, ['A', 'B', 'C', 'D']],
        [{ state: 'active' }, ['A', 'C', 'D']],
        [{ state: 'closed' }, ['B']],
        [{ reference: 'r-1' }, ['A', 'B']],
        [{ reference: 'r-1', state: 'active' }, ['A']],
        [{ createdAfter: at(0) }, ['B', 'C', 'D']],
        [{ createdBefore: at(3) }, ['A', 'B', 'C']],
        [{ createdAfter: at(0), createdBefore: at(3) }, ['B', 'C']],
      ];
      for (const [filter, names] of cases) {
        expect(await idsOf(filter), JSON.stringify(filter)).toEqual(names);
        expect(await orgs.countOrgs('alpha', filter), JSON.stringify(filter)).toBe(names.length);
      }
      expect(await orgs.countOrgs('beta', {})).toBe(1);
      expect(await orgs.countOrgs('gamma', {})).toBe(0);
    });

    it('finds by a prefix of the name in any case, Unicode-aware, reading no character as a wildcard', async () => {
      for (const n of ['Acme', 'ACME Labs', 'acmé', 'Émile & Co', 'a_b', 'axb', 'a%c', 'Beta']) await org(n);
      expect(await idsOf({ q: 'acme' })).toEqual(['Acme', 'ACME Labs']);
      expect(await idsOf({ q: 'ACM' })).toEqual(['Acme', 'ACME Labs', 'acmé']);
      expect(await idsOf({ q: 'émile' })).toEqual(['Émile & Co']);
      expect(await idsOf({ q: 'ÉMI' })).toEqual(['Émile & Co']);
      expect(await idsOf({ q: 'a_' })).toEqual(['a_b']);
      expect(await idsOf({ q: 'a%' })).toEqual(['a%c']);
      expect(await idsOf({ q: 'a.' })).toEqual([]);
      expect(await orgs.countOrgs('alpha', { q: 'acm' })).toBe(3);
      expect(await orgs.countOrgs('alpha', { q: 'acm', state: 'closed' })).toBe(0);
    });

    it('sorts names in any case the way the folded name sorts', async () => {
      for (const n of ['beta', 'Alpha', 'gamma', 'ALPHA', 'Beta']) await org(n);
      const asc = await orgs.queryOrgs('alpha', {}, { key: 'name', direction: 'asc' }, null, 10);
      expect(asc.orgs.map((o) => normalizeLogin(o.name))).toEqual(['alpha', 'alpha', 'beta', 'beta', 'gamma']);
      const desc = await orgs.queryOrgs('alpha', {}, { key: 'name', direction: 'desc' }, null, 10);
      expect(desc.orgs.map((o) => o.id)).toEqual(asc.orgs.map((o) => o.id).reverse());
    });

    describe('paging 250 orgs', () => {
      let all: Org[];
      beforeEach(async () => {
        all = [];
        // Ties on both keys: 25 names in two cases, 7 times of creation.
        for (let i = 0; i < 250; i++) all.push(await org(`${i % 2 ? 'Org' : 'ORG'} ${String(i % 25).padStart(2, '0')}`, {}, at(i % 7)));
        await orgs.createOrg({ realmId: 'beta', name: 'ORG 00' }, T0);
      });
      const expected = (sort: OrgSort) => {
        const key = (o: Org) => (sort.key === 'name' ? normalizeLogin(o.name) : o.createdAt.getTime());
        const sorted = [...all].sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          return ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
        });
        return (sort.direction === 'asc' ? sorted : sorted.reverse()).map((o) => o.id);
      };

      for (const key of ORG_SORT_KEYS) {
        for (const direction of ['asc', 'desc'] as const) {
          it(`pages through every org once by ${key} ${direction}, ties included`, async () => {
            const { ids, pages } = await pageAll({}, { key, direction }, 17);
            expect(new Set(ids).size).toBe(250);
            expect(ids).toEqual(expected({ key, direction }));
            expect(pages).toBe(15);
          });
        }
      }

      it('pages a filtered query by its own keys, and says next is null on an exactly full last page', async () => {
        const { ids } = await pageAll({ q: 'org 0' }, { key: 'createdAt', direction: 'desc' }, 9);
        expect(ids).toEqual(expected({ key: 'createdAt', direction: 'desc' }).filter((id) => all.find((o) => o.id === id)!.name.toLowerCase().startsWith('org 0')));
        expect(ids).toHaveLength(100);
        const full = await orgs.queryOrgs('alpha', { q: 'org 00' }, { key: 'name', direction: 'asc' }, null, 10);
        expect(full.orgs).toHaveLength(10);
        expect(full.next).toBeNull();
        expect(await orgs.countOrgs('alpha', {})).toBe(250);
      });
    });

    it('purges a realm’s orgs and memberships with the realm, and leaves another realm’s', async () => {
      await rig.directory.createRealm(settingsOf(realm('mine')), T0);
      await rig.directory.createRealm(settingsOf(realm('other')), T0);
      const ann = await rig.store.createUser(newUser({ realmId: 'mine' }), T0);
      const bea = await rig.store.createUser(newUser({ realmId: 'other' }), T0);
      const mine = await orgs.createOrg({ realmId: 'mine', name: 'Acme' }, T0);
      const other = await orgs.createOrg({ realmId: 'other', name: 'Acme' }, T0);
      await orgs.createMembership({ realmId: 'mine', userId: ann.id, orgId: mine.id }, T0);
      await orgs.createMembership({ realmId: 'mine', userId: ann.id, orgId: null }, T0);
      const kept = await orgs.createMembership({ realmId: 'other', userId: bea.id, orgId: other.id }, T0);
      expect(await rig.directory.deleteRealm('mine', { force: true })).toBe('deleted');
      expect(await orgs.countOrgs('mine', {})).toBe(0);
      expect(await orgs.findOrg('mine', mine.id)).toBeNull();
      expect((await orgs.queryMemberships('mine', { includeExpired: true, at: T0 }, null, 10)).memberships).toEqual([]);
      expect(await orgs.findOrg('other', other.id)).toEqual(other);
      expect((await orgs.queryMemberships('other', { includeExpired: true, at: T0 }, null, 10)).memberships).toEqual([created(kept)]);
    });

    it('appends the events of each write with it, and none when the write finds nothing', async () => {
      const acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0, (o) => [newEvent(null, 'user.created', { data: null, at: o.createdAt })]);
      expect(await eventTypes(rig.store)).toEqual(['user.created']);
      const e = (r: unknown) => (r ? [newEvent(null, 'user.updated')] : []);
      await orgs.patchOrg('alpha', acme.id, { name: 'Acme 2' }, at(1), e);
      await orgs.patchOrg('alpha', 'org_AAAAAAAAAAAAAAAA', { name: 'X' }, at(1), e);
      await orgs.patchOrg('beta', acme.id, { name: 'X' }, at(1), e);
      expect(await eventTypes(rig.store)).toEqual(['user.created', 'user.updated']);
      await orgs.deleteOrg('alpha', acme.id, (r) => (r ? [newEvent(null, 'user.deleted', { data: null })] : []));
      await orgs.deleteOrg('alpha', acme.id, (r) => (r ? [newEvent(null, 'user.deleted', { data: null })] : []));
      expect(await eventTypes(rig.store)).toEqual(['user.created', 'user.updated', 'user.deleted']);
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InvitationLink, NewInvitationLink } from '../../src/domain/invitation-links.ts';
import type { CreatedCursor, Org } from '../../src/domain/orgs.ts';
import type { User } from '../../src/identity/user.ts';
import type { InvitationLinksPort } from '../../src/ports/invitation-links.ts';
import type { OrgsPort } from '../../src/ports/orgs.ts';
import { realm, settingsOf } from './directory.contract.ts';
import { created, type OrgsRig } from './orgs.contract.ts';
import { at, eventTypes, newEvent, newUser, T0 } from './store-fixtures.ts';

export const LINK_ID = /^invl_[A-Za-z0-9_-]{16}$/;
export const REQUEST_ID = /^jr_[A-Za-z0-9_-]{16}$/;

let tokens = 0;
const hash = () => `lhash-${++tokens}-${Math.random().toString(36).slice(2)}`;
const OP1 = { type: 'operator', id: 'op1' } as const;
const OP2 = { type: 'operator', id: 'op2' } as const;

/**
 * The invitation links port (src/ports/invitation-links.ts): every store adapter runs this suite. `open` returns
 * a fresh, empty, migrated store each time; `store.invitationLinks` is under test, `store.orgs` makes the orgs and
 * reads the memberships a join makes.
 */
export function invitationLinksContract(name: string, open: () => Promise<OrgsRig>): void {
  describe(`Invitation links contract: ${name}`, () => {
    let rig: OrgsRig;
    let links: InvitationLinksPort;
    let orgs: OrgsPort;
    let acme: Org;
    let alice: User;
    beforeEach(async () => {
      rig = await open();
      links = rig.store.invitationLinks;
      orgs = rig.store.orgs;
      acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      alice = await rig.store.createUser(newUser(), T0);
    });
    afterEach(async () => {
      await rig.close();
    });

    const link = async (more: Partial<NewInvitationLink> = {}, when = T0): Promise<InvitationLink & { token: string }> => {
      const tokenHash = more.tokenHash ?? hash();
      const made = await links.createLink({ realmId: 'alpha', orgId: acme.id, approval: false, createdBy: OP1, expiresAt: at(3600), tokenHash, ...more }, when);
      return { ...made, token: tokenHash };
    };

    it('creates a link with a short prefixed id and the defaults, found in its realm only, by id and by token', async () => {
      const l = await link();
      const { token, ...stored } = l;
      expect(stored).toEqual({
        id: expect.stringMatching(LINK_ID),
        realmId: 'alpha',
        name: null,
        orgId: acme.id,
        permissions: [],
        approval: false,
        returnTo: null,
        createdBy: OP1,
        expiresAt: at(3600),
        revokedAt: null,
        uses: 0,
        createdAt: T0,
      });
      expect(await links.findLink('alpha', l.id)).toEqual(stored);
      expect(await links.findLink('beta', l.id)).toBeNull();
      expect(await links.findLinkByToken('alpha', token, at(1))).toEqual(stored);
      expect(await links.findLinkByToken('beta', token, at(1))).toBeNull();
      expect(await links.findLinkByToken('alpha', 'nope', at(1))).toBeNull();
      const full = await link({ name: 'Fair 2026', orgId: null, permissions: ['a', 'b:*'], approval: true, returnTo: { clientId: 'app1', redirectUri: 'https://app.example.com/cb' }, createdBy: { type: 'api_key', id: 'mk_1' } });
      expect(await links.findLink('alpha', full.id)).toMatchObject({ name: 'Fair 2026', orgId: null, permissions: ['a', 'b:*'], approval: true, returnTo: { clientId: 'app1', redirectUri: 'https://app.example.com/cb' }, createdBy: { type: 'api_key', id: 'mk_1' } });
    });

    it('does not find an expired or a revoked link by its token; a revoke happens once (emit handed null after)', async () => {
      const l = await link({ expiresAt: at(60) });
      expect(await links.findLinkByToken('alpha', l.token, at(59))).not.toBeNull();
      expect(await links.findLinkByToken('alpha', l.token, at(60))).toBeNull();
      const r = await link();
      const seen: Array<InvitationLink | null> = [];
      const emit = (x: InvitationLink | null) => {
        seen.push(x);
        return x ? [newEvent(null, 'membership.updated')] : [];
      };
      expect(await links.revokeLink('alpha', r.id, at(5), emit)).toMatchObject({ id: r.id, revokedAt: at(5) });
      expect(await links.findLinkByToken('alpha', r.token, at(6))).toBeNull();
      expect(await links.revokeLink('alpha', r.id, at(7), emit)).toBeNull();
      expect(await links.revokeLink('beta', l.id, at(7))).toBeNull();
      expect(seen.map((x) => x?.id ?? null)).toEqual([r.id, null]);
      expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
    });

    it('lists newest first, by creator, paging without skipping or repeating', async () => {
      const made: InvitationLink[] = [];
      for (let n = 0; n < 11; n++) made.push(await link({ createdBy: n % 3 ? OP1 : OP2 }, at(n % 4)));
      await links.createLink({ realmId: 'beta', approval: false, createdBy: OP1, expiresAt: at(999), tokenHash: hash() }, T0);
      const ids: string[] = [];
      let after: CreatedCursor | null = null;
      let pages = 0;
      do {
        const page: { links: InvitationLink[]; next: CreatedCursor | null } = await links.queryLinks('alpha', {}, after, 3);
        ids.push(...page.links.map((l) => l.id));
        after = page.next;
        expect(++pages).toBeLessThan(10);
      } while (after);
      expect(ids).toEqual([...made].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((l) => l.id));
      expect((await links.queryLinks('alpha', { createdBy: OP2 }, null, 100)).links.map((l) => l.id).sort()).toEqual(made.filter((_, n) => n % 3 === 0).map((l) => l.id).sort());
      expect((await links.queryLinks('alpha', { createdBy: { type: 'system', id: null } }, null, 100)).links).toEqual([]);
      expect((await links.queryLinks('alpha', {}, null, 0)).links).toEqual([]);
    });

    it('reset all (revokeLinksBy) revokes only that creator’s live links: not another operator’s, a key’s, another realm’s, nor expired or revoked ones again', async () => {
      const mine = [await link(), await link({ approval: true })];
      const expired = await link({ expiresAt: at(10) });
      const revoked = await link();
      await links.revokeLink('alpha', revoked.id, at(1));
      const theirs = await link({ createdBy: OP2 });
      const key = await link({ createdBy: { type: 'api_key', id: 'op1' } });
      const elsewhere = await links.createLink({ realmId: 'beta', approval: false, createdBy: OP1, expiresAt: at(999), tokenHash: hash() }, T0);
      const seen: InvitationLink[][] = [];
      const n = await links.revokeLinksBy('alpha', OP1, at(20), (ls) => {
        seen.push(ls);
        return ls.map(() => newEvent(null, 'membership.updated'));
      });
      expect(n).toBe(2);
      expect(seen[0]!.map((l) => l.id).sort()).toEqual(mine.map((l) => l.id).sort());
      expect(await eventTypes(rig.store)).toEqual(['membership.updated', 'membership.updated']);
      for (const l of mine) expect((await links.findLink('alpha', l.id))!.revokedAt).toEqual(at(20));
      expect((await links.findLink('alpha', expired.id))!.revokedAt).toBeNull();
      expect((await links.findLink('alpha', revoked.id))!.revokedAt).toEqual(at(1));
      expect(await links.findLinkByToken('alpha', theirs.token, at(21))).not.toBeNull();
      expect(await links.findLinkByToken('alpha', key.token, at(21))).not.toBeNull();
      expect((await links.findLink('beta', elsewhere.id))!.revokedAt).toBeNull();
      expect(await links.revokeLinksBy('alpha', OP1, at(30))).toBe(0);
    });

    it('a join counts the use and makes the membership with the link’s permissions, in one write with its events; again it widens', async () => {
      const l = await link({ permissions: ['a', 'b'] });
      const r = await links.useLink('alpha', l.id, alice.id, at(5), 20, (u) => [newEvent(u.membership!.userId, 'membership.created')]);
      if (!('link' in r)) throw new Error('refused');
      expect(r.link.uses).toBe(1);
      expect(r.created).toBe(true);
      expect(r.membership).toMatchObject({ userId: alice.id, orgId: acme.id, permissions: ['a', 'b'], expiresAt: null });
      expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toEqual(r.membership);
      expect(await eventTypes(rig.store)).toEqual(['membership.created']);
      const m = created(await orgs.createMembership({ realmId: 'alpha', userId: (await rig.store.createUser(newUser({ username: 'bob', email: 'bob@example.com' }), T0)).id, orgId: acme.id, permissions: ['x'], expiresAt: at(1) }, T0));
      const again = await links.useLink('alpha', l.id, m.userId, at(6), 2);
      expect('link' in again && again.created === false && again.membership!.permissions).toEqual(['x', 'a']);
      expect((await links.findLink('alpha', l.id))!.uses).toBe(2);
      // A link without an org: counted, no membership.
      const bare = await link({ orgId: null });
      const r2 = await links.useLink('alpha', bare.id, alice.id, at(7), 20);
      expect('link' in r2 && r2.membership).toBeNull();
    });

    it('a join is refused (nothing written) through an expired, revoked, approval, unknown or another realm’s link, by a missing user, into a closed org', async () => {
      const expired = await link({ expiresAt: at(10) });
      const revoked = await link();
      await links.revokeLink('alpha', revoked.id, at(1));
      const approval = await link({ approval: true });
      const elsewhere = await links.createLink({ realmId: 'beta', orgId: acme.id, approval: false, createdBy: OP1, expiresAt: at(999), tokenHash: hash() }, T0);
      for (const [realmId, id] of [['alpha', expired.id], ['alpha', revoked.id], ['alpha', approval.id], ['alpha', 'invl_nope'], ['alpha', elsewhere.id]] as const) {
        expect(await links.useLink(realmId, id, alice.id, at(10), 20, [newEvent(null)]), id).toEqual({ gone: true });
      }
      const l = await link();
      expect(await links.useLink('alpha', l.id, 'no-such-user', at(11), 20, [newEvent(null)])).toEqual({ missing: 'user' });
      await orgs.patchOrg('alpha', acme.id, { state: 'closed' }, at(12));
      expect(await links.useLink('alpha', l.id, alice.id, at(13), 20, [newEvent(null)])).toEqual({ missing: 'org_closed' });
      expect((await links.findLink('alpha', l.id))!.uses).toBe(0);
      expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toBeNull();
      expect(await eventTypes(rig.store)).toEqual([]);
    });

    it('join requests: created pending, listed newest first by status; rejected once with the reason and the decider', async () => {
      const l = await link({ approval: true });
      const r1 = await links.createJoinRequest({ realmId: 'alpha', linkId: l.id, name: 'Ann', email: 'ann@example.com' }, at(1), (r) => [newEvent(null, 'membership.updated')]);
      expect(r1).toEqual({ id: expect.stringMatching(REQUEST_ID), realmId: 'alpha', linkId: l.id, name: 'Ann', email: 'ann@example.com', userId: null, status: 'pending', decidedBy: null, decidedAt: null, reason: null, createdAt: at(1) });
      const r2 = await links.createJoinRequest({ realmId: 'alpha', linkId: l.id, name: 'Ben', email: 'ben@example.com' }, at(2));
      expect(await links.findJoinRequest('alpha', r1.id)).toEqual(r1);
      expect(await links.findJoinRequest('beta', r1.id)).toBeNull();
      const d = await links.decideJoinRequest('alpha', r2.id, { status: 'rejected', reason: 'unknown to us' }, OP2, at(3));
      expect('request' in d && d.request).toMatchObject({ status: 'rejected', reason: 'unknown to us', decidedBy: OP2, decidedAt: at(3), userId: null });
      expect(await links.decideJoinRequest('alpha', r2.id, { status: 'approved', userId: alice.id, maxPermissions: 20 }, OP1, at(4))).toEqual({ gone: true });
      expect(await links.decideJoinRequest('beta', r1.id, { status: 'rejected' }, OP1, at(4))).toEqual({ gone: true });
      expect((await links.queryJoinRequests('alpha', {}, null, 10)).requests.map((r) => r.id)).toEqual([r2.id, r1.id]);
      expect((await links.queryJoinRequests('alpha', { status: 'pending' }, null, 10)).requests.map((r) => r.id)).toEqual([r1.id]);
      expect([await links.countJoinRequests('alpha', 'pending'), await links.countJoinRequests('alpha', 'rejected'), await links.countJoinRequests('alpha', 'approved'), await links.countJoinRequests('beta', 'pending')]).toEqual([1, 1, 0, 0]);
      const page = await links.queryJoinRequests('alpha', {}, null, 1);
      expect(page.requests.map((r) => r.id)).toEqual([r2.id]);
      expect((await links.queryJoinRequests('alpha', {}, page.next, 1)).requests.map((r) => r.id)).toEqual([r1.id]);
      expect((await links.findLink('alpha', l.id))!.uses).toBe(0);
      expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
    });

    it('approving decides once of 10 concurrent decisions: one membership, the use counted once, its events once', async () => {
      const l = await link({ approval: true, permissions: ['p'] });
      const r = await links.createJoinRequest({ realmId: 'alpha', linkId: l.id, name: 'Alice', email: alice.email! }, at(1));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          links.decideJoinRequest('alpha', r.id, n % 2 ? { status: 'rejected' } : { status: 'approved', userId: alice.id, maxPermissions: 20 }, OP1, at(n + 2), () => [newEvent(alice.id, 'membership.updated')]),
        ),
      );
      const won = results.filter((x) => 'request' in x);
      expect(won).toHaveLength(1);
      expect(results.filter((x) => 'gone' in x)).toHaveLength(9);
      expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
      const decided = (await links.findJoinRequest('alpha', r.id))!;
      if (decided.status === 'approved') {
        expect(decided.userId).toBe(alice.id);
        expect((await orgs.findMembershipOf('alpha', alice.id, acme.id))!.permissions).toEqual(['p']);
        expect((await links.findLink('alpha', l.id))!.uses).toBe(1);
      } else {
        expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toBeNull();
        expect((await links.findLink('alpha', l.id))!.uses).toBe(0);
      }
    });

    it('an approval for a missing user or into a closed org leaves the request pending, nothing written', async () => {
      const l = await link({ approval: true });
      const r = await links.createJoinRequest({ realmId: 'alpha', linkId: l.id, name: 'Alice', email: alice.email! }, at(1));
      expect(await links.decideJoinRequest('alpha', r.id, { status: 'approved', userId: 'nobody', maxPermissions: 20 }, OP1, at(2), [newEvent(null)])).toEqual({ missing: 'user' });
      await orgs.patchOrg('alpha', acme.id, { state: 'closed' }, at(3));
      expect(await links.decideJoinRequest('alpha', r.id, { status: 'approved', userId: alice.id, maxPermissions: 20 }, OP1, at(4), [newEvent(null)])).toEqual({ missing: 'org_closed' });
      expect((await links.findJoinRequest('alpha', r.id))!.status).toBe('pending');
      expect((await links.findLink('alpha', l.id))!.uses).toBe(0);
      expect(await eventTypes(rig.store)).toEqual([]);
    });

    it('purges a realm’s links and join requests with the realm, and leaves another realm’s', async () => {
      await rig.directory.createRealm(settingsOf(realm('mine')), T0);
      await rig.directory.createRealm(settingsOf(realm('other')), T0);
      const mk = async (realmId: string) => {
        const l = await links.createLink({ realmId, approval: true, createdBy: OP1, expiresAt: at(999), tokenHash: hash() }, T0);
        return { l, r: await links.createJoinRequest({ realmId, linkId: l.id, name: 'A', email: 'a@example.com' }, T0) };
      };
      const mine = await mk('mine');
      const other = await mk('other');
      expect(await rig.directory.deleteRealm('mine', { force: true })).toBe('deleted');
      expect(await links.findLink('mine', mine.l.id)).toBeNull();
      expect(await links.findJoinRequest('mine', mine.r.id)).toBeNull();
      expect(await links.findLink('other', other.l.id)).not.toBeNull();
      expect(await links.findJoinRequest('other', other.r.id)).not.toBeNull();
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Invitation, NewInvitation } from '../../src/domain/invitations.ts';
import type { CreatedCursor, Org } from '../../src/domain/orgs.ts';
import type { User } from '../../src/identity/user.ts';
import type { InvitationsPort } from '../../src/ports/invitations.ts';
import type { OrgsPort } from '../../src/ports/orgs.ts';
import { realm, settingsOf } from './directory.contract.ts';
import { created, type OrgsRig } from './orgs.contract.ts';
import { at, eventTypes, newEvent, newUser, T0 } from './store-fixtures.ts';

export const INVITATION_ID = /^inv_[A-Za-z0-9_-]{16}$/;

const DAY = 86_400_000;
let tokens = 0;
/** A token hash no other invitation of the run has (the service's HMAC, as far as the store can tell). */
const hash = () => `hash-${++tokens}-${Math.random().toString(36).slice(2)}`;

/**
 * The invitations port (src/ports/invitations.ts): every store adapter runs this suite. `open` returns a fresh,
 * empty, migrated store each time; `store.invitations` is under test, `store.orgs` makes the orgs and reads
 * the memberships an accept makes.
 */
export function invitationsContract(name: string, open: () => Promise<OrgsRig>): void {
  describe(`Invitations contract: ${name}`, () => {
    let rig: OrgsRig;
    let inv: InvitationsPort;
    let orgs: OrgsPort;
    let acme: Org;
    let alice: User;
    beforeEach(async () => {
      rig = await open();
      inv = rig.store.invitations;
      orgs = rig.store.orgs;
      acme = await orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      alice = await rig.store.createUser(newUser(), T0);
    });
    afterEach(async () => {
      await rig.close();
    });

    const invite = async (more: Partial<NewInvitation> = {}, when = T0): Promise<Invitation & { token: string }> => {
      const tokenHash = more.tokenHash ?? hash();
      const made = await inv.createInvitation(
        { realmId: 'alpha', orgId: acme.id, email: 'Alice@Example.com', createdBy: { type: 'api_key', id: 'mk_1' }, expiresAt: new Date(when.getTime() + 7 * DAY), tokenHash, ...more },
        when,
      );
      return { ...made, token: tokenHash };
    };

    describe('create, find, list', () => {
      it('creates a pending invitation with a short prefixed id and the defaults, found in its realm only, by id and by token', async () => {
        const i = await invite();
        const { token, ...stored } = i;
        expect(stored).toEqual({
          id: expect.stringMatching(INVITATION_ID),
          realmId: 'alpha',
          orgId: acme.id,
          email: 'Alice@Example.com',
          name: null,
          permissions: [],
          returnTo: null,
          createdBy: { type: 'api_key', id: 'mk_1' },
          status: 'pending',
          expiresAt: new Date(T0.getTime() + 7 * DAY),
          sentCount: 1,
          lastSentAt: T0,
          acceptedBy: null,
          acceptedAt: null,
          createdAt: T0,
        });
        expect(await inv.findInvitation('alpha', i.id)).toEqual(stored);
        expect(await inv.findInvitation('beta', i.id)).toBeNull();
        expect(await inv.findInvitationByToken('alpha', token, at(1))).toEqual(stored);
        expect(await inv.findInvitationByToken('beta', token, at(1))).toBeNull();
        expect(await inv.findInvitationByToken('alpha', 'nope', at(1))).toBeNull();
        const full = await invite({ name: 'Alice L', permissions: ['billing:*', 'a'], returnTo: { clientId: 'app1', redirectUri: 'https://app.example.com/cb', state: 's' }, createdBy: { type: 'operator', id: 'op1' } });
        expect(await inv.findInvitation('alpha', full.id)).toMatchObject({ name: 'Alice L', permissions: ['billing:*', 'a'], returnTo: { clientId: 'app1', redirectUri: 'https://app.example.com/cb', state: 's' }, createdBy: { type: 'operator', id: 'op1' } });
      });

      it('does not find an expired invitation by its token (it stays pending)', async () => {
        const i = await invite({ expiresAt: at(60) });
        expect(await inv.findInvitationByToken('alpha', i.token, at(59))).not.toBeNull();
        expect(await inv.findInvitationByToken('alpha', i.token, at(60))).toBeNull();
        expect((await inv.findInvitation('alpha', i.id))!.status).toBe('pending');
      });

      it('lists newest first by org, status and a prefix of the address or the name (any case), paging without skipping or repeating', async () => {
        const beta = await orgs.createOrg({ realmId: 'alpha', name: 'Beta' }, T0);
        const made: Invitation[] = [];
        for (let n = 0; n < 25; n++) made.push(await invite({ email: `user${n}@example.com`, orgId: n % 2 ? beta.id : acme.id, name: n === 3 ? 'Zoë Q' : null }, at(n % 5)));
        await inv.createInvitation({ realmId: 'beta', orgId: acme.id, email: 'user1@example.com', createdBy: { type: 'system', id: null }, expiresAt: at(999), tokenHash: hash() }, T0);
        const ids: string[] = [];
        let after: CreatedCursor | null = null;
        let pages = 0;
        do {
          const page: { invitations: Invitation[]; next: CreatedCursor | null } = await inv.queryInvitations('alpha', {}, after, 4);
          ids.push(...page.invitations.map((i) => i.id));
          after = page.next;
          expect(++pages).toBeLessThan(20);
        } while (after);
        const newestFirst = [...made].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((i) => i.id);
        expect(ids).toEqual(newestFirst);
        const list = async (q: Parameters<InvitationsPort['queryInvitations']>[1]) => (await inv.queryInvitations('alpha', q, null, 100)).invitations.map((i) => i.email).sort();
        expect(await list({ orgId: beta.id })).toHaveLength(12);
        expect(await list({ q: 'USER1' })).toEqual(['user1@example.com', ...Array.from({ length: 10 }, (_, k) => `user1${k}@example.com`)].sort());
        expect(await list({ q: 'zoë' })).toEqual(['user3@example.com']);
        expect(await list({ q: 'user_' })).toEqual([]);
        await inv.revokeInvitation('alpha', made[0]!.id, at(9));
        expect(await list({ status: 'revoked' })).toEqual(['user0@example.com']);
        expect(await list({ status: 'pending', orgId: acme.id })).toHaveLength(12);
        expect((await inv.queryInvitations('alpha', {}, null, 0)).invitations).toEqual([]);
      });
    });

    describe('resend and revoke', () => {
      it('resend replaces the token (the old one is dead at once), the expiry and counts the send; also revives an expired one', async () => {
        const i = await invite({ expiresAt: at(60) });
        const fresh = hash();
        const r = await inv.replaceInvitationToken('alpha', i.id, fresh, at(10_000), at(120), [newEvent(null, 'membership.updated')]);
        expect(r).toMatchObject({ id: i.id, status: 'pending', expiresAt: at(10_000), sentCount: 2, lastSentAt: at(120) });
        expect(await inv.findInvitationByToken('alpha', i.token, at(121))).toBeNull();
        expect((await inv.findInvitationByToken('alpha', fresh, at(121)))!.id).toBe(i.id);
        expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
        expect(await inv.replaceInvitationToken('beta', i.id, hash(), at(10_000), at(130))).toBeNull();
      });

      it('revokes a pending invitation once: its token is dead; an accepted or revoked one is neither resent nor revoked (emit handed null)', async () => {
        const i = await invite();
        const seen: Array<Invitation | null> = [];
        const emit = (x: Invitation | null) => {
          seen.push(x);
          return x ? [newEvent(null, 'membership.updated')] : [];
        };
        expect(await inv.revokeInvitation('alpha', i.id, at(5), emit)).toMatchObject({ id: i.id, status: 'revoked' });
        expect(await inv.findInvitationByToken('alpha', i.token, at(6))).toBeNull();
        expect(await inv.revokeInvitation('alpha', i.id, at(7), emit)).toBeNull();
        expect(await inv.replaceInvitationToken('alpha', i.id, hash(), at(9999), at(8), emit)).toBeNull();
        expect(seen.map((x) => x?.status ?? null)).toEqual(['revoked', null, null]);
        expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
        const j = await invite();
        expect('membership' in (await inv.acceptInvitation('alpha', j.token, alice.id, at(1), 20))).toBe(true);
        expect(await inv.revokeInvitation('alpha', j.id, at(2))).toBeNull();
        expect(await inv.replaceInvitationToken('alpha', j.id, hash(), at(9999), at(2))).toBeNull();
        expect((await inv.findInvitation('alpha', j.id))!.status).toBe('accepted');
      });
    });

    describe('accept', () => {
      it('marks the invitation accepted and makes the membership with its permissions, with the events, in one write; a second accept is gone', async () => {
        const i = await invite({ permissions: ['a', 'b'] });
        const result = await inv.acceptInvitation('alpha', i.token, alice.id, at(30), 20, (r) => [newEvent(r.membership.userId, 'membership.updated')]);
        if (!('membership' in result)) throw new Error('refused');
        expect(result.created).toBe(true);
        expect(result.invitation).toMatchObject({ id: i.id, status: 'accepted', acceptedBy: alice.id, acceptedAt: at(30) });
        expect(result.membership).toMatchObject({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['a', 'b'], expiresAt: null, createdAt: at(30) });
        expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toEqual(result.membership);
        expect(await inv.findInvitation('alpha', i.id)).toEqual(result.invitation);
        expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
        expect(await inv.acceptInvitation('alpha', i.token, alice.id, at(31), 20, [newEvent(null)])).toEqual({ gone: true });
        expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
      });

      it('is gone for an expired, revoked, unknown or another realm’s token — nothing written', async () => {
        const expired = await invite({ expiresAt: at(10) });
        const revoked = await invite();
        await inv.revokeInvitation('alpha', revoked.id, at(1));
        for (const [realmId, token] of [['alpha', expired.token], ['alpha', revoked.token], ['alpha', 'nope'], ['beta', (await invite()).token]] as const) {
          expect(await inv.acceptInvitation(realmId, token, alice.id, at(10), 20, [newEvent(null)]), token).toEqual({ gone: true });
        }
        expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toBeNull();
        expect((await inv.findInvitation('alpha', expired.id))!.status).toBe('pending');
        expect(await eventTypes(rig.store)).toEqual([]);
      });

      it('refuses a missing user, a closed or deleted org, leaving the invitation pending and writing nothing', async () => {
        const i = await invite();
        expect(await inv.acceptInvitation('alpha', i.token, 'no-such-user', at(1), 20, [newEvent(null)])).toEqual({ missing: 'user' });
        await orgs.patchOrg('alpha', acme.id, { state: 'closed' }, at(2));
        expect(await inv.acceptInvitation('alpha', i.token, alice.id, at(3), 20, [newEvent(null)])).toEqual({ missing: 'org_closed' });
        expect((await inv.findInvitationByToken('alpha', i.token, at(4)))!.status).toBe('pending');
        expect(await orgs.findMembershipOf('alpha', alice.id, acme.id)).toBeNull();
        expect(await eventTypes(rig.store)).toEqual([]);
        // Reopened, it works; deleting the org takes its invitations.
        await orgs.patchOrg('alpha', acme.id, { state: 'active' }, at(5));
        expect('membership' in (await inv.acceptInvitation('alpha', i.token, alice.id, at(6), 20))).toBe(true);
        const other = await invite();
        await orgs.deleteOrg('alpha', acme.id);
        expect(await inv.findInvitation('alpha', other.id)).toBeNull();
        expect(await inv.findInvitation('alpha', i.id)).toBeNull();
      });

      it('widens an existing (even expired) membership: permissions unioned within the maximum, its own kept first, its expiry cleared', async () => {
        const m = created(await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['a', 'b'], expiresAt: at(5) }, T0));
        const i = await invite({ permissions: ['b', 'c', 'd', 'e'] });
        const result = await inv.acceptInvitation('alpha', i.token, alice.id, at(100), 4);
        if (!('membership' in result)) throw new Error('refused');
        expect(result.created).toBe(false);
        expect(result.membership).toEqual({ ...m, permissions: ['a', 'b', 'c', 'd'], expiresAt: null, updatedAt: at(100) });
        expect(await orgs.findMembership('alpha', m.id)).toEqual(result.membership);
        // A new membership is capped too.
        const bob = await rig.store.createUser(newUser({ username: 'bob', email: 'bob@example.com' }), T0);
        const j = await invite({ email: 'bob@example.com', permissions: ['x', 'y', 'z'] });
        const r2 = await inv.acceptInvitation('alpha', j.token, bob.id, at(101), 2);
        expect('membership' in r2 && r2.membership.permissions).toEqual(['x', 'y']);
      });

      it('a member’s invitation (createdBy a user) widens an existing membership’s permissions but keeps its expiry', async () => {
        const m = created(await orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['a'], expiresAt: at(500) }, T0));
        const i = await invite({ permissions: ['a', 'b'], createdBy: { type: 'user', id: alice.id } });
        const result = await inv.acceptInvitation('alpha', i.token, alice.id, at(100), 20);
        if (!('membership' in result)) throw new Error('refused');
        expect(result.membership).toEqual({ ...m, permissions: ['a', 'b'], expiresAt: at(500), updatedAt: at(100) });
        expect(await orgs.findMembership('alpha', m.id)).toEqual(result.membership);
      });

      it('accepts exactly one of 20 concurrent accepts of one token; one membership', async () => {
        const i = await invite({ permissions: ['a'] });
        const results = await Promise.all(Array.from({ length: 20 }, (_, n) => inv.acceptInvitation('alpha', i.token, alice.id, at(n + 1), 20, (r) => [newEvent(r.membership.userId, 'membership.updated')])));
        expect(results.filter((r) => 'membership' in r)).toHaveLength(1);
        expect(results.filter((r) => 'gone' in r)).toHaveLength(19);
        expect((await orgs.queryMemberships('alpha', { userId: alice.id, includeExpired: true, at: T0 }, null, 100)).memberships).toHaveLength(1);
        expect(await eventTypes(rig.store)).toEqual(['membership.updated']);
      });
    });

    it('purges a realm’s invitations with the realm, and leaves another realm’s', async () => {
      await rig.directory.createRealm(settingsOf(realm('mine')), T0);
      await rig.directory.createRealm(settingsOf(realm('other')), T0);
      const mk = (realmId: string) => inv.createInvitation({ realmId, orgId: 'org_x', email: 'a@example.com', createdBy: { type: 'system', id: null }, expiresAt: at(999), tokenHash: hash() }, T0);
      const mine = await mk('mine');
      const other = await mk('other');
      expect(await rig.directory.deleteRealm('mine', { force: true })).toBe('deleted');
      expect(await inv.findInvitation('mine', mine.id)).toBeNull();
      expect(await inv.findInvitation('other', other.id)).not.toBeNull();
    });
  });
}

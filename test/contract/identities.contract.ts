import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExternalIdentity, IdentitiesPort } from '../../src/ports/identities.ts';
import type { UsersPort } from '../../src/ports/users.ts';
import { T0, at, eventTypes, newEvent, newUser, uniqueViolationOf, type Opened, type WithEvents } from './store-fixtures.ts';

/**
 * The contract of the identities port (src/ports/identities.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function identitiesContract(name: string, open: () => Promise<Opened<IdentitiesPort & UsersPort & WithEvents>>): void {
  describe(`Identities contract: ${name}`, () => {
    let store: Opened<IdentitiesPort & UsersPort & WithEvents>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('external identities', () => {
      it('lists none for a user without linked providers', async () => {
        expect(await store.listExternalIdentities('alpha', 'u1')).toEqual([]);
      });

      const identity = (overrides: Partial<ExternalIdentity> = {}) => ({
        realmId: 'alpha',
        provider: 'github',
        subject: '1001',
        userId: 'u1',
        displayName: 'octocat',
        email: 'octo@example.com',
        createdAt: at(10),
        ...overrides,
      });

      it('links an identity, finds it by provider subject and lists it for its user', async () => {
        await store.linkExternalIdentity(identity());
        await store.linkExternalIdentity(identity({ provider: 'google', subject: 'g-1', displayName: null, createdAt: at(20) }));
        expect(await store.findExternalIdentity('alpha', 'github', '1001')).toEqual(identity());
        expect(await store.findExternalIdentity('alpha', 'github', '1002')).toBeNull();
        expect(await store.findExternalIdentity('beta', 'github', '1001')).toBeNull();
        expect((await store.listExternalIdentities('alpha', 'u1')).map((i) => i.provider)).toEqual(['github', 'google']);
      });

      it('refuses a provider subject linked to another user, and a second identity of one provider for a user', async () => {
        await store.linkExternalIdentity(identity());
        expect((await uniqueViolationOf(() => store.linkExternalIdentity(identity({ userId: 'u2' })))).field).toBe('identity');
        expect((await uniqueViolationOf(() => store.linkExternalIdentity(identity({ subject: '2002' })))).field).toBe('identity');
        // Another realm is another namespace.
        await store.linkExternalIdentity(identity({ realmId: 'beta' }));
      });

      it('unlinks unless it is the last way in: a password or an identity of the named providers keeps one', async () => {
        const withPassword = await store.createUser(newUser(), T0);
        const bare = await store.createUser(newUser({ username: 'bare', email: 'bare@example.com', passwordHash: null }), T0);
        await store.linkExternalIdentity(identity({ userId: withPassword.id }));
        await store.linkExternalIdentity(identity({ userId: bare.id, subject: '2' }));
        await store.linkExternalIdentity(identity({ userId: bare.id, provider: 'google', subject: 'g-2' }));
        await store.linkExternalIdentity(identity({ userId: bare.id, provider: 'retired', subject: 'r-2' }));
        const enabled = { providers: ['github', 'google'] };
        expect(await store.unlinkExternalIdentity('alpha', withPassword.id, 'github', enabled)).toBe(true);
        expect(await store.unlinkExternalIdentity('alpha', bare.id, 'github', enabled)).toBe(true);
        // Only google (enabled) and retired (not among the providers) are left: google is the last way in.
        expect(await store.unlinkExternalIdentity('alpha', bare.id, 'google', enabled)).toBe(false);
        expect((await store.listExternalIdentities('alpha', bare.id)).map((i) => i.provider).sort()).toEqual(['google', 'retired']);
        // Parallel unlinks of the last two: one at most succeeds.
        await store.linkExternalIdentity(identity({ userId: bare.id, subject: '3' }));
        const both = await Promise.all([store.unlinkExternalIdentity('alpha', bare.id, 'github', enabled), store.unlinkExternalIdentity('alpha', bare.id, 'google', enabled)]);
        expect(both.filter(Boolean)).toHaveLength(1);
      });

      it('creates a user with an identity in one step, or neither when the identity is linked already', async () => {
        const user = await store.createUser(newUser({ passwordHash: null, photo: 'https://img.example/a.png', identity: { provider: 'github', subject: '7', displayName: 'al', email: null } }), T0);
        expect(user.photo).toBe('https://img.example/a.png');
        expect(await store.findExternalIdentity('alpha', 'github', '7')).toMatchObject({ userId: user.id, displayName: 'al', createdAt: T0 });
        const again = newUser({ username: 'other', email: 'other@example.com', identity: { provider: 'github', subject: '7', displayName: null, email: null } });
        expect((await uniqueViolationOf(() => store.createUser(again, T0))).field).toBe('identity');
        expect(await store.findUserByLogin('alpha', 'other')).toBeNull();
      });

      it('unlinks one provider of one user', async () => {
        await store.linkExternalIdentity(identity());
        await store.linkExternalIdentity(identity({ provider: 'google', subject: 'g-1' }));
        expect(await store.unlinkExternalIdentity('alpha', 'u2', 'github')).toBe(false);
        expect(await store.unlinkExternalIdentity('alpha', 'u1', 'github')).toBe(true);
        expect(await store.unlinkExternalIdentity('alpha', 'u1', 'github')).toBe(false);
        expect((await store.listExternalIdentities('alpha', 'u1')).map((i) => i.provider)).toEqual(['google']);
        expect(await store.findExternalIdentity('alpha', 'github', '1001')).toBeNull();
      });
    });

    describe('events with the change', () => {
      const identity = (overrides: Partial<ExternalIdentity> = {}): ExternalIdentity => ({
        realmId: 'alpha',
        provider: 'github',
        subject: '1001',
        userId: 'u1',
        displayName: null,
        email: null,
        createdAt: T0,
        ...overrides,
      });
      const unlinked = (removed: boolean) => (removed ? [newEvent('u1', 'user.identity.unlinked')] : []);

      it('appends the event of a link with it, and none when the link is refused', async () => {
        await store.linkExternalIdentity(identity(), [newEvent('u1', 'user.identity.linked')]);
        await uniqueViolationOf(() => store.linkExternalIdentity(identity({ userId: 'u2' }), [newEvent('u2', 'user.identity.linked')]));
        expect(await eventTypes(store)).toEqual(['user.identity.linked']);
      });

      it('appends the event of an unlink only when it removed the identity', async () => {
        const user = await store.createUser(newUser({ passwordHash: null }), T0);
        await store.linkExternalIdentity(identity({ userId: user.id }));
        const unlinkedOf = (removed: boolean) => (removed ? [newEvent(user.id, 'user.identity.unlinked')] : []);
        // The last way in: refused, and nothing recorded.
        expect(await store.unlinkExternalIdentity('alpha', user.id, 'github', { providers: ['github'] }, unlinkedOf)).toBe(false);
        expect(await store.unlinkExternalIdentity('alpha', user.id, 'github', undefined, unlinkedOf)).toBe(true);
        expect(await store.unlinkExternalIdentity('alpha', 'u1', 'github', undefined, unlinked)).toBe(false);
        expect(await eventTypes(store)).toEqual(['user.identity.unlinked']);
      });
    });
  });
}

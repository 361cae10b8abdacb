import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { USER_SORT_KEYS, type UserCursor, type UserFilter, type UserSort, type UserSortKey } from '../../src/domain/user-query.ts';
import type { User } from '../../src/identity/user.ts';
import type { UsersAdminPort } from '../../src/ports/users-admin.ts';
import { UniqueViolation, type NewUser, type Store } from '../../src/store/port.ts';
import { eventTypes, newEvent } from './store-fixtures.ts';

export interface UsersAdminRig {
  admin: UsersAdminPort;
  /** The store on the same database: users are created, logged in and given credentials through it. */
  store: Store;
  close(): Promise<void>;
}

/**
 * The users-admin port's contract (src/ports/users-admin.ts): every store adapter runs this suite.
 * `open` returns a fresh, empty, migrated store and the port on it each time.
 */
export function usersAdminContract(name: string, open: () => Promise<UsersAdminRig>): void {
  describe(`Users admin contract: ${name}`, () => {
    let rig: UsersAdminRig;
    let admin: UsersAdminPort;
    let store: Store;
    beforeEach(async () => {
      rig = await open();
      admin = rig.admin;
      store = rig.store;
    });
    afterEach(async () => {
      await rig.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    function newUser(username: string, overrides: Partial<NewUser> = {}): NewUser {
      return {
        realmId: 'alpha',
        userType: 'human',
        username,
        email: `${username}@example.com`,
        emailUnique: true,
        emailVerification: 'none',
        firstName: null,
        lastName: null,
        locale: 'en',
        passwordHash: null,
        ...overrides,
      };
    }

    /** Runs `fn` expecting a UniqueViolation and returns it. */
    async function uniqueViolationOf(fn: () => Promise<unknown>): Promise<UniqueViolation> {
      const err = await fn().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UniqueViolation);
      return err as UniqueViolation;
    }

    /**
     * Eight users of alpha with ties on every key but the username (two share a time of creation, a
     * last login, a name, no email, a state) and two of beta that look like alpha's.
     */
    async function seed(): Promise<Record<string, User>> {
      const u: Record<string, User> = {};
      u.alice = await store.createUser(newUser('alice', { email: 'Alice@Example.com', firstName: 'Alice', lastName: 'Liddell', passwordHash: 'hash-alice' }), at(0));
      u.bob = await store.createUser(newUser('Bob', { email: null, firstName: 'Bob' }), at(0));
      u.carol = await store.createUser(newUser('carol', { userType: 'api', name: 'Zed Service' }), at(1));
      u.dave = await store.createUser(newUser('dave', { email: null }), at(1));
      u.erin = await store.createUser(newUser('Erin', { email: 'ERIN@example.com', firstName: 'alice', lastName: 'Liddell' }), at(2));
      u.frank = await store.createUser(newUser('frank', { userType: 'api', emailVerification: 'requested' }), at(2));
      u.grace = await store.createUser(newUser('grace', { firstName: 'Grace', lastName: 'Hopper', emailVerification: 'verified', reference: 'ref-7' }), at(3));
      u.xy = await store.createUser(newUser('x.y', { email: 'x.y@example.org' }), at(4));
      u.erin = (await admin.patchUser('alpha', u.erin.id, { state: 'inactive' }, at(2)))!;
      u.frank = (await admin.patchUser('alpha', u.frank.id, { state: 'inactive' }, at(2)))!;
      for (const [who, when] of [['alice', 10], ['carol', 10], ['erin', 5]] as const) await store.recordLogin('alpha', u[who]!.id, at(when), '192.0.2.1');
      for (const who of ['alice', 'carol', 'erin'] as const) u[who] = (await store.findUserById('alpha', u[who]!.id))!;
      u.betaAlice = await store.createUser(newUser('alice', { realmId: 'beta', firstName: 'Alice', reference: 'ref-7' }), at(0));
      u.betaZoe = await store.createUser(newUser('zoe', { realmId: 'beta', userType: 'api', name: 'Alice Bot' }), at(1));
      return u;
    }
    const ALPHA = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'xy'];

    /** The name the list sorts and searches by: the API user's name, else "first last", else the username; folded as logins are. */
    const nameOf = (u: User) => (u.name || [u.firstName ?? '', u.lastName ?? ''].join(' ').trim() || u.username).normalize('NFKC').trim().toLowerCase();
    /** The value a sort orders by, nulls as the lowest value. */
    function sortValue(u: User, key: UserSortKey): string | number {
      switch (key) {
        case 'username':
          return u.username.toLowerCase();
        case 'email':
          return u.email?.toLowerCase() ?? '';
        case 'name':
          return nameOf(u);
        case 'createdAt':
          return u.createdAt.getTime();
        case 'lastLoginAt':
          return u.lastLoginAt?.getTime() ?? 0;
        case 'state':
          return u.state;
      }
    }

    /** Every page of a query, following `next` to the end. */
    async function allPages(filter: UserFilter, sort: UserSort, limit: number): Promise<User[][]> {
      const pages: User[][] = [];
      let after: UserCursor | null = null;
      for (let guard = 0; guard < 100; guard++) {
        const page: { users: User[]; next: UserCursor | null } = await admin.queryUsers('alpha', filter, sort, after, limit);
        pages.push(page.users);
        if (!page.next) return pages;
        after = page.next;
      }
      throw new Error('paging never ended');
    }

    const namesIn = (users: User[], u: Record<string, User>) => users.map((x) => Object.keys(u).find((k) => u[k]!.id === x.id) ?? x.id);
    const query = async (filter: UserFilter, u: Record<string, User>) =>
      namesIn((await admin.queryUsers('alpha', filter, { key: 'username', direction: 'asc' }, null, 100)).users, u);

    describe('queryUsers: sorting and keyset paging', () => {
      for (const key of USER_SORT_KEYS) {
        for (const direction of ['asc', 'desc'] as const) {
          it(`pages through every user once by ${key} ${direction}, ties and nulls included`, async () => {
            const u = await seed();
            const sort = { key, direction };
            const whole = (await admin.queryUsers('alpha', {}, sort, null, 100)).users;
            expect(whole.map((x) => x.id).sort()).toEqual(ALPHA.map((n) => u[n]!.id).sort());
            const values = whole.map((x) => sortValue(x, key));
            for (let i = 1; i < values.length; i++) {
              const [a, b] = direction === 'asc' ? [values[i - 1]!, values[i]!] : [values[i]!, values[i - 1]!];
              expect(a <= b, `${String(values[i - 1])} then ${String(values[i])}`).toBe(true);
            }
            for (const limit of [1, 2, 3]) {
              const pages = await allPages({}, sort, limit);
              expect(pages.every((p) => p.length <= limit)).toBe(true);
              expect(pages.flat().map((x) => x.id), `limit ${limit}`).toEqual(whole.map((x) => x.id));
            }
          });
        }
      }

      it('puts users who never logged in first by lastLoginAt ascending and last descending', async () => {
        const u = await seed();
        const never = ['bob', 'dave', 'frank', 'grace', 'xy'].map((n) => u[n]!.id).sort();
        const asc = (await admin.queryUsers('alpha', {}, { key: 'lastLoginAt', direction: 'asc' }, null, 100)).users;
        expect(asc.slice(0, 5).map((x) => x.id).sort()).toEqual(never);
        expect(namesIn(asc.slice(5, 6), u)).toEqual(['erin']);
        expect(namesIn(asc.slice(6), u).sort()).toEqual(['alice', 'carol']);
        const desc = (await admin.queryUsers('alpha', {}, { key: 'lastLoginAt', direction: 'desc' }, null, 100)).users;
        expect(namesIn(desc.slice(0, 2), u).sort()).toEqual(['alice', 'carol']);
        expect(namesIn(desc.slice(2, 3), u)).toEqual(['erin']);
        expect(desc.slice(3).map((x) => x.id).sort()).toEqual(never);
      });

      it('sorts usernames and emails case-insensitively, a missing email as the lowest', async () => {
        const u = await seed();
        const byUsername = (await admin.queryUsers('alpha', {}, { key: 'username', direction: 'asc' }, null, 100)).users;
        expect(namesIn(byUsername, u)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'xy']);
        const byEmail = (await admin.queryUsers('alpha', {}, { key: 'email', direction: 'desc' }, null, 100)).users;
        expect(namesIn(byEmail, u).slice(0, 6)).toEqual(['xy', 'grace', 'frank', 'erin', 'carol', 'alice']);
      });

      it('sorts by the name the console shows: an API user’s name, else first and last, else the username', async () => {
        const u = await seed();
        const byName = namesIn((await admin.queryUsers('alpha', {}, { key: 'name', direction: 'asc' }, null, 100)).users, u);
        expect(byName.slice(0, 2).sort()).toEqual(['alice', 'erin']);
        expect(byName.slice(2)).toEqual(['bob', 'dave', 'frank', 'grace', 'xy', 'carol']);
      });

      it('says next is null on the last page, also when it is exactly full', async () => {
        await seed();
        const sort: UserSort = { key: 'createdAt', direction: 'asc' };
        expect((await admin.queryUsers('alpha', {}, sort, null, 8)).next).toBeNull();
        const first = await admin.queryUsers('alpha', {}, sort, null, 4);
        expect(first.next).not.toBeNull();
        const second = await admin.queryUsers('alpha', {}, sort, first.next, 4);
        expect(second.users).toHaveLength(4);
        expect(second.next).toBeNull();
      });

      it('loses no user when one on an earlier page is deleted between pages', async () => {
        await seed();
        const sort: UserSort = { key: 'email', direction: 'asc' };
        const whole = (await admin.queryUsers('alpha', {}, sort, null, 100)).users.map((x) => x.id);
        const first = await admin.queryUsers('alpha', {}, sort, null, 3);
        await admin.deleteUsers('alpha', [first.users[0]!.id]);
        const rest = await admin.queryUsers('alpha', {}, sort, first.next, 100);
        expect(rest.users.map((x) => x.id)).toEqual(whole.slice(3));
      });

      it('pages a filtered query by its own keys', async () => {
        const u = await seed();
        const pages = await allPages({ state: 'active' }, { key: 'lastLoginAt', direction: 'desc' }, 2);
        expect(pages.flat().map((x) => x.id).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'grace', 'xy'].map((n) => u[n]!.id).sort());
        expect(namesIn(pages[0]!, u).sort()).toEqual(['alice', 'carol']);
      });
    });

    describe('queryUsers and countUsers: filters', () => {
      it('filters by user type, state and email verification, alone and together', async () => {
        const u = await seed();
        expect(await query({ userType: 'api' }, u)).toEqual(['carol', 'frank']);
        expect(await query({ userType: 'human' }, u)).toEqual(['alice', 'bob', 'dave', 'erin', 'grace', 'xy']);
        expect(await query({ state: 'inactive' }, u)).toEqual(['erin', 'frank']);
        expect(await query({ emailVerification: 'verified' }, u)).toEqual(['grace']);
        expect(await query({ emailVerification: 'requested' }, u)).toEqual(['frank']);
        expect(await query({ userType: 'human', state: 'inactive' }, u)).toEqual(['erin']);
        expect(await query({ userType: 'api', state: 'active' }, u)).toEqual(['carol']);
      });

      it('filters by creation time, both bounds exclusive', async () => {
        const u = await seed();
        expect(await query({ createdAfter: at(1) }, u)).toEqual(['erin', 'frank', 'grace', 'xy']);
        expect(await query({ createdBefore: at(1) }, u)).toEqual(['alice', 'bob']);
        expect(await query({ createdAfter: at(0), createdBefore: at(3) }, u)).toEqual(['carol', 'dave', 'erin', 'frank']);
      });

      it('finds by a prefix of the username, the email or the name, case-insensitively', async () => {
        const u = await seed();
        expect(await query({ q: 'AL' }, u)).toEqual(['alice', 'erin']);
        expect(await query({ q: ' al ' }, u)).toEqual(['alice', 'erin']);
        expect(await query({ q: 'erin@' }, u)).toEqual(['erin']);
        expect(await query({ q: 'zed s' }, u)).toEqual(['carol']);
        expect(await query({ q: 'GRACE H' }, u)).toEqual(['grace']);
        expect(await query({ q: 'b' }, u)).toEqual(['bob']);
        expect(await query({ q: 'lice' }, u)).toEqual([]);
        expect(await query({ q: 'hopper' }, u)).toEqual([]);
      });

      it('reads no character of the prefix as a wildcard', async () => {
        const u = await seed();
        expect(await query({ q: 'x.' }, u)).toEqual(['xy']);
        expect(await query({ q: 'x%' }, u)).toEqual([]);
        expect(await query({ q: 'a.' }, u)).toEqual([]);
        expect(await query({ q: '.*' }, u)).toEqual([]);
        expect(await query({ q: 'x_y' }, u)).toEqual([]);
      });

      it('finds by a prefix of the reference, as it is stored (case-sensitive)', async () => {
        const u = await seed();
        expect(await query({ q: 'ref-' }, u)).toEqual(['grace']);
        expect(await query({ q: ' ref-7 ' }, u)).toEqual(['grace']);
        expect(await query({ q: 'REF-' }, u)).toEqual([]);
        expect(await query({ q: 'ef-7' }, u)).toEqual([]);
        expect(await query({ q: 'ref-7x' }, u)).toEqual([]);
        // A user found by two fields at once is listed once.
        await admin.patchUser('alpha', u.bob!.id, { reference: 'bob-crm' }, at(9));
        await admin.patchUser('alpha', u.alice!.id, { reference: 'AL-9' }, at(9));
        expect(await query({ q: 'bob' }, u)).toEqual(['bob']);
        expect(await admin.countUsers('alpha', { q: 'bob' })).toBe(1);
        expect(await query({ q: 'AL' }, u)).toEqual(['alice', 'erin']);
        expect(await query({ q: 'AL-' }, u)).toEqual(['alice']);
        expect(await query({ q: 'al-' }, u)).toEqual([]);
        expect(await admin.countUsers('alpha', { q: 'AL-' })).toBe(1);
        expect(await admin.countUsers('alpha', { q: 'ref' })).toBe(1);
      });

      it('filters by the exact reference', async () => {
        const u = await seed();
        expect(await query({ reference: 'ref-7' }, u)).toEqual(['grace']);
        expect(await query({ reference: 'ref' }, u)).toEqual([]);
        expect(await query({ reference: 'REF-7' }, u)).toEqual([]);
      });

      it('counts what each filter lists, and follows changes and deletes', async () => {
        const u = await seed();
        const filters: UserFilter[] = [
          {},
          { userType: 'api' },
          { state: 'inactive' },
          { userType: 'human', state: 'active', emailVerification: 'none' },
          { emailVerification: 'verified' },
          { q: 'al' },
          { reference: 'ref-7' },
          { createdAfter: at(1), state: 'inactive' },
          { createdBefore: at(4), userType: 'human' },
        ];
        const check = async () => {
          for (const filter of filters) {
            expect(await admin.countUsers('alpha', filter), JSON.stringify(filter)).toBe((await admin.queryUsers('alpha', filter, { key: 'createdAt', direction: 'asc' }, null, 100)).users.length);
          }
        };
        await check();
        expect(await admin.countUsers('alpha', {})).toBe(8);
        expect(await admin.countUsers('alpha', { state: 'inactive' })).toBe(2);
        await admin.patchUser('alpha', u.grace!.id, { state: 'inactive', emailVerification: 'none' }, at(9));
        await admin.deleteUsers('alpha', [u.frank!.id]);
        await check();
        expect(await admin.countUsers('alpha', { state: 'inactive' })).toBe(2);
        expect(await admin.countUsers('alpha', { userType: 'api' })).toBe(1);
        expect(await admin.countUsers('beta', {})).toBe(2);
      });
    });

    describe('realm isolation', () => {
      it('never lists, counts or finds another realm’s users', async () => {
        const u = await seed();
        const all = (await admin.queryUsers('alpha', {}, { key: 'name', direction: 'asc' }, null, 100)).users;
        expect(all.some((x) => x.realmId !== 'alpha')).toBe(false);
        expect(await query({ q: 'alice' }, u)).toEqual(['alice', 'erin']);
        expect(await admin.countUsers('alpha', { reference: 'ref-7' })).toBe(1);
        expect(namesIn((await admin.queryUsers('beta', { q: 'alice' }, { key: 'username', direction: 'asc' }, null, 100)).users, u)).toEqual(['betaAlice', 'betaZoe']);
        expect(await admin.countUsers('gamma', {})).toBe(0);
        expect((await admin.queryUsers('gamma', {}, { key: 'username', direction: 'asc' }, null, 100)).users).toEqual([]);
      });

      it('neither patches, deletes nor keys another realm’s user by its id', async () => {
        const u = await seed();
        const beta = u.betaAlice!;
        expect(await admin.patchUser('alpha', beta.id, { firstName: 'Mallory' }, at(9))).toBeNull();
        expect(await admin.deleteUsers('alpha', [beta.id])).toEqual([]);
        await admin.setApiKey('beta', beta.id, { lookupHash: 'beta-hash', sealed: null }, at(9));
        expect(await admin.getApiKey('alpha', beta.id)).toBeNull();
        expect(await admin.findUserByApiKey('alpha', 'beta-hash')).toBeNull();
        expect(await admin.deleteApiKey('alpha', beta.id)).toBe(false);
        expect(await admin.deleteMatching('alpha', { reference: 'ref-7' }, 1)).toMatchObject({ deleted: [{ id: u.grace!.id }] });
        expect(await store.findUserById('beta', beta.id)).toMatchObject({ firstName: 'Alice' });
        expect((await admin.findUserByApiKey('beta', 'beta-hash'))?.id).toBe(beta.id);
        const [record] = await admin.recordsOf('alpha', [beta]);
        expect(record).toEqual({ user: beta, passwordHash: null, identities: [] });
      });
    });

    describe('recordsOf', () => {
      it('returns each user with its password hash and identities, in the order given', async () => {
        const u = await seed();
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'github', subject: 'gh-1', userId: u.bob!.id, displayName: 'bobby', email: null, createdAt: at(6) });
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'google', subject: 'g-1', userId: u.bob!.id, displayName: null, email: 'bob@gmail.example', createdAt: at(5) });
        const records = await admin.recordsOf('alpha', [u.dave!, u.bob!, u.alice!]);
        expect(records.map((r) => r.user)).toEqual([u.dave, u.bob, u.alice]);
        expect(records.map((r) => r.passwordHash)).toEqual([null, null, 'hash-alice']);
        expect(records[0]!.identities).toEqual([]);
        expect(records[1]!.identities).toEqual([
          { realmId: 'alpha', provider: 'google', subject: 'g-1', userId: u.bob!.id, displayName: null, email: 'bob@gmail.example', createdAt: at(5) },
          { realmId: 'alpha', provider: 'github', subject: 'gh-1', userId: u.bob!.id, displayName: 'bobby', email: null, createdAt: at(6) },
        ]);
        expect(await admin.recordsOf('alpha', [])).toEqual([]);
      });
    });

    describe('patchUser', () => {
      it('sets each field, stamps updatedAt and leaves the rest as it was', async () => {
        const u = await seed();
        const before = u.grace!;
        const after = await admin.patchUser(
          'alpha',
          before.id,
          { firstName: 'Ada', lastName: 'Lovelace', locale: 'fr', reference: 'ref-8', emailVerification: 'requested', customAttributes: { plan: 'pro', tags: ['a'] } },
          at(20),
        );
        expect(after).toEqual({
          ...before,
          firstName: 'Ada',
          lastName: 'Lovelace',
          locale: 'fr',
          reference: 'ref-8',
          emailVerification: 'requested',
          customAttributes: { plan: 'pro', tags: ['a'] },
          updatedAt: at(20),
        });
        expect(await store.findUserById('alpha', before.id)).toEqual(after);
        expect(await query({ q: 'ada l' }, u)).toEqual(['grace']);
        expect(await query({ q: 'grace h' }, u)).toEqual([]);
        expect(await query({ reference: 'ref-8' }, u)).toEqual(['grace']);
        expect(await query({ emailVerification: 'requested' }, u)).toEqual(['frank', 'grace']);
      });

      it('replaces the custom attributes whole', async () => {
        const user = await store.createUser(newUser('ann', { customAttributes: { plan: 'pro', seats: 3 } }), T0);
        expect((await admin.patchUser('alpha', user.id, { customAttributes: { beta: true } }, at(1)))?.customAttributes).toEqual({ beta: true });
        expect((await admin.patchUser('alpha', user.id, { customAttributes: {} }, at(2)))?.customAttributes).toEqual({});
      });

      it('clears a field given null', async () => {
        const u = await seed();
        const grace = await admin.patchUser('alpha', u.grace!.id, { firstName: null, lastName: null, locale: null, reference: null, email: null, emailUnique: true, emailVerification: 'none' }, at(20));
        expect(grace).toMatchObject({ firstName: null, lastName: null, locale: null, reference: null, email: null });
        const carol = await admin.patchUser('alpha', u.carol!.id, { name: null }, at(20));
        expect(carol?.name).toBeNull();
        expect(await query({ q: 'zed s' }, u)).toEqual([]);
        expect(await query({ q: 'grace@' }, u)).toEqual([]);
        // Without a name, both sort and are found by the username.
        expect(await query({ q: 'grace' }, u)).toEqual(['grace']);
        const byName = namesIn((await admin.queryUsers('alpha', {}, { key: 'name', direction: 'desc' }, null, 100)).users, u);
        expect(byName.slice(0, 3)).toEqual(['xy', 'grace', 'frank']);
      });

      it('changes the username: the user logs in and is found by the new one only', async () => {
        const u = await seed();
        const after = await admin.patchUser('alpha', u.dave!.id, { username: 'David' }, at(20));
        expect(after?.username).toBe('David');
        expect((await store.findUserByLogin('alpha', 'david'))?.user.id).toBe(u.dave!.id);
        expect(await store.findUserByLogin('alpha', 'dave')).toBeNull();
        expect(await query({ q: 'davi' }, u)).toEqual(['dave']);
        expect(await query({ q: 'dave' }, u)).toEqual([]);
      });

      it('changes the email: found and sorted by the new one, a login when unique', async () => {
        const u = await seed();
        const after = await admin.patchUser('alpha', u.dave!.id, { email: 'Zz@Example.com', emailUnique: true }, at(20));
        expect(after?.email).toBe('Zz@Example.com');
        expect((await store.findUserByLogin('alpha', 'zz@example.com'))?.user.id).toBe(u.dave!.id);
        expect(await query({ q: 'ZZ@' }, u)).toEqual(['dave']);
        expect(namesIn((await admin.queryUsers('alpha', {}, { key: 'email', direction: 'desc' }, null, 1)).users, u)).toEqual(['dave']);
      });

      it('refuses a username taken in the realm (case-insensitively), and lets another realm have it', async () => {
        const u = await seed();
        expect((await uniqueViolationOf(() => admin.patchUser('alpha', u.dave!.id, { username: 'ALICE' }, at(20)))).field).toBe('username');
        expect((await store.findUserById('alpha', u.dave!.id))?.username).toBe('dave');
        expect((await admin.patchUser('beta', u.betaZoe!.id, { username: 'dave' }, at(20)))?.username).toBe('dave');
      });

      it('refuses an email taken in the realm when emails are unique, and allows it when they are not', async () => {
        const u = await seed();
        expect((await uniqueViolationOf(() => admin.patchUser('alpha', u.dave!.id, { email: 'alice@EXAMPLE.com', emailUnique: true }, at(20)))).field).toBe('email');
        expect((await store.findUserById('alpha', u.dave!.id))?.email).toBeNull();
        const shared = await admin.patchUser('alpha', u.dave!.id, { email: 'alice@example.com', emailUnique: false }, at(20));
        expect(shared?.email).toBe('alice@example.com');
        expect((await store.findUsersByEmail('alpha', 'ALICE@example.com')).map((x) => x.user.id).sort()).toEqual([u.alice!.id, u.dave!.id].sort());
      });

      it('sets and removes the password hash', async () => {
        const u = await seed();
        await admin.patchUser('alpha', u.bob!.id, { passwordHash: 'hash-bob' }, at(20));
        expect(await store.passwordHashOf('alpha', u.bob!.id)).toBe('hash-bob');
        await admin.patchUser('alpha', u.alice!.id, { passwordHash: null }, at(20));
        expect(await store.passwordHashOf('alpha', u.alice!.id)).toBeNull();
      });

      it('returns null for an unknown user', async () => {
        await seed();
        expect(await admin.patchUser('alpha', 'no-such-user', { state: 'inactive' }, at(20))).toBeNull();
      });

      it('keeps the name search current when the user changes the profile through the store', async () => {
        const u = await seed();
        await store.updateProfile('alpha', u.bob!.id, { firstName: 'Robert', lastName: 'Brown' }, at(20));
        expect(await query({ q: 'robert b' }, u)).toEqual(['bob']);
        await store.updateProfile('alpha', u.dave!.id, { username: 'Quentin' }, at(21));
        expect(await query({ q: 'quen' }, u)).toEqual(['dave']);
        const byName = namesIn((await admin.queryUsers('alpha', {}, { key: 'name', direction: 'desc' }, null, 3)).users, u);
        expect(byName).toEqual(['carol', 'xy', 'bob']);
      });
    });

    describe('names beyond ASCII', () => {
      /** Users named outside ASCII, with ASCII ones to sort among. */
      async function seedUnicode(): Promise<Record<string, User>> {
        const u: Record<string, User> = {};
        u.zola = await store.createUser(newUser('ezola', { firstName: 'Émile', lastName: 'Zola' }), at(0));
        u.durand = await store.createUser(newUser('edurand', { firstName: 'émile', lastName: 'Durand' }), at(1));
        u.adam = await store.createUser(newUser('adam', { firstName: 'Adam' }), at(2));
        u.zed = await store.createUser(newUser('zed', { userType: 'api', name: 'Zed Service' }), at(3));
        u.bot = await store.createUser(newUser('bot', { userType: 'api', name: 'ÅNGSTRÖM Bot' }), at(4));
        u.elfred = await store.createUser(newUser('Ælfred', { email: null }), at(5));
        return u;
      }
      const byName = async (u: Record<string, User>, direction: 'asc' | 'desc', limit = 100) =>
        namesIn((await allPages({}, { key: 'name', direction }, limit)).flat(), u);

      it('finds a name by any case of its prefix, accents and all', async () => {
        const u = await seedUnicode();
        expect(await query({ q: 'émile' }, u)).toEqual(['durand', 'zola']);
        expect(await query({ q: 'ÉMILE' }, u)).toEqual(['durand', 'zola']);
        expect(await query({ q: 'Émile Z' }, u)).toEqual(['zola']);
        // Decomposed (E + combining acute) is the same name once NFKC-normalized.
        expect(await query({ q: 'E\u0301MILE ZO' }, u)).toEqual(['zola']);
        expect(await query({ q: 'ångström' }, u)).toEqual(['bot']);
        expect(await query({ q: 'æl' }, u)).toEqual(['elfred']);
        expect(await query({ q: 'emile' }, u)).toEqual([]);
        expect(await admin.countUsers('alpha', { q: 'ÉMILE' })).toBe(2);
      });

      it('sorts a name where its folded form sorts, and pages through it', async () => {
        const u = await seedUnicode();
        // Code point order of the folded names: ASCII, then å (U+E5), æ (U+E6), é (U+E9).
        const asc = ['adam', 'zed', 'bot', 'elfred', 'durand', 'zola'];
        expect(await byName(u, 'asc')).toEqual(asc);
        expect(await byName(u, 'asc', 1)).toEqual(asc);
        expect(await byName(u, 'desc', 2)).toEqual([...asc].reverse());
      });

      it('finds a user by the new name and not the old once it changes, whichever way it changes', async () => {
        const u = await seedUnicode();
        await store.updateProfile('alpha', u.zola!.id, { firstName: 'Édouard', lastName: 'Manet' }, at(20));
        expect(await query({ q: 'ÉDOUARD m' }, u)).toEqual(['zola']);
        expect(await query({ q: 'émile z' }, u)).toEqual([]);

        await admin.patchUser('alpha', u.durand!.id, { lastName: 'Égalité' }, at(21));
        expect(await query({ q: 'émile é' }, u)).toEqual(['durand']);
        expect(await query({ q: 'émile d' }, u)).toEqual([]);

        await admin.patchUser('alpha', u.bot!.id, { name: 'Øresund Bot' }, at(22));
        expect(await query({ q: 'øRESUND' }, u)).toEqual(['bot']);
        expect(await query({ q: 'ångström' }, u)).toEqual([]);

        // No name given: the username is the name, and follows it.
        await admin.patchUser('alpha', u.elfred!.id, { username: 'Ïsolde' }, at(23));
        expect(await query({ q: 'ïso' }, u)).toEqual(['elfred']);
        expect(await query({ q: 'æl' }, u)).toEqual([]);

        await admin.patchUser('alpha', u.adam!.id, { firstName: null }, at(24));
        await store.changeEmail('alpha', u.adam!.id, { email: 'Ünal@example.com', emailUnique: true, syncUsername: true, verification: 'none' }, at(25));
        const [record] = await admin.recordsOf('alpha', [(await store.findUserById('alpha', u.zed!.id))!]);
        await store.putUser({ ...record!, user: { ...record!.user, name: 'Ça Va Service' } }, true);

        expect(await byName(u, 'asc')).toEqual(['zed', 'zola', 'durand', 'elfred', 'bot', 'adam']);
        expect(await query({ q: 'zed s' }, u)).toEqual([]);
        expect(await query({ q: 'ça' }, u)).toEqual(['zed']);
      });
    });

    describe('deleteUsers', () => {
      /** A user with everything that can hang off one: session, identity, authenticator, recovery codes, token, API key. */
      async function equipped(username: string): Promise<User> {
        const user = await store.createUser(newUser(username, { passwordHash: 'hash' }), T0);
        await store.createLoginSession({ id: `sid-${username}`, realmId: 'alpha', userId: user.id, createdAt: T0, lastSeenAt: T0, ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null });
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'github', subject: `gh-${username}`, userId: user.id, displayName: null, email: null, createdAt: T0 });
        await store.beginTotp('alpha', user.id, 'sealed-secret', T0);
        await store.confirmTotp('alpha', user.id, 1, T0);
        await store.replaceRecoveryCodes('alpha', user.id, [`code-${username}-1`, `code-${username}-2`], T0);
        await store.createOneTimeToken({ realmId: 'alpha', purpose: 'reset-password', tokenHash: `token-${username}`, userId: user.id, expiresAt: at(3600), createdAt: T0 });
        await admin.setApiKey('alpha', user.id, { lookupHash: `key-${username}`, sealed: null }, T0);
        return user;
      }

      async function expectGone(user: User, username: string): Promise<void> {
        expect(await store.findUserById('alpha', user.id)).toBeNull();
        expect(await store.findUserByLogin('alpha', username)).toBeNull();
        expect(await store.findLoginSession('alpha', `sid-${username}`)).toBeNull();
        expect(await store.listLoginSessions('alpha', user.id)).toEqual([]);
        expect(await store.listExternalIdentities('alpha', user.id)).toEqual([]);
        expect(await store.findExternalIdentity('alpha', 'github', `gh-${username}`)).toBeNull();
        expect(await store.getTotp('alpha', user.id)).toBeNull();
        expect(await store.countRecoveryCodes('alpha', user.id)).toBe(0);
        expect(await store.findOneTimeToken('alpha', 'reset-password', `token-${username}`, at(1))).toBeNull();
        expect(await admin.getApiKey('alpha', user.id)).toBeNull();
        expect(await admin.findUserByApiKey('alpha', `key-${username}`)).toBeNull();
      }

      async function expectWhole(user: User, username: string): Promise<void> {
        expect(await store.findUserById('alpha', user.id)).not.toBeNull();
        expect(await store.listLoginSessions('alpha', user.id)).toHaveLength(1);
        expect(await store.listExternalIdentities('alpha', user.id)).toHaveLength(1);
        expect(await store.getTotp('alpha', user.id)).not.toBeNull();
        expect(await store.countRecoveryCodes('alpha', user.id)).toBe(2);
        expect(await store.findOneTimeToken('alpha', 'reset-password', `token-${username}`, at(1))).not.toBeNull();
        expect((await admin.findUserByApiKey('alpha', `key-${username}`))?.id).toBe(user.id);
      }

      it('deletes each user whole and leaves the others as they were', async () => {
        const ann = await equipped('ann');
        const ben = await equipped('ben');
        const deleted = await admin.deleteUsers('alpha', [ann.id]);
        expect(deleted).toEqual([ann]);
        await expectGone(ann, 'ann');
        await expectWhole(ben, 'ben');
        // Nothing of ann's is left to collide with: the same identity links to someone new.
        const again = await store.createUser(newUser('ann2'), T0);
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'github', subject: 'gh-ann', userId: again.id, displayName: null, email: null, createdAt: T0 });
      });

      it('returns only the users that existed', async () => {
        const ann = await equipped('ann');
        const ben = await equipped('ben');
        const deleted = await admin.deleteUsers('alpha', [ben.id, 'no-such-user', ann.id]);
        expect(deleted.map((x) => x.id).sort()).toEqual([ann.id, ben.id].sort());
        await expectGone(ann, 'ann');
        await expectGone(ben, 'ben');
        expect(await admin.deleteUsers('alpha', [ann.id])).toEqual([]);
        expect(await admin.deleteUsers('alpha', [])).toEqual([]);
      });

      it('deletes by filter while exactly the expected number match, whole', async () => {
        const ann = await equipped('ann');
        const ben = await equipped('ben');
        const cat = await store.createUser(newUser('cat', { userType: 'api' }), T0);
        const result = await admin.deleteMatching('alpha', { userType: 'human' }, 2);
        expect('deleted' in result && result.deleted.map((x) => x.id).sort()).toEqual([ann.id, ben.id].sort());
        await expectGone(ann, 'ann');
        await expectGone(ben, 'ben');
        expect(await store.findUserById('alpha', cat.id)).toEqual(cat);
      });

      it('deletes nothing by filter when the number matching differs from the expected', async () => {
        const ann = await equipped('ann');
        const ben = await equipped('ben');
        expect(await admin.deleteMatching('alpha', { q: 'a' }, 2)).toEqual({ mismatch: 1 });
        expect(await admin.deleteMatching('alpha', {}, 1)).toEqual({ mismatch: 2 });
        expect(await admin.deleteMatching('alpha', { q: 'zzz' }, 1)).toEqual({ mismatch: 0 });
        await expectWhole(ann, 'ann');
        await expectWhole(ben, 'ben');
        expect(await admin.deleteMatching('alpha', { q: 'zzz' }, 0)).toEqual({ deleted: [] });
      });
    });

    describe('API keys', () => {
      it('sets, reads, finds by lookup hash and deletes a user’s key', async () => {
        const bot = await store.createUser(newUser('bot', { userType: 'api' }), T0);
        expect(await admin.getApiKey('alpha', bot.id)).toBeNull();
        await admin.setApiKey('alpha', bot.id, { lookupHash: 'hash-1', sealed: 'sealed-1' }, at(1));
        expect(await admin.getApiKey('alpha', bot.id)).toEqual({ lookupHash: 'hash-1', sealed: 'sealed-1', createdAt: at(1) });
        expect(await admin.findUserByApiKey('alpha', 'hash-1')).toEqual(bot);
        expect(await admin.findUserByApiKey('alpha', 'hash-2')).toBeNull();
        expect(await admin.deleteApiKey('alpha', bot.id)).toBe(true);
        expect(await admin.deleteApiKey('alpha', bot.id)).toBe(false);
        expect(await admin.getApiKey('alpha', bot.id)).toBeNull();
        expect(await admin.findUserByApiKey('alpha', 'hash-1')).toBeNull();
        expect(await admin.deleteApiKey('alpha', 'no-such-user')).toBe(false);
      });

      it('replaces the key in one step: the old lookup hash no longer finds the user', async () => {
        const bot = await store.createUser(newUser('bot', { userType: 'api' }), T0);
        await admin.setApiKey('alpha', bot.id, { lookupHash: 'hash-1', sealed: 'sealed-1' }, at(1));
        await admin.setApiKey('alpha', bot.id, { lookupHash: 'hash-2', sealed: null }, at(2));
        expect(await admin.getApiKey('alpha', bot.id)).toEqual({ lookupHash: 'hash-2', sealed: null, createdAt: at(2) });
        expect(await admin.findUserByApiKey('alpha', 'hash-1')).toBeNull();
        expect((await admin.findUserByApiKey('alpha', 'hash-2'))?.id).toBe(bot.id);
      });

      it('finds the user whatever its state', async () => {
        const bot = await store.createUser(newUser('bot', { userType: 'api' }), T0);
        await admin.setApiKey('alpha', bot.id, { lookupHash: 'hash-1', sealed: null }, at(1));
        await admin.patchUser('alpha', bot.id, { state: 'inactive' }, at(2));
        expect(await admin.findUserByApiKey('alpha', 'hash-1')).toMatchObject({ id: bot.id, state: 'inactive' });
      });

      it('refuses a lookup hash another user of the realm has, and lets another realm’s user have it', async () => {
        const one = await store.createUser(newUser('one', { userType: 'api' }), T0);
        const two = await store.createUser(newUser('two', { userType: 'api' }), T0);
        const other = await store.createUser(newUser('one', { realmId: 'beta', userType: 'api' }), T0);
        await admin.setApiKey('alpha', one.id, { lookupHash: 'same', sealed: null }, at(1));
        await expect(admin.setApiKey('alpha', two.id, { lookupHash: 'same', sealed: null }, at(2))).rejects.toThrow();
        expect(await admin.getApiKey('alpha', two.id)).toBeNull();
        expect((await admin.findUserByApiKey('alpha', 'same'))?.id).toBe(one.id);
        await admin.setApiKey('beta', other.id, { lookupHash: 'same', sealed: null }, at(3));
        expect((await admin.findUserByApiKey('beta', 'same'))?.id).toBe(other.id);
        expect((await admin.findUserByApiKey('alpha', 'same'))?.id).toBe(one.id);
      });
    });

    describe('events with the change', () => {
      const deleted = (users: User[]) => users.map((u) => newEvent(u.id, 'user.deleted', { data: { username: u.username } }));

      it('appends the event of a patch with it, none when the patch is refused or finds no user', async () => {
        const ann = await store.createUser(newUser('ann'), T0);
        await store.createUser(newUser('ben'), T0);
        const updated = (u: User | null) => (u ? [newEvent(u.id, 'user.updated', { data: { fields: ['firstName'] } })] : []);
        expect(await admin.patchUser('alpha', ann.id, { firstName: 'Ann' }, at(1), updated)).toMatchObject({ firstName: 'Ann' });
        await uniqueViolationOf(() => admin.patchUser('alpha', ann.id, { username: 'BEN' }, at(2), updated));
        expect(await admin.patchUser('alpha', 'no-such-user', { firstName: 'X' }, at(3), updated)).toBeNull();
        expect(await eventTypes(store)).toEqual(['user.updated']);
      });

      it('appends one event per user deleted, with the deletion: by ids and by filter', async () => {
        const ann = await store.createUser(newUser('ann'), T0);
        const ben = await store.createUser(newUser('ben', { reference: 'crm' }), T0);
        const cy = await store.createUser(newUser('cy', { reference: 'crm' }), T0);
        expect((await admin.deleteUsers('alpha', [ann.id, 'missing'], deleted)).map((u) => u.id)).toEqual([ann.id]);
        expect(await admin.deleteMatching('alpha', { reference: 'crm' }, 3, deleted)).toEqual({ mismatch: 2 });
        const matched = await admin.deleteMatching('alpha', { reference: 'crm' }, 2, deleted);
        expect('deleted' in matched && matched.deleted.map((u) => u.id).sort()).toEqual([ben.id, cy.id].sort());
        expect(await eventTypes(store)).toEqual(['user.deleted', 'user.deleted', 'user.deleted']);
        const events = (await store.events.query({ realmId: 'alpha', limit: 10 })).data;
        expect(events.map((e) => e.userId).sort()).toEqual([ann.id, ben.id, cy.id].sort());
        expect(events.find((e) => e.userId === ann.id)?.data).toEqual({ username: 'ann' });
      });

      it('appends the event of a new API key with it', async () => {
        const bot = await store.createUser(newUser('bot', { userType: 'api' }), T0);
        await admin.setApiKey('alpha', bot.id, { lookupHash: 'ev-hash', sealed: null }, at(1), [newEvent(bot.id, 'user.api_key.created')]);
        expect(await eventTypes(store, 'alpha', bot.id)).toEqual(['user.api_key.created']);
      });
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginSessionsPort } from '../../src/ports/login-sessions.ts';
import type { OneTimeTokensPort } from '../../src/ports/one-time-tokens.ts';
import { UniqueViolation, type UsersPort } from '../../src/ports/users.ts';
import { T0, at, eventTypes, newEvent, newUser, uniqueViolationOf, type Opened, type WithEvents } from './store-fixtures.ts';

/** What the users contract opens: the users port, and the log, sessions and tokens its writes touch. */
type UsersRig = UsersPort & WithEvents & LoginSessionsPort & OneTimeTokensPort;

/**
 * The contract of the users port (src/ports/users.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function usersContract(name: string, open: () => Promise<Opened<UsersRig>>): void {
  describe(`Users contract: ${name}`, () => {
    let store: Opened<UsersRig>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('users', () => {
      it('creates a user with the given fields and fresh counters', async () => {
        const user = await store.createUser(newUser({ customAttributes: { plan: 'pro', seats: 3, tags: ['a', 'b'], beta: true } }), T0);
        expect(typeof user.id).toBe('string');
        expect(user.id.length).toBeGreaterThan(0);
        expect(user).toMatchObject({
          realmId: 'alpha',
          userType: 'human',
          username: 'Alice',
          email: 'Alice@Example.com',
          emailVerification: 'none',
          phone: null,
          phoneVerified: false,
          firstName: 'Alice',
          lastName: 'Liddell',
          locale: 'en',
          state: 'active',
          reference: null,
          customAttributes: { plan: 'pro', seats: 3, tags: ['a', 'b'], beta: true },
          loginsCount: 0,
          lastLoginAt: null,
          lastLoginIp: null,
        });
        expect(user.createdAt.getTime()).toBe(T0.getTime());
        expect(user.updatedAt.getTime()).toBe(T0.getTime());
      });

      it('gives each user its own id and defaults custom attributes to {}', async () => {
        const a = await store.createUser(newUser({ username: 'a', email: 'a@example.com' }), T0);
        const b = await store.createUser(newUser({ username: 'b', email: 'b@example.com', customAttributes: undefined }), T0);
        expect(a.id).not.toBe(b.id);
        expect(b.customAttributes).toEqual({});
      });

      it('stores a user without email or password', async () => {
        const user = await store.createUser(newUser({ userType: 'api', username: 'robot', email: null, passwordHash: null, firstName: null, lastName: null, locale: null }), T0);
        expect(user.email).toBeNull();
        expect((await store.findUserByLogin('alpha', 'robot'))?.passwordHash).toBeNull();
      });

      it('finds a user by id, only in its own realm', async () => {
        const user = await store.createUser(newUser(), T0);
        expect(await store.findUserById('alpha', user.id)).toEqual(user);
        expect(await store.findUserById('beta', user.id)).toBeNull();
        expect(await store.findUserById('alpha', 'no-such-id')).toBeNull();
      });

      it('finds a user by username case-insensitively, with the password hash, keeping the stored case', async () => {
        const user = await store.createUser(newUser({ username: 'AliceL', email: 'alice@example.com' }), T0);
        for (const login of ['AliceL', 'alicel', 'ALICEL']) {
          const found = await store.findUserByLogin('alpha', login);
          expect(found?.user.id, login).toBe(user.id);
          expect(found?.user.username).toBe('AliceL');
          expect(found?.passwordHash).toBe(newUser().passwordHash);
        }
      });

      it('finds a user by unique email case-insensitively, keeping the stored case', async () => {
        const user = await store.createUser(newUser({ username: 'alice', email: 'Alice.Liddell@Example.COM' }), T0);
        for (const login of ['Alice.Liddell@Example.COM', 'alice.liddell@example.com', 'ALICE.LIDDELL@EXAMPLE.COM']) {
          const found = await store.findUserByLogin('alpha', login);
          expect(found?.user.id, login).toBe(user.id);
          expect(found?.user.email).toBe('Alice.Liddell@Example.COM');
        }
      });

      it('finds nobody for an unknown login or in another realm', async () => {
        await store.createUser(newUser(), T0);
        expect(await store.findUserByLogin('alpha', 'bob')).toBeNull();
        expect(await store.findUserByLogin('beta', 'alice')).toBeNull();
        expect(await store.findUserByLogin('beta', 'alice@example.com')).toBeNull();
      });

      it('refuses a second user with the same username in a realm, whatever the case', async () => {
        await store.createUser(newUser({ username: 'alice', email: 'one@example.com' }), T0);
        const err = await uniqueViolationOf(() => store.createUser(newUser({ username: 'ALICE', email: 'two@example.com' }), T0));
        expect(err.field).toBe('username');
      });

      it('refuses a second user with the same email in a realm, whatever the case', async () => {
        await store.createUser(newUser({ username: 'one', email: 'alice@example.com' }), T0);
        const err = await uniqueViolationOf(() => store.createUser(newUser({ username: 'two', email: 'ALICE@example.com' }), T0));
        expect(err.field).toBe('email');
      });

      it('leaves no trace of a refused user', async () => {
        const first = await store.createUser(newUser({ username: 'one', email: 'alice@example.com' }), T0);
        await uniqueViolationOf(() => store.createUser(newUser({ username: 'two', email: 'alice@example.com' }), T0));
        expect(await store.findUserByLogin('alpha', 'two')).toBeNull();
        expect((await store.findUserByLogin('alpha', 'alice@example.com'))?.user.id).toBe(first.id);
      });

      it('allows the same username and email in two realms', async () => {
        const a = await store.createUser(newUser({ realmId: 'alpha' }), T0);
        const b = await store.createUser(newUser({ realmId: 'beta' }), T0);
        expect(a.id).not.toBe(b.id);
        expect((await store.findUserByLogin('alpha', 'alice@example.com'))?.user.id).toBe(a.id);
        expect((await store.findUserByLogin('beta', 'alice@example.com'))?.user.id).toBe(b.id);
      });

      it('allows duplicate emails when emailUnique is false, still finding each user by username', async () => {
        const a = await store.createUser(newUser({ username: 'one', email: 'shared@example.com', emailUnique: false }), T0);
        const b = await store.createUser(newUser({ username: 'two', email: 'shared@example.com', emailUnique: false }), T0);
        expect(a.id).not.toBe(b.id);
        expect(b.email).toBe('shared@example.com');
        expect((await store.findUserByLogin('alpha', 'one'))?.user.id).toBe(a.id);
        expect((await store.findUserByLogin('alpha', 'two'))?.user.id).toBe(b.id);
        // A duplicated email is not a login: it would not name one user.
        expect(await store.findUserByLogin('alpha', 'shared@example.com')).toBeNull();
      });

      it('still enforces unique usernames when emailUnique is false', async () => {
        await store.createUser(newUser({ username: 'one', email: 'a@example.com', emailUnique: false }), T0);
        const err = await uniqueViolationOf(() => store.createUser(newUser({ username: 'One', email: 'b@example.com', emailUnique: false }), T0));
        expect(err.field).toBe('username');
      });

      it('lets exactly one of 50 concurrent signups with the same email win', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => store.createUser(newUser({ username: `racer${i}`, email: 'race@example.com' }), T0)),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        for (const r of lost) {
          expect(r.reason).toBeInstanceOf(UniqueViolation);
          expect((r.reason as UniqueViolation).field).toBe('email');
        }
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<UsersPort['createUser']>>>).value;
        expect((await store.findUserByLogin('alpha', 'race@example.com'))?.user.id).toBe(winner.id);
      });

      it('lets exactly one of 50 concurrent signups with the same username win', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => store.createUser(newUser({ username: 'samename', email: `u${i}@example.com` }), T0)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as UniqueViolation).field).toBe('username');
      });

      it('records logins: counts them and keeps the latest time and IP', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.recordLogin('alpha', user.id, at(60), '192.0.2.1');
        await store.recordLogin('alpha', user.id, at(120), '2001:db8::1');
        const after = await store.findUserById('alpha', user.id);
        expect(after?.loginsCount).toBe(2);
        expect(after?.lastLoginAt?.getTime()).toBe(at(120).getTime());
        expect(after?.lastLoginIp).toBe('2001:db8::1');
      });

      it('records a login without an IP', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.recordLogin('alpha', user.id, at(60), null);
        const after = await store.findUserById('alpha', user.id);
        expect(after?.loginsCount).toBe(1);
        expect(after?.lastLoginIp).toBeNull();
      });

      it('does not record a login across realms', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.recordLogin('beta', user.id, at(60), '192.0.2.1');
        expect((await store.findUserById('alpha', user.id))?.loginsCount).toBe(0);
      });

      it('counts concurrent logins without losing any', async () => {
        const user = await store.createUser(newUser(), T0);
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordLogin('alpha', user.id, at(i), '192.0.2.1')));
        expect((await store.findUserById('alpha', user.id))?.loginsCount).toBe(20);
      });

      it('finds every user with an email case-insensitively, with the password hash, keeping the stored case', async () => {
        const user = await store.createUser(newUser({ username: 'alice', email: 'Alice.Liddell@Example.COM' }), T0);
        for (const email of ['Alice.Liddell@Example.COM', 'alice.liddell@example.com', 'ALICE.LIDDELL@EXAMPLE.COM']) {
          const found = await store.findUsersByEmail('alpha', email);
          expect(found.map((f) => f.user.id), email).toEqual([user.id]);
          expect(found[0]?.user.email).toBe('Alice.Liddell@Example.COM');
          expect(found[0]?.passwordHash).toBe(newUser().passwordHash);
        }
        expect(await store.findUsersByEmail('alpha', 'nobody@example.com')).toEqual([]);
      });

      it('finds all the users sharing an email where the realm allows duplicates', async () => {
        const a = await store.createUser(newUser({ username: 'one', email: 'Shared@Example.com', emailUnique: false }), T0);
        const b = await store.createUser(newUser({ username: 'two', email: 'shared@example.com', emailUnique: false, passwordHash: null }), at(1));
        await store.createUser(newUser({ username: 'three', email: 'other@example.com', emailUnique: false }), at(2));
        const found = await store.findUsersByEmail('alpha', 'SHARED@example.com');
        expect(found.map((f) => f.user.id).sort()).toEqual([a.id, b.id].sort());
        expect(found.find((f) => f.user.id === b.id)?.passwordHash).toBeNull();
      });

      it("finds users by email only in the realm asked, never another realm's", async () => {
        const a = await store.createUser(newUser({ realmId: 'alpha' }), T0);
        const b = await store.createUser(newUser({ realmId: 'beta' }), T0);
        expect((await store.findUsersByEmail('alpha', 'alice@example.com')).map((f) => f.user.id)).toEqual([a.id]);
        expect((await store.findUsersByEmail('beta', 'alice@example.com')).map((f) => f.user.id)).toEqual([b.id]);
        expect(await store.findUsersByEmail('gamma', 'alice@example.com')).toEqual([]);
      });

      it('sets the email verification state and the update time, only in the realm of the user', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.setEmailVerification('alpha', user.id, 'requested', at(10));
        expect(await store.findUserById('alpha', user.id)).toMatchObject({ emailVerification: 'requested', updatedAt: at(10) });
        await store.setEmailVerification('alpha', user.id, 'verified', at(20));
        expect(await store.findUserById('alpha', user.id)).toMatchObject({ emailVerification: 'verified', updatedAt: at(20) });
        await store.setEmailVerification('beta', user.id, 'none', at(30));
        expect(await store.findUserById('alpha', user.id)).toMatchObject({ emailVerification: 'verified', updatedAt: at(20) });
      });

      it('changes the email and the username with it, keeping the case as typed', async () => {
        const user = await store.createUser(newUser({ username: 'alice@example.com', email: 'alice@example.com', emailVerification: 'verified' }), T0);
        const changed = await store.changeEmail('alpha', user.id, { email: 'New.Alice@Example.COM', emailUnique: true, syncUsername: true, verification: 'requested' }, at(60));
        expect(changed).toMatchObject({ id: user.id, email: 'New.Alice@Example.COM', username: 'New.Alice@Example.COM', emailVerification: 'requested' });
        expect(changed.updatedAt.getTime()).toBe(at(60).getTime());
        expect(await store.findUserById('alpha', user.id)).toEqual(changed);
        expect((await store.findUserByLogin('alpha', 'new.alice@example.com'))?.user.id).toBe(user.id);
        expect(await store.findUserByLogin('alpha', 'alice@example.com')).toBeNull();
        expect(await store.findUsersByEmail('alpha', 'alice@example.com')).toEqual([]);
        expect((await store.findUsersByEmail('alpha', 'NEW.ALICE@example.com')).map((f) => f.user.id)).toEqual([user.id]);
      });

      it('changes the email and leaves a separate username alone', async () => {
        const user = await store.createUser(newUser({ username: 'AliceL', email: 'alice@example.com' }), T0);
        const changed = await store.changeEmail('alpha', user.id, { email: 'Alice@New.Example', emailUnique: true, syncUsername: false, verification: 'verified' }, at(60));
        expect(changed).toMatchObject({ username: 'AliceL', email: 'Alice@New.Example', emailVerification: 'verified' });
        expect((await store.findUserByLogin('alpha', 'alicel'))?.user.email).toBe('Alice@New.Example');
        expect((await store.findUserByLogin('alpha', 'alice@new.example'))?.user.id).toBe(user.id);
        expect(await store.findUserByLogin('alpha', 'alice@example.com')).toBeNull();
      });

      it('frees the old email for another user once changed', async () => {
        const user = await store.createUser(newUser({ username: 'one', email: 'old@example.com' }), T0);
        await store.changeEmail('alpha', user.id, { email: 'new@example.com', emailUnique: true, syncUsername: false, verification: 'none' }, at(60));
        const other = await store.createUser(newUser({ username: 'two', email: 'OLD@example.com' }), at(61));
        expect((await store.findUserByLogin('alpha', 'old@example.com'))?.user.id).toBe(other.id);
      });

      it("refuses to change to another user's email in a unique realm, whatever the case, and changes nothing", async () => {
        await store.createUser(newUser({ username: 'one', email: 'taken@example.com' }), T0);
        const user = await store.createUser(newUser({ username: 'two', email: 'two@example.com', emailVerification: 'verified' }), T0);
        const err = await uniqueViolationOf(() =>
          store.changeEmail('alpha', user.id, { email: 'TAKEN@example.com', emailUnique: true, syncUsername: false, verification: 'requested' }, at(60)),
        );
        expect(err.field).toBe('email');
        expect(await store.findUserById('alpha', user.id)).toEqual(user);
      });

      it("refuses a synced username that is another user's username", async () => {
        await store.createUser(newUser({ username: 'bob@example.com', email: 'bob@example.com', emailUnique: false }), T0);
        const user = await store.createUser(newUser({ username: 'alice@example.com', email: 'alice@example.com', emailUnique: false }), T0);
        const err = await uniqueViolationOf(() =>
          store.changeEmail('alpha', user.id, { email: 'Bob@Example.com', emailUnique: false, syncUsername: true, verification: 'requested' }, at(60)),
        );
        expect(err.field).toBe('username');
        expect(await store.findUserById('alpha', user.id)).toEqual(user);
      });

      it("allows changing to another user's email where the realm allows duplicates", async () => {
        const a = await store.createUser(newUser({ username: 'one', email: 'shared@example.com', emailUnique: false }), T0);
        const b = await store.createUser(newUser({ username: 'two', email: 'two@example.com', emailUnique: false }), T0);
        const changed = await store.changeEmail('alpha', b.id, { email: 'Shared@Example.com', emailUnique: false, syncUsername: false, verification: 'requested' }, at(60));
        expect(changed.email).toBe('Shared@Example.com');
        expect((await store.findUsersByEmail('alpha', 'shared@example.com')).map((f) => f.user.id).sort()).toEqual([a.id, b.id].sort());
      });

      it("does not change another realm's user's email", async () => {
        const user = await store.createUser(newUser({ realmId: 'alpha' }), T0);
        await store.changeEmail('beta', user.id, { email: 'x@example.com', emailUnique: true, syncUsername: true, verification: 'verified' }, at(60)).catch(() => null);
        expect(await store.findUserById('alpha', user.id)).toEqual(user);
        expect(await store.findUsersByEmail('beta', 'x@example.com')).toEqual([]);
      });

      it('sets a new password hash, only for that user in that realm', async () => {
        const user = await store.createUser(newUser({ username: 'one', email: 'one@example.com' }), T0);
        const other = await store.createUser(newUser({ username: 'two', email: 'two@example.com' }), T0);
        await store.setPasswordHash('alpha', user.id, '$argon2id$new', at(60));
        const found = await store.findUserByLogin('alpha', 'one');
        expect(found?.passwordHash).toBe('$argon2id$new');
        expect(found?.user.updatedAt.getTime()).toBe(at(60).getTime());
        expect((await store.findUserByLogin('alpha', 'two'))?.passwordHash).toBe(newUser().passwordHash);
        await store.setPasswordHash('beta', other.id, '$argon2id$other-realm', at(70));
        expect((await store.findUserByLogin('alpha', 'two'))?.passwordHash).toBe(newUser().passwordHash);
      });

      it('removes a password (null): the account then has none', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.setPasswordHash('alpha', user.id, null, at(60));
        expect(await store.passwordHashOf('alpha', user.id)).toBeNull();
        expect((await store.findUserByLogin('alpha', 'alice'))?.passwordHash).toBeNull();
      });

      it('sets a password on a user created without one', async () => {
        const user = await store.createUser(newUser({ passwordHash: null }), T0);
        await store.setPasswordHash('alpha', user.id, '$argon2id$first', at(60));
        expect((await store.findUsersByEmail('alpha', 'alice@example.com'))[0]?.passwordHash).toBe('$argon2id$first');
      });

      it('reads a user\'s password hash by id, only in its own realm, null without one', async () => {
        const user = await store.createUser(newUser({ username: 'one', email: 'one@example.com' }), T0);
        const bare = await store.createUser(newUser({ username: 'two', email: 'two@example.com', passwordHash: null }), T0);
        expect(await store.passwordHashOf('alpha', user.id)).toBe(newUser().passwordHash);
        expect(await store.passwordHashOf('alpha', bare.id)).toBeNull();
        expect(await store.passwordHashOf('beta', user.id)).toBeNull();
        expect(await store.passwordHashOf('alpha', 'no-such-id')).toBeNull();
        await store.setPasswordHash('alpha', user.id, '$argon2id$new', at(60));
        expect(await store.passwordHashOf('alpha', user.id)).toBe('$argon2id$new');
      });
    });

    describe('profile and phone', () => {
      it('changes only the profile fields given, clears with null, and merges custom attributes', async () => {
        const user = await store.createUser(newUser({ customAttributes: { plan: 'pro', seats: 3 } }), T0);
        const changed = await store.updateProfile('alpha', user.id, { nickname: 'Al', firstName: null, photo: 'https://img.example/a.png', customAttributes: { seats: 4, plan: null, beta: true } }, at(5));
        expect(changed).toMatchObject({ nickname: 'Al', firstName: null, lastName: 'Liddell', photo: 'https://img.example/a.png', locale: 'en', username: 'Alice' });
        expect(changed.customAttributes).toEqual({ seats: 4, beta: true });
        expect(changed.updatedAt).toEqual(at(5));
        expect(await store.findUserById('alpha', user.id)).toEqual(changed);
      });

      it('renames a user, keeping usernames unique case-insensitively', async () => {
        const alice = await store.createUser(newUser(), T0);
        await store.createUser(newUser({ username: 'Bob', email: 'bob@example.com' }), T0);
        expect((await store.updateProfile('alpha', alice.id, { username: 'Alicia' }, at(1))).username).toBe('Alicia');
        expect((await store.findUserByLogin('alpha', 'alicia'))?.user.id).toBe(alice.id);
        expect((await uniqueViolationOf(() => store.updateProfile('alpha', alice.id, { username: 'BOB' }, at(2)))).field).toBe('username');
        expect((await store.findUserById('alpha', alice.id))?.username).toBe('Alicia');
      });

      it('binds a phone once per realm and unbinds it', async () => {
        const alice = await store.createUser(newUser(), T0);
        const bob = await store.createUser(newUser({ username: 'Bob', email: 'bob@example.com' }), T0);
        const bound = await store.setPhone('alpha', alice.id, '+14155550100', true, at(1));
        expect(bound).toMatchObject({ phone: '+14155550100', phoneVerified: true });
        expect((await uniqueViolationOf(() => store.setPhone('alpha', bob.id, '+14155550100', true, at(2)))).field).toBe('phone');
        const other = await store.createUser(newUser({ realmId: 'beta' }), T0);
        expect((await store.setPhone('beta', other.id, '+14155550100', true, at(2))).phone).toBe('+14155550100');
        expect(await store.setPhone('alpha', alice.id, null, true, at(3))).toMatchObject({ phone: null, phoneVerified: false });
        expect((await store.setPhone('alpha', bob.id, '+14155550100', true, at(4))).phone).toBe('+14155550100');
      });
    });

    describe('events with the change', () => {
      it('appends the events of a new user, built from the user the write made', async () => {
        const user = await store.createUser(newUser(), T0, (u) => [newEvent(u.id, 'user.created', { data: { method: 'pwd' } })]);
        const [event] = (await store.events.query({ realmId: 'alpha', limit: 10 })).data;
        expect(event).toMatchObject({ type: 'user.created', userId: user.id, data: { method: 'pwd' } });
      });

      it('creates a user inactive when asked, in the same write', async () => {
        const user = await store.createUser(newUser({ state: 'inactive' }), T0);
        expect(user.state).toBe('inactive');
        expect((await store.findUserById('alpha', user.id))?.state).toBe('inactive');
      });

      it('appends no event when the change is refused (a taken username)', async () => {
        await store.createUser(newUser(), T0);
        await uniqueViolationOf(() => store.createUser(newUser({ email: 'other@example.com' }), T0, [newEvent(null, 'user.created')]));
        expect(await eventTypes(store)).toEqual([]);
      });

      it('appends the events of a profile, address, verification and phone change with each', async () => {
        const user = await store.createUser(newUser(), T0);
        await store.updateProfile('alpha', user.id, { nickname: 'Al' }, at(1), (u) => [newEvent(u.id, 'user.updated', { data: { fields: ['nickname'] } })]);
        await store.changeEmail('alpha', user.id, { email: 'new@example.com', emailUnique: true, syncUsername: false, verification: 'verified' }, at(2), (u) => [
          newEvent(u.id, 'user.email.updated', { data: { from: 'Alice@Example.com', to: u.email } }),
        ]);
        await store.setEmailVerification('alpha', user.id, 'verified', at(3), [newEvent(user.id, 'user.email.verified')]);
        await store.setPhone('alpha', user.id, '+14155550100', true, at(4), (u) => [newEvent(u.id, 'user.phone.bound', { data: { phone: u.phone!, previous: null } })]);
        expect(await eventTypes(store, 'alpha', user.id)).toEqual(['user.updated', 'user.email.updated', 'user.email.verified', 'user.phone.bound']);
        const [bound] = (await store.events.query({ realmId: 'alpha', userId: user.id, limit: 1 })).data;
        expect(bound?.data).toEqual({ phone: '+14155550100', previous: null });
      });

      it('appends nothing with a profile or phone change that is refused', async () => {
        const alice = await store.createUser(newUser(), T0);
        const bob = await store.createUser(newUser({ username: 'Bob', email: 'bob@example.com' }), T0);
        await store.setPhone('alpha', alice.id, '+14155550100', true, at(1));
        await uniqueViolationOf(() => store.updateProfile('alpha', bob.id, { username: 'alice' }, at(2), [newEvent(bob.id, 'user.updated')]));
        await uniqueViolationOf(() => store.setPhone('alpha', bob.id, '+14155550100', true, at(3), [newEvent(bob.id, 'user.phone.bound')]));
        await uniqueViolationOf(() =>
          store.changeEmail('alpha', bob.id, { email: 'alice@example.com', emailUnique: true, syncUsername: false, verification: 'none' }, at(4), [newEvent(bob.id, 'user.email.updated')]),
        );
        expect(await eventTypes(store)).toEqual([]);
      });

      it('replaces a password with what it owes in one write: tokens of the purposes and sessions but one end, with its events', async () => {
        const user = await store.createUser(newUser(), T0);
        const session = (id: string) => ({ id, realmId: 'alpha', userId: user.id, createdAt: T0, lastSeenAt: T0, ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null });
        for (const sid of ['s-keep', 's-1', 's-2']) await store.createLoginSession(session(sid));
        const token = (purpose: string, tokenHash: string) => ({ realmId: 'alpha', purpose, tokenHash, userId: user.id, expiresAt: at(900), createdAt: T0 });
        await store.createOneTimeToken(token('reset-password', 'r1'));
        await store.createOneTimeToken(token('reset-password-code', 'r2'));
        await store.createOneTimeToken(token('verify-email', 'v1'));
        const sids = await store.replacePassword('alpha', user.id, { passwordHash: '$argon2id$new', revokePurposes: ['reset-password', 'reset-password-code'], keepSid: 's-keep' }, at(60), (ended) => [
          newEvent(user.id, 'session.deleted', { data: { sids: ended, reason: 'password_changed' } }),
          newEvent(user.id, 'user.password.updated', { data: { reason: 'password_changed', endedSessions: ended.length } }),
        ]);
        expect(sids.sort()).toEqual(['s-1', 's-2']);
        expect(await store.passwordHashOf('alpha', user.id)).toBe('$argon2id$new');
        expect((await store.findLoginSession('alpha', 's-keep'))?.endedAt).toBeNull();
        expect((await store.findLoginSession('alpha', 's-1'))?.endedAt).toEqual(at(60));
        expect(await store.findOneTimeToken('alpha', 'reset-password', 'r1', at(61))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password-code', 'r2', at(61))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'verify-email', 'v1', at(61))).not.toBeNull();
        expect(await eventTypes(store, 'alpha', user.id)).toEqual(['session.deleted', 'user.password.updated']);
        const [updated] = (await store.events.query({ realmId: 'alpha', userId: user.id, limit: 1 })).data;
        expect(updated?.data).toEqual({ reason: 'password_changed', endedSessions: 2 });
      });
    });
  });
}

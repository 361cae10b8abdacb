import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UniqueViolation, type LoginSession, type NewOutboxMail, type NewSms, type NewUser, type SigningKeyRecord, type Store } from '../../src/store/port.ts';

/**
 * The store port's contract (src/store/port.ts): every adapter runs this same
 * suite. `makeStore` returns a fresh, empty, migrated store each time.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    function newUser(overrides: Partial<NewUser> = {}): NewUser {
      return {
        realmId: 'alpha',
        userType: 'human',
        username: 'Alice',
        email: 'Alice@Example.com',
        emailUnique: true,
        emailVerification: 'none',
        firstName: 'Alice',
        lastName: 'Liddell',
        locale: 'en',
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
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
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Store['createUser']>>>).value;
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

    describe('login sessions', () => {
      let users: { a: string; b: string; beta: string };
      beforeEach(async () => {
        users = {
          a: (await store.createUser(newUser({ username: 'sess-a', email: 'sess-a@example.com' }), T0)).id,
          b: (await store.createUser(newUser({ username: 'sess-b', email: 'sess-b@example.com' }), T0)).id,
          beta: (await store.createUser(newUser({ realmId: 'beta', username: 'sess-a', email: 'sess-a@example.com' }), T0)).id,
        };
      });

      function session(overrides: Partial<LoginSession> = {}): LoginSession {
        return {
          id: randomBytes(16).toString('base64url'),
          realmId: 'alpha',
          userId: overrides.realmId === 'beta' ? users.beta : users.a,
          createdAt: T0,
          lastSeenAt: T0,
          ip: '192.0.2.1',
          userAgent: 'Mozilla/5.0',
          amr: ['pwd'],
          aal: 1,
          endedAt: null,
          ...overrides,
        };
      }

      it('refuses a session to a user that does not exist (deleted while signing in), writing nothing (ASVS 7.4.2)', async () => {
        expect(await store.createLoginSession(session())).toBe(true);
        const gone = session({ userId: 'no-such-user' });
        expect(await store.createLoginSession(gone)).toBe(false);
        expect(await store.findLoginSession('alpha', gone.id)).toBeNull();
        const crossRealm = session({ realmId: 'beta', userId: users.a });
        expect(await store.createLoginSession(crossRealm)).toBe(false);
        expect(await store.findLoginSession('beta', crossRealm.id)).toBeNull();
      });

      it('creates and finds a session with all its fields', async () => {
        const s = session({ amr: ['pwd', 'otp'], aal: 2 });
        await store.createLoginSession(s);
        expect(await store.findLoginSession('alpha', s.id)).toEqual(s);
      });

      it('finds no session in another realm or under an unknown id', async () => {
        const s = session();
        await store.createLoginSession(s);
        expect(await store.findLoginSession('beta', s.id)).toBeNull();
        expect(await store.findLoginSession('alpha', 'unknown')).toBeNull();
      });

      it('touch moves lastSeenAt', async () => {
        const s = session();
        await store.createLoginSession(s);
        await store.touchLoginSession('alpha', s.id, at(300));
        const found = await store.findLoginSession('alpha', s.id);
        expect(found?.lastSeenAt.getTime()).toBe(at(300).getTime());
        expect(found?.createdAt.getTime()).toBe(T0.getTime());
      });

      it('ends a session once: true the first time, false after (ASVS 7.4.1)', async () => {
        const s = session();
        await store.createLoginSession(s);
        expect(await store.endLoginSession('alpha', s.id, at(60))).toBe(true);
        expect(await store.endLoginSession('alpha', s.id, at(120))).toBe(false);
        expect((await store.findLoginSession('alpha', s.id))?.endedAt?.getTime()).toBe(at(60).getTime());
      });

      it('touching an ended session does not revive it (ASVS 7.4.1)', async () => {
        const s = session();
        await store.createLoginSession(s);
        await store.endLoginSession('alpha', s.id, at(60));
        await store.touchLoginSession('alpha', s.id, at(120));
        expect((await store.findLoginSession('alpha', s.id))?.endedAt).not.toBeNull();
      });

      it('does not end a session from another realm or an unknown one', async () => {
        const s = session();
        await store.createLoginSession(s);
        expect(await store.endLoginSession('beta', s.id, at(60))).toBe(false);
        expect(await store.endLoginSession('alpha', 'unknown', at(60))).toBe(false);
        expect((await store.findLoginSession('alpha', s.id))?.endedAt).toBeNull();
      });

      it('ends a session exactly once under concurrency', async () => {
        const s = session();
        await store.createLoginSession(s);
        const results = await Promise.all(Array.from({ length: 10 }, () => store.endLoginSession('alpha', s.id, at(60))));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it("lists a user's sessions, including ended ones, and only theirs", async () => {
        const mine = [session({ createdAt: at(1), lastSeenAt: at(1) }), session({ createdAt: at(2), lastSeenAt: at(2) })];
        for (const s of mine) await store.createLoginSession(s);
        await store.createLoginSession(session({ userId: users.b }));
        await store.createLoginSession(session({ realmId: 'beta' }));
        await store.endLoginSession('alpha', mine[0]!.id, at(3));
        const listed = await store.listLoginSessions('alpha', users.a);
        expect(listed.map((s) => s.id).sort()).toEqual(mine.map((s) => s.id).sort());
        expect(listed.find((s) => s.id === mine[0]!.id)?.endedAt?.getTime()).toBe(at(3).getTime());
        expect(await store.listLoginSessions('alpha', 'nobody')).toEqual([]);
      });

      it("ends every live session of the user but the one kept, returning the ids ended (ASVS 7.4.3)", async () => {
        const kept = session({ createdAt: at(1) });
        const others = [session({ createdAt: at(2) }), session({ createdAt: at(3) }), session({ createdAt: at(4) })];
        for (const s of [kept, ...others]) await store.createLoginSession(s);
        const ended = await store.endLoginSessionsOfUser('alpha', users.a, at(60), kept.id);
        expect([...ended].sort()).toEqual(others.map((s) => s.id).sort());
        for (const s of others) expect((await store.findLoginSession('alpha', s.id))?.endedAt?.getTime()).toBe(at(60).getTime());
        expect((await store.findLoginSession('alpha', kept.id))?.endedAt).toBeNull();
      });

      it('ends every live session of the user when none is kept', async () => {
        const mine = [session(), session()];
        for (const s of mine) await store.createLoginSession(s);
        expect([...(await store.endLoginSessionsOfUser('alpha', users.a, at(60)))].sort()).toEqual(mine.map((s) => s.id).sort());
        for (const s of mine) expect((await store.findLoginSession('alpha', s.id))?.endedAt).not.toBeNull();
      });

      it("does not touch other users' or other realms' sessions when ending a user's sessions", async () => {
        const mine = session();
        const otherUser = session({ userId: users.b });
        const otherRealm = session({ realmId: 'beta' }); // another realm's user
        for (const s of [mine, otherUser, otherRealm]) await store.createLoginSession(s);
        expect(await store.endLoginSessionsOfUser('alpha', users.a, at(60))).toEqual([mine.id]);
        expect((await store.findLoginSession('alpha', otherUser.id))?.endedAt).toBeNull();
        expect((await store.findLoginSession('beta', otherRealm.id))?.endedAt).toBeNull();
        expect(await store.endLoginSessionsOfUser('gamma', users.a, at(60))).toEqual([]);
      });

      it('leaves already ended sessions ended at their first time and does not return them again (ASVS 7.4.1)', async () => {
        const early = session();
        const live = session();
        await store.createLoginSession(early);
        await store.createLoginSession(live);
        await store.endLoginSession('alpha', early.id, at(10));
        expect(await store.endLoginSessionsOfUser('alpha', users.a, at(60))).toEqual([live.id]);
        expect(await store.endLoginSessionsOfUser('alpha', users.a, at(120))).toEqual([]);
        expect((await store.findLoginSession('alpha', early.id))?.endedAt?.getTime()).toBe(at(10).getTime());
        expect((await store.findLoginSession('alpha', live.id))?.endedAt?.getTime()).toBe(at(60).getTime());
        await store.touchLoginSession('alpha', live.id, at(130));
        expect(await store.endLoginSession('alpha', live.id, at(140))).toBe(false);
        expect((await store.findLoginSession('alpha', live.id))?.endedAt?.getTime()).toBe(at(60).getTime());
      });

      it('ends each session once when a user\'s sessions are ended concurrently', async () => {
        const mine = Array.from({ length: 5 }, () => session());
        for (const s of mine) await store.createLoginSession(s);
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.endLoginSessionsOfUser('alpha', users.a, at(60 + i))));
        const all = results.flat();
        expect(all.sort()).toEqual(mine.map((s) => s.id).sort());
      });
    });

    describe('signing keys', () => {
      function key(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
        return {
          kid: randomBytes(8).toString('hex'),
          realmId: 'alpha',
          alg: 'ES256',
          publicJwk: '{"kty":"EC"}',
          privateJwk: '{"kty":"EC","d":"x"}',
          createdAt: T0,
          retiredAt: null,
          ...overrides,
        };
      }

      it('adds keys and lists them newest first, with every field', async () => {
        const older = key({ createdAt: at(1) });
        const newer = key({ createdAt: at(2), alg: 'RS256' });
        await store.addSigningKey(older);
        await store.addSigningKey(newer);
        expect(await store.listSigningKeys('alpha')).toEqual([newer, older]);
      });

      it("lists only the realm's own keys", async () => {
        await store.addSigningKey(key({ realmId: 'beta' }));
        expect(await store.listSigningKeys('alpha')).toEqual([]);
        expect(await store.listSigningKeys('beta')).toHaveLength(1);
      });

      it('retires a key, leaving it listed with its retirement time', async () => {
        const k = key();
        const other = key({ createdAt: at(1) });
        await store.addSigningKey(k);
        await store.addSigningKey(other);
        await store.retireSigningKey('alpha', k.kid, at(60));
        const listed = await store.listSigningKeys('alpha');
        expect(listed.find((x) => x.kid === k.kid)?.retiredAt?.getTime()).toBe(at(60).getTime());
        expect(listed.find((x) => x.kid === other.kid)?.retiredAt).toBeNull();
      });

      it('keeps the first retirement time when a key is retired twice', async () => {
        const k = key();
        await store.addSigningKey(k);
        await store.retireSigningKey('alpha', k.kid, at(60));
        await store.retireSigningKey('alpha', k.kid, at(120));
        expect((await store.listSigningKeys('alpha'))[0]?.retiredAt?.getTime()).toBe(at(60).getTime());
      });

      it("does not retire another realm's key", async () => {
        const k = key();
        await store.addSigningKey(k);
        await store.retireSigningKey('beta', k.kid, at(60));
        expect((await store.listSigningKeys('alpha'))[0]?.retiredAt).toBeNull();
      });
    });

    describe('one-time tokens', () => {
      const token = (overrides: Partial<{ realmId: string; purpose: string; tokenHash: string; userId: string; expiresAt: Date; createdAt: Date }> = {}) => ({
        realmId: 'alpha',
        purpose: 'reset-password',
        tokenHash: randomBytes(32).toString('base64url'),
        userId: 'user-1',
        expiresAt: at(900),
        createdAt: T0,
        ...overrides,
      });

      it('returns the token once when consumed, then null (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        const consumed = await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(consumed).toMatchObject({ realmId: 'alpha', purpose: 'reset-password', tokenHash: t.tokenHash, userId: 'user-1' });
        expect(consumed?.expiresAt.getTime()).toBe(t.expiresAt.getTime());
        expect(consumed?.createdAt.getTime()).toBe(T0.getTime());
        expect(consumed?.consumedAt?.getTime()).toBe(at(60).getTime());
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).toBeNull();
      });

      it('lets exactly one of 20 concurrent consumes have the token (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60))));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('returns null for an expired token, also at the exact expiry (ASVS 6.5.5)', async () => {
        const t = token({ expiresAt: at(600) });
        await store.createOneTimeToken(t);
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(600))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(601))).toBeNull();
      });

      it('returns null for the wrong purpose, realm or hash, and the token stays usable', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect(await store.consumeOneTimeToken('alpha', 'verify-email', t.tokenHash, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('beta', 'reset-password', t.tokenHash, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', `${t.tokenHash}x`, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60))).not.toBeNull();
      });

      it('keeps the data a token was created with, and starts with no wrong attempts', async () => {
        const t = { ...token(), data: { ret: { clientId: 'app1', redirectUri: 'https://app.example.com/cb?x=1&y=2' }, email: 'a@example.com' } };
        await store.createOneTimeToken(t);
        const consumed = await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(consumed?.data).toEqual(t.data);
        expect(consumed?.attempts).toBe(0);
      });

      it('has null data when created without any', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect((await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60)))?.data).toBeNull();
        const u = { ...token(), data: null };
        await store.createOneTimeToken(u);
        expect((await store.findOneTimeToken('alpha', 'reset-password', u.tokenHash, at(60)))?.data).toBeNull();
      });

      it('finds a live token without consuming it', async () => {
        const t = { ...token(), data: { step: 2 } };
        await store.createOneTimeToken(t);
        const found = await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(found).toMatchObject({ realmId: 'alpha', purpose: 'reset-password', tokenHash: t.tokenHash, userId: 'user-1', consumedAt: null, attempts: 0, data: { step: 2 } });
        expect(found?.expiresAt.getTime()).toBe(t.expiresAt.getTime());
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).not.toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(62))).not.toBeNull();
      });

      it('finds no consumed token (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).toBeNull();
      });

      it('finds no expired token, also at the exact expiry (ASVS 6.5.5)', async () => {
        const t = token({ expiresAt: at(600) });
        await store.createOneTimeToken(t);
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(599))).not.toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(600))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(601))).toBeNull();
      });

      it('finds no token under the wrong purpose, realm or hash', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect(await store.findOneTimeToken('alpha', 'verify-email', t.tokenHash, at(60))).toBeNull();
        expect(await store.findOneTimeToken('beta', 'reset-password', t.tokenHash, at(60))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', `${t.tokenHash}x`, at(60))).toBeNull();
      });

      describe('short codes', () => {
        const PURPOSE = 'verify-email-code';
        const code = (codeHash: string, overrides: Partial<{ realmId: string; userId: string; expiresAt: Date; createdAt: Date; data: Record<string, unknown> | null }> = {}) =>
          token({ purpose: PURPOSE, tokenHash: codeHash, ...overrides });
        const check = (codeHash: string, when = at(60), maxAttempts = 5, userId = 'user-1', realmId = 'alpha') =>
          store.checkOneTimeCode(realmId, PURPOSE, userId, codeHash, when, maxAttempts);

        it('accepts the right code once, consuming it, with its data (ASVS 6.5.1)', async () => {
          await store.createOneTimeToken({ ...code('right'), data: { email: 'a@example.com' } });
          const first = await check('right');
          expect(first.result).toBe('ok');
          if (first.result !== 'ok') return;
          expect(first.token).toMatchObject({ realmId: 'alpha', purpose: PURPOSE, userId: 'user-1', data: { email: 'a@example.com' } });
          expect(first.token.consumedAt?.getTime()).toBe(at(60).getTime());
          expect(await check('right', at(61))).toEqual({ result: 'none' });
          expect(await store.findOneTimeToken('alpha', PURPOSE, 'right', at(61))).toBeNull();
        });

        it('spends one try on a wrong code, and the right code still works after', async () => {
          await store.createOneTimeToken(code('right'));
          expect(await check('wrong')).toEqual({ result: 'wrong' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(60)))?.attempts).toBe(1);
          expect(await check('wrong-again')).toEqual({ result: 'wrong' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(60)))?.attempts).toBe(2);
          const ok = await check('right');
          expect(ok.result).toBe('ok');
          if (ok.result === 'ok') expect(ok.token.attempts).toBe(2);
        });

        it('refuses even the right code once maxAttempts wrong guesses are spent (ASVS 6.3.1)', async () => {
          await store.createOneTimeToken(code('right'));
          expect(await check('guess-1', at(60), 3)).toEqual({ result: 'wrong' });
          expect(await check('guess-2', at(61), 3)).toEqual({ result: 'wrong' });
          // The last try spent: no tries left.
          expect(await check('guess-3', at(62), 3)).toEqual({ result: 'exhausted' });
          expect(await check('right', at(63), 3)).toEqual({ result: 'exhausted' });
          expect(await check('guess-4', at(64), 3)).toEqual({ result: 'exhausted' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(65)))?.attempts).toBe(3);
        });

        it('spends exactly maxAttempts tries under 20 concurrent wrong guesses (ASVS 6.3.1)', async () => {
          await store.createOneTimeToken(code('right'));
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => check(`guess-${i}`, at(60), 5)));
          expect(results.filter((r) => r.result === 'wrong')).toHaveLength(4);
          expect(results.filter((r) => r.result === 'exhausted')).toHaveLength(16);
          expect(await check('right', at(61), 5)).toEqual({ result: 'exhausted' });
        });

        it("answers 'none' when the user has no live code", async () => {
          expect(await check('right')).toEqual({ result: 'none' });
          await store.createOneTimeToken(code('expiring', { expiresAt: at(60) }));
          expect(await check('expiring', at(60))).toEqual({ result: 'none' }); // at the exact expiry (ASVS 6.5.5)
          await store.createOneTimeToken(code('other-user', { userId: 'user-2' }));
          expect(await check('other-user')).toEqual({ result: 'none' });
          await store.createOneTimeToken(code('other-realm', { realmId: 'beta' }));
          expect(await check('other-realm')).toEqual({ result: 'none' });
          await store.createOneTimeToken(token({ purpose: 'reset-password-code', tokenHash: 'other-purpose' }));
          expect(await check('other-purpose')).toEqual({ result: 'none' });
        });

        it("does not spend another user's tries", async () => {
          await store.createOneTimeToken(code('mine'));
          await store.createOneTimeToken(code('theirs', { userId: 'user-2' }));
          for (let i = 0; i < 5; i++) await check(`guess-${i}`, at(60), 5, 'user-2');
          expect((await check('mine', at(61), 5)).result).toBe('ok');
        });

        it("checks against the user's newest live code only", async () => {
          await store.createOneTimeToken(code('older', { createdAt: T0 }));
          await store.createOneTimeToken(code('newer', { createdAt: at(1) }));
          expect(await check('older', at(60))).toEqual({ result: 'wrong' });
          expect((await check('newer', at(61))).result).toBe('ok');
        });

        it('lets exactly one of 20 concurrent checks of the right code succeed (ASVS 6.5.1)', async () => {
          await store.createOneTimeToken(code('right'));
          const results = await Promise.all(Array.from({ length: 20 }, () => check('right')));
          expect(results.filter((r) => r.result === 'ok')).toHaveLength(1);
          expect(results.filter((r) => r.result === 'none')).toHaveLength(19);
        });
      });

      describe('revoking', () => {
        it('ends the live tokens of the listed purposes of that user, returning how many', async () => {
          const link = token({ purpose: 'reset-password' });
          const linkCode = token({ purpose: 'reset-password-code' });
          const verify = token({ purpose: 'verify-email' });
          const otherUser = token({ purpose: 'reset-password', userId: 'user-2' });
          const otherRealm = token({ purpose: 'reset-password', realmId: 'beta' });
          for (const t of [link, linkCode, verify, otherUser, otherRealm]) await store.createOneTimeToken(t);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password', 'reset-password-code'], at(60))).toBe(2);
          expect(await store.findOneTimeToken('alpha', 'reset-password', link.tokenHash, at(61))).toBeNull();
          expect(await store.findOneTimeToken('alpha', 'reset-password-code', linkCode.tokenHash, at(61))).toBeNull();
          expect(await store.consumeOneTimeToken('alpha', 'reset-password', link.tokenHash, at(61))).toBeNull();
          expect(await store.findOneTimeToken('alpha', 'verify-email', verify.tokenHash, at(61))).not.toBeNull();
          expect(await store.findOneTimeToken('alpha', 'reset-password', otherUser.tokenHash, at(61))).not.toBeNull();
          expect(await store.findOneTimeToken('beta', 'reset-password', otherRealm.tokenHash, at(61))).not.toBeNull();
        });

        it('counts only tokens still live: consumed and expired ones are not revoked again', async () => {
          const used = token();
          const expired = token({ expiresAt: at(30) });
          const live = token();
          for (const t of [used, expired, live]) await store.createOneTimeToken(t);
          await store.consumeOneTimeToken('alpha', 'reset-password', used.tokenHash, at(10));
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password'], at(60))).toBe(1);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password'], at(61))).toBe(0);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', [], at(62))).toBe(0);
        });

        it('leaves a revoked code unusable', async () => {
          await store.createOneTimeToken(token({ purpose: 'verify-email-code', tokenHash: 'right' }));
          await store.revokeOneTimeTokens('alpha', 'user-1', ['verify-email-code'], at(60));
          expect(await store.checkOneTimeCode('alpha', 'verify-email-code', 'user-1', 'right', at(61), 5)).toEqual({ result: 'none' });
        });
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

    describe('TOTP and recovery codes', () => {
      it('enrols, confirms and then refuses to replace a confirmed authenticator', async () => {
        expect(await store.getTotp('alpha', 'u1')).toBeNull();
        expect(await store.beginTotp('alpha', 'u1', 'enc-1', T0)).toBe(true);
        expect(await store.beginTotp('alpha', 'u1', 'enc-2', at(1))).toBe(true);
        expect(await store.getTotp('alpha', 'u1')).toMatchObject({ secret: 'enc-2', confirmedAt: null, lastStep: 0 });
        expect(await store.confirmTotp('alpha', 'u1', 100, at(2))).toBe(true);
        expect(await store.confirmTotp('alpha', 'u1', 101, at(3))).toBe(false);
        expect(await store.beginTotp('alpha', 'u1', 'enc-3', at(4))).toBe(false);
        expect(await store.getTotp('alpha', 'u1')).toMatchObject({ secret: 'enc-2', confirmedAt: at(2), lastStep: 100 });
        expect(await store.getTotp('beta', 'u1')).toBeNull();
      });

      it('accepts each time step once and never an older one, also when racing', async () => {
        await store.beginTotp('alpha', 'u1', 'enc', T0);
        expect(await store.useTotpStep('alpha', 'u1', 5)).toBe(false); // not confirmed yet
        await store.confirmTotp('alpha', 'u1', 10, T0);
        expect(await store.useTotpStep('alpha', 'u1', 10)).toBe(false);
        const race = await Promise.all(Array.from({ length: 10 }, () => store.useTotpStep('alpha', 'u1', 11)));
        expect(race.filter(Boolean)).toHaveLength(1);
        expect(await store.useTotpStep('alpha', 'u1', 9)).toBe(false);
        expect(await store.useTotpStep('alpha', 'u1', 12)).toBe(true);
      });

      it('spends each recovery code once, replaces them all, and removes them with the authenticator', async () => {
        await store.beginTotp('alpha', 'u1', 'enc', T0);
        await store.confirmTotp('alpha', 'u1', 1, T0);
        await store.replaceRecoveryCodes('alpha', 'u1', ['h1', 'h2', 'h3'], T0);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(3);
        const race = await Promise.all(Array.from({ length: 5 }, () => store.useRecoveryCode('alpha', 'u1', 'h1', at(1))));
        expect(race.filter(Boolean)).toHaveLength(1);
        expect(await store.useRecoveryCode('alpha', 'u2', 'h2', at(1))).toBe(false);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(2);
        await store.replaceRecoveryCodes('alpha', 'u1', ['h4'], at(2));
        expect(await store.useRecoveryCode('alpha', 'u1', 'h2', at(3))).toBe(false);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(1);
        expect(await store.deleteTotp('alpha', 'u1')).toBe(true);
        expect(await store.deleteTotp('alpha', 'u1')).toBe(false);
        expect(await store.getTotp('alpha', 'u1')).toBeNull();
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(0);
      });
    });

    describe('external identities', () => {
      it('lists none for a user without linked providers', async () => {
        expect(await store.listExternalIdentities('alpha', 'u1')).toEqual([]);
      });

      const identity = (overrides: Partial<import('../../src/store/port.ts').ExternalIdentity> = {}) => ({
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

    describe('export and import (listUsers, putUser)', () => {
      it('pages a realm\'s users in id order with their hash and identities, and counts them', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) ids.push((await store.createUser(newUser({ username: `u${i}`, email: `u${i}@example.com` }), at(i))).id);
        await store.createUser(newUser({ realmId: 'beta', username: 'other', email: 'other@example.com' }), T0);
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'github', subject: '9', userId: ids[2]!, displayName: 'nine', email: null, createdAt: at(9) });
        const sorted = [...ids].sort();
        const first = await store.listUsers('alpha', null, 3);
        const rest = await store.listUsers('alpha', first.at(-1)!.user.id, 3);
        expect([...first, ...rest].map((r) => r.user.id)).toEqual(sorted);
        expect(await store.listUsers('alpha', sorted.at(-1)!, 3)).toEqual([]);
        const withIdentity = [...first, ...rest].find((r) => r.user.id === ids[2])!;
        expect(withIdentity.identities.map((i) => i.subject)).toEqual(['9']);
        expect(withIdentity.passwordHash).toBe(newUser().passwordHash);
        expect(await store.countUsers('alpha')).toBe(5);
        expect(await store.countUsers('beta')).toBe(1);
      });

      it('writes a user with its own id and every field, and writing it again updates it in place', async () => {
        const source = await store.createUser(newUser(), T0);
        const record = {
          user: { ...source, id: 'imported-1', phone: '+14155550100', phoneVerified: true, nickname: 'Al', reference: 'crm-7', state: 'inactive' as const, loginsCount: 4, lastLoginAt: at(50), lastLoginIp: '203.0.113.9', customAttributes: { plan: 'pro', tags: ['a', 'b'] }, updatedAt: at(60) },
          passwordHash: '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
          identities: [{ realmId: 'alpha', provider: 'google', subject: 'g-1', userId: 'imported-1', displayName: null, email: 'al@example.com', createdAt: at(5) }],
        };
        // Another username and address: the first user keeps its own.
        record.user.username = 'Imported';
        record.user.email = 'imported@example.com';
        expect(await store.putUser(record, true)).toBe('created');
        const [read] = await store.listUsers('alpha', 'imported-0', 1);
        expect(read).toEqual(record);
        expect(await store.putUser(record, true)).toBe('updated');
        expect(await store.countUsers('alpha')).toBe(2);
        const changed = { ...record, identities: [], user: { ...record.user, firstName: 'Changed' } };
        expect(await store.putUser(changed, true)).toBe('updated');
        expect((await store.findUserById('alpha', 'imported-1'))?.firstName).toBe('Changed');
        expect(await store.findExternalIdentity('alpha', 'google', 'g-1')).toBeNull();
      });

      it('refuses a record whose username, email or id belongs to another user, writing nothing', async () => {
        const existing = await store.createUser(newUser(), T0);
        const base = { ...existing, id: 'imported-2', username: 'fresh', email: 'fresh@example.com' };
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, username: 'ALICE' }, passwordHash: null, identities: [] }, true))).field).toBe('username');
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, email: 'alice@example.COM' }, passwordHash: null, identities: [] }, true))).field).toBe('email');
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, id: existing.id, realmId: 'beta' }, passwordHash: null, identities: [] }, true))).field).toBe('id');
        expect(await store.countUsers('alpha')).toBe(1);
        expect(await store.countUsers('beta')).toBe(0);
      });
    });

    describe('mail outbox', () => {
      function mail(overrides: Partial<NewOutboxMail> = {}): NewOutboxMail {
        return {
          realmId: 'alpha',
          kind: 'verify-email',
          userId: 'user-1',
          to: { address: 'alice@example.com', name: 'Alice Liddell' },
          from: 'Alpha <no-reply@alpha.example>',
          subject: 'Verify your email for Alpha',
          text: 'Open https://login.alpha.example/verify-email?token=abc&x=1\n',
          html: '<p><a href="https://login.alpha.example/verify-email?token=abc&amp;x=1">Verify</a></p>',
          link: 'https://login.alpha.example/verify-email?token=abc&x=1',
          ...overrides,
        };
      }
      const LEASE = 60_000;

      it('queues a mail and gives it back with every field', async () => {
        const m = mail();
        const id = await store.enqueueMail(m, T0);
        expect(typeof id).toBe('string');
        expect(id.length).toBeGreaterThan(0);
        expect(await store.getMail(id)).toEqual({ ...m, id, status: 'queued', attempts: 0, nextAttemptAt: T0, lastError: null, createdAt: T0, sentAt: null });
      });

      it('keeps a mail without user, recipient name or link', async () => {
        const id = await store.enqueueMail(mail({ userId: null, to: { address: 'bob@example.com', name: null }, link: null }), T0);
        expect(await store.getMail(id)).toMatchObject({ userId: null, to: { address: 'bob@example.com', name: null }, link: null });
      });

      it('gives each mail its own id and finds no unknown one', async () => {
        const a = await store.enqueueMail(mail(), T0);
        const b = await store.enqueueMail(mail(), T0);
        expect(a).not.toBe(b);
        expect(await store.getMail('no-such-mail')).toBeNull();
      });

      it('claims a mail once it is due, counting the attempt', async () => {
        const id = await store.enqueueMail(mail(), T0);
        expect(await store.claimDueMail(at(-1), LEASE, 10)).toEqual([]);
        const claimed = await store.claimDueMail(T0, LEASE, 10);
        expect(claimed.map((m) => m.id)).toEqual([id]);
        expect(claimed[0]).toMatchObject({ ...mail(), id, status: 'queued', attempts: 1 });
        expect((await store.getMail(id))?.attempts).toBe(1);
      });

      it('claims up to the limit', async () => {
        const ids = [await store.enqueueMail(mail(), T0), await store.enqueueMail(mail(), at(1)), await store.enqueueMail(mail(), at(2))];
        const first = await store.claimDueMail(at(10), LEASE, 2);
        expect(first).toHaveLength(2);
        const second = await store.claimDueMail(at(10), LEASE, 2);
        expect(second).toHaveLength(1);
        expect([...first, ...second].map((m) => m.id).sort()).toEqual([...ids].sort());
        expect(await store.claimDueMail(at(10), LEASE, 2)).toEqual([]);
      });

      it('keeps a leased mail from a second claimer until the lease runs out, then counts a second attempt', async () => {
        const id = await store.enqueueMail(mail(), T0);
        expect(await store.claimDueMail(T0, LEASE, 10)).toHaveLength(1);
        expect(await store.claimDueMail(at(1), LEASE, 10)).toEqual([]);
        expect(await store.claimDueMail(new Date(T0.getTime() + LEASE - 1), LEASE, 10)).toEqual([]);
        const again = await store.claimDueMail(new Date(T0.getTime() + LEASE + 1), LEASE, 10);
        expect(again.map((m) => m.id)).toEqual([id]);
        expect(again[0]?.attempts).toBe(2);
      });

      it('never hands the same mail to two concurrent claimers', async () => {
        const ids = new Set<string>();
        for (let i = 0; i < 30; i++) ids.add(await store.enqueueMail(mail({ subject: `mail ${i}` }), T0));
        const batches = await Promise.all(Array.from({ length: 10 }, () => store.claimDueMail(at(1), LEASE, 5)));
        const claimed = batches.flat().map((m) => m.id);
        expect(new Set(claimed).size).toBe(claimed.length);
        // Whatever the claimers left is still there for the next one, each mail claimed once in all.
        const rest = (await store.claimDueMail(at(1), LEASE, 100)).map((m) => m.id);
        expect([...claimed, ...rest].sort()).toEqual([...ids].sort());
        for (const m of batches.flat()) expect(m.attempts).toBe(1);
      });

      it('marks a mail sent: never claimed again', async () => {
        const id = await store.enqueueMail(mail(), T0);
        await store.claimDueMail(T0, LEASE, 10);
        await store.markMailSent(id, at(5));
        expect(await store.getMail(id)).toMatchObject({ status: 'sent', attempts: 1, lastError: null, sentAt: at(5) });
        expect(await store.claimDueMail(new Date(T0.getTime() + 10 * LEASE), LEASE, 10)).toEqual([]);
      });

      it('puts a mail back for a retry, due again at nextAttemptAt, keeping the error', async () => {
        const id = await store.enqueueMail(mail(), T0);
        await store.claimDueMail(T0, LEASE, 10);
        await store.markMailRetry(id, at(30), 'connection refused');
        expect(await store.getMail(id)).toMatchObject({ status: 'queued', attempts: 1, nextAttemptAt: at(30), lastError: 'connection refused', sentAt: null });
        expect(await store.claimDueMail(at(29), LEASE, 10)).toEqual([]);
        const again = await store.claimDueMail(at(30), LEASE, 10);
        expect(again.map((m) => m.id)).toEqual([id]);
        expect(again[0]).toMatchObject({ attempts: 2, lastError: 'connection refused' });
      });

      it('lets a retried mail be claimed at its nextAttemptAt even before the old lease would have run out', async () => {
        const id = await store.enqueueMail(mail(), T0);
        await store.claimDueMail(T0, LEASE, 10);
        await store.markMailRetry(id, at(5), 'timeout');
        expect((await store.claimDueMail(at(5), LEASE, 10)).map((m) => m.id)).toEqual([id]);
      });

      it('marks a mail failed: never claimed again', async () => {
        const id = await store.enqueueMail(mail(), T0);
        await store.claimDueMail(T0, LEASE, 10);
        await store.markMailFailed(id, '550 mailbox unavailable');
        expect(await store.getMail(id)).toMatchObject({ status: 'failed', lastError: '550 mailbox unavailable', sentAt: null });
        expect(await store.claimDueMail(new Date(T0.getTime() + 10 * LEASE), LEASE, 10)).toEqual([]);
      });

      it('lists mails newest first, up to the limit', async () => {
        const a = await store.enqueueMail(mail({ subject: 'a' }), at(1));
        const b = await store.enqueueMail(mail({ subject: 'b' }), at(2));
        const c = await store.enqueueMail(mail({ subject: 'c' }), at(3));
        await store.markMailSent(a, at(5));
        expect((await store.listMail(10)).map((m) => m.id)).toEqual([c, b, a]);
        expect((await store.listMail(2)).map((m) => m.id)).toEqual([c, b]);
        expect((await store.listMail(10))[2]).toMatchObject({ status: 'sent', subject: 'a' });
      });

      it('lists the later-queued mail first when two share a time', async () => {
        const first = await store.enqueueMail(mail({ subject: 'first' }), T0);
        const second = await store.enqueueMail(mail({ subject: 'second' }), T0);
        expect((await store.listMail(10)).map((m) => m.id)).toEqual([second, first]);
      });
    });

    describe('SMS outbox', () => {
      const sms = (overrides: Partial<NewSms> = {}): NewSms => ({
        realmId: 'alpha',
        kind: 'bind-phone',
        userId: 'user-1',
        to: '+14155550100',
        text: '123456 is your Alpha code.',
        ...overrides,
      });

      it('keeps a text message and gives it back with every field', async () => {
        const id = await store.recordSms(sms(), T0);
        expect(typeof id).toBe('string');
        expect(id.length).toBeGreaterThan(0);
        expect(await store.listSms(10)).toEqual([{ ...sms(), id, createdAt: T0 }]);
      });

      it('keeps a text message without a user', async () => {
        await store.recordSms(sms({ userId: null }), T0);
        expect((await store.listSms(10))[0]?.userId).toBeNull();
      });

      it('lists text messages newest first, up to the limit, the later one first when two share a time', async () => {
        const a = await store.recordSms(sms({ text: 'a' }), at(1));
        const b = await store.recordSms(sms({ text: 'b' }), at(2));
        const c = await store.recordSms(sms({ text: 'c' }), at(2));
        expect(a).not.toBe(b);
        expect((await store.listSms(10)).map((m) => m.id)).toEqual([c, b, a]);
        expect((await store.listSms(2)).map((m) => m.text)).toEqual(['c', 'b']);
      });
    });

    describe('realm state', () => {
      it('has no value for a key never set', async () => {
        expect(await store.getRealmState('alpha', 'emails')).toBeNull();
      });

      it('sets a value, and setting it again replaces it', async () => {
        await store.setRealmState('alpha', 'emails', 'duplicates');
        expect(await store.getRealmState('alpha', 'emails')).toBe('duplicates');
        await store.setRealmState('alpha', 'emails', 'unique');
        expect(await store.getRealmState('alpha', 'emails')).toBe('unique');
      });

      it('keeps values apart per realm and per key', async () => {
        await store.setRealmState('alpha', 'emails', 'duplicates');
        await store.setRealmState('alpha', 'other', 'x');
        expect(await store.getRealmState('beta', 'emails')).toBeNull();
        await store.setRealmState('beta', 'emails', 'unique');
        expect(await store.getRealmState('alpha', 'emails')).toBe('duplicates');
        expect(await store.getRealmState('beta', 'emails')).toBe('unique');
        expect(await store.getRealmState('alpha', 'other')).toBe('x');
      });
    });

    describe('secrets', () => {
      it('getOrCreateSecret returns the first value forever', async () => {
        const first = await store.getOrCreateSecret('session', () => 'first-value');
        const second = await store.getOrCreateSecret('session', () => 'second-value');
        expect(first).toBe('first-value');
        expect(second).toBe('first-value');
      });

      it('keeps secrets apart by name', async () => {
        await store.getOrCreateSecret('a', () => 'value-a');
        expect(await store.getOrCreateSecret('b', () => 'value-b')).toBe('value-b');
      });

      it('hands every concurrent caller the same value', async () => {
        const values = await Promise.all(Array.from({ length: 10 }, (_, i) => store.getOrCreateSecret('race', () => `value-${i}`)));
        expect(new Set(values).size).toBe(1);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

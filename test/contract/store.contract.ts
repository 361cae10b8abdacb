import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UniqueViolation, type AuthEvent, type LoginSession, type NewUser, type SigningKeyRecord, type Store } from '../../src/store/port.ts';

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
    });

    describe('login sessions', () => {
      function session(overrides: Partial<LoginSession> = {}): LoginSession {
        return {
          id: randomBytes(16).toString('base64url'),
          realmId: 'alpha',
          userId: 'user-1',
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
        await store.createLoginSession(session({ userId: 'user-2' }));
        await store.createLoginSession(session({ realmId: 'beta' }));
        await store.endLoginSession('alpha', mine[0]!.id, at(3));
        const listed = await store.listLoginSessions('alpha', 'user-1');
        expect(listed.map((s) => s.id).sort()).toEqual(mine.map((s) => s.id).sort());
        expect(listed.find((s) => s.id === mine[0]!.id)?.endedAt?.getTime()).toBe(at(3).getTime());
        expect(await store.listLoginSessions('alpha', 'nobody')).toEqual([]);
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
    });

    describe('events', () => {
      function event(overrides: Partial<AuthEvent> = {}): AuthEvent {
        return { realmId: 'alpha', type: 'login.succeeded', userId: 'user-1', clientId: 'app1', ip: '192.0.2.1', userAgent: 'UA', at: T0, ...overrides };
      }

      it("lists a user's events newest first, up to the limit, with every field", async () => {
        await store.appendEvent(event({ type: 'signup', at: at(1), data: undefined }));
        await store.appendEvent(event({ type: 'login.failed', at: at(2), data: { method: 'pwd' } }));
        await store.appendEvent(event({ type: 'login.succeeded', at: at(3), data: { method: 'pwd', sid: 's1' } }));
        const listed = await store.listEvents('alpha', 'user-1', 2);
        expect(listed.map((e) => e.type)).toEqual(['login.succeeded', 'login.failed']);
        expect(listed[0]).toEqual(event({ type: 'login.succeeded', at: at(3), data: { method: 'pwd', sid: 's1' } }));
        const all = await store.listEvents('alpha', 'user-1', 10);
        expect(all).toHaveLength(3);
        expect(all[2]?.data).toBeUndefined();
      });

      it('lists the later-appended event first when two share a time', async () => {
        // Signup appends 'signup' and 'login.succeeded' with the same timestamp.
        await store.appendEvent(event({ type: 'signup', at: T0 }));
        await store.appendEvent(event({ type: 'login.succeeded', at: T0 }));
        expect((await store.listEvents('alpha', 'user-1', 10)).map((e) => e.type)).toEqual(['login.succeeded', 'signup']);
      });

      it("lists only the user's events in the realm", async () => {
        await store.appendEvent(event());
        await store.appendEvent(event({ userId: 'user-2' }));
        await store.appendEvent(event({ realmId: 'beta' }));
        await store.appendEvent(event({ userId: null, type: 'login.failed' }));
        expect(await store.listEvents('alpha', 'user-1', 10)).toHaveLength(1);
      });

      it('keeps events with null user, client, ip and user agent', async () => {
        await store.appendEvent(event({ userId: 'user-3', clientId: null, ip: null, userAgent: null }));
        const [e] = await store.listEvents('alpha', 'user-3', 1);
        expect(e).toMatchObject({ clientId: null, ip: null, userAgent: null });
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

import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginSession, LoginSessionsPort } from '../../src/ports/login-sessions.ts';
import type { UsersPort } from '../../src/ports/users.ts';
import { T0, at, eventTypes, newEvent, newUser, type Opened, type WithEvents } from './store-fixtures.ts';

/**
 * The contract of the login sessions port (src/ports/login-sessions.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function loginSessionsContract(name: string, open: () => Promise<Opened<LoginSessionsPort & UsersPort & WithEvents>>): void {
  describe(`Login sessions contract: ${name}`, () => {
    let store: Opened<LoginSessionsPort & UsersPort & WithEvents>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
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
          act: null,
          selectedOrgId: null,
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

      it('remembers the org picked for a live session, forgets it on null, and refuses an ended or unknown one', async () => {
        const s = session();
        await store.createLoginSession(s);
        expect((await store.findLoginSession('alpha', s.id))!.selectedOrgId).toBeNull();
        expect(await store.setSelectedOrg('alpha', s.id, 'org_1')).toBe(true);
        expect((await store.findLoginSession('alpha', s.id))!.selectedOrgId).toBe('org_1');
        expect((await store.listLoginSessions('alpha', users.a)).find((x) => x.id === s.id)!.selectedOrgId).toBe('org_1');
        // Another realm's id names no session of this one.
        expect(await store.setSelectedOrg('beta', s.id, 'org_2')).toBe(false);
        expect(await store.setSelectedOrg('alpha', s.id, null)).toBe(true);
        expect((await store.findLoginSession('alpha', s.id))!.selectedOrgId).toBeNull();
        expect(await store.setSelectedOrg('alpha', 'no-such-session', 'org_1')).toBe(false);
        await store.endLoginSession('alpha', s.id, at(60));
        expect(await store.setSelectedOrg('alpha', s.id, 'org_1')).toBe(false);
        expect((await store.findLoginSession('alpha', s.id))!.selectedOrgId).toBeNull();
      });

      it('creates and finds a session with all its fields', async () => {
        const s = session({ amr: ['pwd', 'otp'], aal: 2 });
        await store.createLoginSession(s);
        expect(await store.findLoginSession('alpha', s.id)).toEqual(s);
      });

      it('keeps the operator of an impersonated session (act), and null for the user\'s own', async () => {
        const act = { sub: 'operator-1', iss: 'https://console.example.com', realmId: 'console', sid: 'console-sid-1', reason: 'Ticket #42: cannot see invoices', expiresAt: at(1800) };
        const impersonated = session({ amr: ['pwd', 'otp'], aal: 2, act });
        const own = session();
        await store.createLoginSession(impersonated);
        await store.createLoginSession(own);
        expect(await store.findLoginSession('alpha', impersonated.id)).toEqual(impersonated);
        expect((await store.findLoginSession('alpha', own.id))?.act).toBeNull();
        const listed = await store.listLoginSessions('alpha', users.a);
        expect(listed.find((s) => s.id === impersonated.id)?.act).toEqual(act);
        await store.endLoginSession('alpha', impersonated.id, at(60));
        expect((await store.findLoginSession('alpha', impersonated.id))?.act).toEqual(act);
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

    describe('counting live sessions', () => {
      const session = (userId: string, overrides: Partial<LoginSession> = {}): LoginSession => ({
        id: randomBytes(16).toString('base64url'),
        realmId: 'alpha',
        userId,
        createdAt: T0,
        lastSeenAt: T0,
        ip: null,
        userAgent: null,
        amr: ['pwd'],
        aal: 1,
        endedAt: null,
        act: null,
        selectedOrgId: null,
        ...overrides,
      });

      it('counts sessions not ended, seen at or after idleSince and created at or after createdSince, in the realm only', async () => {
        const ann = (await store.createUser(newUser({ username: 'live-a', email: 'live-a@example.com' }), T0)).id;
        const ben = (await store.createUser(newUser({ username: 'live-b', email: 'live-b@example.com' }), T0)).id;
        const beta = (await store.createUser(newUser({ realmId: 'beta', username: 'live-a', email: 'live-a@example.com' }), T0)).id;
        // now = at(3600); idle cut-off at(600), absolute cut-off at(0) = T0.
        const idleSince = at(600);
        const createdSince = T0;
        const live = [
          session(ann, { createdAt: at(100), lastSeenAt: at(3000) }),
          session(ben, { createdAt: T0, lastSeenAt: idleSince }), // both exactly on the bounds: still live
          session(ann, { createdAt: at(500), lastSeenAt: at(3600) }),
        ];
        const dead = [
          session(ann, { createdAt: at(100), lastSeenAt: at(599) }), // idle
          session(ben, { createdAt: at(-1), lastSeenAt: at(3000) }), // too old
          session(ann, { createdAt: at(200), lastSeenAt: at(3000) }), // ended below
          session(beta, { realmId: 'beta', createdAt: at(100), lastSeenAt: at(3000) }), // another realm
        ];
        for (const s of [...live, ...dead]) expect(await store.createLoginSession(s)).toBe(true);
        await store.endLoginSession('alpha', dead[2]!.id, at(3100));
        expect(await store.countLive('alpha', idleSince, createdSince)).toBe(3);
        expect(await store.countLive('beta', idleSince, createdSince)).toBe(1);
        expect(await store.countLive('gamma', idleSince, createdSince)).toBe(0);
        // A touch brings an idle session back within the window; ending one takes it out.
        await store.touchLoginSession('alpha', dead[0]!.id, at(3500));
        expect(await store.countLive('alpha', idleSince, createdSince)).toBe(4);
        await store.endLoginSessionsOfUser('alpha', ben, at(3600));
        expect(await store.countLive('alpha', idleSince, createdSince)).toBe(3);
        expect(await store.countLive('alpha', at(3601), createdSince)).toBe(0);
      });
    });

    describe('events with the change', () => {
      it('appends the events of a session that starts or ends with it, none when the store refused or it had ended', async () => {
        const user = await store.createUser(newUser({ username: 'ev', email: 'ev@example.com' }), T0);
        const session = (id: string, userId = user.id): LoginSession => ({ id, realmId: 'alpha', userId, createdAt: T0, lastSeenAt: T0, ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null });
        const created = (sid: string, userId = user.id) => (ok: boolean) => (ok ? [newEvent(userId, 'session.created'), newEvent(userId, 'user.login.succeeded', { data: { method: 'pwd', sid } })] : []);
        const ended = (ok: boolean) => (ok ? [newEvent(user.id, 'session.deleted')] : []);
        expect(await store.createLoginSession(session('e-1'), created('e-1'))).toBe(true);
        expect(await store.createLoginSession(session('e-gone', 'no-such-user'), created('e-gone', 'no-such-user'))).toBe(false);
        expect(await store.endLoginSession('alpha', 'e-1', at(1), ended)).toBe(true);
        expect(await store.endLoginSession('alpha', 'e-1', at(2), ended)).toBe(false);
        await store.createLoginSession(session('e-2'));
        await store.createLoginSession(session('e-3'));
        const sids = await store.endLoginSessionsOfUser('alpha', user.id, at(3), 'e-3', (ids) => (ids.length > 0 ? [newEvent(user.id, 'session.deleted', { data: { sids: ids, reason: 'test' } })] : []));
        expect(sids).toEqual(['e-2']);
        expect(await store.endLoginSessionsOfUser('alpha', user.id, at(4), 'e-3', (ids) => (ids.length > 0 ? [newEvent(user.id, 'session.deleted')] : []))).toEqual([]);
        expect(await eventTypes(store)).toEqual(['session.created', 'user.login.succeeded', 'session.deleted', 'session.deleted']);
        const [last] = (await store.events.query({ realmId: 'alpha', limit: 1 })).data;
        expect(last?.data).toEqual({ sids: ['e-2'], reason: 'test' });
      });
    });
  });
}

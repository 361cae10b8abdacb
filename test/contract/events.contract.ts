import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidEventCursor, type EventType, type NewEvent, type StoredEvent } from '../../src/domain/events.ts';
import { encodeEventCursor, type EventQuery, type EventsPort } from '../../src/ports/events.ts';

/**
 * The events port's contract (src/ports/events.ts): every adapter runs this
 * same suite. `open` returns a fresh, empty log and a way to close it.
 */
export function eventsContract(name: string, open: () => Promise<{ events: EventsPort; close(): Promise<void> }>): void {
  describe(`Events contract: ${name}`, () => {
    let log: { events: EventsPort; close(): Promise<void> };
    let events: EventsPort;
    beforeEach(async () => {
      log = await open();
      events = log.events;
    });
    afterEach(async () => {
      await log.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    function event(overrides: Partial<NewEvent> = {}): NewEvent {
      return {
        realmId: 'alpha',
        type: 'user.login.succeeded',
        userId: 'user-1',
        actor: { type: 'user', id: 'user-1' },
        request: { ip: '192.0.2.1', userAgent: 'UA', clientId: 'app1', requestId: 'req-1' },
        at: T0,
        data: { method: 'pwd', sid: 's1' },
        ...overrides,
      } as NewEvent;
    }

    /** Every page of `query`, following `next` to the end. */
    async function allPages(query: Omit<EventQuery, 'after'>): Promise<{ pages: StoredEvent[][] }> {
      const pages: StoredEvent[][] = [];
      let after: string | undefined;
      for (let guard = 0; guard < 100; guard++) {
        const page = await events.query({ ...query, after });
        pages.push(page.data);
        if (!page.next) return { pages };
        after = page.next;
      }
      throw new Error('paging never ended');
    }

    const typesOf = (list: StoredEvent[]) => list.map((e) => e.type);

    it('appends an event and reads it back with every field and an id', async () => {
      const stored = await events.append(event());
      expect(stored.id).toEqual(expect.any(String));
      const { data, next } = await events.query({ realmId: 'alpha', limit: 10 });
      expect(next).toBeNull();
      expect(data).toEqual([{ ...event(), id: stored.id }]);
      expect(stored).toEqual(data[0]);
    });

    it('keeps an event with no user, no data and no request, by the system', async () => {
      await events.append(event({ userId: null, data: null, actor: { type: 'system', id: null }, request: { ip: null, userAgent: null, clientId: null, requestId: null } }));
      const [e] = (await events.query({ realmId: 'alpha', limit: 1 })).data;
      expect(e).toMatchObject({ userId: null, data: null, actor: { type: 'system', id: null }, request: { ip: null, userAgent: null, clientId: null, requestId: null } });
    });

    it('lists newest first, the later-appended first when two share a time', async () => {
      await events.append(event({ type: 'user.created', at: at(1), data: { method: 'pwd' } }));
      await events.append(event({ type: 'user.login.failed', at: at(3), data: { method: 'pwd' } }));
      await events.append(event({ type: 'session.created', at: at(2), data: { sid: 's1', amr: ['pwd'], aal: 1 } }));
      await events.append(event({ type: 'user.login.succeeded', at: at(2) }));
      expect(typesOf((await events.query({ realmId: 'alpha', limit: 10 })).data)).toEqual(['user.login.failed', 'user.login.succeeded', 'session.created', 'user.created']);
    });

    it('filters by type prefix on whole name segments', async () => {
      const types: EventType[] = ['user.login.succeeded', 'user.login.failed', 'user.created', 'user.password_token.created', 'user.password.updated', 'session.deleted'];
      for (const [i, type] of types.entries()) await events.append(event({ type, at: at(i), data: null }));
      const byPrefix = async (typePrefix: string) => typesOf((await events.query({ realmId: 'alpha', typePrefix, limit: 10 })).data);
      expect(await byPrefix('user.login')).toEqual(['user.login.failed', 'user.login.succeeded']);
      expect(await byPrefix('user.login.')).toEqual(['user.login.failed', 'user.login.succeeded']);
      expect(await byPrefix('user.login.failed')).toEqual(['user.login.failed']);
      // Not a string prefix: user.password does not take in user.password_token.*
      expect(await byPrefix('user.password')).toEqual(['user.password.updated']);
      expect(await byPrefix('user.log')).toEqual([]);
      expect(await byPrefix('user.%')).toEqual([]);
      expect(await byPrefix('session')).toEqual(['session.deleted']);
      expect(await byPrefix('user')).toHaveLength(5);
    });

    it('filters by a list of types, and by types and prefix together', async () => {
      for (const [i, type] of (['user.login.succeeded', 'user.login.failed', 'user.created', 'session.deleted'] as const).entries()) {
        await events.append(event({ type, at: at(i), data: null }));
      }
      const types: EventType[] = ['user.login.succeeded', 'session.deleted'];
      expect(typesOf((await events.query({ realmId: 'alpha', types, limit: 10 })).data)).toEqual(['session.deleted', 'user.login.succeeded']);
      expect(typesOf((await events.query({ realmId: 'alpha', types, typePrefix: 'user', limit: 10 })).data)).toEqual(['user.login.succeeded']);
      expect((await events.query({ realmId: 'alpha', types: [], limit: 10 })).data).toEqual([]);
    });

    it('lists only events strictly after createdAfter', async () => {
      for (let i = 1; i <= 4; i++) await events.append(event({ at: at(i) }));
      const { data } = await events.query({ realmId: 'alpha', createdAfter: at(2), limit: 10 });
      expect(data.map((e) => e.at.getTime())).toEqual([at(4).getTime(), at(3).getTime()]);
    });

    it("lists only one user's events when asked", async () => {
      await events.append(event({ userId: 'user-1' }));
      await events.append(event({ userId: 'user-2' }));
      await events.append(event({ userId: null, type: 'user.login.failed', data: { method: 'pwd' } }));
      expect((await events.query({ realmId: 'alpha', userId: 'user-1', limit: 10 })).data.map((e) => e.userId)).toEqual(['user-1']);
      expect((await events.query({ realmId: 'alpha', limit: 10 })).data).toHaveLength(3);
    });

    it('keeps realms apart: another realm’s events are never listed, nor reachable by its cursor', async () => {
      await events.append(event({ realmId: 'beta', at: at(5) }));
      await events.append(event({ realmId: 'alpha', at: at(1) }));
      await events.append(event({ realmId: 'beta', at: at(0) }));
      const alpha = await events.query({ realmId: 'alpha', limit: 10 });
      expect(alpha.data.map((e) => e.realmId)).toEqual(['alpha']);
      const betaFirst = await events.query({ realmId: 'beta', limit: 1 });
      expect(betaFirst.next).not.toBeNull();
      // A cursor says where to go on from, never which realm: alpha's older events only.
      expect((await events.query({ realmId: 'alpha', after: betaFirst.next!, limit: 10 })).data.map((e) => e.realmId)).toEqual(['alpha']);
      expect((await events.query({ realmId: 'gamma', limit: 10 })).data).toEqual([]);
    });

    it('pages by cursor over more than two pages without losing or repeating one, across equal times', async () => {
      // 23 events, in runs that share a millisecond, so page ends fall inside a run.
      const appended: StoredEvent[] = [];
      for (let i = 0; i < 23; i++) appended.push(await events.append(event({ at: at(Math.floor(i / 4)), data: { method: 'pwd', sid: `s${i}` } })));
      const { pages } = await allPages({ realmId: 'alpha', limit: 5 });
      expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
      const ids = pages.flat().map((e) => e.id);
      expect(new Set(ids).size).toBe(23);
      // Newest first, the later-appended first within one time: exactly the reverse of appending.
      expect(ids).toEqual(appended.map((e) => e.id).reverse());
    });

    it('pages with filters applied on every page', async () => {
      for (let i = 0; i < 12; i++) {
        await events.append(event({ type: i % 3 === 0 ? 'user.login.failed' : 'user.login.succeeded', at: at(i % 2), userId: i % 4 === 0 ? 'user-2' : 'user-1' }));
      }
      const { pages } = await allPages({ realmId: 'alpha', userId: 'user-1', typePrefix: 'user.login.succeeded', limit: 2 });
      const all = pages.flat();
      expect(all.every((e) => e.userId === 'user-1' && e.type === 'user.login.succeeded')).toBe(true);
      expect(all).toHaveLength(6);
      expect(pages.length).toBeGreaterThan(2);
    });

    it('says there is no next page when the last one is exactly full', async () => {
      for (let i = 0; i < 4; i++) await events.append(event({ at: at(i) }));
      const first = await events.query({ realmId: 'alpha', limit: 2 });
      const second = await events.query({ realmId: 'alpha', limit: 2, after: first.next! });
      expect(second.data).toHaveLength(2);
      expect(second.next).toBeNull();
    });

    it('refuses a cursor it did not hand out with InvalidEventCursor', async () => {
      await events.append(event());
      const forged = [
        'not a cursor',
        'abc',
        '',
        Buffer.from('{"at":1}').toString('base64url'),
        Buffer.from(JSON.stringify(['1', 'x'])).toString('base64url'),
        Buffer.from(JSON.stringify([1.5, '1'])).toString('base64url'),
        encodeEventCursor({ at: T0, id: 'no-such-shape-of-id' }),
        'A'.repeat(500),
      ];
      for (const after of forged) {
        await expect(events.query({ realmId: 'alpha', after, limit: 10 }), after).rejects.toBeInstanceOf(InvalidEventCursor);
      }
    });

    it('answers an empty page for a limit below one', async () => {
      await events.append(event());
      expect(await events.query({ realmId: 'alpha', limit: 0 })).toEqual({ data: [], next: null });
    });

    describe('daily counts', () => {
      const COUNTED: EventType[] = ['user.created', 'user.login.succeeded', 'user.login.failed'];
      const utc = (iso: string) => new Date(iso);

      it('counts per UTC day and type, across a UTC midnight to the millisecond, oldest day first', async () => {
        const times = ['2025-03-01T00:00:00.000Z', '2025-03-01T23:59:59.999Z', '2025-03-02T00:00:00.000Z', '2025-03-02T00:00:00.001Z', '2025-03-02T13:00:00.000Z'];
        for (const t of times) await events.append(event({ at: utc(t) }));
        await events.append(event({ type: 'user.created', at: utc('2025-03-01T23:59:59.999Z'), data: { method: 'pwd' } }));
        await events.append(event({ type: 'user.login.failed', at: utc('2025-03-02T00:00:00.000Z'), data: { method: 'pwd' } }));
        await events.append(event({ type: 'user.login.failed', at: utc('2025-03-03T23:59:59.999Z'), data: { method: 'pwd' } }));
        expect(await events.dailyCounts('alpha', COUNTED, utc('2025-02-01T00:00:00Z'))).toEqual([
          { day: '2025-03-01', type: 'user.created', n: 1 },
          { day: '2025-03-01', type: 'user.login.succeeded', n: 2 },
          { day: '2025-03-02', type: 'user.login.failed', n: 1 },
          { day: '2025-03-02', type: 'user.login.succeeded', n: 3 },
          { day: '2025-03-03', type: 'user.login.failed', n: 1 },
        ]);
      });

      it('counts only the types asked for, none for an empty list', async () => {
        await events.append(event({ type: 'session.created', data: { sid: 's1', amr: ['pwd'], aal: 1 } }));
        await events.append(event({ type: 'user.login.succeeded' }));
        await events.append(event({ type: 'user.login.failed', data: { method: 'pwd' } }));
        expect(await events.dailyCounts('alpha', ['user.login.failed'], T0)).toEqual([{ day: '2025-03-01', type: 'user.login.failed', n: 1 }]);
        expect(await events.dailyCounts('alpha', ['user.login.failed', 'session.created'], T0)).toEqual([
          { day: '2025-03-01', type: 'session.created', n: 1 },
          { day: '2025-03-01', type: 'user.login.failed', n: 1 },
        ]);
        expect(await events.dailyCounts('alpha', ['user.deleted'], T0)).toEqual([]);
        expect(await events.dailyCounts('alpha', [], T0)).toEqual([]);
      });

      it('keeps realms apart', async () => {
        await events.append(event({ realmId: 'alpha' }));
        await events.append(event({ realmId: 'beta' }));
        await events.append(event({ realmId: 'beta' }));
        expect(await events.dailyCounts('alpha', COUNTED, T0)).toEqual([{ day: '2025-03-01', type: 'user.login.succeeded', n: 1 }]);
        expect(await events.dailyCounts('beta', COUNTED, T0)).toEqual([{ day: '2025-03-01', type: 'user.login.succeeded', n: 2 }]);
        expect(await events.dailyCounts('gamma', COUNTED, T0)).toEqual([]);
      });

      it('starts at the whole UTC day since falls in', async () => {
        await events.append(event({ at: utc('2025-02-28T23:59:59.999Z') }));
        await events.append(event({ at: utc('2025-03-01T00:00:00.000Z') }));
        await events.append(event({ at: utc('2025-03-01T20:00:00.000Z') }));
        await events.append(event({ at: utc('2025-03-02T08:00:00.000Z') }));
        // since at 18:00 on 1 March: all of 1 March counts, 28 February does not.
        expect(await events.dailyCounts('alpha', COUNTED, utc('2025-03-01T18:00:00Z'))).toEqual([
          { day: '2025-03-01', type: 'user.login.succeeded', n: 2 },
          { day: '2025-03-02', type: 'user.login.succeeded', n: 1 },
        ]);
        expect(await events.dailyCounts('alpha', COUNTED, utc('2025-03-02T23:59:59.999Z'))).toEqual([{ day: '2025-03-02', type: 'user.login.succeeded', n: 1 }]);
        expect(await events.dailyCounts('alpha', COUNTED, utc('2025-03-03T00:00:00Z'))).toEqual([]);
      });
    });
  });
}

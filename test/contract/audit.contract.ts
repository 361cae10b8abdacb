import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditPort } from '../../src/ports/audit.ts';

/**
 * The audit port's contract (src/ports/audit.ts): every store adapter runs this suite.
 * `open` returns a fresh, empty log each time and a way to close it.
 */
export function auditContract(name: string, open: () => Promise<{ audit: AuditPort; close(): Promise<void> }>): void {
  describe(`Audit contract: ${name}`, () => {
    let rig: { audit: AuditPort; close(): Promise<void> };
    let audit: AuditPort;
    beforeEach(async () => {
      rig = await open();
      audit = rig.audit;
    });
    afterEach(async () => {
      await rig.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    function entry(overrides: Partial<Omit<AuditEntry, 'id'>> = {}): Omit<AuditEntry, 'id'> {
      return {
        realmId: 'alpha',
        at: T0,
        actor: { type: 'api_key', id: 'mk_1' },
        operation: 'user.update',
        target: { type: 'user', id: 'user-1' },
        requestId: 'req-1',
        ip: '192.0.2.1',
        before: { firstName: 'Alice', tags: ['a'] },
        after: { firstName: 'Alicia', nested: { password: '[redacted]' } },
        ...overrides,
      };
    }

    const operations = (list: AuditEntry[]) => list.map((e) => e.operation);

    it('appends an entry and reads it back with every field and an id', async () => {
      await audit.appendAudit(entry());
      const [read, ...rest] = await audit.queryAudit({ realmId: 'alpha', limit: 10 });
      expect(rest).toEqual([]);
      expect(read).toEqual({ ...entry(), id: expect.any(String) });
    });

    it('keeps an entry without request, target id, before or after, from the CLI', async () => {
      await audit.appendAudit(entry({ actor: { type: 'cli', id: null }, target: { type: 'realm', id: null }, requestId: null, ip: null, before: null, after: null }));
      const [read] = await audit.queryAudit({ limit: 1 });
      expect(read).toMatchObject({ actor: { type: 'cli', id: null }, target: { type: 'realm', id: null }, requestId: null, ip: null, before: null, after: null });
    });

    it('lists newest first: the later-appended first, whatever their times', async () => {
      await audit.appendAudit(entry({ operation: 'one', at: at(2) }));
      await audit.appendAudit(entry({ operation: 'two', at: at(1) }));
      await audit.appendAudit(entry({ operation: 'three', at: at(1) }));
      expect(operations(await audit.queryAudit({ realmId: 'alpha', limit: 10 }))).toEqual(['three', 'two', 'one']);
    });

    it('keeps to the realm asked for; without one, lists every realm’s and the global entries', async () => {
      await audit.appendAudit(entry({ operation: 'alpha.1' }));
      await audit.appendAudit(entry({ operation: 'global', realmId: null, target: { type: 'api_key', id: 'mk_2' } }));
      await audit.appendAudit(entry({ operation: 'beta.1', realmId: 'beta' }));
      await audit.appendAudit(entry({ operation: 'alpha.2' }));
      expect(operations(await audit.queryAudit({ realmId: 'alpha', limit: 10 }))).toEqual(['alpha.2', 'alpha.1']);
      expect(operations(await audit.queryAudit({ realmId: 'beta', limit: 10 }))).toEqual(['beta.1']);
      expect(await audit.queryAudit({ realmId: 'gamma', limit: 10 })).toEqual([]);
      const all = await audit.queryAudit({ limit: 10 });
      expect(operations(all)).toEqual(['alpha.2', 'beta.1', 'global', 'alpha.1']);
      expect(all[2]?.realmId).toBeNull();
    });

    it('filters by target, within a realm or across them', async () => {
      await audit.appendAudit(entry({ operation: 'a', target: { type: 'user', id: 'user-1' } }));
      await audit.appendAudit(entry({ operation: 'b', target: { type: 'user', id: 'user-2' } }));
      await audit.appendAudit(entry({ operation: 'c', realmId: 'beta', target: { type: 'user', id: 'user-1' } }));
      await audit.appendAudit(entry({ operation: 'd', target: { type: 'user', id: 'user-1' } }));
      expect(operations(await audit.queryAudit({ realmId: 'alpha', targetId: 'user-1', limit: 10 }))).toEqual(['d', 'a']);
      expect(operations(await audit.queryAudit({ targetId: 'user-1', limit: 10 }))).toEqual(['d', 'c', 'a']);
      expect(await audit.queryAudit({ realmId: 'alpha', targetId: 'user-3', limit: 10 })).toEqual([]);
    });

    it('pages with `before`: each entry once, to the end', async () => {
      for (let i = 0; i < 7; i++) {
        await audit.appendAudit(entry({ operation: `op.${i}`, at: at(i % 3) }));
        await audit.appendAudit(entry({ operation: `beta.${i}`, realmId: 'beta' }));
      }
      const seen: string[] = [];
      let before: string | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const page = await audit.queryAudit({ realmId: 'alpha', before, limit: 3 });
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...operations(page));
        if (page.length < 3) break;
        before = page.at(-1)!.id;
      }
      expect(seen).toEqual(['op.6', 'op.5', 'op.4', 'op.3', 'op.2', 'op.1', 'op.0']);
    });

    it('pages the target filter and the global list with `before` too', async () => {
      for (let i = 0; i < 4; i++) await audit.appendAudit(entry({ operation: `u1.${i}`, realmId: i % 2 ? null : 'alpha' }));
      await audit.appendAudit(entry({ operation: 'other', target: { type: 'user', id: 'user-2' } }));
      const first = await audit.queryAudit({ targetId: 'user-1', limit: 2 });
      expect(operations(first)).toEqual(['u1.3', 'u1.2']);
      expect(operations(await audit.queryAudit({ targetId: 'user-1', before: first[1]!.id, limit: 10 }))).toEqual(['u1.1', 'u1.0']);
      const everything = await audit.queryAudit({ limit: 2 });
      expect(operations(everything)).toEqual(['other', 'u1.3']);
      expect(operations(await audit.queryAudit({ before: everything[1]!.id, limit: 10 }))).toEqual(['u1.2', 'u1.1', 'u1.0']);
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewSms, SmsOutboxPort } from '../../src/ports/sms-outbox.ts';
import { T0, at, type Opened } from './store-fixtures.ts';

/**
 * The contract of the SMS outbox port (src/ports/sms-outbox.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function smsOutboxContract(name: string, open: () => Promise<Opened<SmsOutboxPort>>): void {
  describe(`SMS outbox contract: ${name}`, () => {
    let store: Opened<SmsOutboxPort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
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
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailOutboxPort, NewOutboxMail } from '../../src/ports/mail-outbox.ts';
import { T0, at, type Opened } from './store-fixtures.ts';

/**
 * The contract of the mail outbox port (src/ports/mail-outbox.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function mailOutboxContract(name: string, open: () => Promise<Opened<MailOutboxPort>>): void {
  describe(`Mail outbox contract: ${name}`, () => {
    let store: Opened<MailOutboxPort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
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
  });
}

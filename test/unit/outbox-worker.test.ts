import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/infra/mail/outbox-worker.ts';
import { PermanentMailError, type MailTransport } from '../../src/infra/mail/transports.ts';
import type { NewOutboxMail, OutboxMail } from '../../src/store/port.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';

const T0 = new Date('2025-03-01T12:00:00.000Z');
const silent = pino({ level: 'silent' });

/** A transport stand-in: records what it is handed, fails as told, and can hold a delivery until released. */
class TestTransport implements MailTransport {
  readonly name = 'test';
  readonly delivered: OutboxMail[] = [];
  readonly attempts: OutboxMail[] = [];
  fail: ((mail: OutboxMail) => Error | null) | null = null;
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => {};
  private onAttempt: () => void = () => {};

  async deliver(mail: OutboxMail): Promise<void> {
    this.attempts.push(mail);
    this.onAttempt();
    if (this.gate) await this.gate;
    const err = this.fail?.(mail) ?? null;
    if (err) throw err;
    this.delivered.push(mail);
  }

  close(): void {}

  /** Holds every delivery until release(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.gate = null;
    this.openGate();
  }

  /** Resolves at the next delivery attempt. */
  nextAttempt(): Promise<void> {
    return new Promise((resolve) => (this.onAttempt = resolve));
  }
}

function mail(i = 0): NewOutboxMail {
  return {
    realmId: 'alpha',
    kind: 'verify-email',
    userId: `user-${i}`,
    to: { address: `user${i}@example.com`, name: null },
    from: 'Alpha <no-reply@alpha.example>',
    subject: `Verify ${i}`,
    text: 'text',
    html: '<p>html</p>',
    link: null,
  };
}

/** Lets every pending promise chain settle (setImmediate is left real under the fake timers). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('OutboxWorker', () => {
  let store: SqliteStore;
  let transport: TestTransport;
  let now: Date;
  const clock = () => now;
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const workers: OutboxWorker[] = [];
  const worker = (options: OutboxWorkerOptions = {}) => {
    const w = new OutboxWorker(store, transport, silent, { clock, pollMs: 3_600_000, leaseMs: 60_000, baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 10, ...options });
    workers.push(w);
    return w;
  };

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    transport = new TestTransport();
    now = T0;
  });
  afterEach(async () => {
    transport.release();
    for (const w of workers.splice(0)) await w.stop();
    vi.useRealTimers();
    await store.close();
  });

  describe('one batch (runOnce)', () => {
    it('delivers a due mail and marks it sent', async () => {
      const id = await store.enqueueMail(mail(), T0);
      advance(10);
      expect(await worker().runOnce()).toBe(1);
      expect(transport.delivered.map((m) => m.id)).toEqual([id]);
      expect(transport.delivered[0]).toMatchObject({ subject: 'Verify 0', to: { address: 'user0@example.com' }, attempts: 1 });
      expect(await store.getMail(id)).toMatchObject({ status: 'sent', attempts: 1, sentAt: new Date(T0.getTime() + 10), lastError: null });
      expect(await worker().runOnce()).toBe(0);
      expect(transport.attempts).toHaveLength(1);
    });

    it('sends nothing that is not due yet', async () => {
      await store.enqueueMail(mail(), new Date(T0.getTime() + 1000));
      expect(await worker().runOnce()).toBe(0);
      expect(transport.attempts).toEqual([]);
    });

    it('handles up to the batch limit', async () => {
      for (let i = 0; i < 5; i++) await store.enqueueMail(mail(i), T0);
      const w = worker();
      expect(await w.runOnce(3)).toBe(3);
      expect(await w.runOnce(3)).toBe(2);
      expect(transport.delivered).toHaveLength(5);
      expect((await store.listMail(10)).every((m) => m.status === 'sent')).toBe(true);
    });

    it('retries a transient failure with exponential backoff: base, 2×base, 4×base, then capped at maxDelayMs', async () => {
      transport.fail = () => new Error('421 Service not available, try later');
      const id = await store.enqueueMail(mail(), T0);
      const w = worker({ baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 10 });
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 5; attempt++) {
        expect(await w.runOnce(), `attempt ${attempt}`).toBe(1);
        const stored = (await store.getMail(id))!;
        expect(stored).toMatchObject({ status: 'queued', attempts: attempt, lastError: '421 Service not available, try later' });
        delays.push(stored.nextAttemptAt.getTime() - now.getTime());
        // Not sent again before it is due.
        advance(delays.at(-1)! - 1);
        expect(await w.runOnce()).toBe(0);
        advance(1);
      }
      expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
      expect(transport.attempts).toHaveLength(5);
    });

    it('sends a mail that failed once when it is due again', async () => {
      let failures = 1;
      transport.fail = () => (failures-- > 0 ? new Error('connection refused') : null);
      const id = await store.enqueueMail(mail(), T0);
      const w = worker({ baseDelayMs: 1000 });
      await w.runOnce();
      advance(1000);
      expect(await w.runOnce()).toBe(1);
      expect(await store.getMail(id)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
      expect(transport.delivered.map((m) => m.id)).toEqual([id]);
    });

    it('marks a mail failed at once on a PermanentMailError, and never tries it again', async () => {
      transport.fail = () => new PermanentMailError('550 5.1.1 mailbox unavailable');
      const id = await store.enqueueMail(mail(), T0);
      const w = worker();
      expect(await w.runOnce()).toBe(1);
      expect(await store.getMail(id)).toMatchObject({ status: 'failed', attempts: 1, lastError: '550 5.1.1 mailbox unavailable', sentAt: null });
      advance(24 * 3600_000);
      expect(await w.runOnce()).toBe(0);
      expect(transport.attempts).toHaveLength(1);
    });

    it('gives up after maxAttempts and marks the mail failed', async () => {
      transport.fail = () => new Error('timeout');
      const id = await store.enqueueMail(mail(), T0);
      const w = worker({ maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 5000 });
      for (let attempt = 1; attempt <= 3; attempt++) {
        expect(await w.runOnce(), `attempt ${attempt}`).toBe(1);
        expect((await store.getMail(id))?.status).toBe(attempt < 3 ? 'queued' : 'failed');
        advance(5000);
      }
      expect(await store.getMail(id)).toMatchObject({ status: 'failed', attempts: 3, lastError: 'timeout' });
      advance(24 * 3600_000);
      expect(await w.runOnce()).toBe(0);
      expect(transport.attempts).toHaveLength(3);
    });

    it('fails one mail without holding up the others in the batch', async () => {
      const bad = await store.enqueueMail({ ...mail(1), to: { address: 'bad@example.com', name: null } }, T0);
      const good = await store.enqueueMail(mail(2), T0);
      transport.fail = (m) => (m.id === bad ? new PermanentMailError('550 no such user') : null);
      expect(await worker().runOnce()).toBe(2);
      expect((await store.getMail(bad))?.status).toBe('failed');
      expect((await store.getMail(good))?.status).toBe('sent');
    });

    it("keeps a second worker off a mail the first one holds, until the first one's lease runs out", async () => {
      transport.hold();
      const id = await store.enqueueMail(mail(), T0);
      const first = worker({ leaseMs: 60_000 });
      const second = worker({ leaseMs: 60_000 });
      const firstBatch = first.runOnce();
      await settle();
      advance(59_999);
      expect(await second.runOnce()).toBe(0);
      // The first worker hangs (or crashed): after its lease the second one takes over.
      advance(1);
      const secondBatch = second.runOnce();
      await settle();
      expect(transport.attempts.map((m) => [m.id, m.attempts])).toEqual([
        [id, 1],
        [id, 2],
      ]);
      transport.release();
      expect(await firstBatch).toBe(1);
      expect(await secondBatch).toBe(1);
      expect(await store.getMail(id)).toMatchObject({ status: 'sent', attempts: 2 });
    });
  });

  describe('running', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    });

    it('sends what is queued when started', async () => {
      const id = await store.enqueueMail(mail(), T0);
      worker().start();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      expect(transport.delivered.map((m) => m.id)).toEqual([id]);
    });

    it('wake() sends a new mail at once, without waiting for the poll', async () => {
      const w = worker({ pollMs: 3_600_000 });
      w.start();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      const id = await store.enqueueMail(mail(), T0);
      w.wake();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      expect(transport.delivered.map((m) => m.id)).toEqual([id]);
    });

    it('without wake(), a new mail waits for the next poll', async () => {
      const w = worker({ pollMs: 5000 });
      w.start();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      await store.enqueueMail(mail(), T0);
      await vi.advanceTimersByTimeAsync(4999);
      await settle();
      expect(transport.attempts).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await settle();
      expect(transport.delivered).toHaveLength(1);
    });

    it('sends a mail queued while a batch is in hand without waiting for the poll', async () => {
      transport.hold();
      const w = worker({ pollMs: 3_600_000 });
      const first = await store.enqueueMail(mail(1), T0);
      const attempted = transport.nextAttempt();
      w.start();
      await vi.advanceTimersByTimeAsync(0);
      await attempted;
      const second = await store.enqueueMail(mail(2), T0);
      w.wake();
      transport.release();
      await settle();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      expect(transport.delivered.map((m) => m.id)).toEqual([first, second]);
    });

    it('keeps running after the store fails to answer once, and sends at the next poll', async () => {
      const claim = store.claimDueMail.bind(store);
      let broken = true;
      vi.spyOn(store, 'claimDueMail').mockImplementation(async (...args) => {
        if (broken) {
          broken = false;
          throw new Error('database is locked');
        }
        return claim(...args);
      });
      const id = await store.enqueueMail(mail(), T0);
      worker({ pollMs: 1000 }).start();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      expect(transport.attempts).toEqual([]);
      await vi.advanceTimersByTimeAsync(1000);
      await settle();
      expect(transport.delivered.map((m) => m.id)).toEqual([id]);
    });

    it('stop() waits for the batch in hand, which is marked sent, and then schedules nothing', async () => {
      transport.hold();
      const id = await store.enqueueMail(mail(), T0);
      const w = worker({ pollMs: 1000 });
      const attempted = transport.nextAttempt();
      w.start();
      await vi.advanceTimersByTimeAsync(0);
      await attempted;
      let stopped = false;
      const stopping = w.stop().then(() => (stopped = true));
      await settle();
      expect(stopped).toBe(false);
      transport.release();
      await stopping;
      expect(await store.getMail(id)).toMatchObject({ status: 'sent' });
      await settle();
      expect(vi.getTimerCount()).toBe(0);
      // Stopped: neither a wake nor time sends anything more.
      await store.enqueueMail(mail(2), T0);
      w.wake();
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(10_000);
      await settle();
      expect(transport.attempts).toHaveLength(1);
    });

    it('stop() returns at once when no batch is in hand', async () => {
      const w = worker();
      w.start();
      await vi.advanceTimersByTimeAsync(0);
      await settle();
      await w.stop();
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});

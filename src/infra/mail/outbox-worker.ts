import type { Logger } from 'pino';
import type { MailOutboxPort } from '../../ports/mail-outbox.ts';
import { PermanentMailError, type MailTransport } from './transports.ts';

export interface OutboxWorkerOptions {
  /** How often the outbox is looked at when nothing wakes the worker (retries, other instances' mails). */
  pollMs?: number;
  /** How long a claimed mail is ours; after that another worker (or this one after a restart) may take it. */
  leaseMs?: number;
  /** First retry delay; doubled after every failure, up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts before a mail is given up and marked failed. */
  maxAttempts?: number;
  clock?: () => Date;
}

/**
 * Sends the outbox: claims due mails (a lease, so instances never send the
 * same mail at once), delivers, and marks each sent, due again later
 * (exponential backoff), or failed. Delivery is at least once: only a crash
 * between the server's acceptance and the mark sends a mail twice, and then
 * with the same Message-ID.
 */
export class OutboxWorker {
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;
  private readonly clock: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly store: MailOutboxPort,
    private readonly transport: MailTransport,
    private readonly logger: Logger,
    options: OutboxWorkerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.baseDelayMs = options.baseDelayMs ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 10 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** A mail was just queued: send now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      do {
        this.again = false;
        try {
          while (!this.stopped && (await this.runOnce()) > 0);
        } catch (err) {
          this.logger.error({ err }, 'outbox: cannot read the outbox');
        }
      } while (this.again && !this.stopped);
    })();
    await this.running;
    this.running = undefined;
    this.schedule(this.pollMs);
  }

  /** One batch: returns how many mails it handled. */
  async runOnce(limit = 10): Promise<number> {
    const mails = await this.store.claimDueMail(this.clock(), this.leaseMs, limit);
    for (const mail of mails) {
      try {
        await this.transport.deliver(mail);
        await this.store.markMailSent(mail.id, this.clock());
        this.logger.debug({ mail: mail.id, kind: mail.kind, attempts: mail.attempts }, 'outbox: sent');
      } catch (err) {
        const message = (err as Error).message || String(err);
        if (err instanceof PermanentMailError || mail.attempts >= this.maxAttempts) {
          await this.store.markMailFailed(mail.id, message);
          this.logger.error({ mail: mail.id, kind: mail.kind, to: mail.to.address, attempts: mail.attempts, error: message }, 'outbox: mail failed for good');
        } else {
          const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (mail.attempts - 1));
          await this.store.markMailRetry(mail.id, new Date(this.clock().getTime() + delay), message);
          this.logger.warn({ mail: mail.id, kind: mail.kind, attempts: mail.attempts, retryInMs: delay, error: message }, 'outbox: delivery failed, will retry');
        }
      }
    }
    return mails.length;
  }

  /** Stops polling and waits for the batch in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

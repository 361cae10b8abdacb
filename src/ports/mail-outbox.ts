/**
 * The mail outbox: mail/mailer.ts queues, infra/mail/outbox-worker.ts delivers with retries, the development
 * outbox page lists. Part of the Store (src/store/port.ts), whose adapters pass test/contract/mail-outbox.contract.ts.
 */

export interface NewOutboxMail {
  realmId: string;
  kind: string;
  userId: string | null;
  to: { address: string; name: string | null };
  from: string;
  subject: string;
  text: string;
  html: string;
  link: string | null;
}

export interface OutboxMail extends NewOutboxMail {
  id: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

export interface MailOutboxPort {
  enqueueMail(mail: NewOutboxMail, at: Date): Promise<string>;
  /**
   * Takes up to `limit` queued mails that are due and not leased to another worker,
   * leasing them for `leaseMs` and counting the attempt. Atomic: two workers never get the same mail.
   */
  claimDueMail(at: Date, leaseMs: number, limit: number): Promise<OutboxMail[]>;
  markMailSent(id: string, at: Date): Promise<void>;
  /** Back to the queue, due again at `nextAttemptAt`. */
  markMailRetry(id: string, nextAttemptAt: Date, error: string): Promise<void>;
  markMailFailed(id: string, error: string): Promise<void>;
  /** The newest mails first (the development outbox page). */
  listMail(limit: number): Promise<OutboxMail[]>;
  getMail(id: string): Promise<OutboxMail | null>;
}

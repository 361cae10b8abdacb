/**
 * The development SMS outbox (infra/sms/dev-outbox.ts keeps, the development outbox page lists; the
 * production webhook stores nothing). Part of the Store (src/store/port.ts), whose adapters pass
 * test/contract/sms-outbox.contract.ts.
 */

/** A text message as the development outbox keeps it. */
export interface NewSms {
  realmId: string;
  kind: string;
  userId: string | null;
  /** E.164. */
  to: string;
  text: string;
}

export interface SmsRecord extends NewSms {
  id: string;
  createdAt: Date;
}

export interface SmsOutboxPort {
  /** Keeps a text message of the development SMS outbox; returns its id. */
  recordSms(sms: NewSms, at: Date): Promise<string>;
  /** The newest text messages first (the development outbox page). */
  listSms(limit: number): Promise<SmsRecord[]>;
}

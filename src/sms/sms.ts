import type { RealmConfig } from '../config/index.ts';

/**
 * The SMS port: what a flow needs to send a text message, and nothing else.
 * Adapters live in src/infra/sms/ (the development outbox, the signed HTTP
 * webhook); src/main.ts picks one. The flow writes the text (from the
 * locale's `sms.*` keys, in the user's language) and the port delivers it.
 */

/** The text messages Gatehouse sends; each has its locale key `sms.<kindKey>`. */
export type SmsKind = 'bind-phone';

export interface SmsMessage {
  realm: RealmConfig;
  /** E.164, already validated by the flow. */
  to: string;
  text: string;
  kind: SmsKind;
  userId: string | null;
}

export interface SmsSender {
  /** For logs and /readyz-style reports: "dev-outbox", "webhook". */
  readonly name: string;
  /** Resolves once the message is handed over (stored, or accepted by the webhook); throws SmsDeliveryError otherwise. */
  send(message: SmsMessage): Promise<{ id: string }>;
}

/** The message could not be handed over (the webhook is down, slow or refused it): the page says "try again later". */
export class SmsDeliveryError extends Error {
  override name = 'SmsDeliveryError';
}


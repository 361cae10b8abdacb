import type { Logger } from 'pino';
import type { SmsOutboxPort } from '../../ports/sms-outbox.ts';
import type { SmsMessage, SmsSender } from '../../sms/sms.ts';

/**
 * Without SMS_WEBHOOK_URL: nothing leaves the machine. Each text message is
 * kept in the store (GET /dev/mail shows it in development) and logged in one
 * line, so `npm start` works without an SMS provider. The text (with its
 * code) reaches the log only with `revealText` (development): a production log
 * is read by more people than the phone's owner.
 */
export function devOutboxSms(store: SmsOutboxPort, logger: Logger, clock: () => Date = () => new Date(), revealText = false): SmsSender {
  return {
    name: 'dev-outbox',
    async send(message: SmsMessage) {
      const id = await store.recordSms({ realmId: message.realm.id, kind: message.kind, userId: message.userId, to: message.to, text: message.text }, clock());
      const text = revealText ? `: ${message.text}` : '';
      logger.info({ sms: id, kind: message.kind }, `sms (not sent, no SMS_WEBHOOK_URL) → ${revealText ? message.to : 'a phone number'}${text}`);
      return { id };
    },
  };
}

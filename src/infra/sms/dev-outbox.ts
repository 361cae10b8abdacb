import type { Logger } from 'pino';
import type { SmsMessage, SmsSender } from '../../sms/sms.ts';
import type { Store } from '../../store/port.ts';

/**
 * Without SMS_WEBHOOK_URL: nothing leaves the machine. Each text message is
 * kept in the store (GET /dev/mail shows it in development) and logged in one
 * line, code included, so `npm start` works without an SMS provider.
 */
export function devOutboxSms(store: Store, logger: Logger, clock: () => Date = () => new Date()): SmsSender {
  return {
    name: 'dev-outbox',
    async send(message: SmsMessage) {
      const id = await store.recordSms({ realmId: message.realm.id, kind: message.kind, userId: message.userId, to: message.to, text: message.text }, clock());
      logger.info({ sms: id, to: message.to, kind: message.kind }, `sms (not sent, no SMS_WEBHOOK_URL) → ${message.to}: ${message.text}`);
      return { id };
    },
  };
}

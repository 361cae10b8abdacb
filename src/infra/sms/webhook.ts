import { createHmac, randomUUID } from 'node:crypto';
import { SmsDeliveryError, type SmsMessage, type SmsSender } from '../../sms/sms.ts';

export interface WebhookSmsOptions {
  /** SMS_WEBHOOK_URL: the operator's endpoint (or their SMS provider's bridge). */
  url: string;
  /** SMS_WEBHOOK_SECRET (≥ 32 characters): the receiver checks the signature with it. */
  secret: string;
  /** A request slower than this fails (the page then says "try again later"). */
  timeoutMs?: number;
  clock?: () => Date;
}

const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The signature of a webhook request: HMAC-SHA256 with the shared secret over
 * `${timestamp}.${body}` (the exact bytes sent), hex. The receiver recomputes
 * it, compares in constant time, and refuses a timestamp far from its clock,
 * so a captured request cannot be replayed later or altered.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Production SMS: POSTs JSON `{ to, text, realm, kind, id }` to the webhook,
 * with `X-Gatehouse-Timestamp` (Unix seconds) and
 * `X-Gatehouse-Signature: sha256=<hex>`. Any answer but 2xx, a network error
 * or a timeout is an SmsDeliveryError; nothing is retried (the user asks again).
 */
export function webhookSms(options: WebhookSmsOptions): SmsSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const clock = options.clock ?? (() => new Date());
  const target = new URL(options.url);
  // The query may carry a token for the receiver; error messages (and so the log) never repeat it.
  const shown = `${target.origin}${target.pathname}`;
  return {
    name: 'webhook',
    async send(message: SmsMessage) {
      const id = randomUUID();
      const body = JSON.stringify({ to: message.to, text: message.text, realm: message.realm.id, kind: message.kind, id });
      const timestamp = Math.floor(clock().getTime() / 1000);
      let res: Response;
      try {
        res = await fetch(options.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'Gatehouse-SMS-Webhook',
            'X-Gatehouse-Timestamp': String(timestamp),
            'X-Gatehouse-Signature': signWebhook(options.secret, timestamp, body),
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const e = err as Error;
        const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message;
        throw new SmsDeliveryError(`SMS webhook ${shown}: ${why}`);
      }
      // The body is not needed; reading it frees the connection for the next message.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new SmsDeliveryError(`SMS webhook ${shown} answered ${res.status}`);
      return { id };
    },
  };
}

import { createHmac, randomBytes } from 'node:crypto';

/**
 * Signing of webhook deliveries per the Standard Webhooks specification
 * (docs/design/webhooks.md §3), so that receivers verify them with any of its
 * libraries. Plain rules, no I/O: the delivery worker (events/webhook-worker.ts)
 * opens the endpoint's sealed secrets and calls webhookHeaders for each attempt.
 */

/** The prefix Standard Webhooks gives a signing secret. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Bytes of randomness in a secret Gatehouse makes (the specification allows 24 to 64). */
const SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Standard base64 with its padding, as the reference libraries decode it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/**
 * A message id: the signed content is `id.timestamp.body`, so an id with a
 * dot could pass for another id and timestamp; commas and spaces would break
 * the header lists. Gatehouse's own are `msg_` + base64url.
 */
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. Shown once; stored sealed. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The HMAC key a secret stands for; null when it is not a signing secret. */
function keyOf(secret: string): Buffer | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : null;
}

/** One delivery attempt as it is signed. */
export interface WebhookMessage {
  /** The same on every attempt and replay of one delivery, so the receiver can drop a repeat. */
  id: string;
  /** When this attempt is sent (a retry is signed anew): receivers refuse one far from their clock. */
  at: Date;
  /** The exact body sent. */
  body: string;
}

/** The three headers of a signed delivery, lower-case as HTTP/2 wants them. */
export interface WebhookHeaders {
  'webhook-id': string;
  /** Unix time in whole seconds. */
  'webhook-timestamp': string;
  /** `v1,<signature>`, one per secret, separated by spaces. */
  'webhook-signature': string;
}

/** `v1,` + base64 of HMAC-SHA256 under the secret's key over `id.timestamp.body`. */
export function webhookSignature(secret: string, message: WebhookMessage): string {
  const key = keyOf(secret);
  if (!key) throw new TypeError('not a webhook signing secret (whsec_ + base64 of 24 to 64 bytes)');
  if (!MESSAGE_ID.test(message.id)) throw new TypeError('a webhook message id is 1 to 128 characters of A–Z, a–z, 0–9, _ and -');
  const signed = `${message.id}.${timestampOf(message.at)}.${message.body}`;
  return `v1,${createHmac('sha256', key).update(signed, 'utf8').digest('base64')}`;
}

/**
 * The headers of one attempt, signed with every secret given: the current
 * one, and during a rotation the previous one too (docs/design/webhooks.md
 * §3.2), so a receiver that still has either verifies the delivery.
 */
export function webhookHeaders(secrets: readonly string[], message: WebhookMessage): WebhookHeaders {
  if (secrets.length === 0) throw new TypeError('a webhook is signed with at least one secret');
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(timestampOf(message.at)),
    'webhook-signature': secrets.map((secret) => webhookSignature(secret, message)).join(' '),
  };
}

function timestampOf(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}

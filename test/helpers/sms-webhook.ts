/**
 * A real HTTP server inside the test that plays the operator's SMS webhook:
 * it checks each request the way a receiver must (HMAC-SHA256 signature over
 * `${timestamp}.${body}` with the shared secret, compared in constant time; a
 * timestamp close to its clock), records the messages it accepts, and can be
 * told to answer with an error to play a provider outage.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface ReceivedSms {
  to: string;
  text: string;
  realm: string;
  kind: string;
  id: string;
  /** The 6-digit code in the text. */
  code: string | null;
}

export interface TestSmsWebhook {
  url: string;
  secret: string;
  /** Every message accepted (signature and timestamp good), oldest first. */
  messages: ReceivedSms[];
  /** Requests refused for a bad signature or timestamp (should stay 0). */
  refused: string[];
  /** Every message accepted for `to`. */
  to(to: string): ReceivedSms[];
  /** The status the next requests get (200 by default). */
  answerWith(status: number): void;
  close(): Promise<void>;
}

/** How far a timestamp may be from the receiver's clock. */
const TOLERANCE_SECONDS = 300;

export async function startSmsWebhook(options: { secret?: string; clock?: () => Date } = {}): Promise<TestSmsWebhook> {
  const secret = options.secret ?? 'test-sms-webhook-secret-0123456789abcdef';
  const clock = options.clock ?? (() => new Date());
  const messages: ReceivedSms[] = [];
  const refused: string[] = [];
  let status = 200;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-gatehouse-timestamp'] ?? '');
      const signature = String(req.headers['x-gatehouse-signature'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
      const sameSignature = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
      const fresh = /^\d+$/.test(timestamp) && Math.abs(clock().getTime() / 1000 - Number(timestamp)) <= TOLERANCE_SECONDS;
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json' || !sameSignature || !fresh) {
        refused.push(`${req.method} ${req.headers['content-type']} signature ${sameSignature ? 'ok' : 'bad'} timestamp ${fresh ? 'ok' : 'bad'}`);
        res.writeHead(401).end();
        return;
      }
      if (status < 200 || status >= 300) {
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end('provider unavailable');
        return;
      }
      const payload = JSON.parse(body) as Omit<ReceivedSms, 'code'>;
      messages.push({ ...payload, code: /\b(\d{6})\b/.exec(payload.text)?.[1] ?? null });
      res.writeHead(status, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}/sms`,
    secret,
    messages,
    refused,
    to: (to) => messages.filter((m) => m.to === to),
    answerWith(next) {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

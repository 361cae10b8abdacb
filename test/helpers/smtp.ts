/**
 * A real SMTP server inside the test process (smtp-server), with every
 * received mail parsed by mailparser. It can be stopped and started again on
 * the same port, to play an outage.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './ports.ts';

export interface ReceivedMail {
  /** The SMTP envelope: who the server was told to deliver to. */
  envelopeTo: string[];
  envelopeFrom: string;
  parsed: ParsedMail;
  subject: string;
  text: string;
  html: string;
  to: string;
  messageId: string;
  /** Every http(s) link in the text part. */
  links: string[];
  /** The 6-digit code in the text part, when there is one. */
  code: string | null;
}

export interface TestSmtp {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the first mail (already received or still to come) to `address` that `match` accepts. */
  waitFor(address: string, match?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Every mail received for `address`. */
  to(address: string): ReceivedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtp(options: { user?: string; password?: string } = {}): Promise<TestSmtp> {
  const port = await freePort();
  const mails: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let server: SMTPServer | undefined;

  const create = () =>
    new SMTPServer({
      secure: false,
      authOptional: !options.user,
      disabledCommands: options.user ? ['STARTTLS'] : ['AUTH', 'STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === options.user && auth.password === options.password) return callback(null, { user: auth.username });
        callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            const text = parsed.text ?? '';
            mails.push({
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              parsed,
              subject: parsed.subject ?? '',
              text,
              html: typeof parsed.html === 'string' ? parsed.html : '',
              to: Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? ''),
              messageId: parsed.messageId ?? '',
              links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
              code: /\b(\d{6})\b/.exec(text)?.[1] ?? null,
            });
            for (const wake of waiters) wake();
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });

  const start = async () => {
    server = create();
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();

  const to = (address: string) => mails.filter((m) => m.envelopeTo.some((r) => r.toLowerCase() === address.toLowerCase()));
  return {
    url: options.user ? `smtp://${options.user}:${options.password}@127.0.0.1:${port}` : `smtp://127.0.0.1:${port}`,
    port,
    mails,
    to,
    waitFor(address, match = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = to(address).find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail to ${address} within ${timeoutMs} ms (received: ${mails.map((m) => `${m.envelopeTo.join(',')} "${m.subject}"`).join('; ') || 'none'})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop,
    start,
    close: stop,
  };
}

import type { Logger } from 'pino';
import { lazyModule } from '../../lazy-module.ts';
import type { OutboxMail } from '../../ports/mail-outbox.ts';

/** Loaded only when SMTP_URL is set: the development outbox needs no SMTP client in memory. */
const nodemailer = lazyModule<typeof import('nodemailer')>('nodemailer');

/** Sends one stored mail. Throws PermanentMailError when retrying cannot help. */
export interface MailTransport {
  readonly name: string;
  deliver(mail: OutboxMail): Promise<void>;
  close(): void;
}

/** The server refused the mail for good (a 5xx answer): it is marked failed, not retried. */
export class PermanentMailError extends Error {
  override name = 'PermanentMailError';
}

/** SMTP via nodemailer, from SMTP_URL (smtp:// or smtps://, with user:password@ when the server wants auth). */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer().createTransport(url);
  return {
    name: 'smtp',
    async deliver(mail) {
      try {
        await transporter.sendMail({
          // One Message-ID per outbox record: a receiver can tell a resend after a crash from a new mail.
          messageId: `<${mail.id}@gatehouse>`,
          from: mail.from,
          to: { name: mail.to.name ?? '', address: mail.to.address },
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          // Control characters never reach here (refused when the mail was written); nodemailer encodes the rest.
          disableFileAccess: true,
          disableUrlAccess: true,
        });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500 && code < 600) throw new PermanentMailError((err as Error).message);
        throw err;
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * Without SMTP_URL: nothing leaves the machine. The mail stays readable in
 * the outbox (GET /dev/mail in development); in development its link also goes to the log.
 */
export function devOutboxTransport(logger: Logger, revealLinks = false): MailTransport {
  return {
    name: 'dev-outbox',
    async deliver(mail) {
      // A link is a credential (verification, reset): in the log only in development, where the log is the developer's.
      const link = revealLinks && mail.link ? ` ${mail.link}` : '';
      logger.info({ mail: mail.id, subject: mail.subject, ...(revealLinks ? { to: mail.to.address, link: mail.link } : {}) }, `mail (not sent, no SMTP_URL): ${mail.subject}${revealLinks ? ` → ${mail.to.address}` : ''}${link}`);
    },
    close: () => {},
  };
}

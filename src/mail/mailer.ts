import type { RealmConfig } from '../config/index.ts';
import type { MailOutboxPort } from '../ports/mail-outbox.ts';
import { assertHeaderSafe, normalizeRecipient, type MailRecipient } from './address.ts';

/** The mails Gatehouse sends; each has views/emails/<kind>.html.ejs and .text.ejs. */
export type MailKind = 'verify-email' | 'reset-password' | 'password-changed' | 'account-exists' | 'bind-email' | 'email-changed' | 'social-code' | 'org-invitation' | 'welcome';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

/** Renders a mail's parts in a locale (a port: the EJS implementation lives in infra/mail). */
export type MailRenderer = (kind: MailKind, locale: string, model: Record<string, unknown>) => Promise<RenderedMail>;

export interface MailRequest {
  realm: RealmConfig;
  kind: MailKind;
  to: { address: string; name: string | null };
  userId: string | null;
  locale: string;
  /** The link the mail carries (built from the realm's publicUrl). */
  link?: string;
  model?: Record<string, unknown>;
}

/**
 * Writes mails to the outbox; the outbox worker sends them. A mail is stored
 * before anything is sent, so an SMTP outage or a restart loses none.
 */
export class Mailer {
  constructor(
    private readonly store: MailOutboxPort,
    private readonly render: MailRenderer,
    private readonly defaultFrom: string,
    private readonly clock: () => Date,
    /** Called after each write, so the worker sends at once instead of at its next poll. */
    private readonly onQueued: () => void = () => {},
  ) {}

  async send(request: MailRequest): Promise<string> {
    const to: MailRecipient = normalizeRecipient(request.to.address, request.to.name);
    const from = request.realm.mail.from ?? this.defaultFrom;
    assertHeaderSafe(from, 'From');
    const rendered = await this.render(request.kind, request.locale, {
      realmName: request.realm.name,
      brandColor: request.realm.branding.primaryColor,
      logoUrl: request.realm.branding.logoUrl ?? null,
      link: request.link ?? null,
      recipientName: to.name,
      ...request.model,
    });
    assertHeaderSafe(rendered.subject, 'Subject');
    const id = await this.store.enqueueMail(
      { realmId: request.realm.id, kind: request.kind, userId: request.userId, to, from, subject: rendered.subject, text: rendered.text, html: rendered.html, link: request.link ?? null },
      this.clock(),
    );
    this.onQueued();
    return id;
  }
}

/** A link into a realm, always from its configured publicUrl: never from the request's Host or X-Forwarded-* headers. */
export function realmLink(realm: RealmConfig, pathname: string, params: Record<string, string> = {}): string {
  const base = new URL(realm.publicUrl);
  const url = new URL(pathname, base);
  // '//host', '/\\host' or an absolute URL would resolve to another origin.
  if (url.origin !== base.origin) throw new Error(`not a path on the realm's publicUrl: ${JSON.stringify(pathname)}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

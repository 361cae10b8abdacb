import type { CredentialsPort } from '../ports/credentials.ts';
import type { EventsPort } from '../ports/events.ts';
import type { IdentitiesPort } from '../ports/identities.ts';
import type { LoginSessionsPort } from '../ports/login-sessions.ts';
import type { MailOutboxPort } from '../ports/mail-outbox.ts';
import type { OneTimeTokensPort } from '../ports/one-time-tokens.ts';
import type { InvitationsPort } from '../ports/invitations.ts';
import type { InvitationLinksPort } from '../ports/invitation-links.ts';
import type { OrgsPort } from '../ports/orgs.ts';
import type { RealmStatePort } from '../ports/realm-state.ts';
import type { SecretsPort } from '../ports/secrets.ts';
import type { SigningKeysPort } from '../ports/signing-keys.ts';
import type { SmsOutboxPort } from '../ports/sms-outbox.ts';
import type { UserRecordsPort } from '../ports/user-records.ts';
import type { UsersPort } from '../ports/users.ts';

export { UniqueViolation, type NewUser, type PasswordReplacement, type ProfilePatch, type UserWithPassword } from '../ports/users.ts';
export type { TotpCredential } from '../ports/credentials.ts';
export type { ExternalIdentity } from '../ports/identities.ts';
export type { UserRecord } from '../ports/user-records.ts';
export type { LoginSession } from '../ports/login-sessions.ts';
export type { SigningKeyRecord } from '../ports/signing-keys.ts';
export type { CodeCheck, NewOneTimeToken, OneTimeToken } from '../ports/one-time-tokens.ts';
export type { NewOutboxMail, OutboxMail } from '../ports/mail-outbox.ts';
export type { NewSms, SmsRecord } from '../ports/sms-outbox.ts';

/**
 * The store: every end-user port on one database, as one adapter implements them (sqlite/, mongo/).
 * Consumers take the narrow ports they use (src/ports/); main.ts, and the flows, services and CLI commands
 * that use many, take the Store. Every adapter passes test/contract/store.contract.ts.
 */
export interface Store
  extends UsersPort,
    CredentialsPort,
    IdentitiesPort,
    UserRecordsPort,
    LoginSessionsPort,
    SigningKeysPort,
    OneTimeTokensPort,
    MailOutboxPort,
    SmsOutboxPort,
    RealmStatePort,
    SecretsPort {
  /** The realm's event log, on this same database; events/publish.ts is the way to write to it. */
  readonly events: EventsPort;
  /** Orgs, memberships and groups (ports/orgs.ts), on this same database: the hand-off and sign-up read them without the management side. */
  readonly orgs: OrgsPort;
  /** Org invitations by mail (ports/invitations.ts), on this same database: accepting one writes a membership in the same transaction. */
  readonly invitations: InvitationsPort;
  /** Realm invitation links and join requests (ports/invitation-links.ts), on this same database: joining writes a membership in the same transaction. */
  readonly invitationLinks: InvitationLinksPort;

  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The event catalogue (DESIGN.md §2): every kind of event the realm's log
 * holds, under AuthRocket's names where it has one. The log feeds the
 * personal center's sign-in history, the events API and (later) webhooks;
 * docs/events.md and the OpenAPI document enumerate EVENT_CATALOGUE.
 * Plain types and rules, no I/O.
 */

/** Every event type, with one line on what it means. The one list: docs and the API read it. */
export const EVENT_CATALOGUE = {
  'user.created': 'A user was created: signed up with a password or a social provider, or made by an operator or the API.',
  'user.updated': 'A user’s profile was changed (data.fields names what changed).',
  'user.deleted': 'A user was deleted.',
  'user.reclaimed': 'An address proved through a provider reclaimed its account: the other side’s password, authenticator, identities and sessions were removed.',
  'user.login.succeeded': 'A user signed in (data.method, data.sid of the new login session).',
  'user.login.failed': 'A sign-in failed: a wrong password or second-factor code (data.method); userId is set when the account is known.',
  'user.login.unverified': 'A sign-in was refused because the realm requires a verified email address first.',
  'user.reauth.succeeded': 'A signed-in user proved again who they are before a sensitive change (step-up).',
  'user.reauth.failed': 'A step-up proof failed.',
  'user.email.verification_requested': 'A verification mail was sent to the user’s address.',
  'user.email.verified': 'The user’s email address was verified.',
  'user.email.update_requested': 'The user asked to change their email address; a confirmation went to the new one (data.to).',
  'user.email.update_failed': 'A confirmation of an email change failed (wrong or expired code).',
  'user.email.updated': 'The user’s email address changed (data.from, data.to).',
  'user.password_token.created': 'A password-reset link was sent.',
  'user.password_token.consumed': 'A password-reset link was used.',
  'user.password.updated': 'The user’s password was set (data.reason: password_changed or password_reset); other sessions ended.',
  'user.password.update_failed': 'A password change was refused: the current password was wrong.',
  'user.phone.code_sent': 'A code was sent to a phone number the user wants to bind.',
  'user.phone.bind_failed': 'A wrong code was given for a phone number.',
  'user.phone.bound': 'A verified phone number was bound to the user (data.previous: the one it replaced).',
  'user.phone.removed': 'The user’s phone number was removed.',
  'user.mfa.enrollment_started': 'The user began enrolling an authenticator app.',
  'user.mfa.enrollment_cancelled': 'The user cancelled an authenticator enrolment.',
  'user.mfa.enrollment_failed': 'A wrong code was given while enrolling an authenticator.',
  'user.mfa.enrolled': 'An authenticator was enrolled (data.method).',
  'user.mfa.recovery_codes_regenerated': 'The user’s recovery codes were replaced by new ones.',
  'user.mfa.removal_failed': 'Removing the second factor failed: the code was wrong.',
  'user.mfa.removed': 'The user’s second factor and recovery codes were removed.',
  'user.identity.linked': 'A social identity was linked to the user (data.provider, data.by).',
  'user.identity.unlinked': 'A social identity was unlinked from the user (data.provider).',
  'user.api_key.created': 'An API key was created for an API user.',
  'user.credential.deleted': 'A credential (password, authenticator, API key) of the user was deleted.',
  'user.impersonation.started': 'An operator began acting as the user: a login session of theirs started from the console (data.sid, data.operatorId, data.reason as the operator gave it).',
  'user.impersonation.ended': 'A session an operator started as the user ended (data.sid, data.operatorId, data.reason; data.cause: impersonation_ended when the operator ended it, console_session_ended when their console session did, impersonation_expired when its time ran out, or how else the session ended).',
  'user.app_access.denied': 'An app’s access rule refused the user its JWT (data.clientId, data.rule): the page said so, or the back channel answered 403.',
  'session.created': 'A login session started (data.sid, data.amr).',
  'session.deleted': 'One or more login sessions ended (data.sid or data.sids, data.reason).',
  'realm.created': 'A realm was created.',
  'realm.updated': 'A realm’s settings were changed.',
  'realm.deleted': 'A realm was deleted.',
  'app.created': 'An app (connected client) was created.',
  'app.updated': 'An app was changed.',
  'app.deleted': 'An app was deleted.',
  'org.created': 'An org was created (data.orgId, data.name).',
  'org.updated': 'An org was changed, or reopened (data.orgId, data.fields names what changed).',
  'org.closed': 'An org was closed (data.orgId, data.fields): its memberships stay, but count for nothing until it is reopened.',
  'org.deleted': 'An org was deleted with its memberships (data.orgId, data.name, data.memberships: how many went with it, without an event each).',
  'membership.created': 'A user was given a membership of an org, or a user-only one (data.membershipId, data.orgId: null for user-only, data.permissions); userId is the member.',
  'membership.updated': 'A membership’s permissions, expiry or custom attributes changed (data.membershipId, data.orgId, data.fields).',
  'membership.deleted': 'A membership was deleted (data.membershipId, data.orgId).',
  'group.created': 'A group was created (data.groupId, data.name, data.permissions).',
  'group.updated': 'A group’s name, description or permissions changed (data.groupId, data.fields).',
  'group.deleted': 'A group was deleted with its members (data.groupId, data.name, data.members: how many memberships went with it, without an event each).',
  'group.member.added': 'A user was added to a group (data.groupId); userId is the member. One event per user added.',
  'group.member.removed': 'A user was removed from a group (data.groupId); userId is the member.',
  'invitation.created': 'An invitation to an org was made and mailed (data.invitationId, data.orgId, data.email, data.permissions, data.expiresAt).',
  'invitation.resent': 'An invitation was mailed again with a new link, the old one dead (data.invitationId, data.orgId, data.email, data.sentCount, data.expiresAt).',
  'invitation.revoked': 'An invitation was revoked: its link no longer works (data.invitationId, data.orgId, data.email).',
  'invitation.link.created': 'An invitation link was made (data.linkId, data.orgId: null for the realm only, data.approval, data.permissions, data.expiresAt). Its token is shown once and never logged.',
  'invitation.link.revoked': 'An invitation link was revoked, one or by "reset all" (data.linkId, data.reset: true for reset all).',
  'invitation.link.used': 'A user joined through an invitation link without approval (data.linkId, data.orgId, data.membershipId: null when the link has no org); userId is the new member.',
  'invitation.join.requested': 'Someone asked to join through an invitation link with approval (data.requestId, data.linkId, data.email).',
  'invitation.join.approved': 'A join request was approved (data.requestId, data.linkId, data.orgId, data.membershipId, data.newUser: true when the account was made for it); userId is the new member.',
  'invitation.join.rejected': 'A join request was rejected (data.requestId, data.linkId, data.email).',
  'invitation.accepted': 'An invitation was accepted (data.invitationId, data.orgId, data.membershipId, data.created: false when an existing membership was widened); userId is the new member.',
} as const satisfies Record<string, string>;

export type EventType = keyof typeof EVENT_CATALOGUE;

/** Every event type, in catalogue order. */
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, value);
}

/**
 * The names the log used before the catalogue (migration 009 and the MongoDB
 * adapter's start rename stored events with this table).
 */
export const LEGACY_EVENT_TYPES = {
  signup: 'user.created',
  'profile.updated': 'user.updated',
  'account.reclaimed': 'user.reclaimed',
  'login.succeeded': 'user.login.succeeded',
  'login.failed': 'user.login.failed',
  'login.unverified': 'user.login.unverified',
  'reauth.succeeded': 'user.reauth.succeeded',
  'reauth.failed': 'user.reauth.failed',
  'email.verified': 'user.email.verified',
  'email.change_requested': 'user.email.update_requested',
  'email.change_failed': 'user.email.update_failed',
  'email.changed': 'user.email.updated',
  'password.reset_requested': 'user.password_token.created',
  'password.reset': 'user.password.updated',
  'password.changed': 'user.password.updated',
  'password.change_failed': 'user.password.update_failed',
  'phone.code_sent': 'user.phone.code_sent',
  'phone.bind_failed': 'user.phone.bind_failed',
  'phone.bound': 'user.phone.bound',
  'phone.removed': 'user.phone.removed',
  'mfa.enrol_started': 'user.mfa.enrollment_started',
  'mfa.enrol_cancelled': 'user.mfa.enrollment_cancelled',
  'mfa.enrol_failed': 'user.mfa.enrollment_failed',
  'mfa.enrolled': 'user.mfa.enrolled',
  'mfa.recovery_codes_regenerated': 'user.mfa.recovery_codes_regenerated',
  'mfa.remove_failed': 'user.mfa.removal_failed',
  'mfa.removed': 'user.mfa.removed',
  'identity.linked': 'user.identity.linked',
  'identity.unlinked': 'user.identity.unlinked',
  'session.ended': 'session.deleted',
} as const satisfies Record<string, EventType>;

/** The sign-in attempts: the personal center's history lists these. */
export const SIGN_IN_EVENT_TYPES = ['user.login.succeeded', 'user.login.failed', 'user.login.unverified'] as const satisfies readonly EventType[];

/** Who made the change: the user themself (id null: not signed in yet), an operator, a management key, or Gatehouse on its own. */
export interface Actor {
  type: 'user' | 'operator' | 'api_key' | 'system';
  id: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

/** The request behind an event; every field null when there was none (or it is not known). */
export interface EventRequest {
  ip: string | null;
  userAgent: string | null;
  /** The app the browser came from, during a sign-in for one. */
  clientId: string | null;
  requestId: string | null;
}

export const NO_REQUEST: EventRequest = { ip: null, userAgent: null, clientId: null, requestId: null };

/** The `data` of the events whose shape is known; the others carry a free-form object. */
export interface EventDataMap {
  'user.created': { method: string };
  'user.updated': { fields: string[] };
  'user.reclaimed': { provider: string; password: boolean; totp: boolean; identities: string[]; sessions: number };
  'user.login.succeeded': { method: string; sid: string; [context: string]: string };
  'user.login.failed': { method: string };
  'user.login.unverified': { method: string };
  'user.reauth.succeeded': { method: string };
  'user.reauth.failed': { method: string };
  'user.email.verification_requested': { email: string };
  'user.email.verified': { email: string };
  'user.email.update_requested': { to: string };
  'user.email.updated': { from: string | null; to: string | null };
  'user.password.updated': { reason: 'password_changed' | 'password_reset'; endedSessions: number; keptThisSession?: boolean; firstPassword?: boolean };
  'user.phone.code_sent': { phone: string };
  'user.phone.bind_failed': { phone: string };
  'user.phone.bound': { phone: string; previous: string | null };
  'user.phone.removed': { phone: string | null };
  'user.mfa.enrolled': { method: string };
  'user.mfa.removal_failed': { method: string };
  'user.mfa.removed': { method: string };
  'user.identity.linked': { provider: string; by: string };
  'user.identity.unlinked': { provider: string };
  'user.impersonation.started': { sid: string; reason: string; operatorId: string };
  'user.impersonation.ended': { sid: string; reason: string; operatorId: string; cause: string };
  'user.app_access.denied': { clientId: string; rule: string };
  'session.created': { sid: string; amr: string[]; aal: number };
  'session.deleted': { reason: string } & ({ sid: string } | { sids: string[] });
  'org.created': { orgId: string; name: string };
  'org.updated': { orgId: string; fields: string[] };
  'org.closed': { orgId: string; fields: string[] };
  'org.deleted': { orgId: string; name: string; memberships: number };
  'membership.created': { membershipId: string; orgId: string | null; permissions: string[] };
  'membership.updated': { membershipId: string; orgId: string | null; fields: string[] };
  'membership.deleted': { membershipId: string; orgId: string | null };
  'group.created': { groupId: string; name: string; permissions: string[] };
  'group.updated': { groupId: string; fields: string[] };
  'group.deleted': { groupId: string; name: string; members: number };
  'group.member.added': { groupId: string };
  'group.member.removed': { groupId: string };
  'invitation.created': { invitationId: string; orgId: string; email: string; permissions: string[]; expiresAt: string };
  'invitation.resent': { invitationId: string; orgId: string; email: string; sentCount: number; expiresAt: string };
  'invitation.revoked': { invitationId: string; orgId: string; email: string };
  'invitation.accepted': { invitationId: string; orgId: string; membershipId: string; created: boolean };
  'invitation.link.created': { linkId: string; orgId: string | null; approval: boolean; permissions: string[]; expiresAt: string };
  'invitation.link.revoked': { linkId: string; reset: boolean };
  'invitation.link.used': { linkId: string; orgId: string | null; membershipId: string | null };
  'invitation.join.requested': { requestId: string; linkId: string; email: string };
  'invitation.join.approved': { requestId: string; linkId: string; orgId: string | null; membershipId: string | null; newUser: boolean };
  'invitation.join.rejected': { requestId: string; linkId: string; email: string };
}

export type EventData<T extends EventType> = T extends keyof EventDataMap ? EventDataMap[T] : Record<string, unknown>;

/** An event to append: everything but the id the log gives it. */
export interface NewEvent<T extends EventType = EventType> {
  realmId: string;
  type: T;
  /** The user the event is about (its subject), if any. */
  userId: string | null;
  actor: Actor;
  request: EventRequest;
  at: Date;
  data: EventData<T> | null;
}

/** An event as the log holds it; `id` is opaque and unique within the log. */
export interface StoredEvent extends Omit<NewEvent, 'type' | 'data'> {
  id: string;
  /** Read back as stored: a type newer than this build is handed on, not dropped. */
  type: EventType | (string & {});
  data: Record<string, unknown> | null;
}

/** A list cursor that is not one this log handed out (the API answers 400). */
export class InvalidEventCursor extends Error {
  override name = 'InvalidEventCursor';
  constructor() {
    super('The cursor is not valid');
  }
}

/** The events `typePrefix` names: its own type and those under it (`user.login` → user.login.*). */
export function matchesTypePrefix(type: string, typePrefix: string): boolean {
  const prefix = normalizeTypePrefix(typePrefix);
  return type === prefix || type.startsWith(`${prefix}.`);
}

/** `user.login.` and `user.login.*` mean `user.login`. */
export function normalizeTypePrefix(typePrefix: string): string {
  return typePrefix.replace(/\.\*?$/, '');
}

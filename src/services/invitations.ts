import { createHmac, randomBytes } from 'node:crypto';
import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RateLimited, RuleViolation } from '../domain/errors.ts';
import type { EventData, EventType, NewEvent } from '../domain/events.ts';
import type { Invitation, InvitationCreator, InvitationQuery } from '../domain/invitations.ts';
import type { CreatedCursor, Membership, Org } from '../domain/orgs.ts';
import type { ReturnTo } from '../domain/return-to.ts';
import { eventOf, type EventOrigin } from '../events/publish.ts';
import { matchRedirectUri } from '../identity/redirect-uri.ts';
import type { LimiterFactory } from '../identity/throttle.ts';
import { displayName, normalizeLogin, type User } from '../identity/user.ts';
import { realmLink, type Mailer } from '../mail/mailer.ts';
import type { Store } from '../store/port.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';
import { permissionsWithin } from './memberships.ts';

export interface NewInvitationInput {
  orgId: string;
  email: string;
  name?: string | null;
  permissions?: string[];
  /** The mail's language (default en). */
  locale?: string;
  /** An app of the realm the invitee goes on to once they have accepted. */
  returnTo?: { clientId: string; redirectUri: string; state?: string } | null;
  /** false: no mail goes; the caller hands the link over itself (the console shows it once). Default true. */
  send?: boolean;
}

/** A made invitation and its link (the token inside it is in no store, log or later answer). */
export interface InvitationMade {
  invitation: Invitation;
  link: string;
}

/** What the invitation page shows: whom it is for, to which org, from whom, until when. */
export interface InvitationView {
  invitation: Invitation;
  org: Org;
  inviter: string;
}

export type InvitationAcceptOutcome =
  | { ok: true; membership: Membership; created: boolean; returnTo: ReturnTo | null; orgName: string }
  /** No longer valid: accepted or revoked, expired, resent (a new link), its org closed or gone. */
  | { ok: false; reason: 'gone' }
  /** The signed-in account's address is not the invited one. */
  | { ok: false; reason: 'other_account' };

export interface InvitationsServiceDeps {
  store: Store;
  mailer: Mailer;
  /** The management side's audit log; null without management ports (then only peek and accept are served). */
  audit: AuditLog | null;
  /** The key the links' tokens are HMAC'd under (derived in createApp like the others). */
  key: Buffer;
  /** The console realm, whose users the operators are: an operator inviter is named by their account there. */
  consoleRealmId: string | null;
  /** The realm rate limits' counters: resends per invitation (`rateLimits.invitationResend`). */
  limiters: LimiterFactory;
  clock: () => Date;
}

/** An address as a mail can carry it: no line breaks or other control characters, one @ with something each side. */
const MAILABLE = /^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+\.[^\s@\u0000-\u001f\u007f]+$/u;

/**
 * Org invitations by mail (docs/design/orgs.md §3.3, §7.2), for the API, (later) the console and the
 * hosted /invitation pages: an operator or a management key invites an address to an active org with
 * permissions (the membership rules: lower-cased, within `memberships.maxPermissions`); the mail's link
 * carries a one-time token — 32 random bytes, stored only as an HMAC — good for `invitations.ttlHours`.
 * Resend mails a new link (the old one dies), revoke kills it. Accepting needs a signed-in account whose
 * address is the invited one, and makes the membership (or widens the one there) in the same write as the
 * invitation's end; the address counts as verified then (the link proved the mailbox). Management writes are
 * audited after the write; every change is evented in it.
 */
export class InvitationsService {
  constructor(private readonly d: InvitationsServiceDeps) {}

  private hash(token: string): string {
    return createHmac('sha256', this.d.key).update(token).digest('base64url');
  }

  private event<T extends EventType>(realm: RealmConfig, type: T, userId: string | null, ctx: RequestContext, data: EventData<T>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data });
  }

  private audit(): AuditLog {
    if (!this.d.audit) throw new Error('invitations are managed through the management side');
    return this.d.audit;
  }

  private expiry(realm: RealmConfig): Date {
    return new Date(this.d.clock().getTime() + realm.invitations.ttlHours * 3600_000);
  }

  /** Who the mail and the page say invited: the operator's name (or address), else the realm itself (a key, the CLI). */
  async inviterName(realm: RealmConfig, by: InvitationCreator): Promise<string> {
    if (by.type === 'operator' && by.id !== null && this.d.consoleRealmId !== null) {
      const operator = await this.d.store.findUserById(this.d.consoleRealmId, by.id);
      if (operator) {
        const name = displayName(operator);
        return name === operator.username && operator.email ? operator.email : name;
      }
    }
    if (by.type === 'user' && by.id !== null) {
      const member = await this.d.store.findUserById(realm.id, by.id);
      if (member) return displayName(member);
    }
    return realm.name;
  }

  private async activeOrg(realm: RealmConfig, orgId: string): Promise<Org> {
    const org = await this.d.store.orgs.findOrg(realm.id, orgId);
    if (!org) throw new NotFoundError('org');
    if (org.state !== 'active') throw new ConflictError('org.closed', 'the org is closed: reopen it to invite members', { field: 'orgId' });
    return org;
  }

  private checkReturnTo(realm: RealmConfig, ret: NewInvitationInput['returnTo']): ReturnTo | null {
    if (!ret) return null;
    const app = realm.apps.find((a) => a.clientId === ret.clientId);
    const uri = app ? matchRedirectUri(ret.redirectUri, app.redirectUris) : null;
    if (!app || !uri) throw new RuleViolation([{ field: 'returnTo', code: 'return_to.unknown', message: 'not an app of this realm with that registered redirect URI' }]);
    return { clientId: app.clientId, redirectUri: uri, ...(ret.state ? { state: ret.state } : {}) };
  }

  private linkOf(realm: RealmConfig, token: string): string {
    return realmLink(realm, '/invitation', { token });
  }

  private async mail(realm: RealmConfig, invitation: Invitation, org: Org, token: string, locale: string): Promise<void> {
    await this.d.mailer.send({
      realm,
      kind: 'org-invitation',
      to: { address: invitation.email, name: invitation.name },
      userId: null,
      locale,
      link: this.linkOf(realm, token),
      model: { inviter: await this.inviterName(realm, invitation.createdBy), org: org.name, hours: realm.invitations.ttlHours },
    });
  }

  list(realm: RealmConfig, q: InvitationQuery, after: CreatedCursor | null, limit: number) {
    return this.d.store.invitations.queryInvitations(realm.id, q, after, limit);
  }

  /** The service's time: what `expired` is computed at. */
  now(): Date {
    return this.d.clock();
  }

  async get(realm: RealmConfig, id: string): Promise<Invitation> {
    const inv = await this.d.store.invitations.findInvitation(realm.id, id);
    if (!inv) throw new NotFoundError('invitation');
    return inv;
  }

  /**
   * Makes the invitation and mails its link, unless `send` is false. The link is answered to the caller once
   * (the API leaves it out; the console shows it only when no mail went); the token is never stored or logged.
   */
  async invite(realm: RealmConfig, input: NewInvitationInput, ctx: RequestContext): Promise<InvitationMade> {
    const email = input.email.trim();
    if (!MAILABLE.test(email) || email.length > 320) throw new RuleViolation([{ field: 'email', code: 'email.invalid', message: 'an email address, without line breaks' }]);
    const permissions = permissionsWithin(realm, input.permissions ?? [], 'membership');
    const returnTo = this.checkReturnTo(realm, input.returnTo);
    const org = await this.activeOrg(realm, input.orgId);
    const token = randomBytes(32).toString('base64url');
    const createdBy: InvitationCreator = eventActor(ctx);
    const invitation = await this.d.store.invitations.createInvitation(
      { realmId: realm.id, orgId: org.id, email, name: input.name ?? null, permissions, returnTo, createdBy, expiresAt: this.expiry(realm), tokenHash: this.hash(token) },
      this.d.clock(),
      (inv) => [this.event(realm, 'invitation.created', null, ctx, { invitationId: inv.id, orgId: inv.orgId, email: inv.email, permissions: inv.permissions, expiresAt: inv.expiresAt.toISOString() })],
    );
    if (input.send !== false) await this.mail(realm, invitation, org, token, input.locale ?? 'en');
    await this.audit().record(ctx, { realmId: realm.id, operation: 'invitation.create', target: { type: 'invitation', id: invitation.id }, after: invitation });
    return { invitation, link: this.linkOf(realm, token) };
  }

  /** A pending invitation (expired or not): gone → 409 invitation.gone. */
  private async pending(realm: RealmConfig, id: string): Promise<Invitation> {
    const inv = await this.get(realm, id);
    if (inv.status !== 'pending') throw new ConflictError('invitation.gone', `the invitation was ${inv.status} already`);
    return inv;
  }

  /**
   * Mails a new link with a new expiry: the old link no longer works. At most `rateLimits.invitationResend`
   * per invitation, whoever asks (RateLimited past it; a refused resend changes nothing).
   */
  async resend(realm: RealmConfig, id: string, ctx: RequestContext, locale = 'en'): Promise<Invitation> {
    const before = await this.pending(realm, id);
    const org = await this.activeOrg(realm, before.orgId);
    const wait = await this.d.limiters(`${realm.id}:invitation-resend`, realm.rateLimits.invitationResend).take(id);
    if (wait > 0) throw new RateLimited('invitationResend', wait);
    const token = randomBytes(32).toString('base64url');
    const after = await this.d.store.invitations.replaceInvitationToken(realm.id, id, this.hash(token), this.expiry(realm), this.d.clock(), (inv) =>
      inv ? [this.event(realm, 'invitation.resent', null, ctx, { invitationId: inv.id, orgId: inv.orgId, email: inv.email, sentCount: inv.sentCount, expiresAt: inv.expiresAt.toISOString() })] : [],
    );
    if (!after) throw new ConflictError('invitation.gone', 'the invitation was accepted or revoked meanwhile');
    await this.mail(realm, after, org, token, locale);
    await this.audit().record(ctx, { realmId: realm.id, operation: 'invitation.resend', target: { type: 'invitation', id }, before, after });
    return after;
  }

  async revoke(realm: RealmConfig, id: string, ctx: RequestContext): Promise<Invitation> {
    const before = await this.pending(realm, id);
    const after = await this.d.store.invitations.revokeInvitation(realm.id, id, this.d.clock(), (inv) =>
      inv ? [this.event(realm, 'invitation.revoked', null, ctx, { invitationId: inv.id, orgId: inv.orgId, email: inv.email })] : [],
    );
    if (!after) throw new ConflictError('invitation.gone', 'the invitation was accepted or revoked meanwhile');
    await this.audit().record(ctx, { realmId: realm.id, operation: 'invitation.revoke', target: { type: 'invitation', id }, before, after });
    return after;
  }

  /** The invitation a link's token opens, for its page: null when it is no longer valid (or its org is closed or gone). */
  async peek(realm: RealmConfig, token: string): Promise<InvitationView | null> {
    const invitation = await this.d.store.invitations.findInvitationByToken(realm.id, this.hash(token), this.d.clock());
    if (!invitation) return null;
    const org = await this.d.store.orgs.findOrg(realm.id, invitation.orgId);
    if (!org || org.state !== 'active') return null;
    return { invitation, org, inviter: await this.inviterName(realm, invitation.createdBy) };
  }

  /** Whether `user`'s address is the one the invitation was sent to (any case). */
  isFor(invitation: Pick<Invitation, 'email'>, user: Pick<User, 'email'>): boolean {
    return user.email !== null && normalizeLogin(user.email) === normalizeLogin(invitation.email);
  }

  /**
   * The signed-in user takes the invitation: the membership is made (or widened), the invitation ends, and the
   * address counts as verified. The user's own act: evented (invitation.accepted, membership.created or
   * .updated), not in the management audit log.
   */
  async accept(realm: RealmConfig, token: string, user: User, origin: EventOrigin): Promise<InvitationAcceptOutcome> {
    const view = await this.peek(realm, token);
    if (!view) return { ok: false, reason: 'gone' };
    if (!this.isFor(view.invitation, user)) return { ok: false, reason: 'other_account' };
    const at = this.d.clock();
    const ev = <T extends EventType>(type: T, data: EventData<T>) => eventOf({ realm, userId: user.id, type, origin, at, data });
    const result = await this.d.store.invitations.acceptInvitation(realm.id, this.hash(token), user.id, at, realm.memberships.maxPermissions, (r) => [
      ev('invitation.accepted', { invitationId: r.invitation.id, orgId: r.invitation.orgId, membershipId: r.membership.id, created: r.created }),
      r.created
        ? ev('membership.created', { membershipId: r.membership.id, orgId: r.membership.orgId, permissions: r.membership.permissions })
        : ev('membership.updated', { membershipId: r.membership.id, orgId: r.membership.orgId, fields: ['permissions', 'expiresAt'] }),
    ]);
    if (!('membership' in result)) return { ok: false, reason: 'gone' };
    if (user.emailVerification !== 'verified' && user.email) {
      await this.d.store.setEmailVerification(realm.id, user.id, 'verified', at, [ev('user.email.verified', { email: user.email })]);
    }
    return { ok: true, membership: result.membership, created: result.created, returnTo: result.invitation.returnTo, orgName: view.org.name };
  }
}

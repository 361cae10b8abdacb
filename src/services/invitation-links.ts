import { createHmac, randomBytes } from 'node:crypto';
import type { RealmConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import type { EventData, EventType, NewEvent } from '../domain/events.ts';
import { LINK_MAX_DAYS, type InvitationLink, type JoinRequest, type JoinRequestStatus } from '../domain/invitation-links.ts';
import type { InvitationCreator } from '../domain/invitations.ts';
import type { CreatedCursor, Membership, Org } from '../domain/orgs.ts';
import type { ReturnTo } from '../domain/return-to.ts';
import { eventOf, type EventOrigin } from '../events/publish.ts';
import type { Limiter, LimiterFactory } from '../identity/throttle.ts';
import { matchRedirectUri } from '../identity/redirect-uri.ts';
import { normalizeLogin, type User } from '../identity/user.ts';
import { lazyModule } from '../lazy-module.ts';
import { realmLink, type Mailer } from '../mail/mailer.ts';
import type { Store } from '../store/port.ts';
import { UniqueViolation } from '../store/port.ts';
import type { AuditLog } from './audit-log.ts';
import { eventActor, type RequestContext } from './context.ts';
import { permissionsWithin } from './memberships.ts';
import type { UserAccessService } from './user-access.ts';
import type { UsersService } from './users.ts';

const qrcode = lazyModule<typeof import('qrcode')>('qrcode');

export interface NewLinkInput {
  name?: string | null;
  orgId?: string | null;
  permissions?: string[];
  approval: boolean;
  expiresAt: Date;
  returnTo?: { clientId: string; redirectUri: string; state?: string } | null;
}

/** What a link's page shows: the link, its org (null: the realm only). */
export interface LinkView {
  link: InvitationLink;
  org: Org | null;
  inviter: string;
}

export type LinkJoinOutcome = { ok: true; membership: Membership | null; returnTo: ReturnTo | null; orgName: string | null } | { ok: false; reason: 'gone' };

export interface InvitationLinksServiceDeps {
  store: Store;
  mailer: Mailer;
  /** The management side (null without management ports: then only peek, join and apply are served). */
  management: { audit: AuditLog; users: UsersService; access: UserAccessService } | null;
  /** The key the links' tokens are HMAC'd under (the invitations key, derived in createApp). */
  key: Buffer;
  limiters: LimiterFactory;
  /** Who the page names as inviting: InvitationsService.inviterName. */
  inviterName: (realm: RealmConfig, by: InvitationCreator) => Promise<string>;
  clock: () => Date;
}

/** An address a mail can carry: one line, one @ with something each side. */
const MAILABLE = /^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+\.[^\s@\u0000-\u001f\u007f]+$/u;

/**
 * Realm invitation links and join requests (docs/design/orgs.md §3.3, §7.2; GenAuth's "general invitation"), for
 * the API, the console and the hosted /join pages. An operator or a key makes a link — valid at most 90 days,
 * optionally into an org with permissions (the membership rules), optionally needing approval; its token (32
 * random bytes, HMAC'd in the store) is shown once, with a QR code. Without approval whoever opens it joins at
 * once; with approval they send name and address (a join request, answered the same whether or not the address
 * has an account) and an operator approves — the account made when there is none, with a welcome mail carrying a
 * set-password link, never a password — or rejects. "Reset all" revokes the caller's own live links. Management
 * writes are audited after the write; every change is evented in it.
 */
export class InvitationLinksService {
  constructor(private readonly d: InvitationLinksServiceDeps) {}

  private hash(token: string): string {
    return createHmac('sha256', this.d.key).update(token).digest('base64url');
  }

  private event<T extends EventType>(realm: RealmConfig, type: T, userId: string | null, ctx: RequestContext, data: EventData<T>): NewEvent {
    return eventOf({ realm, userId, type, actor: eventActor(ctx), origin: { ip: ctx.ip, userAgent: ctx.userAgent, clientId: null, requestId: ctx.requestId }, at: this.d.clock(), data });
  }

  private management() {
    if (!this.d.management) throw new Error('invitation links are managed through the management side');
    return this.d.management;
  }

  now(): Date {
    return this.d.clock();
  }

  /** Who made a link or decided a request, by name (an operator's; else the realm's). */
  creatorName(realm: RealmConfig, by: InvitationCreator): Promise<string> {
    return this.d.inviterName(realm, by);
  }

  /** A link by id, or null (a request's link, for its list). */
  findLink(realm: RealmConfig, id: string): Promise<InvitationLink | null> {
    return this.d.store.invitationLinks.findLink(realm.id, id);
  }

  private checkReturnTo(realm: RealmConfig, ret: NewLinkInput['returnTo']): ReturnTo | null {
    if (!ret) return null;
    const app = realm.apps.find((a) => a.clientId === ret.clientId);
    const uri = app ? matchRedirectUri(ret.redirectUri, app.redirectUris) : null;
    if (!app || !uri) throw new RuleViolation([{ field: 'returnTo', code: 'return_to.unknown', message: 'not an app of this realm with that registered redirect URI' }]);
    return { clientId: app.clientId, redirectUri: uri, ...(ret.state ? { state: ret.state } : {}) };
  }

  /** Makes a link: answers it once (URL and QR code as a data: URL) — the store keeps only the token's HMAC. */
  async create(realm: RealmConfig, input: NewLinkInput, ctx: RequestContext): Promise<{ link: InvitationLink; url: string; qr: string }> {
    const now = this.d.clock();
    const ms = input.expiresAt.getTime() - now.getTime();
    if (!(ms > 0) || ms > LINK_MAX_DAYS * 86_400_000) throw new RuleViolation([{ field: 'expiresAt', code: 'expires_at.range', message: `in the future, at most ${LINK_MAX_DAYS} days from now` }]);
    const permissions = permissionsWithin(realm, input.permissions ?? [], 'membership');
    if (permissions.length > 0 && !input.orgId) throw new RuleViolation([{ field: 'permissions', code: 'permissions.no_org', message: 'permissions need an org' }]);
    const returnTo = this.checkReturnTo(realm, input.returnTo);
    if (input.orgId) {
      const org = await this.d.store.orgs.findOrg(realm.id, input.orgId);
      if (!org) throw new NotFoundError('org');
      if (org.state !== 'active') throw new ConflictError('org.closed', 'the org is closed: reopen it to invite members', { field: 'orgId' });
    }
    const token = randomBytes(32).toString('base64url');
    const link = await this.d.store.invitationLinks.createLink(
      { realmId: realm.id, name: input.name ?? null, orgId: input.orgId ?? null, permissions, approval: input.approval, returnTo, createdBy: eventActor(ctx), expiresAt: input.expiresAt, tokenHash: this.hash(token) },
      now,
      (l) => [this.event(realm, 'invitation.link.created', null, ctx, { linkId: l.id, orgId: l.orgId, approval: l.approval, permissions: l.permissions, expiresAt: l.expiresAt.toISOString() })],
    );
    await this.management().audit.record(ctx, { realmId: realm.id, operation: 'invitation_link.create', target: { type: 'invitation_link', id: link.id }, after: link });
    const url = realmLink(realm, '/join', { token });
    const qr = await qrcode().toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
    return { link, url, qr };
  }

  /** `createdBy: 'me'`: only the links the calling operator or key made. */
  list(realm: RealmConfig, q: { createdBy?: 'me' | 'all' }, ctx: RequestContext, after: CreatedCursor | null, limit: number) {
    return this.d.store.invitationLinks.queryLinks(realm.id, q.createdBy === 'me' ? { createdBy: eventActor(ctx) } : {}, after, limit);
  }

  async get(realm: RealmConfig, id: string): Promise<InvitationLink> {
    const link = await this.d.store.invitationLinks.findLink(realm.id, id);
    if (!link) throw new NotFoundError('invitation_link');
    return link;
  }

  async revoke(realm: RealmConfig, id: string, ctx: RequestContext): Promise<InvitationLink> {
    const before = await this.get(realm, id);
    const after = await this.d.store.invitationLinks.revokeLink(realm.id, id, this.d.clock(), (l) => (l ? [this.event(realm, 'invitation.link.revoked', null, ctx, { linkId: l.id, reset: false })] : []));
    if (!after) throw new ConflictError('invitation.gone', 'the link was revoked already');
    await this.management().audit.record(ctx, { realmId: realm.id, operation: 'invitation_link.revoke', target: { type: 'invitation_link', id }, before, after });
    return after;
  }

  /** "Reset all": every live link the calling operator or key made is revoked — nobody else's. */
  async resetAll(realm: RealmConfig, ctx: RequestContext): Promise<number> {
    const by = eventActor(ctx);
    const n = await this.d.store.invitationLinks.revokeLinksBy(realm.id, by, this.d.clock(), (links) => links.map((l) => this.event(realm, 'invitation.link.revoked', null, ctx, { linkId: l.id, reset: true })));
    await this.management().audit.record(ctx, { realmId: realm.id, operation: 'invitation_link.reset', target: { type: 'invitation_link', id: null }, after: { revoked: n, createdBy: by } });
    return n;
  }

  /** The live link a token opens, for its page: null when revoked, expired or unknown (or its org is closed or gone). */
  async peek(realm: RealmConfig, token: string): Promise<LinkView | null> {
    const link = await this.d.store.invitationLinks.findLinkByToken(realm.id, this.hash(token), this.d.clock());
    if (!link) return null;
    let org: Org | null = null;
    if (link.orgId) {
      org = await this.d.store.orgs.findOrg(realm.id, link.orgId);
      if (!org || org.state !== 'active') return null;
    }
    return { link, org, inviter: await this.d.inviterName(realm, link.createdBy) };
  }

  /** No approval: the signed-in user joins (the membership of the link's org, when it has one); the use counted. The user's own act: evented, not audited. */
  async join(realm: RealmConfig, token: string, user: User, origin: EventOrigin): Promise<LinkJoinOutcome> {
    const view = await this.peek(realm, token);
    if (!view || view.link.approval) return { ok: false, reason: 'gone' };
    const at = this.d.clock();
    const ev = <T extends EventType>(type: T, data: EventData<T>) => eventOf({ realm, userId: user.id, type, origin, at, data });
    const result = await this.d.store.invitationLinks.useLink(realm.id, view.link.id, user.id, at, realm.memberships.maxPermissions, (r) => [
      ev('invitation.link.used', { linkId: r.link.id, orgId: r.link.orgId, membershipId: r.membership?.id ?? null }),
      ...(r.membership
        ? [
            r.created
              ? ev('membership.created', { membershipId: r.membership.id, orgId: r.membership.orgId, permissions: r.membership.permissions })
              : ev('membership.updated', { membershipId: r.membership.id, orgId: r.membership.orgId, fields: ['permissions', 'expiresAt'] }),
          ]
        : []),
    ]);
    if (!('link' in result)) return { ok: false, reason: 'gone' };
    return { ok: true, membership: result.membership, returnTo: result.link.returnTo, orgName: view.org?.name ?? null };
  }

  private limiter(realm: RealmConfig): Limiter {
    return this.d.limiters(`${realm.id}:join-ip`, realm.rateLimits.joinPerIp);
  }

  /**
   * Approval: a join request with the name and address given. The same answer whether or not the address has an
   * account (nothing is looked up here: no enumeration). `wait` > 0: too many from this IP (milliseconds to wait).
   */
  async apply(realm: RealmConfig, token: string, input: { name: string; email: string }, origin: EventOrigin): Promise<{ ok: true } | { ok: false; reason: 'gone' } | { ok: false; reason: 'invalid'; field: 'name' | 'email' } | { ok: false; reason: 'limited'; wait: number }> {
    const name = input.name.trim();
    const email = input.email.trim();
    if (!name || name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) return { ok: false, reason: 'invalid', field: 'name' };
    if (!MAILABLE.test(email) || email.length > 254) return { ok: false, reason: 'invalid', field: 'email' };
    const view = await this.peek(realm, token);
    if (!view || !view.link.approval) return { ok: false, reason: 'gone' };
    const wait = await this.limiter(realm).take(origin.ip ?? 'unknown');
    if (wait > 0) return { ok: false, reason: 'limited', wait };
    const at = this.d.clock();
    await this.d.store.invitationLinks.createJoinRequest({ realmId: realm.id, linkId: view.link.id, name, email }, at, (r) => [
      eventOf({ realm, userId: null, type: 'invitation.join.requested', origin, at, data: { requestId: r.id, linkId: r.linkId, email: r.email } }),
    ]);
    return { ok: true };
  }

  /** The realm's requests to join waiting for a decision (a count query: the console's Requests tab badge). */
  pendingRequests(realm: RealmConfig): Promise<number> {
    return this.d.store.invitationLinks.countJoinRequests(realm.id, 'pending');
  }

  listRequests(realm: RealmConfig, q: { status?: JoinRequestStatus }, after: CreatedCursor | null, limit: number) {
    return this.d.store.invitationLinks.queryJoinRequests(realm.id, q, after, limit);
  }

  async getRequest(realm: RealmConfig, id: string): Promise<JoinRequest> {
    const r = await this.d.store.invitationLinks.findJoinRequest(realm.id, id);
    if (!r) throw new NotFoundError('join_request');
    return r;
  }

  /** The account of the request's address: the one there (the only one of that address), else a new human user without a password. */
  private async accountFor(realm: RealmConfig, request: JoinRequest, ctx: RequestContext): Promise<{ user: User; created: boolean }> {
    const found = async () => (await this.d.store.findUsersByEmail(realm.id, request.email)).map((u) => u.user).find((u) => u.email !== null && normalizeLogin(u.email) === normalizeLogin(request.email)) ?? null;
    const existing = await found();
    if (existing) return { user: existing, created: false };
    const [firstName, ...rest] = request.name.split(/\s+/);
    const base = normalizeLogin(request.email.split('@')[0]!).replace(/[^a-z0-9_.-]/g, '') || 'user';
    const username = realm.fields.usernames === 'email' ? undefined : `${base.slice(0, 40)}-${randomBytes(3).toString('hex')}`;
    try {
      const { user } = await this.management().users.create(
        realm,
        { userType: 'human', email: request.email, ...(username ? { username } : {}), firstName: firstName || null, lastName: rest.join(' ') || null },
        ctx,
      );
      return { user, created: true };
    } catch (err) {
      // Approved twice at once, or the address signed up meanwhile: theirs is the account.
      const again = err instanceof UniqueViolation || (err instanceof ConflictError && err.reason === 'email.taken') ? await found() : null;
      if (again) return { user: again, created: false };
      throw err;
    }
  }

  /**
   * Approve: the account of that address joins (made first when there is none: no password, and a welcome mail
   * with a set-password link valid `invitations.welcomeLinkTtlHours`); the membership of the link's org. Reject:
   * the request ends, nothing else. Decided once: a second decision is 409 join_request.decided.
   */
  async decide(realm: RealmConfig, id: string, decision: 'approve' | 'reject', ctx: RequestContext, reason?: string | null): Promise<JoinRequest> {
    const m = this.management();
    const before = await this.getRequest(realm, id);
    if (before.status !== 'pending') throw new ConflictError('join_request.decided', `the request was ${before.status} already`);
    const by = eventActor(ctx);
    const at = this.d.clock();
    if (decision === 'reject') {
      const r = await this.d.store.invitationLinks.decideJoinRequest(realm.id, id, { status: 'rejected', reason: reason ?? null }, by, at, (x) => [
        this.event(realm, 'invitation.join.rejected', null, ctx, { requestId: x.request.id, linkId: x.request.linkId, email: x.request.email }),
      ]);
      if (!('request' in r)) throw new ConflictError('join_request.decided', 'the request was decided meanwhile');
      await m.audit.record(ctx, { realmId: realm.id, operation: 'join_request.reject', target: { type: 'join_request', id }, before, after: r.request });
      return r.request;
    }
    const { user, created } = await this.accountFor(realm, before, ctx);
    const r = await this.d.store.invitationLinks.decideJoinRequest(realm.id, id, { status: 'approved', userId: user.id, maxPermissions: realm.memberships.maxPermissions }, by, at, (x) => [
      this.event(realm, 'invitation.join.approved', user.id, ctx, { requestId: x.request.id, linkId: x.request.linkId, orgId: x.link?.orgId ?? null, membershipId: x.membership?.id ?? null, newUser: created }),
      ...(x.membership
        ? [
            x.created
              ? this.event(realm, 'membership.created', user.id, ctx, { membershipId: x.membership.id, orgId: x.membership.orgId, permissions: x.membership.permissions })
              : this.event(realm, 'membership.updated', user.id, ctx, { membershipId: x.membership.id, orgId: x.membership.orgId, fields: ['permissions', 'expiresAt'] }),
          ]
        : []),
    ]);
    if (!('request' in r)) {
      // Refused (decided meanwhile by a concurrent approval, or the org closed): the account made for this approval goes again — one request, at most one new account.
      if (created) await m.users.delete(realm, user.id, ctx);
      if ('gone' in r) throw new ConflictError('join_request.decided', 'the request was decided meanwhile');
      if (r.missing === 'org_closed') throw new ConflictError('org.closed', 'the link’s org is closed: reopen it first');
      throw new NotFoundError(r.missing === 'org' ? 'org' : 'user');
    }
    await m.audit.record(ctx, { realmId: realm.id, operation: 'join_request.approve', target: { type: 'join_request', id }, before, after: r.request });
    await this.welcome(realm, user, created, r.link?.returnTo ?? null, r.link?.orgId ?? null, ctx);
    return r.request;
  }

  /** The welcome mail: a new account's set-password link (never a password), or, for an account there already, where to sign in. */
  private async welcome(realm: RealmConfig, user: User, created: boolean, ret: ReturnTo | null, orgId: string | null, ctx: RequestContext): Promise<void> {
    const hours = realm.invitations.welcomeLinkTtlHours;
    const link = created ? (await this.management().access.passwordToken(realm, user.id, false, ctx, { ret, ttlMs: hours * 3600_000 })).link : realmLink(realm, '/login');
    const org = orgId ? await this.d.store.orgs.findOrg(realm.id, orgId) : null;
    await this.d.mailer.send({
      realm,
      kind: 'welcome',
      to: { address: user.email!, name: [user.firstName, user.lastName].filter(Boolean).join(' ') || null },
      userId: user.id,
      locale: user.locale ?? 'en',
      link,
      model: { newAccount: created, login: user.email ?? user.username, loginUrl: realmLink(realm, '/login'), org: org?.name ?? null, hours },
    });
  }
}

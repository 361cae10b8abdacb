import type { RealmConfig } from '../../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../../domain/errors.ts';
import { LINK_MAX_DAYS, type InvitationLink } from '../../domain/invitation-links.ts';
import { hasPermission, isPermission, normalizePermissions } from '../../domain/permissions.ts';
import { FlowError, tooManyAttempts } from '../../http/flow-error.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import type { User } from '../../identity/user.ts';
import type { OrgsPort } from '../../ports/orgs.ts';
import type { RequestContext } from '../../services/context.ts';
import type { Invitation } from '../../domain/invitations.ts';
import type { CreatedCursor } from '../../domain/orgs.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import type { MembershipsService } from '../../services/memberships.ts';

/** One org of the signed-in user's, as the personal center lists it. */
export interface MemberOrg {
  orgId: string;
  membershipId: string;
  name: string;
  permissions: string[];
  /** The realm's `invitations.memberPermission` is held in this membership: the member may invite to this org. */
  canInvite: boolean;
}

export interface MemberInvitationInput {
  email: string;
  name?: string;
  permissions: string[];
  locale: string;
}

export interface MemberLinkInput {
  /** Valid for this many whole days: 1 to LINK_MAX_DAYS (90). */
  days: number;
  /** A label the member's own list shows. */
  name?: string;
  permissions: string[];
}

/** The most of a member's own links the page reads (pages of 100, newest first). */
const OWN_LINKS_MAX = 500;

/** The most orgs the page lists (the JWT's upper bound for `tokens.maxOrgs`). */
const LIST_MAX = 500;

/**
 * The personal center's orgs (docs/design/orgs.md §7.4): the user's live memberships of active orgs (never the
 * user-only one), leaving one, and — where the realm names `invitations.memberPermission` and the membership
 * holds it — inviting others to that org by mail. A member passes on only permissions they hold themselves
 * (`hasPermission` over their membership of that org: `billing:*` lets them give `billing:read`) and only to
 * their own org; no step-up, since nothing is granted the member does not hold. Every write is the member's
 * own act: actor `{ type: 'user', id }`, audited and evented by the services it goes through.
 * Member-made invitation links (§7.4's "create a link", always with approval) go through the same `own` check
 * and the same subset rule (`grantable`).
 */
export class MemberOrgsService {
  constructor(
    private readonly d: {
      orgs: Pick<OrgsPort, 'accessOf'>;
      memberships: Pick<MembershipsService, 'delete'>;
      invitations: Pick<InvitationsService, 'invite'>;
      links: Pick<InvitationLinksService, 'create' | 'list' | 'get' | 'revoke'>;
      limiters: LimiterFactory;
      clock: () => Date;
    },
  ) {}

  /** The member's own context for a service write: who (the user) and from which request. */
  static context(user: Pick<User, 'id'>, origin: { ip: string | null; userAgent: string | null; requestId: string | null }): RequestContext {
    return { actor: { type: 'user', id: user.id }, requestId: origin.requestId, ip: origin.ip, userAgent: origin.userAgent };
  }

  private canInvite(realm: RealmConfig, permissions: readonly string[]): boolean {
    const wanted = realm.invitations.memberPermission;
    return wanted !== null && hasPermission(permissions, wanted);
  }

  /** The user's live orgs, by name. */
  async list(realm: RealmConfig, user: Pick<User, 'id'>): Promise<MemberOrg[]> {
    const view = await this.d.orgs.accessOf(realm.id, user.id, this.d.clock(), { maxOrgs: LIST_MAX, selectedOrgId: null });
    return view.orgs
      .map((o) => ({ orgId: o.orgId, membershipId: o.membershipId, name: o.name, permissions: o.permissions, canInvite: this.canInvite(realm, o.permissions) }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.orgId.localeCompare(b.orgId));
  }

  /** The user's live membership of `orgId`: anything else (another's org, a closed one, an expired membership, a malformed id) is 404. */
  async own(realm: RealmConfig, user: Pick<User, 'id'>, orgId: string): Promise<MemberOrg> {
    const found = (await this.list(realm, user)).find((o) => o.orgId === orgId);
    if (!found) throw new FlowError(404, 'orgs.notFound');
    return found;
  }

  /** The member leaves the org: their membership goes (audited as the user's act, `membership.deleted` evented). */
  async leave(realm: RealmConfig, user: Pick<User, 'id'>, orgId: string, ctx: RequestContext): Promise<MemberOrg> {
    const org = await this.own(realm, user, orgId);
    await this.d.memberships.delete(realm, org.membershipId, ctx);
    return org;
  }

  /** The permissions a member may pass on from `org`: each one held by their membership, else 422 naming the first that is not. */
  grantable(org: MemberOrg, wanted: readonly string[]): string[] {
    for (const p of wanted) {
      if (!isPermission(p) || !hasPermission(org.permissions, p)) throw new FlowError(422, 'orgs.invite.notHeld', { permission: p.slice(0, 62) }, 'permissions');
    }
    return normalizePermissions(wanted);
  }

  /** A member invites an address to their org by mail (the invitation service's rules, the mail, the audit entry and event). */
  async invite(realm: RealmConfig, user: Pick<User, 'id'>, orgId: string, input: MemberInvitationInput, ctx: RequestContext): Promise<{ org: MemberOrg; invitation: Invitation }> {
    const org = await this.own(realm, user, orgId);
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    const permissions = this.grantable(org, input.permissions);
    // Counted once the request could mail: a refused permission sends nothing.
    await this.take(realm, user);
    try {
      const { invitation } = await this.d.invitations.invite(realm, { orgId: org.orgId, email: input.email, name: input.name || null, permissions, locale: input.locale }, ctx);
      return { org, invitation };
    } catch (err) {
      if (err instanceof RuleViolation) {
        const first = err.issues[0];
        throw new FlowError(422, first?.field === 'email' ? 'validation.email' : 'orgs.invite.invalid', {}, first?.field === 'email' ? 'email' : 'permissions');
      }
      throw err;
    }
  }

  /** The one budget of a member's invitations, by mail or by link (`rateLimits.memberInvitationsPerUser`). */
  private async take(realm: RealmConfig, user: Pick<User, 'id'>): Promise<void> {
    const wait = await this.d.limiters(`${realm.id}:member-invitations`, realm.rateLimits.memberInvitationsPerUser).take(user.id);
    if (wait > 0) throw tooManyAttempts(wait);
  }

  /**
   * A member makes an invitation link into their org (§7.4): **always with approval**, whatever the form says — an
   * operator decides each request, so nobody joins through a link a member spread without an operator seeing it.
   * Permissions only among those the member holds there; valid 1 to 90 days. The URL and QR code are answered once.
   */
  async createLink(realm: RealmConfig, user: Pick<User, 'id'>, orgId: string, input: MemberLinkInput, ctx: RequestContext): Promise<{ org: MemberOrg; link: InvitationLink; url: string; qr: string }> {
    const org = await this.own(realm, user, orgId);
    if (!org.canInvite) throw new FlowError(403, 'orgs.invite.notAllowed');
    if (!Number.isInteger(input.days) || input.days < 1 || input.days > LINK_MAX_DAYS) throw new FlowError(400, 'orgs.links.daysRange', { max: LINK_MAX_DAYS }, 'days');
    const permissions = this.grantable(org, input.permissions);
    await this.take(realm, user);
    try {
      const made = await this.d.links.create(
        realm,
        { name: input.name || null, orgId: org.orgId, permissions, approval: true, expiresAt: new Date(this.d.clock().getTime() + input.days * 86_400_000) },
        ctx,
      );
      return { org, ...made };
    } catch (err) {
      if (err instanceof RuleViolation) throw new FlowError(422, 'orgs.invite.invalid', {}, 'permissions');
      // Closed or deleted between the check and the write: no longer one of theirs.
      if (err instanceof NotFoundError || err instanceof ConflictError) throw new FlowError(404, 'orgs.notFound');
      throw err;
    }
  }

  /** The member's own live links into `org` (not revoked, not expired), newest first. */
  async ownLinks(realm: RealmConfig, user: Pick<User, 'id'>, org: MemberOrg, ctx: RequestContext): Promise<InvitationLink[]> {
    if (ctx.actor.type !== 'user' || ctx.actor.id !== user.id) throw new Error('a member’s links are listed in their own context');
    const now = this.d.clock().getTime();
    const live: InvitationLink[] = [];
    let after: CreatedCursor | null = null;
    for (let read = 0; read < OWN_LINKS_MAX; read += 100) {
      const page = await this.d.links.list(realm, { createdBy: 'me' }, ctx, after, 100);
      live.push(...page.links.filter((l) => l.orgId === org.orgId && l.revokedAt === null && l.expiresAt.getTime() > now));
      if (!page.next) break;
      after = page.next;
    }
    return live;
  }

  /**
   * The member revokes one of their own links into their org: anyone else's link (another member's, an
   * operator's), one into another org, or an unknown id is 404. Allowed even after losing the invite permission.
   */
  async revokeLink(realm: RealmConfig, user: Pick<User, 'id'>, orgId: string, linkId: string, ctx: RequestContext): Promise<{ org: MemberOrg; link: InvitationLink }> {
    const org = await this.own(realm, user, orgId);
    let link: InvitationLink;
    try {
      link = await this.d.links.get(realm, linkId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new FlowError(404, 'orgs.links.notFound');
      throw err;
    }
    if (link.createdBy.type !== 'user' || link.createdBy.id !== user.id || link.orgId !== org.orgId) throw new FlowError(404, 'orgs.links.notFound');
    if (link.revokedAt !== null) return { org, link };
    try {
      return { org, link: await this.d.links.revoke(realm, link.id, ctx) };
    } catch (err) {
      // Revoked meanwhile (another tab): what was asked is done.
      if (err instanceof ConflictError) return { org, link };
      throw err;
    }
  }
}

import type { ClientSession, Connection, QueryFilter } from 'mongoose';
import { newId } from '../../domain/ids.ts';
import type { InvitationLink, JoinDecided, JoinDecision, JoinRequest, JoinRequestStatus, LinkQuery, LinkRefused, LinkUsed, NewInvitationLink, NewJoinRequest } from '../../domain/invitation-links.ts';
import { unionPermissions, type InvitationCreator } from '../../domain/invitations.ts';
import type { CreatedCursor, Membership } from '../../domain/orgs.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { InvitationLinksPort } from '../../ports/invitation-links.ts';
import type { MongoEvents } from './events.ts';
import { toMembership } from './orgs.ts';
import type { InvitationLinkDoc, JoinRequestDoc, MembershipDoc, Models, OrgDoc } from './schemas.ts';

function toLink(d: InvitationLinkDoc): InvitationLink {
  return {
    id: d._id,
    realmId: d.realmId,
    name: d.name ?? null,
    orgId: d.orgId ?? null,
    permissions: [...(d.permissions ?? [])],
    approval: d.approval === true,
    returnTo: d.returnTo ? { ...d.returnTo } : null,
    createdBy: { type: d.createdByType, id: d.createdById ?? null },
    expiresAt: d.expiresAt,
    revokedAt: d.revokedAt ?? null,
    uses: d.uses,
    createdAt: d.createdAt,
  };
}

function toRequest(d: JoinRequestDoc): JoinRequest {
  return {
    id: d._id,
    realmId: d.realmId,
    linkId: d.linkId,
    name: d.name,
    email: d.email,
    userId: d.userId ?? null,
    status: d.status,
    decidedBy: d.decidedByType ? { type: d.decidedByType, id: d.decidedById ?? null } : null,
    decidedAt: d.decidedAt ?? null,
    reason: d.reason ?? null,
    createdAt: d.createdAt,
  };
}

/** Thrown inside a transaction to abort it (nothing written), caught outside. */
class Refused extends Error {
  constructor(readonly refusal: LinkRefused) {
    super('refused');
  }
}

type Clause = Record<string, unknown>;

/**
 * Invitation links and join requests on the MongoDB store's collections. A join or an approval is one
 * transaction: the link's (or the request's) conditional update is the write concurrent ones conflict on, and it
 * writes the user's and the org's documents (membershipRev) as createMembership does, so a concurrent delete or
 * close conflicts too.
 */
export class MongoInvitationLinks implements InvitationLinksPort {
  constructor(
    private readonly connection: Connection,
    private readonly m: Models,
    private readonly events: MongoEvents,
  ) {}

  async createLink(link: NewInvitationLink, at: Date, emit?: Emit<InvitationLink>): Promise<InvitationLink> {
    const doc: InvitationLinkDoc = {
      _id: newId('invl'),
      realmId: link.realmId,
      name: link.name ?? null,
      orgId: link.orgId ?? null,
      permissions: [...(link.permissions ?? [])],
      approval: link.approval,
      returnTo: link.returnTo ? { ...link.returnTo } : null,
      tokenHash: link.tokenHash,
      createdByType: link.createdBy.type,
      createdById: link.createdBy.id,
      expiresAt: link.expiresAt,
      revokedAt: null,
      uses: 0,
      createdAt: at,
    };
    return this.events.withEvents(async (session) => {
      await this.m.invitationLinks.create([doc], { session });
      return toLink(doc);
    }, emit);
  }

  async findLink(realmId: string, id: string): Promise<InvitationLink | null> {
    const d = await this.m.invitationLinks.findOne({ _id: id, realmId }).lean<InvitationLinkDoc>();
    return d ? toLink(d) : null;
  }

  async findLinkByToken(realmId: string, tokenHash: string, at: Date): Promise<InvitationLink | null> {
    const d = await this.m.invitationLinks.findOne({ realmId, tokenHash, revokedAt: null, expiresAt: { $gt: at } }).lean<InvitationLinkDoc>();
    return d ? toLink(d) : null;
  }

  private async page<D extends { _id: string; createdAt: Date }>(model: Models['invitationLinks'] | Models['joinRequests'], and: Clause[], after: CreatedCursor | null, limit: number): Promise<{ docs: D[]; next: CreatedCursor | null }> {
    if (after) and.push({ $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] });
    const docs = (await (model as Models['joinRequests'])
      .find({ $and: and } as QueryFilter<JoinRequestDoc>)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean()) as unknown as D[];
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return { docs: page, next: docs.length > limit && last ? { createdAt: last.createdAt, id: last._id } : null };
  }

  async queryLinks(realmId: string, q: LinkQuery, after: CreatedCursor | null, limit: number): Promise<{ links: InvitationLink[]; next: CreatedCursor | null }> {
    if (limit < 1) return { links: [], next: null }; // MongoDB reads limit(0) as "no limit"
    const and: Clause[] = [{ realmId }];
    if (q.createdBy) and.push({ createdByType: q.createdBy.type, createdById: q.createdBy.id });
    const { docs, next } = await this.page<InvitationLinkDoc>(this.m.invitationLinks, and, after, limit);
    return { links: docs.map(toLink), next };
  }

  async revokeLink(realmId: string, id: string, at: Date, emit?: Emit<InvitationLink | null>): Promise<InvitationLink | null> {
    return this.events.withEvents(async (session) => {
      const d = await this.m.invitationLinks.findOneAndUpdate({ _id: id, realmId, revokedAt: null }, { $set: { revokedAt: at } }, { session, returnDocument: 'after' }).lean<InvitationLinkDoc>();
      return d ? toLink(d) : null;
    }, emit);
  }

  async revokeLinksBy(realmId: string, createdBy: InvitationCreator, at: Date, emit?: Emit<InvitationLink[]>): Promise<number> {
    const links = await this.events.withEvents(async (session) => {
      const filter = { realmId, createdByType: createdBy.type, createdById: createdBy.id, revokedAt: null, expiresAt: { $gt: at } };
      const live = await this.m.invitationLinks.find(filter).session(session ?? null).lean<InvitationLinkDoc[]>();
      if (live.length === 0) return [];
      await this.m.invitationLinks.updateMany({ _id: { $in: live.map((d) => d._id) }, realmId, revokedAt: null }, { $set: { revokedAt: at } }, { session });
      return live.map((d) => toLink({ ...d, revokedAt: at }));
    }, emit);
    return links.length;
  }

  /** Inside the transaction: the user's membership of `orgId` made, or widened (union ≤ max, expiry cleared). */
  private async joinOrg(session: ClientSession, realmId: string, userId: string, orgId: string, permissions: string[], max: number, at: Date): Promise<{ membership: Membership; created: boolean }> {
    const org = await this.m.orgs.findOneAndUpdate({ _id: orgId, realmId }, { $inc: { membershipRev: 1 } }, { session }).lean<OrgDoc>();
    if (!org) throw new Refused({ missing: 'org' });
    if (org.state !== 'active') throw new Refused({ missing: 'org_closed' });
    const had = await this.m.memberships.findOne({ realmId, userId, orgKey: orgId }).session(session).lean<MembershipDoc>();
    if (had) {
      const union = unionPermissions(had.permissions ?? [], permissions, max);
      const after = await this.m.memberships.findOneAndUpdate({ _id: had._id, realmId }, { $set: { permissions: union, expiresAt: null, updatedAt: at } }, { session, returnDocument: 'after' }).lean<MembershipDoc>();
      return { membership: toMembership(after!), created: false };
    }
    const doc: MembershipDoc = {
      _id: newId('mb'),
      realmId,
      userId,
      orgId,
      orgKey: orgId,
      orgActive: true,
      permissions: permissions.slice(0, max),
      customAttributes: {},
      expiresAt: null,
      createdAt: at,
      updatedAt: at,
    };
    await this.m.memberships.create([doc], { session });
    return { membership: toMembership(doc), created: true };
  }

  private async touchUser(session: ClientSession, realmId: string, userId: string): Promise<void> {
    // A write, not a read: a read alone would not conflict with a delete committed meanwhile (MongoOrgs).
    const user = await this.m.users.updateOne({ _id: userId, realmId }, { $inc: { membershipRev: 1 } }, { session });
    if (user.matchedCount === 0) throw new Refused({ missing: 'user' });
  }

  private async run<T>(body: (session: ClientSession) => Promise<T>): Promise<T | LinkRefused> {
    try {
      // The transaction may run again on a write conflict: what it decides on is read inside it.
      return await this.connection.transaction(body);
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
  }

  async useLink(realmId: string, linkId: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<LinkUsed>): Promise<LinkUsed | LinkRefused> {
    return this.run(async (session): Promise<LinkUsed> => {
      const d = await this.m.invitationLinks
        .findOneAndUpdate({ _id: linkId, realmId, revokedAt: null, expiresAt: { $gt: at }, approval: false }, { $inc: { uses: 1 } }, { session, returnDocument: 'after' })
        .lean<InvitationLinkDoc>();
      if (!d) throw new Refused({ gone: true });
      const link = toLink(d);
      await this.touchUser(session, realmId, userId);
      const joined = link.orgId ? await this.joinOrg(session, realmId, userId, link.orgId, link.permissions, maxPermissions, at) : { membership: null, created: false };
      const result: LinkUsed = { link, ...joined };
      await this.events.insertAll(emitted(emit, result), session);
      return result;
    });
  }

  async createJoinRequest(req: NewJoinRequest, at: Date, emit?: Emit<JoinRequest>): Promise<JoinRequest> {
    const doc: JoinRequestDoc = {
      _id: newId('jr'),
      realmId: req.realmId,
      linkId: req.linkId,
      name: req.name,
      email: req.email,
      userId: null,
      status: 'pending',
      decidedByType: null,
      decidedById: null,
      decidedAt: null,
      reason: null,
      createdAt: at,
    };
    return this.events.withEvents(async (session) => {
      await this.m.joinRequests.create([doc], { session });
      return toRequest(doc);
    }, emit);
  }

  async findJoinRequest(realmId: string, id: string): Promise<JoinRequest | null> {
    const d = await this.m.joinRequests.findOne({ _id: id, realmId }).lean<JoinRequestDoc>();
    return d ? toRequest(d) : null;
  }

  async queryJoinRequests(realmId: string, q: { status?: JoinRequestStatus }, after: CreatedCursor | null, limit: number): Promise<{ requests: JoinRequest[]; next: CreatedCursor | null }> {
    if (limit < 1) return { requests: [], next: null };
    const and: Clause[] = [{ realmId }];
    if (q.status !== undefined) and.push({ status: q.status });
    const { docs, next } = await this.page<JoinRequestDoc>(this.m.joinRequests, and, after, limit);
    return { requests: docs.map(toRequest), next };
  }

  async countJoinRequests(realmId: string, status: JoinRequestStatus): Promise<number> {
    return this.m.joinRequests.countDocuments({ realmId, status });
  }

  async decideJoinRequest(realmId: string, id: string, decision: JoinDecision, by: InvitationCreator, at: Date, emit?: Emit<JoinDecided>): Promise<JoinDecided | LinkRefused> {
    return this.run(async (session): Promise<JoinDecided> => {
      const approved = decision.status === 'approved';
      const set = { status: decision.status, userId: approved ? decision.userId : null, decidedByType: by.type, decidedById: by.id, decidedAt: at, reason: approved ? null : (decision.reason ?? null) };
      const d = await this.m.joinRequests.findOneAndUpdate({ _id: id, realmId, status: 'pending' }, { $set: set }, { session, returnDocument: 'after' }).lean<JoinRequestDoc>();
      if (!d) throw new Refused({ gone: true });
      const request = toRequest(d);
      let result: JoinDecided = { request, link: null, membership: null, created: false };
      if (approved) {
        await this.touchUser(session, realmId, decision.userId);
        const l = await this.m.invitationLinks.findOneAndUpdate({ _id: request.linkId, realmId }, { $inc: { uses: 1 } }, { session, returnDocument: 'after' }).lean<InvitationLinkDoc>();
        const link = l ? toLink(l) : null;
        const joined = link?.orgId ? await this.joinOrg(session, realmId, decision.userId, link.orgId, link.permissions, decision.maxPermissions, at) : { membership: null, created: false };
        result = { request, link, ...joined };
      }
      await this.events.insertAll(emitted(emit, result), session);
      return result;
    });
  }
}

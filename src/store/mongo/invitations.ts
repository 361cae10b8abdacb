import type { Connection, QueryFilter } from 'mongoose';
import { newId } from '../../domain/ids.ts';
import { unionPermissions, type Invitation, type InvitationAccepted, type InvitationQuery, type InvitationRefused, type NewInvitation } from '../../domain/invitations.ts';
import type { CreatedCursor } from '../../domain/orgs.ts';
import { normalizeLogin } from '../../identity/user.ts';
import { emitted, type Emit } from '../../ports/events.ts';
import type { InvitationsPort } from '../../ports/invitations.ts';
import { escapeRegex, type MongoEvents } from './events.ts';
import { toMembership } from './orgs.ts';
import type { InvitationDoc, MembershipDoc, Models, OrgDoc } from './schemas.ts';

function toInvitation(d: InvitationDoc): Invitation {
  return {
    id: d._id,
    realmId: d.realmId,
    orgId: d.orgId,
    email: d.email,
    name: d.name ?? null,
    permissions: [...(d.permissions ?? [])],
    returnTo: d.returnTo ? { ...d.returnTo } : null,
    createdBy: { type: d.createdByType, id: d.createdById ?? null },
    status: d.status,
    expiresAt: d.expiresAt,
    sentCount: d.sentCount,
    lastSentAt: d.lastSentAt,
    acceptedBy: d.acceptedBy ?? null,
    acceptedAt: d.acceptedAt ?? null,
    createdAt: d.createdAt,
  };
}

/** Thrown inside acceptInvitation's transaction to abort it (nothing written), caught outside. */
class Refused extends Error {
  constructor(readonly refusal: InvitationRefused) {
    super('refused');
  }
}

type Clause = Record<string, unknown>;

/**
 * Org invitations on the MongoDB store's collections. An accept is one transaction: the invitation's
 * conditional update (pending, unexpired, this token) is the write concurrent accepts conflict on — one
 * commits, the others run again and find it taken — and it writes the user's and the org's documents
 * (membershipRev) as createMembership does, so a concurrent delete or close conflicts too.
 */
export class MongoInvitations implements InvitationsPort {
  constructor(
    private readonly connection: Connection,
    private readonly m: Models,
    private readonly events: MongoEvents,
  ) {}

  async createInvitation(inv: NewInvitation, at: Date, emit?: Emit<Invitation>): Promise<Invitation> {
    const doc: InvitationDoc = {
      _id: newId('inv'),
      realmId: inv.realmId,
      orgId: inv.orgId,
      email: inv.email,
      emailNorm: normalizeLogin(inv.email),
      name: inv.name ?? null,
      nameNorm: inv.name ? normalizeLogin(inv.name) : null,
      permissions: [...(inv.permissions ?? [])],
      returnTo: inv.returnTo ? { ...inv.returnTo } : null,
      tokenHash: inv.tokenHash,
      createdByType: inv.createdBy.type,
      createdById: inv.createdBy.id,
      status: 'pending',
      expiresAt: inv.expiresAt,
      sentCount: 1,
      lastSentAt: at,
      acceptedBy: null,
      acceptedAt: null,
      createdAt: at,
    };
    return this.events.withEvents(async (session) => {
      await this.m.invitations.create([doc], { session });
      return toInvitation(doc);
    }, emit);
  }

  async findInvitation(realmId: string, id: string): Promise<Invitation | null> {
    const d = await this.m.invitations.findOne({ _id: id, realmId }).lean<InvitationDoc>();
    return d ? toInvitation(d) : null;
  }

  async findInvitationByToken(realmId: string, tokenHash: string, at: Date): Promise<Invitation | null> {
    const d = await this.m.invitations.findOne({ realmId, tokenHash, status: 'pending', expiresAt: { $gt: at } }).lean<InvitationDoc>();
    return d ? toInvitation(d) : null;
  }

  async queryInvitations(realmId: string, q: InvitationQuery, after: CreatedCursor | null, limit: number): Promise<{ invitations: Invitation[]; next: CreatedCursor | null }> {
    if (limit < 1) return { invitations: [], next: null }; // MongoDB reads limit(0) as "no limit"
    const and: Clause[] = [{ realmId }];
    if (q.orgId !== undefined) and.push({ orgId: q.orgId });
    if (q.status !== undefined) and.push({ status: q.status });
    if (q.q !== undefined) {
      const prefix = `^${escapeRegex(normalizeLogin(q.q))}`;
      and.push({ $or: [{ emailNorm: { $regex: prefix } }, { nameNorm: { $regex: prefix } }] });
    }
    if (after) and.push({ $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] });
    const docs = await this.m.invitations
      .find({ $and: and } as QueryFilter<InvitationDoc>)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean<InvitationDoc[]>();
    const page = docs.slice(0, limit).map(toInvitation);
    const last = page.at(-1);
    return { invitations: page, next: docs.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async replaceInvitationToken(realmId: string, id: string, tokenHash: string, expiresAt: Date, at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null> {
    return this.events.withEvents(async (session) => {
      const d = await this.m.invitations
        .findOneAndUpdate({ _id: id, realmId, status: 'pending' }, { $set: { tokenHash, expiresAt, lastSentAt: at }, $inc: { sentCount: 1 } }, { session, returnDocument: 'after' })
        .lean<InvitationDoc>();
      return d ? toInvitation(d) : null;
    }, emit);
  }

  async revokeInvitation(realmId: string, id: string, _at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null> {
    return this.events.withEvents(async (session) => {
      const d = await this.m.invitations.findOneAndUpdate({ _id: id, realmId, status: 'pending' }, { $set: { status: 'revoked' } }, { session, returnDocument: 'after' }).lean<InvitationDoc>();
      return d ? toInvitation(d) : null;
    }, emit);
  }

  async acceptInvitation(realmId: string, tokenHash: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<InvitationAccepted>): Promise<InvitationAccepted | InvitationRefused> {
    try {
      // The transaction may run again on a write conflict: what it decides on is read inside it.
      return await this.connection.transaction(async (session): Promise<InvitationAccepted> => {
        const d = await this.m.invitations
          .findOneAndUpdate(
            { realmId, tokenHash, status: 'pending', expiresAt: { $gt: at } },
            { $set: { status: 'accepted', acceptedBy: userId, acceptedAt: at } },
            { session, returnDocument: 'after' },
          )
          .lean<InvitationDoc>();
        if (!d) throw new Refused({ gone: true });
        const invitation = toInvitation(d);
        // Writes, not reads: a read alone would not conflict with a delete committed meanwhile (MongoOrgs).
        const user = await this.m.users.updateOne({ _id: userId, realmId }, { $inc: { membershipRev: 1 } }, { session });
        if (user.matchedCount === 0) throw new Refused({ missing: 'user' });
        const org = await this.m.orgs.findOneAndUpdate({ _id: invitation.orgId, realmId }, { $inc: { membershipRev: 1 } }, { session }).lean<OrgDoc>();
        if (!org) throw new Refused({ missing: 'org' });
        if (org.state !== 'active') throw new Refused({ missing: 'org_closed' });
        const had = await this.m.memberships.findOne({ realmId, userId, orgKey: invitation.orgId }).session(session).lean<MembershipDoc>();
        let result: InvitationAccepted;
        if (had) {
          // A member's invitation passes on permissions, never time: the membership there keeps its expiry (an operator's or key's clears it).
          const permissions = unionPermissions(had.permissions ?? [], invitation.permissions, maxPermissions);
          const after = await this.m.memberships
            .findOneAndUpdate({ _id: had._id, realmId }, { $set: { permissions, updatedAt: at, ...(invitation.createdBy.type === 'user' ? {} : { expiresAt: null }) } }, { session, returnDocument: 'after' })
            .lean<MembershipDoc>();
          result = { invitation, membership: toMembership(after!), created: false };
        } else {
          const doc: MembershipDoc = {
            _id: newId('mb'),
            realmId,
            userId,
            orgId: invitation.orgId,
            orgKey: invitation.orgId,
            orgActive: true,
            permissions: invitation.permissions.slice(0, maxPermissions),
            customAttributes: {},
            expiresAt: null,
            createdAt: at,
            updatedAt: at,
          };
          await this.m.memberships.create([doc], { session });
          result = { invitation, membership: toMembership(doc), created: true };
        }
        await this.events.insertAll(emitted(emit, result), session);
        return result;
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
  }
}

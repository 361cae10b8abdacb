import type { Invitation, InvitationAccepted, InvitationQuery, InvitationRefused, NewInvitation } from '../domain/invitations.ts';
import type { CreatedCursor } from '../domain/orgs.ts';
import type { Emit } from './events.ts';

/**
 * Org invitations by mail (docs/design/orgs.md §2.2), part of the Store as `store.invitations`, on the same
 * database as `store.orgs`: accepting one marks it used and makes (or widens) the membership in one
 * transaction. Tokens are looked up by their HMAC only (the service hashes; the clear token is never
 * stored). Every adapter passes test/contract/invitations.contract.ts. A write that takes an `emit` appends
 * those events in the same transaction as its change (ports/events.ts); a write refused or finding nothing
 * appends none when its emit is a function (it is handed null, or not called when its result type has no null).
 * A realm purge (directory) takes its invitations; deleting an org takes the org's.
 */
export interface InvitationsPort {
  createInvitation(inv: NewInvitation, at: Date, emit?: Emit<Invitation>): Promise<Invitation>;
  findInvitation(realmId: string, id: string): Promise<Invitation | null>;
  /** The pending invitation whose token hashes to `tokenHash`, unless it expired by `at`. */
  findInvitationByToken(realmId: string, tokenHash: string, at: Date): Promise<Invitation | null>;
  /** Newest first by (createdAt, id); `after` is the last one of the previous page. */
  queryInvitations(realmId: string, q: InvitationQuery, after: CreatedCursor | null, limit: number): Promise<{ invitations: Invitation[]; next: CreatedCursor | null }>;
  /**
   * Resend: a pending invitation (expired or not) gets a new token — the old link is dead at once — a new
   * expiry, sentCount + 1 and lastSentAt `at`. null when there is no pending invitation of that id.
   */
  replaceInvitationToken(realmId: string, id: string, tokenHash: string, expiresAt: Date, at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null>;
  /** A pending invitation (expired or not) becomes `revoked`; null when there is none of that id. */
  revokeInvitation(realmId: string, id: string, at: Date, emit?: Emit<Invitation | null>): Promise<Invitation | null>;
  /**
   * In one transaction: the pending, unexpired invitation of that token becomes `accepted` by the user, and the
   * user gets a membership of its org with its permissions — or, a member already (even of an expired
   * membership), the membership's permissions widened by the invitation's (union, at most `maxPermissions`)
   * and its expiry cleared. Of concurrent accepts of one token exactly one wins; the others are `gone`.
   * Refused (`gone`, `missing`): nothing written, no events. emit is handed what was accepted.
   */
  acceptInvitation(realmId: string, tokenHash: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<InvitationAccepted>): Promise<InvitationAccepted | InvitationRefused>;
}

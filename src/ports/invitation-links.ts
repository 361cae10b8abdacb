import type { InvitationCreator } from '../domain/invitations.ts';
import type { InvitationLink, JoinDecided, JoinDecision, JoinRequest, JoinRequestStatus, LinkQuery, LinkRefused, LinkUsed, NewInvitationLink, NewJoinRequest } from '../domain/invitation-links.ts';
import type { CreatedCursor } from '../domain/orgs.ts';
import type { Emit } from './events.ts';

/**
 * Realm invitation links and join requests (docs/design/orgs.md §2.2), part of the Store as
 * `store.invitationLinks`, on the same database as `store.orgs`: joining through a link counts the use and makes
 * (or widens) the membership in one transaction; approving a request decides it and does the same. Tokens are
 * looked up by their HMAC only. Every adapter passes test/contract/invitation-links.contract.ts. Writes taking an
 * `emit` append its events in the same transaction (ports/events.ts); refused writes append none. A realm purge
 * takes its links and requests.
 */
export interface InvitationLinksPort {
  createLink(link: NewInvitationLink, at: Date, emit?: Emit<InvitationLink>): Promise<InvitationLink>;
  findLink(realmId: string, id: string): Promise<InvitationLink | null>;
  /** The live link (not revoked, not expired at `at`) whose token hashes to `tokenHash`. */
  findLinkByToken(realmId: string, tokenHash: string, at: Date): Promise<InvitationLink | null>;
  /** Newest first by (createdAt, id). */
  queryLinks(realmId: string, q: LinkQuery, after: CreatedCursor | null, limit: number): Promise<{ links: InvitationLink[]; next: CreatedCursor | null }>;
  /** A link not revoked yet (expired or not) is revoked at `at`; null when there is none of that id. */
  revokeLink(realmId: string, id: string, at: Date, emit?: Emit<InvitationLink | null>): Promise<InvitationLink | null>;
  /** "Reset all": every live link `createdBy` made is revoked at `at` — no one else's; emit is handed them. */
  revokeLinksBy(realmId: string, createdBy: InvitationCreator, at: Date, emit?: Emit<InvitationLink[]>): Promise<number>;
  /**
   * Joining without approval, in one transaction: the live, approval-free link gets uses + 1 and, when it has an
   * org, the user a membership of it with its permissions (or their membership widened, its expiry cleared).
   */
  useLink(realmId: string, linkId: string, userId: string, at: Date, maxPermissions: number, emit?: Emit<LinkUsed>): Promise<LinkUsed | LinkRefused>;
  createJoinRequest(req: NewJoinRequest, at: Date, emit?: Emit<JoinRequest>): Promise<JoinRequest>;
  findJoinRequest(realmId: string, id: string): Promise<JoinRequest | null>;
  /** Newest first by (createdAt, id). */
  queryJoinRequests(realmId: string, q: { status?: JoinRequestStatus }, after: CreatedCursor | null, limit: number): Promise<{ requests: JoinRequest[]; next: CreatedCursor | null }>;
  /** How many of the realm's requests have that status (the console's tab badge: pending ones). */
  countJoinRequests(realmId: string, status: JoinRequestStatus): Promise<number>;
  /**
   * Decides a pending request once (of concurrent decisions exactly one wins, the others `gone`); approved, in the
   * same transaction: the link's uses + 1 and, when it has an org, the membership made or widened.
   */
  decideJoinRequest(realmId: string, id: string, decision: JoinDecision, by: InvitationCreator, at: Date, emit?: Emit<JoinDecided>): Promise<JoinDecided | LinkRefused>;
}

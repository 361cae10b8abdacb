import type { InvitationCreator } from './invitations.ts';
import type { Membership } from './orgs.ts';
import type { ReturnTo } from './return-to.ts';

/**
 * Realm invitation links and join requests (issue 14, docs/design/orgs.md §2.2, §7.2; GenAuth's "general
 * invitation"): plain types and rules, no I/O. A link carries a token (32 random bytes, stored only as an HMAC),
 * good until `expiresAt` (at most 90 days) or until revoked, any number of times. Without approval, whoever opens
 * it joins (the membership of its org, when it has one); with approval, they ask to join (a join request) and an
 * operator decides.
 */

/** The longest a link may live (orgs.md §11.11). */
export const LINK_MAX_DAYS = 90;

export interface InvitationLink {
  /** `invl_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  /** A label for the console's list. */
  name: string | null;
  /** The org a joiner becomes a member of; null: the realm only. */
  orgId: string | null;
  /** What that membership gets. */
  permissions: string[];
  /** true: people ask to join (join requests) and an operator decides; false: they join at once. */
  approval: boolean;
  returnTo: ReturnTo | null;
  createdBy: InvitationCreator;
  expiresAt: Date;
  revokedAt: Date | null;
  /** Joins through it (approved requests included). */
  uses: number;
  createdAt: Date;
}

export interface NewInvitationLink {
  realmId: string;
  name?: string | null;
  orgId?: string | null;
  permissions?: string[];
  approval: boolean;
  returnTo?: ReturnTo | null;
  createdBy: InvitationCreator;
  expiresAt: Date;
  /** HMAC-SHA256 of the link's token under the server's invitations key: the token itself is never stored. */
  tokenHash: string;
}

export interface LinkQuery {
  /** Only the links this operator or key made. */
  createdBy?: InvitationCreator;
}

export type JoinRequestStatus = 'pending' | 'approved' | 'rejected';
export const JOIN_REQUEST_STATUSES = ['pending', 'approved', 'rejected'] as const satisfies readonly JoinRequestStatus[];

export interface JoinRequest {
  /** `jr_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  linkId: string;
  name: string;
  /** As typed by the applicant: nothing says whether it has an account (no enumeration). */
  email: string;
  /** The account that joined, once approved. */
  userId: string | null;
  status: JoinRequestStatus;
  decidedBy: InvitationCreator | null;
  decidedAt: Date | null;
  reason: string | null;
  createdAt: Date;
}

export interface NewJoinRequest {
  realmId: string;
  linkId: string;
  name: string;
  email: string;
}

/** What an operator decides: approve for an account (made or found by the service), or reject. */
export type JoinDecision = { status: 'approved'; userId: string; maxPermissions: number } | { status: 'rejected'; reason?: string | null };

/** What a decision did: the request decided, and (approved, the link has an org) the membership made or widened. */
export interface JoinDecided {
  request: JoinRequest;
  link: InvitationLink | null;
  membership: Membership | null;
  created: boolean;
}

/** What joining through a link did (no approval): the link counted, and the membership of its org (null: it has none). */
export interface LinkUsed {
  link: InvitationLink;
  membership: Membership | null;
  created: boolean;
}

/** Why a write did nothing: the link is not live (revoked, expired, unknown, wants approval) or the request decided; or the org or user is gone. */
export type LinkRefused = { gone: true } | { missing: 'org' | 'org_closed' | 'user' };

/** Whether a link still works at `at`. */
export const isLinkLive = (l: Pick<InvitationLink, 'revokedAt' | 'expiresAt'>, at: Date): boolean => l.revokedAt === null && l.expiresAt.getTime() > at.getTime();

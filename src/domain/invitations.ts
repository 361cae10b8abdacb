import type { Membership } from './orgs.ts';
import type { ReturnTo } from './return-to.ts';

/**
 * Org invitations by mail (issue 14, docs/design/orgs.md §2.2, §7.2): plain types and rules, no I/O. An
 * invitation names an address, an org and the permissions the membership gets; its link carries a one-time
 * token (32 random bytes, stored only as an HMAC), good until `expiresAt`, until revoked, or until used once.
 */

export type InvitationStatus = 'pending' | 'accepted' | 'revoked';
export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked'] as const satisfies readonly InvitationStatus[];

/** Who made the invitation: an operator, a management key, (commit 14) a member, or Gatehouse itself. */
export interface InvitationCreator {
  type: 'operator' | 'api_key' | 'user' | 'system';
  id: string | null;
}

export interface Invitation {
  /** `inv_…` (domain/ids.ts). */
  id: string;
  realmId: string;
  orgId: string;
  /** As given; the accepting account's address must equal it in any case. */
  email: string;
  /** The invitee's name, when the inviter gave one (the mail greets them by it). */
  name: string | null;
  /** What the membership gets (lower-case, each once: the service's job). */
  permissions: string[];
  /** The app the invitee goes on to once they have accepted (checked again against the realm's apps when used). */
  returnTo: ReturnTo | null;
  createdBy: InvitationCreator;
  /** As stored: an invitation past its `expiresAt` stays `pending`, and is no longer found by its token. */
  status: InvitationStatus;
  expiresAt: Date;
  /** 1 when created; each resend adds one. */
  sentCount: number;
  lastSentAt: Date;
  acceptedBy: string | null;
  acceptedAt: Date | null;
  createdAt: Date;
}

export interface NewInvitation {
  realmId: string;
  orgId: string;
  email: string;
  name?: string | null;
  permissions?: string[];
  returnTo?: ReturnTo | null;
  createdBy: InvitationCreator;
  expiresAt: Date;
  /** HMAC-SHA256 of the link's token under the server's invitations key: the token itself is never stored. */
  tokenHash: string;
}

/** Which invitations to list: an org's, by status, by a prefix of the address or the name (any case). */
export interface InvitationQuery {
  orgId?: string;
  status?: InvitationStatus;
  q?: string;
}

/** What accepting did: the membership made, or the one that was there, widened. */
export interface InvitationAccepted {
  invitation: Invitation;
  membership: Membership;
  /** false: the user was a member already; the membership got the invitation's permissions and lasts. */
  created: boolean;
}

/** Why an accept did nothing: the token is not a pending, unexpired invitation's; or its org is gone or closed. */
export type InvitationRefused = { gone: true } | { missing: 'org' | 'org_closed' | 'user' };

/** Whether the invitation can still be accepted at `at`. */
export const isOpen = (inv: Pick<Invitation, 'status' | 'expiresAt'>, at: Date): boolean => inv.status === 'pending' && inv.expiresAt.getTime() > at.getTime();

/**
 * The permissions a membership has after an invitation widens it: the ones it has, then the invitation's not
 * among them, at most `max` in all (the membership's own first: widening never drops what it had).
 */
export function unionPermissions(held: readonly string[], added: readonly string[], max: number): string[] {
  const out = [...held];
  for (const p of added) if (!out.includes(p) && out.length < max) out.push(p);
  return out;
}

import type { InvitationLink, JoinRequest } from '../../domain/invitation-links.ts';
import type { Invitation } from '../../domain/invitations.ts';
import type { ManagementKey } from '../../domain/management-key.ts';
import { isLive, type Group, type GroupMember, type Membership, type Org } from '../../domain/orgs.ts';
import { displayName, type User } from '../../identity/user.ts';
import type { AuditEntry } from '../../ports/audit.ts';
import type { CredentialView } from '../../services/user-access.ts';
import type { LoginSession } from '../../ports/login-sessions.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A user as the API shows it: the export's field names, the name derived for humans, no credentials.
 * Written out rather than spread from cli/user-record.ts's toExported fields: objects built by spreading
 * 20-odd keys came out larger, and the 100 000-user export's peak RSS rose from ~172 to ~212 MB.
 */
export function userJson(u: User) {
  return {
    id: u.id,
    realmId: u.realmId,
    userType: u.userType,
    username: u.username,
    email: u.email,
    emailVerification: u.emailVerification,
    phone: u.phone,
    phoneVerified: u.phoneVerified,
    firstName: u.firstName,
    lastName: u.lastName,
    name: displayName(u),
    nickname: u.nickname,
    photo: u.photo,
    locale: u.locale,
    state: u.state,
    reference: u.reference,
    customAttributes: u.customAttributes,
    loginsCount: u.loginsCount,
    lastLoginAt: iso(u.lastLoginAt),
    lastLoginIp: u.lastLoginIp,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}

export function keyJson(k: ManagementKey) {
  return {
    id: k.id,
    name: k.name,
    realm: k.realmId ?? '*',
    access: k.access,
    lastFour: k.lastFour,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy,
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
  };
}

export function sessionJson(s: LoginSession) {
  return { id: s.id, userId: s.userId, createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastSeenAt.toISOString(), ip: s.ip, userAgent: s.userAgent, amr: s.amr, aal: s.aal };
}

export function credentialJson(c: CredentialView) {
  return { ...c, createdAt: iso(c.createdAt) };
}

export function auditJson(a: AuditEntry) {
  return { ...a, at: a.at.toISOString() };
}

export function orgJson(o: Org) {
  return { id: o.id, realmId: o.realmId, name: o.name, reference: o.reference, customAttributes: o.customAttributes, state: o.state, createdAt: o.createdAt.toISOString(), updatedAt: o.updatedAt.toISOString() };
}

export function groupJson(g: Group) {
  return { id: g.id, realmId: g.realmId, name: g.name, description: g.description, permissions: g.permissions, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString() };
}

export function groupMemberJson(m: GroupMember) {
  return { userId: m.userId, addedAt: m.addedAt.toISOString() };
}

/** `expired` is computed at `at`, the time of the answer. */
export function membershipJson(m: Membership, at: Date) {
  return {
    id: m.id,
    userId: m.userId,
    orgId: m.orgId,
    permissions: m.permissions,
    customAttributes: m.customAttributes,
    expiresAt: iso(m.expiresAt),
    expired: !isLive(m, at),
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

/** An invitation as the API shows it: never its token (it is not stored); `expired` computed at `at`, the time of the answer. */
export function invitationJson(i: Invitation, at: Date) {
  return {
    id: i.id,
    realmId: i.realmId,
    orgId: i.orgId,
    email: i.email,
    name: i.name,
    permissions: i.permissions,
    returnTo: i.returnTo,
    createdBy: i.createdBy,
    status: i.status,
    expired: i.status === 'pending' && i.expiresAt.getTime() <= at.getTime(),
    expiresAt: i.expiresAt.toISOString(),
    sentCount: i.sentCount,
    lastSentAt: i.lastSentAt.toISOString(),
    acceptedBy: i.acceptedBy,
    acceptedAt: iso(i.acceptedAt),
    createdAt: i.createdAt.toISOString(),
  };
}

/** An invitation link as the API shows it: never its token (only its HMAC is stored). */
export function linkJson(l: InvitationLink, at: Date) {
  return {
    id: l.id,
    realmId: l.realmId,
    name: l.name,
    orgId: l.orgId,
    permissions: l.permissions,
    approval: l.approval,
    returnTo: l.returnTo,
    createdBy: l.createdBy,
    expiresAt: l.expiresAt.toISOString(),
    expired: l.expiresAt.getTime() <= at.getTime(),
    revokedAt: iso(l.revokedAt),
    uses: l.uses,
    createdAt: l.createdAt.toISOString(),
  };
}

export function joinRequestJson(r: JoinRequest) {
  return {
    id: r.id,
    realmId: r.realmId,
    linkId: r.linkId,
    name: r.name,
    email: r.email,
    userId: r.userId,
    status: r.status,
    decidedBy: r.decidedBy,
    decidedAt: iso(r.decidedAt),
    reason: r.reason,
    createdAt: r.createdAt.toISOString(),
  };
}

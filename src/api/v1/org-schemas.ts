import { z } from 'zod';
import { ORG_SORT_KEYS } from '../../domain/orgs.ts';
import { PERMISSION } from '../../domain/permissions.ts';
import { afterParam, customAttributes, date, limitParam, line, realmId, userId } from './schemas.ts';
import { ORG_ID } from '../../domain/ids.ts';
import { INVITATION_STATUSES } from '../../domain/invitations.ts';
import { JOIN_REQUEST_STATUSES } from '../../domain/invitation-links.ts';

/** Request and response schemas of the orgs and memberships routes (docs/design/orgs.md §3.1) and the groups routes (§3.2). */

export const orgId = z.string().regex(ORG_ID, 'an org id (org_…)');
export const membershipId = z.string().regex(/^mb_[A-Za-z0-9_-]{16}$/, 'a membership id (mb_…)');
/** One permission (domain/permissions.ts PERMISSION), stored lower-case. */
export const permission = z
  .string()
  .regex(PERMISSION, 'letters, digits and * : ; . _ -, at most 62')
  .transform((p) => p.toLowerCase());

export const groupId = z.string().regex(/^grp_[A-Za-z0-9_-]{16}$/, 'a group id (grp_…)');
export const orgParams = z.strictObject({ realmId, orgId });
export const membershipParams = z.strictObject({ realmId, membershipId });
export const groupParams = z.strictObject({ realmId, groupId });
export const invitationId = z.string().regex(/^inv_[A-Za-z0-9_-]{16}$/, 'an invitation id (inv_…)');
export const invitationParams = z.strictObject({ realmId, invitationId });
export const groupMemberParams = z.strictObject({ realmId, groupId, userId });

const orgState = z.enum(['active', 'closed']);

/** The one org filter: list and count. */
export const orgFilterShape = {
  state: orgState.optional(),
  q: line(200).min(1).describe('Search: a prefix of the name (any case, Unicode-aware)').optional(),
  reference: line(255).min(1).describe('Exact: the app’s own id of the org').optional(),
  createdAfter: date.optional(),
  createdBefore: date.optional(),
};
export const orgFilterQuery = z.strictObject(orgFilterShape);
export const orgListQuery = z.strictObject({
  ...orgFilterShape,
  sort: z.enum(ORG_SORT_KEYS).default('name'),
  direction: z.enum(['asc', 'desc']).default('asc'),
  limit: limitParam,
  after: afterParam,
});

const orgName = line(100).min(1);

export const createOrgBody = z.strictObject({
  name: orgName,
  reference: line(255).nullable().optional(),
  customAttributes: customAttributes.optional(),
  state: orgState.optional(),
});

export const patchOrgBody = z
  .strictObject({
    name: orgName.optional(),
    reference: line(255).nullable().optional(),
    customAttributes: customAttributes.optional(),
    state: orgState.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export const membershipListQuery = z
  .strictObject({
    userId: userId.optional(),
    orgId: z.union([orgId, z.literal('none')]).describe('An org’s memberships; `none`: user-only memberships').optional(),
    includeExpired: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    limit: limitParam,
    after: afterParam,
  })
  .refine((q) => q.userId !== undefined || q.orgId !== undefined, { message: 'give userId, orgId or both', path: ['userId'] });

const permissions = z.array(permission).max(200).describe('Lower-cased and deduplicated; at most the realm’s memberships.maxPermissions (else 422)');

export const createMembershipBody = z.strictObject({
  userId,
  orgId: orgId.nullable().describe('null: the user-only membership (permissions put directly on the user)'),
  permissions: permissions.default([]),
  expiresAt: date.nullable().optional(),
  customAttributes: customAttributes.optional(),
});

export const patchMembershipBody = z
  .strictObject({
    permissions: permissions.optional(),
    expiresAt: date.nullable().optional(),
    customAttributes: customAttributes.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export const groupListQuery = z.strictObject({
  q: line(200).min(1).describe('Search: a prefix of the name (any case, Unicode-aware)').optional(),
  userId: userId.describe('Only the groups this user is a member of').optional(),
  limit: limitParam,
  after: afterParam,
});
export const groupMembersQuery = z.strictObject({ limit: limitParam, after: afterParam });

const groupName = line(100).min(1).describe('Unique in the realm, in any case');
const groupDescription = line(500).nullable();
const groupPermissions = z.array(permission).max(200).describe('Every member holds them (top-level perm of the JWT); lower-cased and deduplicated, at most the realm’s memberships.maxPermissions (else 422)');

export const createGroupBody = z.strictObject({
  name: groupName,
  description: groupDescription.optional(),
  permissions: groupPermissions.default([]),
});

export const patchGroupBody = z
  .strictObject({
    name: groupName.optional(),
    description: groupDescription.optional(),
    permissions: groupPermissions.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export const addGroupMembersBody = z.strictObject({
  userIds: z.array(userId).min(1).max(1000).describe('Users of the realm to add (each once); at most 1000 a call'),
});

const invitationFilterShape = {
  status: z.enum(INVITATION_STATUSES).describe('As stored: a pending invitation past its expiresAt stays pending (see `expired`)').optional(),
  q: line(200).min(1).describe('Search: a prefix of the invited address or name (any case)').optional(),
  limit: limitParam,
  after: afterParam,
};
export const orgInvitationListQuery = z.strictObject(invitationFilterShape);
export const invitationListQuery = z.strictObject({ orgId: orgId.describe('Only this org’s invitations').optional(), ...invitationFilterShape });

/** An address a mail can go to: one line (no CRLF: nothing reaches a mail header), with an @. */
const invitedEmail = line(254)
  .min(3)
  .refine((v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.trim()), 'an email address')
  .describe('The address the mail goes to; only an account of this address (any case) may accept');

export const createInvitationBody = z.strictObject({
  email: invitedEmail,
  name: line(200).min(1).nullable().optional().describe('The invitee’s name: the mail greets them by it'),
  permissions: permissions.default([]).describe('What the membership gets; widens an existing membership (union, within memberships.maxPermissions)'),
  locale: z.enum(['en', 'zh-CN']).default('en').describe('The mail’s language'),
  returnTo: z
    .strictObject({ clientId: z.string().min(1).max(64), redirectUri: z.string().min(1).max(2048), state: z.string().max(1024).optional() })
    .nullable()
    .optional()
    .describe('An app of the realm (a registered redirect URI) the invitee goes on to once they have accepted'),
});

export const resendInvitationBody = z.strictObject({ locale: z.enum(['en', 'zh-CN']).default('en').describe('The mail’s language') });

// Responses (documentation; orgJson, membershipJson and groupJson in serialize.ts produce them).
const time = z.string().describe('RFC 3339 UTC');
export const orgOut = z.object({
  id: z.string(),
  realmId: z.string(),
  name: z.string(),
  reference: z.string().nullable(),
  customAttributes: z.record(z.string(), z.unknown()),
  state: orgState,
  createdAt: time,
  updatedAt: time,
});
export const membershipOut = z.object({
  id: z.string(),
  userId: z.string(),
  orgId: z.string().nullable(),
  permissions: z.array(z.string()),
  customAttributes: z.record(z.string(), z.unknown()),
  expiresAt: time.nullable(),
  expired: z.boolean().describe('Past its expiresAt at the time of the answer: it counts for nothing'),
  createdAt: time,
  updatedAt: time,
});
export const groupOut = z.object({
  id: z.string(),
  realmId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  permissions: z.array(z.string()),
  createdAt: time,
  updatedAt: time,
});
export const groupMemberOut = z.object({ userId: z.string(), addedAt: time });
export const groupMembersAddedOut = z.object({
  added: z.array(z.string()).describe('Now members'),
  already: z.array(z.string()).describe('Members before this call'),
  missing: z.array(z.string()).describe('Not users of this realm: left out'),
});
export const invitationOut = z.object({
  id: z.string(),
  realmId: z.string(),
  orgId: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  permissions: z.array(z.string()),
  returnTo: z.object({ clientId: z.string(), redirectUri: z.string(), state: z.string().optional() }).nullable(),
  createdBy: z.object({ type: z.enum(['operator', 'api_key', 'user', 'system']), id: z.string().nullable() }),
  status: z.enum(INVITATION_STATUSES),
  expired: z.boolean().describe('Pending but past its expiresAt at the time of the answer: its link no longer works (a resend makes a new one)'),
  expiresAt: time,
  sentCount: z.number(),
  lastSentAt: time,
  acceptedBy: z.string().nullable(),
  acceptedAt: time.nullable(),
  createdAt: time,
});

// Invitation links and join requests (docs/design/orgs.md §3.3, commit 13).
export const linkId = z.string().regex(/^invl_[A-Za-z0-9_-]{16}$/, 'an invitation link id (invl_…)');
export const requestId = z.string().regex(/^jr_[A-Za-z0-9_-]{16}$/, 'a join request id (jr_…)');
export const linkParams = z.strictObject({ realmId, linkId });
export const requestParams = z.strictObject({ realmId, requestId });
export const linkListQuery = z.strictObject({
  createdBy: z.enum(['me', 'all']).default('all').describe('me: only the links the calling key made'),
  limit: limitParam,
  after: afterParam,
});
export const createLinkBody = z.strictObject({
  name: line(200).min(1).nullable().optional().describe('A label for the list'),
  orgId: orgId.nullable().optional().describe('The org a joiner becomes a member of; none: the realm only'),
  permissions: permissions.default([]).describe('What that membership gets (needs orgId), within memberships.maxPermissions'),
  approval: z.boolean().default(false).describe('true: people ask to join (join requests) and an operator approves; false: they join at once'),
  validDays: z.number().int().min(1).max(90).default(7).describe('How long the link works, in days (at most 90)'),
  returnTo: z
    .strictObject({ clientId: z.string().min(1).max(64), redirectUri: z.string().min(1).max(2048), state: z.string().max(1024).optional() })
    .nullable()
    .optional()
    .describe('An app of the realm (a registered redirect URI) the joiner goes on to'),
});
export const joinRequestListQuery = z.strictObject({ status: z.enum(JOIN_REQUEST_STATUSES).optional(), limit: limitParam, after: afterParam });
export const rejectBody = z.strictObject({ reason: line(500).nullable().optional().describe('Kept with the request (not sent to the applicant)') });
const creator = z.object({ type: z.enum(['operator', 'api_key', 'user', 'system']), id: z.string().nullable() });
export const linkOut = z.object({
  id: z.string(),
  realmId: z.string(),
  name: z.string().nullable(),
  orgId: z.string().nullable(),
  permissions: z.array(z.string()),
  approval: z.boolean(),
  returnTo: z.object({ clientId: z.string(), redirectUri: z.string(), state: z.string().optional() }).nullable(),
  createdBy: creator,
  expiresAt: z.string(),
  expired: z.boolean().describe('Past its expiresAt at the time of the answer'),
  revokedAt: z.string().nullable(),
  uses: z.number().describe('Joins through it, approved requests included'),
  createdAt: z.string(),
});
export const linkCreatedOut = z.object({ link: linkOut, url: z.string().describe('The link, with its token: shown this once, never again (the store keeps only a hash)') });
export const resetOut = z.object({ revoked: z.number().describe('How many live links of the calling key were revoked') });
export const joinRequestOut = z.object({
  id: z.string(),
  realmId: z.string(),
  linkId: z.string(),
  name: z.string(),
  email: z.string(),
  userId: z.string().nullable(),
  status: z.enum(JOIN_REQUEST_STATUSES),
  decidedBy: creator.nullable(),
  decidedAt: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: z.string(),
});

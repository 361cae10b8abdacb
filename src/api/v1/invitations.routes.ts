import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { InvitationQuery } from '../../domain/invitations.ts';
import type { CreatedCursor } from '../../domain/orgs.ts';
import type { RealmConfig } from '../../config/index.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import type { OrgsService } from '../../services/orgs.ts';
import {
  createInvitationBody,
  invitationListQuery,
  invitationOut,
  invitationParams,
  orgInvitationListQuery,
  orgParams,
  resendInvitationBody,
} from './org-schemas.ts';
import { route, type RouteSpec } from './route.ts';
import { page, realmParams } from './schemas.ts';
import { invitationJson } from './serialize.ts';

/**
 * Org invitations by mail (docs/design/orgs.md §3.3): made for an org, mailed at once; the link (and its
 * token) is in the mail only — no answer carries it. Resend mails a new link (the old one dies), revoke kills it.
 */
export function invitationRoutes(invitations: InvitationsService, orgs: OrgsService): RouteSpec[] {
  async function listed(realm: RealmConfig, q: InvitationQuery, after: string | undefined, limit: number | undefined) {
    const cursor: CreatedCursor | null = after ? decodeCreatedCursor(after) : null;
    const result = await invitations.list(realm, q, cursor, limit ?? 100);
    const now = invitations.now();
    return { status: 200, body: { data: result.invitations.map((i) => invitationJson(i, now)), next: result.next ? encodeCreatedCursor(result.next) : null } };
  }
  const filter = (query: { status?: InvitationQuery['status']; q?: string }): InvitationQuery => ({
    ...(query.status !== undefined ? { status: query.status } : {}),
    ...(query.q !== undefined ? { q: query.q } : {}),
  });

  return [
    route({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId/invitations',
      operationId: 'createInvitation',
      summary: 'Invite an address to an org: the mail goes at once, its link good for the realm’s invitations.ttlHours, once',
      tag: 'Invitations',
      access: 'write',
      params: orgParams,
      body: createInvitationBody,
      responses: {
        201: { description: 'The invitation (never its link: that is in the mail only)', schema: invitationOut },
        404: { description: 'No such org in this realm' },
        409: { description: 'The org is closed (org.closed)' },
        422: { description: 'Too many permissions for the realm, or returnTo is not an app of the realm' },
      },
      example: { body: { email: 'ada@example.com', name: 'Ada Lovelace', permissions: ['billing:read'], locale: 'en' } },
      async handler({ realm, params, body, ctx }) {
        // The link is in the mail only: the answer never carries it.
        const { invitation } = await invitations.invite(realm, { ...body, orgId: params.orgId }, ctx);
        return { status: 201, body: invitationJson(invitation, invitations.now()), headers: { Location: `/api/v1/realms/${realm.id}/invitations/${invitation.id}` } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId/invitations',
      operationId: 'listOrgInvitations',
      summary: 'List an org’s invitations, newest first, by status and a prefix of the address or name; cursor paging',
      tag: 'Invitations',
      access: 'read',
      params: orgParams,
      query: orgInvitationListQuery,
      responses: { 200: { description: 'A page of invitations', schema: page(invitationOut) }, 404: { description: 'No such org in this realm' } },
      example: { query: { status: 'pending', limit: '50' } },
      async handler({ realm, params, query }) {
        await orgs.get(realm, params.orgId);
        return listed(realm, { ...filter(query), orgId: params.orgId }, query.after, query.limit);
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/invitations',
      operationId: 'listInvitations',
      summary: 'List the realm’s invitations, newest first, by org, status and a prefix of the address or name (GenAuth’s “Quick Query”); cursor paging',
      tag: 'Invitations',
      access: 'read',
      params: realmParams,
      query: invitationListQuery,
      responses: { 200: { description: 'A page of invitations', schema: page(invitationOut) } },
      example: { query: { q: 'ada', limit: '50' } },
      async handler({ realm, query }) {
        return listed(realm, { ...filter(query), ...(query.orgId !== undefined ? { orgId: query.orgId } : {}) }, query.after, query.limit);
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/invitations/:invitationId',
      operationId: 'getInvitation',
      summary: 'Get an invitation',
      tag: 'Invitations',
      access: 'read',
      params: invitationParams,
      responses: { 200: { description: 'The invitation', schema: invitationOut } },
      async handler({ realm, params }) {
        return { status: 200, body: invitationJson(await invitations.get(realm, params.invitationId), invitations.now()) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/invitations/:invitationId/resend',
      operationId: 'resendInvitation',
      summary: 'Mail a pending invitation again with a new link and a new expiry: the old link no longer works',
      tag: 'Invitations',
      access: 'write',
      params: invitationParams,
      body: resendInvitationBody,
      responses: {
        200: { description: 'The invitation after the resend', schema: invitationOut },
        409: { description: 'Accepted or revoked already (invitation.gone), or its org is closed (org.closed)' },
        429: { description: 'Resent too often: the realm’s rateLimits.invitationResend (Retry-After says when again)' },
      },
      example: { body: { locale: 'en' } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: invitationJson(await invitations.resend(realm, params.invitationId, ctx, body.locale), invitations.now()) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/invitations/:invitationId/revoke',
      operationId: 'revokeInvitation',
      summary: 'Revoke a pending invitation: its link no longer works (the invitation stays listed, revoked)',
      tag: 'Invitations',
      access: 'write',
      params: invitationParams,
      responses: {
        200: { description: 'The revoked invitation', schema: invitationOut },
        409: { description: 'Accepted or revoked already (invitation.gone)' },
      },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: invitationJson(await invitations.revoke(realm, params.invitationId, ctx), invitations.now()) };
      },
    }),
  ];
}

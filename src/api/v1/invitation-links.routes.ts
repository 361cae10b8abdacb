import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import { createLinkBody, joinRequestListQuery, joinRequestOut, linkCreatedOut, linkListQuery, linkOut, linkParams, rejectBody, requestParams, resetOut } from './org-schemas.ts';
import { route, type RouteSpec } from './route.ts';
import { page, realmParams } from './schemas.ts';
import { joinRequestJson, linkJson } from './serialize.ts';

/**
 * Realm invitation links and join requests (docs/design/orgs.md §3.3): a link's URL (with its token) is in the
 * create answer only; "reset" revokes the calling key's own live links. Fixed paths (`reset`) come before `:linkId`.
 */
export function invitationLinkRoutes(links: InvitationLinksService): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/realms/:realmId/invitation-links/reset',
      operationId: 'resetInvitationLinks',
      summary: '“Reset all”: revoke every live link the calling key made (nobody else’s)',
      tag: 'Invitations',
      access: 'write',
      params: realmParams,
      responses: { 200: { description: 'How many were revoked', schema: resetOut } },
      async handler({ realm, ctx }) {
        return { status: 200, body: { revoked: await links.resetAll(realm, ctx) } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/invitation-links',
      operationId: 'createInvitationLink',
      summary: 'Make an invitation link: valid validDays (at most 90), optionally into an org with permissions, optionally needing approval; its URL is answered this once',
      tag: 'Invitations',
      access: 'write',
      params: realmParams,
      body: createLinkBody,
      responses: {
        201: { description: 'The link and its URL (shown once)', schema: linkCreatedOut },
        404: { description: 'No such org in this realm' },
        409: { description: 'The org is closed (org.closed)' },
        422: { description: 'Too many permissions, permissions without an org, or returnTo is not an app of the realm' },
      },
      example: { body: { name: 'Spring fair', approval: true, validDays: 30 } },
      async handler({ realm, body, ctx }) {
        const expiresAt = new Date(links.now().getTime() + body.validDays * 86_400_000);
        const { link, url } = await links.create(realm, { name: body.name ?? null, orgId: body.orgId ?? null, permissions: body.permissions, approval: body.approval, expiresAt, returnTo: body.returnTo ?? null }, ctx);
        return { status: 201, body: { link: linkJson(link, links.now()), url }, headers: { Location: `/api/v1/realms/${realm.id}/invitation-links/${link.id}`, 'Cache-Control': 'no-store' } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/invitation-links',
      operationId: 'listInvitationLinks',
      summary: 'List the realm’s invitation links (or the calling key’s: createdBy=me), newest first; cursor paging',
      tag: 'Invitations',
      access: 'read',
      params: realmParams,
      query: linkListQuery,
      responses: { 200: { description: 'A page of links (never their tokens)', schema: page(linkOut) } },
      example: { query: { createdBy: 'me', limit: '50' } },
      async handler({ realm, query, ctx }) {
        const result = await links.list(realm, { createdBy: query.createdBy }, ctx, query.after ? decodeCreatedCursor(query.after) : null, query.limit ?? 100);
        const now = links.now();
        return { status: 200, body: { data: result.links.map((l) => linkJson(l, now)), next: result.next ? encodeCreatedCursor(result.next) : null } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/invitation-links/:linkId',
      operationId: 'getInvitationLink',
      summary: 'Get an invitation link (never its token)',
      tag: 'Invitations',
      access: 'read',
      params: linkParams,
      responses: { 200: { description: 'The link', schema: linkOut } },
      async handler({ realm, params }) {
        return { status: 200, body: linkJson(await links.get(realm, params.linkId), links.now()) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/invitation-links/:linkId/revoke',
      operationId: 'revokeInvitationLink',
      summary: 'Revoke an invitation link: it no longer works (pending join requests stay to be decided)',
      tag: 'Invitations',
      access: 'write',
      params: linkParams,
      responses: { 200: { description: 'The revoked link', schema: linkOut }, 409: { description: 'Revoked already (invitation.gone)' } },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: linkJson(await links.revoke(realm, params.linkId, ctx), links.now()) };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/join-requests',
      operationId: 'listJoinRequests',
      summary: 'List requests to join (invitation links with approval), newest first, by status; cursor paging',
      tag: 'Invitations',
      access: 'read',
      params: realmParams,
      query: joinRequestListQuery,
      responses: { 200: { description: 'A page of join requests', schema: page(joinRequestOut) } },
      example: { query: { status: 'pending' } },
      async handler({ realm, query }) {
        const result = await links.listRequests(realm, query.status ? { status: query.status } : {}, query.after ? decodeCreatedCursor(query.after) : null, query.limit ?? 100);
        return { status: 200, body: { data: result.requests.map(joinRequestJson), next: result.next ? encodeCreatedCursor(result.next) : null } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/join-requests/:requestId/approve',
      operationId: 'approveJoinRequest',
      summary: 'Approve: the account of that address (made when there is none, no password) joins the link’s org; a welcome mail goes (a set-password link for a new account)',
      tag: 'Invitations',
      access: 'write',
      params: requestParams,
      responses: { 200: { description: 'The approved request', schema: joinRequestOut }, 409: { description: 'Decided already (join_request.decided), or the org is closed (org.closed)' } },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: joinRequestJson(await links.decide(realm, params.requestId, 'approve', ctx)) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/join-requests/:requestId/reject',
      operationId: 'rejectJoinRequest',
      summary: 'Reject a request to join (nothing is sent)',
      tag: 'Invitations',
      access: 'write',
      params: requestParams,
      body: rejectBody,
      responses: { 200: { description: 'The rejected request', schema: joinRequestOut }, 409: { description: 'Decided already (join_request.decided)' } },
      example: { body: { reason: 'Not one of ours' } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: joinRequestJson(await links.decide(realm, params.requestId, 'reject', ctx, body.reason ?? null)) };
      },
    }),
  ];
}

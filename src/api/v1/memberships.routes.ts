import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { MembershipsService } from '../../services/memberships.ts';
import { createMembershipBody, membershipListQuery, membershipOut, membershipParams, patchMembershipBody } from './org-schemas.ts';
import { route, type RouteSpec } from './route.ts';
import { page, realmParams } from './schemas.ts';
import { membershipJson } from './serialize.ts';

/** Memberships (docs/design/orgs.md §3.1): a user's of an org, or their user-only one (`orgId: null`). */
export function membershipRoutes(memberships: MembershipsService): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms/:realmId/memberships',
      operationId: 'listMemberships',
      summary: 'List a user’s memberships, an org’s (orgId=none: user-only ones), or both; oldest first, cursor paging',
      tag: 'Memberships',
      access: 'read',
      params: realmParams,
      query: membershipListQuery,
      responses: { 200: { description: 'A page of memberships', schema: page(membershipOut) } },
      example: { query: { orgId: 'none', includeExpired: 'false', limit: '50' } },
      async handler({ realm, query }) {
        const after = query.after ? decodeCreatedCursor(query.after) : null;
        const orgId = query.orgId === 'none' ? null : query.orgId;
        const result = await memberships.list(realm, { userId: query.userId, orgId, includeExpired: query.includeExpired }, after, query.limit ?? 100);
        const at = memberships.now();
        return { status: 200, body: { data: result.memberships.map((m) => membershipJson(m, at)), next: result.next ? encodeCreatedCursor(result.next) : null } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/memberships',
      operationId: 'createMembership',
      summary: 'Give a user a membership of an org, or their user-only one (orgId null)',
      tag: 'Memberships',
      access: 'write',
      params: realmParams,
      body: createMembershipBody,
      responses: {
        201: { description: 'The new membership', schema: membershipOut },
        404: { description: 'No such user or org in this realm' },
        409: { description: 'The user has this membership already (membership_exists), or the org is closed (org.closed)' },
      },
      example: { body: { userId: '0b6f2c1e-5d0a-4c8e-9f3b-7a1d2e4c6b80', orgId: null, permissions: ['billing:*', 'reports:read'], expiresAt: null } },
      async handler({ realm, body, ctx }) {
        const m = await memberships.create(realm, body, ctx);
        return { status: 201, body: membershipJson(m, memberships.now()), headers: { Location: `/api/v1/realms/${realm.id}/memberships/${m.id}` } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/memberships/:membershipId',
      operationId: 'getMembership',
      summary: 'Get a membership',
      tag: 'Memberships',
      access: 'read',
      params: membershipParams,
      responses: { 200: { description: 'The membership', schema: membershipOut } },
      async handler({ realm, params }) {
        return { status: 200, body: membershipJson(await memberships.get(realm, params.membershipId), memberships.now()) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId/memberships/:membershipId',
      operationId: 'updateMembership',
      summary: 'Change a membership’s permissions (replaced whole), expiry or custom attributes',
      tag: 'Memberships',
      access: 'write',
      params: membershipParams,
      body: patchMembershipBody,
      responses: { 200: { description: 'The membership after the change', schema: membershipOut } },
      example: { body: { permissions: ['admin', 'billing:read'], expiresAt: '2099-12-31T00:00:00Z' } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: membershipJson(await memberships.update(realm, params.membershipId, body, ctx), memberships.now()) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/memberships/:membershipId',
      operationId: 'deleteMembership',
      summary: 'Delete a membership',
      tag: 'Memberships',
      access: 'write',
      params: membershipParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ realm, params, ctx }) {
        await memberships.delete(realm, params.membershipId, ctx);
        return { status: 204 };
      },
    }),
  ];
}

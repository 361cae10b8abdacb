import { decodeOrgCursor, encodeOrgCursor } from '../../domain/org-cursor.ts';
import type { OrgFilter, OrgSort } from '../../domain/orgs.ts';
import type { OrgsService } from '../../services/orgs.ts';
import { createOrgBody, orgFilterQuery, orgListQuery, orgOut, orgParams, patchOrgBody } from './org-schemas.ts';
import { route, type RouteSpec } from './route.ts';
import { countOut, page, realmParams } from './schemas.ts';
import { orgJson } from './serialize.ts';

/** The filter part of a parsed query (one filter serves list and count). */
function filterOf(q: Partial<Record<keyof OrgFilter, unknown>>): OrgFilter {
  const f: OrgFilter = {};
  for (const k of ['state', 'q', 'reference', 'createdAfter', 'createdBefore'] as const) if (q[k] !== undefined) (f as Record<string, unknown>)[k] = q[k];
  return f;
}

/** Orgs (docs/design/orgs.md §3.1): fixed paths before `:orgId`. */
export function orgRoutes(orgs: OrgsService): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms/:realmId/orgs',
      operationId: 'listOrgs',
      summary: 'List orgs: filter, sort by name or creation, cursor paging',
      tag: 'Orgs',
      access: 'read',
      params: realmParams,
      query: orgListQuery,
      responses: { 200: { description: 'A page of orgs', schema: page(orgOut) } },
      example: { query: { state: 'active', q: 'ac', sort: 'name', limit: '50' } },
      async handler({ realm, query }) {
        const sort: OrgSort = { key: query.sort, direction: query.direction };
        const after = query.after ? decodeOrgCursor(query.after, sort) : null;
        const result = await orgs.list(realm, filterOf(query), sort, after, query.limit ?? 100);
        return { status: 200, body: { data: result.orgs.map(orgJson), next: result.next ? encodeOrgCursor(sort, result.next) : null } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/orgs/count',
      operationId: 'countOrgs',
      summary: 'Count orgs matching a filter',
      tag: 'Orgs',
      access: 'read',
      params: realmParams,
      query: orgFilterQuery,
      responses: { 200: { description: 'How many match', schema: countOut } },
      example: { query: { state: 'closed' } },
      async handler({ realm, query }) {
        return { status: 200, body: { count: await orgs.count(realm, filterOf(query)) } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/orgs',
      operationId: 'createOrg',
      summary: 'Create an org',
      tag: 'Orgs',
      access: 'write',
      params: realmParams,
      body: createOrgBody,
      responses: { 201: { description: 'The new org', schema: orgOut } },
      example: { body: { name: 'Acme', reference: 'crm-42', customAttributes: { plan: 'pro' } } },
      async handler({ realm, body, ctx }) {
        const org = await orgs.create(realm, body, ctx);
        return { status: 201, body: orgJson(org), headers: { Location: `/api/v1/realms/${realm.id}/orgs/${org.id}` } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId',
      operationId: 'getOrg',
      summary: 'Get an org',
      tag: 'Orgs',
      access: 'read',
      params: orgParams,
      responses: { 200: { description: 'The org', schema: orgOut } },
      async handler({ realm, params }) {
        return { status: 200, body: orgJson(await orgs.get(realm, params.orgId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId/orgs/:orgId',
      operationId: 'updateOrg',
      summary: 'Change an org (state closed closes it: its memberships then count for nothing; active reopens it)',
      tag: 'Orgs',
      access: 'write',
      params: orgParams,
      body: patchOrgBody,
      responses: { 200: { description: 'The org after the change', schema: orgOut } },
      example: { body: { name: 'Acme Corp', reference: 'crm-43' } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: orgJson(await orgs.update(realm, params.orgId, body, ctx)) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId/close',
      operationId: 'closeOrg',
      summary: 'Close an org: it keeps its memberships, takes no new ones, and none of them counts until it is reopened',
      tag: 'Orgs',
      access: 'write',
      params: orgParams,
      responses: { 200: { description: 'The closed org', schema: orgOut } },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: orgJson(await orgs.close(realm, params.orgId, ctx)) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/orgs/:orgId',
      operationId: 'deleteOrg',
      summary: 'Delete an org and its memberships',
      tag: 'Orgs',
      access: 'write',
      params: orgParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ realm, params, ctx }) {
        await orgs.delete(realm, params.orgId, ctx);
        return { status: 204 };
      },
    }),
  ];
}

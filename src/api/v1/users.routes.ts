import { z } from 'zod';
import { ForbiddenError } from '../../domain/errors.ts';
import { decodeUserCursor, encodeUserCursor } from '../../domain/user-cursor.ts';
import type { UserFilter, UserSort } from '../../domain/user-query.ts';
import { ClientGone, responseSink } from '../../http/stream.ts';
import { exportUsers } from '../../services/users-export.ts';
import type { UsersService } from '../../services/users.ts';
import { route, type RouteSpec } from './route.ts';
import {
  bulkDeleteBody,
  countOut,
  createUserBody,
  page,
  patchUserBody,
  realmParams,
  userExportQuery,
  userFilterQuery,
  userListQuery,
  userOut,
  userParams,
} from './schemas.ts';
import { userJson } from './serialize.ts';

/** The filter part of a parsed query (the same object serves list, count, export and bulk delete). */
function filterOf(q: Partial<Record<keyof UserFilter, unknown>>): UserFilter {
  const f: UserFilter = {};
  for (const k of ['userType', 'state', 'createdAfter', 'createdBefore', 'q', 'reference', 'emailVerification'] as const) {
    if (q[k] !== undefined) (f as Record<string, unknown>)[k] = q[k];
  }
  return f;
}

const created = z.object({ user: userOut, apiKey: z.string().nullable().describe('API users: the key, shown this once') });

export function userRoutes(users: UsersService): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms/:realmId/users',
      operationId: 'listUsers',
      summary: 'List users: filter, sort, cursor paging',
      tag: 'Users',
      access: 'read',
      params: realmParams,
      query: userListQuery,
      responses: { 200: { description: 'A page of users', schema: page(userOut) } },
      example: { query: { state: 'active', sort: 'createdAt', direction: 'desc', limit: '50' } },
      async handler({ realm, query }) {
        const sort: UserSort = { key: query.sort, direction: query.direction };
        const after = query.after ? decodeUserCursor(query.after, sort) : null;
        const result = await users.list(realm, filterOf(query), sort, after, query.limit ?? 100);
        return { status: 200, body: { data: result.users.map(userJson), next: result.next ? encodeUserCursor(sort, result.next) : null } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/count',
      operationId: 'countUsers',
      summary: 'Count users matching a filter',
      tag: 'Users',
      access: 'read',
      params: realmParams,
      query: userFilterQuery,
      responses: { 200: { description: 'How many match', schema: countOut } },
      example: { query: { userType: 'api' } },
      async handler({ realm, query }) {
        return { status: 200, body: { count: await users.count(realm, filterOf(query)) } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/export',
      operationId: 'exportUsers',
      summary: 'Export users matching a filter, in its sort order, as CSV or JSON Lines (streamed)',
      tag: 'Users',
      access: 'read',
      params: realmParams,
      query: userExportQuery,
      responses: {
        200: { description: 'The users, one per line (the columns of `gatehouse users export`): JSON Lines, or CSV with format=csv', contentType: ['application/x-ndjson', 'text/csv'] },
      },
      example: { query: { format: 'csv', state: 'active' } },
      async handler({ realm, query, key, res }) {
        if (query.includePasswordHashes && key.access !== 'write') throw new ForbiddenError('password hashes are exported to write keys only');
        const csv = query.format === 'csv';
        res.status(200);
        res.type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
        res.setHeader('Content-Disposition', `attachment; filename="users-${realm.id}.${csv ? 'csv' : 'ndjson'}"`);
        if (res.destroyed) return undefined;
        const sink = responseSink(res);
        try {
          await exportUsers(users, realm, { filter: filterOf(query), sort: { key: query.sort, direction: query.direction }, format: query.format, includePasswordHashes: query.includePasswordHashes }, sink);
        } catch (err) {
          if (err instanceof ClientGone) return undefined;
          throw err;
        }
        res.end();
        return undefined;
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/users',
      operationId: 'createUser',
      summary: 'Create a human (with a password, or none) or an API user (with a key, shown once)',
      tag: 'Users',
      access: 'write',
      params: realmParams,
      body: createUserBody,
      responses: { 201: { description: 'The new user', schema: created } },
      example: { body: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', password: 'correct horse battery staple', emailVerification: 'verified' } },
      async handler({ realm, body, ctx }) {
        const { customAttributes, ...rest } = body;
        const { user, apiKey } = await users.create(realm, { ...rest, custom: customAttributes }, ctx);
        return { status: 201, body: { user: userJson(user), apiKey }, headers: { Location: `/api/v1/realms/${realm.id}/users/${user.id}` } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/users/bulk-delete',
      operationId: 'bulkDeleteUsers',
      summary: 'Delete users by ids (≤ 1000), or all matching a filter when `expect` equals the count (without it: a dry run)',
      tag: 'Users',
      access: 'write',
      params: realmParams,
      body: bulkDeleteBody,
      responses: {
        200: { description: 'What was deleted, or the dry run’s count', schema: z.union([z.object({ deleted: z.array(z.string()), missing: z.array(z.string()) }), z.object({ count: z.number(), deleted: z.boolean() })]) },
        409: { description: 'The count changed since the dry run: nothing deleted' },
      },
      example: { body: { filter: { state: 'inactive' }, expect: 12 } },
      async handler({ realm, body, ctx }) {
        if (body.ids) return { status: 200, body: await users.bulkDeleteIds(realm, body.ids, ctx) };
        return { status: 200, body: await users.bulkDeleteFilter(realm, filterOf(body.filter!), body.expect, ctx) };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/:userId',
      operationId: 'getUser',
      summary: 'Get a user',
      tag: 'Users',
      access: 'read',
      params: userParams,
      responses: { 200: { description: 'The user', schema: userOut } },
      async handler({ realm, params }) {
        return { status: 200, body: userJson(await users.get(realm, params.userId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId/users/:userId',
      operationId: 'updateUser',
      summary: 'Change any field of a user (state inactive ends every way in at once)',
      tag: 'Users',
      access: 'write',
      params: userParams,
      body: patchUserBody,
      responses: { 200: { description: 'The user after the change', schema: userOut } },
      example: { body: { state: 'inactive', reference: 'crm-4711' } },
      async handler({ realm, params, body, ctx }) {
        const { customAttributes, ...rest } = body;
        return { status: 200, body: userJson(await users.update(realm, params.userId, { ...rest, custom: customAttributes }, ctx)) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/users/:userId',
      operationId: 'deleteUser',
      summary: 'Delete a user whole (sessions, identities, credentials, tokens)',
      tag: 'Users',
      access: 'write',
      params: userParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ realm, params, ctx }) {
        await users.delete(realm, params.userId, ctx);
        return { status: 204 };
      },
    }),
  ];
}

import { decodeCreatedCursor, decodeGroupCursor, encodeCreatedCursor, encodeGroupCursor } from '../../domain/org-cursor.ts';
import type { GroupsService } from '../../services/groups.ts';
import {
  addGroupMembersBody,
  createGroupBody,
  groupListQuery,
  groupMemberOut,
  groupMemberParams,
  groupMembersAddedOut,
  groupMembersQuery,
  groupOut,
  groupParams,
  patchGroupBody,
} from './org-schemas.ts';
import { route, type RouteSpec } from './route.ts';
import { page, realmParams } from './schemas.ts';
import { groupJson, groupMemberJson } from './serialize.ts';

/** User groups (docs/design/orgs.md §3.2): their permissions are every member's, in the JWT's top-level `perm`. */
export function groupRoutes(groups: GroupsService): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms/:realmId/groups',
      operationId: 'listGroups',
      summary: 'List groups by name (a prefix filter, any case), or a user’s groups; cursor paging',
      tag: 'Groups',
      access: 'read',
      params: realmParams,
      query: groupListQuery,
      responses: { 200: { description: 'A page of groups', schema: page(groupOut) } },
      example: { query: { q: 'fin', limit: '50' } },
      async handler({ realm, query }) {
        const after = query.after ? decodeGroupCursor(query.after) : null;
        const result = await groups.list(realm, { ...(query.q !== undefined ? { q: query.q } : {}), ...(query.userId !== undefined ? { userId: query.userId } : {}) }, after, query.limit ?? 100);
        return { status: 200, body: { data: result.groups.map(groupJson), next: result.next ? encodeGroupCursor(result.next) : null } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/groups',
      operationId: 'createGroup',
      summary: 'Create a group',
      tag: 'Groups',
      access: 'write',
      params: realmParams,
      body: createGroupBody,
      responses: {
        201: { description: 'The new group', schema: groupOut },
        409: { description: 'The realm has a group of that name (group_exists)' },
      },
      example: { body: { name: 'Finance', description: 'Invoices and reports', permissions: ['billing:*', 'reports:read'] } },
      async handler({ realm, body, ctx }) {
        const group = await groups.create(realm, body, ctx);
        return { status: 201, body: groupJson(group), headers: { Location: `/api/v1/realms/${realm.id}/groups/${group.id}` } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/groups/:groupId',
      operationId: 'getGroup',
      summary: 'Get a group',
      tag: 'Groups',
      access: 'read',
      params: groupParams,
      responses: { 200: { description: 'The group', schema: groupOut } },
      async handler({ realm, params }) {
        return { status: 200, body: groupJson(await groups.get(realm, params.groupId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId/groups/:groupId',
      operationId: 'updateGroup',
      summary: 'Change a group’s name, description or permissions (replaced whole: the members’ next tokens carry them)',
      tag: 'Groups',
      access: 'write',
      params: groupParams,
      body: patchGroupBody,
      responses: {
        200: { description: 'The group after the change', schema: groupOut },
        409: { description: 'The realm has a group of that name (group_exists)' },
      },
      example: { body: { description: 'Invoices, reports and refunds', permissions: ['billing:*', 'reports:read', 'refunds:write'] } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: groupJson(await groups.update(realm, params.groupId, body, ctx)) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/groups/:groupId',
      operationId: 'deleteGroup',
      summary: 'Delete a group and its members (the users stay)',
      tag: 'Groups',
      access: 'write',
      params: groupParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ realm, params, ctx }) {
        await groups.delete(realm, params.groupId, ctx);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/groups/:groupId/members',
      operationId: 'listGroupMembers',
      summary: 'List a group’s members, oldest first, cursor paging',
      tag: 'Groups',
      access: 'read',
      params: groupParams,
      query: groupMembersQuery,
      responses: { 200: { description: 'A page of members', schema: page(groupMemberOut) } },
      example: { query: { limit: '50' } },
      async handler({ realm, params, query }) {
        const after = query.after ? decodeCreatedCursor(query.after) : null;
        const result = await groups.members(realm, params.groupId, after, query.limit ?? 100);
        return { status: 200, body: { data: result.members.map(groupMemberJson), next: result.next ? encodeCreatedCursor(result.next) : null } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/groups/:groupId/members',
      operationId: 'addGroupMembers',
      summary: 'Add users to a group (up to 1000 a call): says who was added, who was a member already, and who is not a user of the realm',
      tag: 'Groups',
      access: 'write',
      params: groupParams,
      body: addGroupMembersBody,
      responses: {
        200: { description: 'Some were added', schema: groupMembersAddedOut },
        404: { description: 'No such group in this realm, or none of the users is one of the realm' },
        409: { description: 'Nobody was added: the users are members already (group_member_exists)' },
      },
      example: { body: { userIds: ['0b6f2c1e-5d0a-4c8e-9f3b-7a1d2e4c6b80'] } },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: await groups.addMembers(realm, params.groupId, body.userIds, ctx) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/groups/:groupId/members/:userId',
      operationId: 'removeGroupMember',
      summary: 'Remove a user from a group',
      tag: 'Groups',
      access: 'write',
      params: groupMemberParams,
      responses: { 204: { description: 'Removed' }, 404: { description: 'No such group in this realm, or the user is not its member' } },
      async handler({ realm, params, ctx }) {
        await groups.removeMember(realm, params.groupId, params.userId, ctx);
        return { status: 204 };
      },
    }),
  ];
}

import { z } from 'zod';
import type { AuditLog } from '../../services/audit-log.ts';
import type { ManagementKeys } from '../../services/management-keys.ts';
import { InvalidRequest } from './problem.ts';
import { route, type RouteSpec } from './route.ts';
import { afterParam, auditOut, createManagementKeyBody, limitParam, managementKeyOut, realmParams } from './schemas.ts';
import { auditJson, keyJson } from './serialize.ts';

const keyParams = z.strictObject({ keyId: z.string().regex(/^mk_[A-Za-z0-9_-]{1,40}$/, 'a key id like mk_…') });
const auditQuery = z.strictObject({ limit: limitParam, after: afterParam, targetId: z.string().min(1).max(100).optional() });

/** Management keys (write keys for every realm only) and the audit log. */
export function keyRoutes(keys: ManagementKeys, audit: AuditLog): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/api-keys',
      operationId: 'listManagementKeys',
      summary: 'List management API keys',
      tag: 'Management keys',
      access: 'write',
      scope: 'all-realms',
      responses: { 200: { description: 'Every key, newest first (never the secrets)', schema: z.object({ data: z.array(managementKeyOut) }) } },
      async handler() {
        return { status: 200, body: { data: (await keys.list()).map(keyJson) } };
      },
    }),
    route({
      method: 'post',
      path: '/api-keys',
      operationId: 'createManagementKey',
      summary: 'Create a management API key (the secret is in this answer only)',
      tag: 'Management keys',
      access: 'write',
      scope: 'all-realms',
      body: createManagementKeyBody,
      responses: { 201: { description: 'The key and its secret', schema: z.object({ key: managementKeyOut, secret: z.string() }) } },
      example: { body: { realm: 'default', access: 'read', name: 'reporting' } },
      async handler({ body, ctx, key }) {
        const made = await keys.create({ realmId: body.realm === '*' ? null : body.realm, access: body.access, name: body.name ?? null }, ctx, key);
        return { status: 201, body: { key: keyJson(made.key), secret: made.secret } };
      },
    }),
    route({
      method: 'delete',
      path: '/api-keys/:keyId',
      operationId: 'revokeManagementKey',
      summary: 'Revoke a management API key (it fails at once on every instance)',
      tag: 'Management keys',
      access: 'write',
      scope: 'all-realms',
      params: keyParams,
      responses: { 200: { description: 'The revoked key', schema: managementKeyOut } },
      async handler({ params, ctx }) {
        return { status: 200, body: keyJson(await keys.revoke(params.keyId, ctx)) };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/audit',
      operationId: 'listAudit',
      summary: 'The realm’s audit log, newest first',
      tag: 'Audit',
      access: 'read',
      params: realmParams,
      query: auditQuery,
      responses: { 200: { description: 'A page of entries', schema: z.object({ data: z.array(auditOut), next: z.string().nullable() }) } },
      async handler({ realm, query }) {
        return { status: 200, body: await auditPage(audit, realm.id, query) };
      },
    }),
    route({
      method: 'get',
      path: '/audit',
      operationId: 'listAllAudit',
      summary: 'Every realm’s audit log and the entries of no realm (management keys for every realm), newest first',
      tag: 'Audit',
      access: 'read',
      scope: 'all-realms',
      query: auditQuery,
      responses: { 200: { description: 'A page of entries', schema: z.object({ data: z.array(auditOut), next: z.string().nullable() }) } },
      example: { query: { limit: '20' } },
      async handler({ query }) {
        return { status: 200, body: await auditPage(audit, undefined, query) };
      },
    }),
  ];
}

/** One page of the audit log, newest first: a realm's (realmId) or all of it (undefined). */
async function auditPage(audit: AuditLog, realmId: string | undefined, query: z.infer<typeof auditQuery>) {
  const limit = query.limit ?? 100;
  if (query.after !== undefined && !/^\d{1,18}$/.test(query.after)) throw new InvalidRequest([{ field: 'after', code: 'invalid_cursor', message: 'not a cursor this API issued' }]);
  const rows = await audit.query({ realmId, targetId: query.targetId, before: query.after, limit: limit + 1 });
  const data = rows.slice(0, limit);
  return { data: data.map(auditJson), next: rows.length > limit ? data.at(-1)!.id : null };
}

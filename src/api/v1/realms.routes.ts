import { z } from 'zod';
import type { AppView, RealmsService } from '../../services/realms.ts';
import type { DirectoryRealm } from '../../ports/directory.ts';
import { decodeIdCursor, encodeIdCursor } from './cursor.ts';
import { route, type RouteSpec } from './route.ts';
import { afterParam, limitParam, realmId, realmParams } from './schemas.ts';

/**
 * Realm settings are the configuration file's realm keys (README "Realm keys"); the realms service
 * validates them with the file's own schema and rules, so the body here is only "an object" and every
 * mistake comes back as a 422 naming its field.
 */
const settings = z.record(z.string(), z.unknown()).describe('realm keys as in the configuration file (README "Realm keys"); PATCH: a JSON merge patch of them');
const appSettings = z.record(z.string(), z.unknown()).describe('app keys as in the configuration file (README "App keys"); PATCH: a JSON merge patch of them');
const appParams = z.strictObject({ realmId, clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a client id') });
const pageQuery = z.strictObject({ limit: limitParam, after: afterParam });
const realmOut = z.object({ id: z.string(), settings: z.record(z.string(), z.unknown()), source: z.enum(['file', 'api']), retired: z.boolean(), createdAt: z.string(), updatedAt: z.string() });
const appOut = z.object({ realmId: z.string(), clientId: z.string(), settings: z.record(z.string(), z.unknown()), source: z.enum(['file', 'api']), hasSecret: z.boolean(), createdAt: z.string(), updatedAt: z.string() });

const realmJson = (r: DirectoryRealm) => ({ id: r.id, settings: r.settings, source: r.source, retired: r.retired, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() });
const appJson = (a: AppView) => ({ ...a, createdAt: a.createdAt.toISOString(), updatedAt: a.updatedAt.toISOString() });

/** Realms and apps at run time; the configuration file's are read-only here (409 naming the file). The service audits each write. */
export function realmRoutes(realms: RealmsService): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/realms',
      operationId: 'listRealms',
      summary: 'List the realms this key sees',
      tag: 'Realms',
      access: 'read',
      query: pageQuery,
      responses: { 200: { description: 'A page of realms', schema: z.object({ data: z.array(realmOut), next: z.string().nullable() }) } },
      async handler({ query, key }) {
        if (key.realmId !== null) {
          // A realm's key sees its one realm.
          const own = await realms.getRealm(key.realmId).then((r) => [r], () => []);
          return { status: 200, body: { data: own.map(realmJson), next: null } };
        }
        const of = { list: 'realms' } as const;
        const page = await realms.listRealms({ limit: query.limit, after: query.after === undefined ? undefined : decodeIdCursor(query.after, of) });
        return { status: 200, body: { data: page.data.map(realmJson), next: page.next === null ? null : encodeIdCursor(of, page.next) } };
      },
    }),
    route({
      method: 'post',
      path: '/realms',
      operationId: 'createRealm',
      summary: 'Create a realm (write keys for every realm)',
      tag: 'Realms',
      access: 'write',
      scope: 'all-realms',
      body: settings,
      responses: { 201: { description: 'The new realm', schema: realmOut } },
      example: { body: { id: 'acme', name: 'Acme', publicUrl: 'https://login.acme.example' } },
      async handler({ body, ctx }) {
        const { after } = await realms.createRealm(body, ctx);
        return { status: 201, body: realmJson(after!), headers: { Location: `/api/v1/realms/${after!.id}` } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId',
      operationId: 'getRealm',
      summary: 'Get a realm and its settings',
      tag: 'Realms',
      access: 'read',
      params: realmParams,
      responses: { 200: { description: 'The realm', schema: realmOut } },
      async handler({ params }) {
        return { status: 200, body: realmJson(await realms.getRealm(params.realmId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId',
      operationId: 'updateRealm',
      summary: 'Change a realm’s settings (a merge patch, then every start-time rule, the one-way ones too)',
      tag: 'Realms',
      access: 'write',
      params: realmParams,
      body: settings,
      responses: { 200: { description: 'The realm after the change', schema: realmOut } },
      example: { body: { signup: { policy: 'disabled' } } },
      async handler({ params, body, ctx }) {
        const { after } = await realms.updateRealm(params.realmId, body, ctx);
        return { status: 200, body: realmJson(after!) };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId',
      operationId: 'deleteRealm',
      summary: 'Delete a realm (refused while it has users, unless force=true deletes them and all its data too)',
      tag: 'Realms',
      access: 'write',
      scope: 'all-realms',
      params: realmParams,
      query: z.strictObject({ force: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') }),
      responses: { 204: { description: 'Deleted' } },
      async handler({ params, query, ctx }) {
        await realms.deleteRealm(params.realmId, { force: query.force }, ctx);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/apps',
      operationId: 'listApps',
      summary: 'List a realm’s apps',
      tag: 'Apps',
      access: 'read',
      params: realmParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of apps', schema: z.object({ data: z.array(appOut), next: z.string().nullable() }) } },
      async handler({ params, query }) {
        const of = { list: 'apps', realmId: params.realmId } as const;
        const page = await realms.listApps(params.realmId, { limit: query.limit, after: query.after === undefined ? undefined : decodeIdCursor(query.after, of) });
        return { status: 200, body: { data: page.data.map(appJson), next: page.next === null ? null : encodeIdCursor(of, page.next) } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/apps',
      operationId: 'createApp',
      summary: 'Register an app; its secret (for the back channel) is in this answer only',
      tag: 'Apps',
      access: 'write',
      params: realmParams,
      body: appSettings,
      responses: { 201: { description: 'The app and its secret', schema: z.object({ app: appOut, secret: z.string() }) } },
      example: { body: { clientId: 'portal', name: 'Customer portal', redirectUris: ['https://portal.acme.example/callback'] } },
      async handler({ params, body, ctx }) {
        const { after, secret } = await realms.createApp(params.realmId, body, ctx);
        return { status: 201, body: { app: appJson(after!), secret } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/apps/:clientId',
      operationId: 'getApp',
      summary: 'Get an app',
      tag: 'Apps',
      access: 'read',
      params: appParams,
      responses: { 200: { description: 'The app', schema: appOut } },
      async handler({ params }) {
        return { status: 200, body: appJson(await realms.getApp(params.realmId, params.clientId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/realms/:realmId/apps/:clientId',
      operationId: 'updateApp',
      summary: 'Change an app (a merge patch); rotateSecret=true answers a new secret',
      tag: 'Apps',
      access: 'write',
      params: appParams,
      query: z.strictObject({ rotateSecret: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') }),
      body: appSettings,
      responses: { 200: { description: 'The app after the change (and its new secret when rotated)', schema: z.object({ app: appOut, secret: z.string().optional() }) } },
      example: { body: { name: 'Customer portal (EU)' } },
      async handler({ params, query, body, ctx }) {
        const { after, secret } = await realms.updateApp(params.realmId, params.clientId, body, { rotateSecret: query.rotateSecret }, ctx);
        return { status: 200, body: { app: appJson(after!), ...(secret ? { secret } : {}) } };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/apps/:clientId',
      operationId: 'deleteApp',
      summary: 'Delete an app',
      tag: 'Apps',
      access: 'write',
      params: appParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ params, ctx }) {
        await realms.deleteApp(params.realmId, params.clientId, ctx);
        return { status: 204 };
      },
    }),
  ];
}


import { z } from 'zod';
import type { UserAccessService } from '../../services/user-access.ts';
import { sendProblem } from './problem.ts';
import { route, type RouteSpec } from './route.ts';
import { apiKeyBody, authenticateKeyBody, credentialOut, passwordTokenBody, realmId, realmParams, sessionId, sessionOut, userId, userOut, userParams } from './schemas.ts';
import { credentialJson, sessionJson, userJson } from './serialize.ts';

const credentialParams = z.strictObject({ realmId, userId, credentialId: z.string().regex(/^(totp|password|api_key|identity:[a-z][a-z0-9-]{1,31})$/, 'totp, password, api_key or identity:<provider>') });
const sessionParams = z.strictObject({ realmId, sid: sessionId });

/** Credentials, API keys, sessions and password links of a user (GenAuth administrator operations). */
export function accessRoutes(access: UserAccessService): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/realms/:realmId/users/authenticate-key',
      operationId: 'authenticateApiKey',
      summary: 'The API user an API key belongs to (401 for an unknown, replaced or inactive one)',
      tag: 'API users',
      access: 'read',
      params: realmParams,
      body: authenticateKeyBody,
      responses: { 200: { description: 'The API user', schema: userOut }, 401: { description: 'Not a live key of an active API user' } },
      example: { body: { apiKey: 'acme_3xAMPLEkEyNotRealAtAll000000000000000' } },
      async handler({ realm, body, res }) {
        const user = await access.authenticateKey(realm, body.apiKey);
        if (!user) {
          sendProblem(res, 401, 'invalid_api_key', 'The API key is not valid');
          return undefined;
        }
        return { status: 200, body: userJson(user) };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/users/:userId/api-key',
      operationId: 'regenerateApiKey',
      summary: 'A new API key for an API user (generated, or the one given); the old one stops working at once',
      tag: 'API users',
      access: 'write',
      params: userParams,
      body: apiKeyBody,
      responses: { 200: { description: 'The new key, shown this once (or again under the encrypt policy)', schema: z.object({ apiKey: z.string() }) } },
      example: { body: {} },
      async handler({ realm, params, body, ctx }) {
        return { status: 200, body: { apiKey: await access.regenerateApiKey(realm, params.userId, body.apiKey, ctx) } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/:userId/api-key',
      operationId: 'revealApiKey',
      summary: 'Show an API user’s key: only when the realm encrypts keys (409 otherwise)',
      tag: 'API users',
      access: 'write',
      params: userParams,
      responses: { 200: { description: 'The key', schema: z.object({ apiKey: z.string() }) }, 409: { description: 'The realm hashes keys' } },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: { apiKey: await access.revealApiKey(realm, params.userId, ctx) } };
      },
    }),
    route({
      method: 'post',
      path: '/realms/:realmId/users/:userId/password-token',
      operationId: 'createPasswordToken',
      summary: 'A reset link for the user to set their own password (optionally mailed)',
      tag: 'Users',
      access: 'write',
      params: userParams,
      body: passwordTokenBody,
      responses: { 201: { description: 'The link', schema: z.object({ link: z.string(), expiresAt: z.string(), mailed: z.boolean() }) } },
      example: { body: { send: true } },
      async handler({ realm, params, body, ctx }) {
        const t = await access.passwordToken(realm, params.userId, body.send, ctx);
        return { status: 201, body: { ...t, expiresAt: t.expiresAt.toISOString() } };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/:userId/credentials',
      operationId: 'listCredentials',
      summary: 'A user’s credentials: password (present or not), authenticator, social identities, API key',
      tag: 'Credentials',
      access: 'read',
      params: userParams,
      responses: { 200: { description: 'The credentials (never their secrets)', schema: z.object({ data: z.array(credentialOut) }) } },
      async handler({ realm, params }) {
        return { status: 200, body: { data: (await access.credentials(realm, params.userId)).map(credentialJson) } };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/users/:userId/credentials/:credentialId',
      operationId: 'deleteCredential',
      summary: 'Remove an authenticator ("delete the old device") or a social connection',
      tag: 'Credentials',
      access: 'write',
      params: credentialParams,
      responses: { 204: { description: 'Removed' } },
      async handler({ realm, params, ctx }) {
        await access.deleteCredential(realm, params.userId, params.credentialId, ctx);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/realms/:realmId/users/:userId/sessions',
      operationId: 'listUserSessions',
      summary: 'A user’s live login sessions',
      tag: 'Sessions',
      access: 'read',
      params: userParams,
      responses: { 200: { description: 'Newest first', schema: z.object({ data: z.array(sessionOut) }) } },
      async handler({ realm, params }) {
        return { status: 200, body: { data: (await access.listSessions(realm, params.userId)).map(sessionJson) } };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/users/:userId/sessions',
      operationId: 'endUserSessions',
      summary: 'Force the user offline everywhere: every live session ends',
      tag: 'Sessions',
      access: 'write',
      params: userParams,
      responses: { 200: { description: 'How many ended', schema: z.object({ ended: z.number() }) } },
      async handler({ realm, params, ctx }) {
        return { status: 200, body: { ended: await access.endAllSessions(realm, params.userId, ctx) } };
      },
    }),
    route({
      method: 'delete',
      path: '/realms/:realmId/sessions/:sid',
      operationId: 'endSession',
      summary: 'End one login session',
      tag: 'Sessions',
      access: 'write',
      params: sessionParams,
      responses: { 204: { description: 'Ended' } },
      async handler({ realm, params, ctx }) {
        await access.endSession(realm, params.sid, ctx);
        return { status: 204 };
      },
    }),
  ];
}

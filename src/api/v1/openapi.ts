import { z } from 'zod';
import type { AppRouteSpec } from './apps.routes.ts';
import type { ResponseSpec, RouteSpec } from './route.ts';
import { problemOut } from './schemas.ts';

/** Express's /a/:b → OpenAPI's /a/{b}. */
export const openApiPath = (path: string) => `/api/v1${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;

const schemaOf = (s: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** The properties of an object schema, for parameters (path and query). */
function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s }));
}

const PROBLEMS = {
  400: 'The request does not fit its schema (errors[] names each field)',
  401: 'No or no valid management key',
  403: 'A read key writing, or a realm key managing keys',
  404: 'Not found in this realm (other realms’ ids too)',
  422: 'Breaks a rule of the realm (errors[])',
  429: 'Too many failed authentications from this address',
};

const APP_PROBLEMS = {
  400: 'The request does not fit its schema (errors[] names each field)',
  401: 'No or no valid app client id and secret',
  429: 'Too many failed authentications from this address',
};

const problemContent = () => ({ 'application/problem+json': { schema: schemaOf(problemOut, 'output') } });

function responsesOf(declared: Record<number, ResponseSpec>, defaults: Record<string, string>, includeDefault: (status: string) => boolean) {
  const problem = problemContent();
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(declared)) {
    responses[status] = {
      description: spec.description,
      ...(spec.schema
        ? { content: Object.fromEntries([spec.contentType ?? 'application/json'].flat().map((t) => [t, { schema: schemaOf(spec.schema!, 'output') }])) }
        : spec.contentType
          ? { content: Object.fromEntries([spec.contentType].flat().map((t) => [t, {}])) }
          : // A route's own error statuses (a 401 for a bad API user key, a 409) answer problems like the rest.
            Number(status) >= 400
            ? { content: problem }
            : {}),
    };
  }
  for (const [status, description] of Object.entries(defaults)) {
    if (!responses[status] && includeDefault(status)) responses[status] = { description, content: problem };
  }
  return responses;
}

const requestBodyOf = (body: z.ZodType, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema: schemaOf(body, 'input'), ...(example !== undefined ? { example } : {}) } },
});

/**
 * The OpenAPI 3.1 document, generated from the route declarations and their zod schemas (DESIGN.md §8): the
 * management routes (a management key) and the apps' back channel (`appRoutes`, an app's client id and secret).
 */
export function openApiDocument(routes: RouteSpec[], serverUrl = '/', appRoutes: AppRouteSpec[] = []): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      'x-access': r.access,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      responses: responsesOf(r.responses, PROBLEMS, (status) => status !== '403' || r.access === 'write' || r.scope === 'all-realms'),
    };
    if (r.body) op.requestBody = requestBodyOf(r.body, r.example?.body);
    (paths[openApiPath(r.path)] ??= {})[r.method] = op;
  }
  for (const r of appRoutes) {
    (paths[openApiPath(r.path)] ??= {})[r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      'x-access': 'app',
      security: [{ appClient: [] }],
      parameters: [],
      responses: responsesOf(r.responses, APP_PROBLEMS, () => true),
      requestBody: requestBodyOf(r.body, r.example.body),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse management API', version: '1', description: 'Realms, apps, users, API keys, credentials, sessions, events and audit; and the apps’ back channel. README "Management API".' },
    servers: [{ url: serverUrl }],
    security: [{ managementKey: [] }],
    components: {
      securitySchemes: {
        managementKey: { type: 'http', scheme: 'bearer', description: 'A management API key (ghmk_…): `npx gatehouse api-keys create`' },
        appClient: { type: 'http', scheme: 'basic', description: 'An app’s client id and secret (the realm is the one the Host names: the `iss` of the app’s tokens)' },
      },
    },
    paths,
  };
}

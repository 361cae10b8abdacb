import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import type { ManagementKey } from '../../domain/management-key.ts';
import type { RequestContext } from '../../services/context.ts';

/**
 * One management API route, declared once: Express mounts it (api/v1/index.ts)
 * and the OpenAPI document is generated from the same object (openapi.ts), so
 * no route can be served without being documented, nor documented with another
 * schema than the one that validates it.
 */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The realm of `:realmId`, already checked against the key (another realm's id is a 404). */
  realm: RealmConfig;
  key: ManagementKey;
  ctx: RequestContext;
  req: Request;
  res: Response;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json; several when a parameter picks the format (the export's CSV or JSON Lines). */
  contentType?: string | string[];
}

export interface RouteSpec<P = any, Q = any, B = any> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express syntax: /realms/:realmId/users/:userId */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** read: any key of the realm. write: write keys only (403 for read keys). */
  access: 'read' | 'write';
  /** all-realms: only keys that hold every realm (key management); else the key must see :realmId. */
  scope?: 'realm' | 'all-realms';
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  responses: Record<number, ResponseSpec>;
  /** Validated against the schemas by the OpenAPI test. */
  example?: { body?: unknown; query?: Record<string, string> };
  /** A reply, or undefined when the handler wrote the answer itself (a stream). */
  handler(input: RouteInput<P, Q, B>): Promise<Reply | undefined>;
}

/** Type help for declaring a route with its schemas' types flowing into the handler. */
export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> {
  return spec;
}

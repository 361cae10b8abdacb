import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ManagementKey } from '../../domain/management-key.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import type { RequestContext } from '../../services/context.ts';
import type { ManagementKeys } from '../../services/management-keys.ts';
import { sendProblem } from './problem.ts';

/** Failed authentications one IP may make in the window before every attempt from it is 429. */
export const AUTH_FAILURE_RULE = { points: 30, durationSeconds: 300 };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
export const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/** The caller's X-Request-Id when well-formed, else a new one. */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export interface Authenticated {
  key: ManagementKey;
  ctx: RequestContext;
}

/**
 * `Authorization: Bearer <management key>` on every API request. Missing or
 * wrong: 401, counted per IP (rate-limiter-flexible through the limiter
 * factory); over the limit: 429 with Retry-After. The request id (the
 * caller's X-Request-Id when well-formed, else a new one) is echoed and audited.
 */
export function authenticate(keys: ManagementKeys, limiters: LimiterFactory) {
  const failures = limiters('api-auth-ip', AUTH_FAILURE_RULE);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    try {
      const match = BEARER.exec(req.get('authorization') ?? '');
      const key = match ? await keys.authenticate(match[1]!) : null;
      if (!key) {
        const wait = await failures.take(req.ip ?? 'unknown');
        if (wait > 0) {
          res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
          return sendProblem(res, 429, 'rate_limited', 'Too many failed authentications from this address');
        }
        res.setHeader('WWW-Authenticate', 'Bearer realm="gatehouse-management"');
        return sendProblem(res, 401, 'unauthorized', match ? 'The management API key is not valid' : 'A management API key is required (Authorization: Bearer <key>)');
      }
      res.locals.auth = {
        key,
        ctx: { actor: { type: 'api_key', id: key.id }, requestId, ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 512) ?? null },
      } satisfies Authenticated;
      next();
    } catch (err) {
      next(err);
    }
  };
}

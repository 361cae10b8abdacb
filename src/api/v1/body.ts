import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';

/**
 * What the fast path (api/v1/fast-path.ts) read of a request it handed on:
 * the body, parsed as express.json would have (strict: an object or an
 * array at the top), or the error express.json would have raised.
 */
export const PREREAD = Symbol('gatehouse.api.preread');
export type Preread = { body: unknown } | { error: Error & { type: string; status: number } };
export type WithPreread = IncomingMessage & { [PREREAD]?: Preread };

/** 64 kB: far above any request this API takes. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The API's body step: JSON, strict (an object or an array at the top), at
 * most BODY_LIMIT_BYTES, any content type. A body the fast path already read
 * (api/v1/fast-path.ts) is taken as it left it, with the same errors.
 */
export function jsonBody() {
  const parse = express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    const pre = (req as WithPreread)[PREREAD];
    if (!pre) return parse(req, res, next);
    if ('error' in pre) return next(pre.error);
    req.body = pre.body;
    next();
  };
}

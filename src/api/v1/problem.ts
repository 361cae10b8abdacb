import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, RateLimited, RuleViolation, type FieldIssue } from '../../domain/errors.ts';
import { InvalidEventCursor } from '../../domain/events.ts';
import { InvalidCursor } from '../../domain/user-cursor.ts';
import { isStoreUnavailable } from '../../http/errors.ts';

/**
 * RFC 9457 problem details (DESIGN.md §8): every error of the management API
 * is `application/problem+json` with a stable `type`, and validation errors
 * carry `errors[]` of { field, code, message }. The types are relative URIs
 * documented in README "Management API".
 */
export const PROBLEM_BASE = '/api/v1/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldIssue[];
  [extra: string]: unknown;
}

export function sendProblem(res: Response, status: number, code: string, title: string, extra: Omit<Partial<Problem>, 'type' | 'status' | 'title'> = {}): void {
  res.status(status).type('application/problem+json').setHeader('Cache-Control', 'no-store');
  res.send(JSON.stringify({ type: `${PROBLEM_BASE}${code}`, title, status, ...extra }));
}

/** A zod error's issues as field issues: dotted paths, zod's code, its message. */
export function fieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : null;
    return {
      field: keys ? [prefix, path, keys.join(',')].filter(Boolean).join('.') : [prefix, path].filter(Boolean).join('.') || prefix || '(body)',
      code: issue.code,
      message: keys ? `unknown field${keys.length > 1 ? 's' : ''} ${keys.join(', ')}` : issue.message,
    };
  });
}

/** Thrown by the guards for a request that does not fit its schema: a 400 with every issue. */
export class InvalidRequest extends Error {
  constructor(readonly issues: FieldIssue[]) {
    super('the request is not valid');
  }
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** How deep a JSON body may nest (realm settings, the deepest, use 4 levels). */
export const MAX_BODY_DEPTH = 32;

/**
 * A body nested deeper than MAX_BODY_DEPTH, or the first object key of a parsed JSON body that names a prototype property
 * (`__proto__`, `constructor`, `prototype`), however deep, as a field issue;
 * null when there is none. Such a key is never a field of this API, and left
 * in, a schema may drop it silently (zod's records drop `__proto__`: the rest
 * of the request would then be applied as if it were all of it).
 */
export function prototypeKeyIssue(body: unknown): FieldIssue | null {
  const stack: Array<[unknown, string[]]> = [[body, []]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    // Far deeper than any request of this API: the services' recursive steps (merge patches, redaction) never see it.
    if (path.length >= MAX_BODY_DEPTH) return { field: path.slice(0, 3).join('.') + '…', code: 'too_deep', message: `nested deeper than ${MAX_BODY_DEPTH} levels` };
    for (const [key, child] of Object.entries(value)) {
      if (PROTOTYPE_KEYS.has(key)) return { field: [...path, key].join('.'), code: 'reserved_key', message: `"${key}" is not a field name this API takes` };
      stack.push([child, [...path, key]]);
    }
  }
  return null;
}

/** The body-parser errors that are the client's fault, as problems. */
const PARSER_PROBLEMS: Record<string, [number, string, string]> = {
  'entity.too.large': [413, 'too_large', 'The request body is too large'],
  'entity.parse.failed': [400, 'malformed_json', 'The request body is not valid JSON'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'The request body’s encoding is not supported'],
  'charset.unsupported': [415, 'unsupported_charset', 'The request body’s charset is not supported'],
  'request.aborted': [400, 'aborted', 'The request was aborted'],
  'parameters.too.many': [413, 'too_large', 'Too many parameters'],
};

/** The API's last handler: typed errors to their status, everything unexpected to a logged 500 without details. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      logger.error({ err, url: req.originalUrl }, 'management API error after the headers were sent');
      res.destroy();
      return;
    }
    if (err instanceof InvalidEventCursor) return sendProblem(res, 400, 'validation', 'The request is not valid', { errors: [{ field: 'after', code: 'invalid_cursor', message: 'not a cursor this API issued' }] });
    if (err instanceof InvalidCursor) return sendProblem(res, 400, 'validation', 'The request is not valid', { errors: [{ field: 'after', code: 'invalid_cursor', message: err.message }] });
    if (err instanceof InvalidRequest) return sendProblem(res, 400, 'validation', 'The request is not valid', { errors: err.issues });
    if (err instanceof RuleViolation) return sendProblem(res, 422, 'rule_violation', 'The change breaks a rule of the realm', { errors: err.issues });
    if (err instanceof NotFoundError) return sendProblem(res, 404, 'not_found', `The ${err.resource} was not found`);
    if (err instanceof ConflictError) {
      const { field, file } = err.details;
      return sendProblem(res, 409, 'conflict', 'The change conflicts with what exists', { detail: err.message, code: err.reason, ...(file ? { file } : {}), ...(field ? { errors: [{ field, code: err.reason, message: err.message }] } : {}) });
    }
    if (err instanceof ForbiddenError) return sendProblem(res, 403, 'forbidden', err.message);
    if (err instanceof RateLimited) {
      res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return sendProblem(res, 429, 'rate_limited', 'Too many attempts: try again later', { detail: err.message, code: err.rule });
    }
    // The router could not percent-decode a path parameter (`/users/%E0%A4%A`): the caller's mistake, not ours.
    if (err instanceof URIError && (err as { status?: number }).status === 400) {
      return sendProblem(res, 400, 'validation', 'The request is not valid', { errors: [{ field: 'path', code: 'invalid_encoding', message: 'a path segment is not valid percent-encoding' }] });
    }
    const parser = PARSER_PROBLEMS[(err as { type?: string }).type ?? ''];
    if (parser) return sendProblem(res, parser[0], parser[1], parser[2]);
    if (isStoreUnavailable(err)) {
      res.setHeader('Retry-After', '5');
      return sendProblem(res, 503, 'unavailable', 'A backing service is unreachable; try again shortly');
    }
    logger.error({ err, url: req.originalUrl }, 'unexpected management API error');
    sendProblem(res, 500, 'internal', 'Something went wrong on our side');
  };
}

import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { RealmConfig } from '../../config/index.ts';
import { keySeesRealm } from '../../domain/management-key.ts';
import type { Realms } from '../../realms.ts';
import type { ManagementKeys } from '../../services/management-keys.ts';
import type { UserAccessService } from '../../services/user-access.ts';
import { BEARER, requestIdOf } from './auth.ts';
import { authenticateKeyBody } from './schemas.ts';
import { BODY_LIMIT_BYTES, PREREAD, type Preread, type WithPreread } from './body.ts';
import { userJson } from './serialize.ts';

/** POST /api/v1/realms/{realmId}/users/authenticate-key, and nothing else (no query, no trailing slash). */
const PATH = /^\/api\/v1\/realms\/([A-Za-z0-9_-]{1,64})\/users\/authenticate-key$/;
const JSON_TYPE = /^application\/json(?:\s*;\s*charset=(?:"utf-8"|utf-8))?$/i;

export interface FastPathDeps {
  realms: Realms;
  keys: ManagementKeys;
  access: UserAccessService;
  /** The API's security headers, the same Map its router sets. */
  securityHeaders: Map<string, string>;
}

function parseStrict(raw: string): Preread {
  const first = /\S/.exec(raw)?.[0];
  if (first !== '{' && first !== '[') return { error: Object.assign(new SyntaxError('not an object or array'), { type: 'entity.parse.failed', status: 400 }) };
  try {
    return { body: JSON.parse(raw) as unknown };
  } catch (err) {
    return { error: Object.assign(err as SyntaxError, { type: 'entity.parse.failed', status: 400 }) };
  }
}

/**
 * authenticate-key is on an app's hot path (issue 12 measures it against a
 * bare Express handler). This middleware, the first Express runs, answers
 * the one case that matters for speed — a live management key of the realm,
 * a well-formed body, an active API user's key: 200 with the user — without
 * the rest of the pipeline (routers, body-parser, the generic route guard).
 *
 * It decides nothing of its own: the key check, the realm scope, the body
 * schema, the lookup and the JSON are the ones the generic route uses, and
 * every other outcome is handed on to the generic route, to be answered there
 * as before (one place for each error): no live management key of the realm,
 * or a body it cannot read cheaply, with the body unread; a bad body or an
 * unknown API key with the body it read (api/v1/body.ts takes it from there).
 */
export function authenticateKeyFastPath(d: FastPathDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST') return next();
    const url = req.url;
    // Cheap refusals first: almost every request is a page.
    if (url.length > 120 || !url.startsWith('/api/v1/realms/') || !url.endsWith('/authenticate-key')) return next();
    const m = PATH.exec(url);
    const bearer = BEARER.exec(req.headers.authorization ?? '');
    const length = Number(req.headers['content-length']);
    const type = req.headers['content-type'];
    const realm = m ? d.realms.byIdOrNull(m[1]!) : null;
    if (
      !realm ||
      !bearer ||
      !Number.isSafeInteger(length) ||
      length <= 0 ||
      length > BODY_LIMIT_BYTES ||
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity') ||
      (type !== undefined && !JSON_TYPE.test(type))
    ) {
      return next();
    }
    // The key first: a request without a live key of this realm is handed on with its body unread (ASVS 8.3.1).
    // Any failure on the way (the store unreachable) is handed on too: the generic route meets it again and answers it.
    d.keys.authenticate(bearer[1]!).then(
      (key) => (key && keySeesRealm(key, realm.id) ? readBody(req, (pre) => answer(req, res, realm, pre).then((done) => done || next(), () => next())) : next()),
      () => next(),
    );
  };

  async function answer(req: Request, res: ServerResponse, realm: RealmConfig, pre: Preread): Promise<boolean> {
    if (!('body' in pre)) return false;
    const parsed = authenticateKeyBody.safeParse(pre.body);
    if (!parsed.success) return false;
    const user = await d.access.authenticateKey(realm, parsed.data.apiKey);
    if (!user) return false;
    const body = JSON.stringify(userJson(user));
    res.setHeaders(d.securityHeaders);
    res.setHeader('X-Request-Id', requestIdOf(req));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.statusCode = 200;
    res.end(body);
    return true;
  }
}

/**
 * Reads the body (Content-Length, at most BODY_LIMIT_BYTES, checked by the
 * caller) and leaves it on the request for the API's body step, parsed or as
 * the error express.json would have raised; then calls `then` with it.
 */
function readBody(req: Request, then: (pre: Preread) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const settle = (pre: Preread) => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    (req as WithPreread)[PREREAD] = pre;
    then(pre);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
  };
  // Node ends a request at its Content-Length; a shorter body is an aborted request, reported as an error.
  const onEnd = () => settle(parseStrict(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
  const onError = (err: Error) => settle({ error: Object.assign(err, { type: 'request.aborted', status: 400 }) });
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

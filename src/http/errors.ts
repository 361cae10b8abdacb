import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { FlowError } from './flow-error.ts';
import { renderPage } from './render.ts';

/** Body-parser and friends say what went wrong with a status and a type; map those to pages. */
function statusOf(err: unknown): number {
  const e = err as { status?: number; statusCode?: number; type?: string };
  const status = e.status ?? e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/**
 * The messages ioredis rejects a command with while Redis cannot be reached: the connection is down
 * and the offline queue is off ("Stream isn't writeable…"), the client was closed ("Connection is
 * closed."), or a command sent before the connection dropped ran out of reconnection attempts
 * (MaxRetriesPerRequestError). express-session passes a store's error on as it is (connect-redis
 * does not wrap it), and so does rate-limiter-flexible without an insurance limiter. Matched exactly:
 * any other error stays a 500, so a bug never hides behind "try again later".
 */
const STORE_UNAVAILABLE_MESSAGES = new Set([
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  // The same for a Redis Cluster client (REDIS_CLUSTER_NODES).
  "Cluster isn't ready and enableOfflineQueue options is false",
]);

/** Whether `err` says the session store or the rate limiter (Redis) is out of reach: worth a 503 and a retry, not a bug. */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError' || STORE_UNAVAILABLE_MESSAGES.has(err.message);
}

/** Seconds a client is told to wait (Retry-After) while Redis is away: ioredis tries to reconnect at least every second. */
const UNAVAILABLE_RETRY_SECONDS = 5;

const MESSAGE_BY_STATUS: Record<number, string> = {
  400: 'errors.badRequest',
  403: 'errors.forbidden',
  404: 'errors.notFound',
  413: 'errors.tooLarge',
  415: 'errors.badRequest',
  429: 'errors.tooManyRequests',
};

export const notFound: RequestHandler = (req, res) => {
  renderPage(res, 'errors/error', { title: res.locals.t('errors.notFoundTitle'), message: res.locals.t('errors.notFound') }, 404);
};

/** Last handler: every error becomes a translated page; only unexpected ones are logged as errors. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      // express-session saves or touches the session as the answer ends and reports a failure only afterwards:
      // an answer already complete is left to reach the browser (cutting it would also reset a keep-alive connection).
      if (isStoreUnavailable(err)) logger.warn({ err: (err as Error).message, url: req.originalUrl }, 'session store unreachable after the answer was sent');
      else logger.error({ err }, 'error after headers were sent');
      if (!res.writableEnded) res.destroy();
      return;
    }
    const t = res.locals.t ?? ((key: string) => key);
    if (isStoreUnavailable(err)) {
      // Expected while Redis is down or restarting: one warning line per request, not a stack trace.
      logger.warn({ err: (err as Error).message, url: req.originalUrl }, 'session store or rate limiter unreachable');
      res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_SECONDS));
      res.setHeader('Cache-Control', 'no-store');
      renderPage(res, 'errors/error', { title: t('errors.unavailableTitle'), message: t('errors.unavailable') }, 503);
      return;
    }
    if (err instanceof FlowError) {
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      renderPage(res, 'errors/error', { title: t('errors.title'), message: t(err.messageKey, err.params) }, err.status);
      return;
    }
    const csrf = (err as { code?: string }).code === 'EBADCSRFTOKEN';
    const status = csrf ? 403 : statusOf(err);
    if (status >= 500) logger.error({ err, url: req.originalUrl }, 'unexpected error');
    else logger.debug({ err: (err as Error).message, status }, 'request refused');
    const message = csrf ? 'errors.csrf' : (MESSAGE_BY_STATUS[status] ?? (status >= 500 ? 'errors.internal' : 'errors.badRequest'));
    res.setHeader('Cache-Control', 'no-store');
    renderPage(res, 'errors/error', { title: t('errors.title'), message: t(message) }, status);
  };
}

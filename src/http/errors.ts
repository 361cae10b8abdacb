import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { FlowError } from '../flows/flow-error.ts';
import { renderPage } from './render.ts';

/** Body-parser and friends say what went wrong with a status and a type; map those to pages. */
function statusOf(err: unknown): number {
  const e = err as { status?: number; statusCode?: number; type?: string };
  const status = e.status ?? e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

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
      logger.error({ err }, 'error after headers were sent');
      res.destroy();
      return;
    }
    const t = res.locals.t ?? ((key: string) => key);
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

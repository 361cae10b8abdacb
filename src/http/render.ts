import type { Request, Response } from 'express';
import type { PageCache } from './page-cache.ts';

/** A page the same for every anonymous visitor of its URL: rendered once, then served from `cache`. */
export interface Cacheable {
  cache: PageCache;
  key: string;
  /** The cache's generation when this request began: a page rendered across a clear() is not stored. */
  generation: number;
}

/** The cache entry of `view` for this request's realm, language and URL. */
export function anonymousPage(cache: PageCache | undefined, req: Request, view: string): Cacheable | undefined {
  // A page carrying a one-shot message (flash) is this visitor's alone.
  if (!cache || req.signedIn || req.res?.locals.flash) return undefined;
  return { cache, key: `${req.realm.id}\n${req.locale}\n${view}\n${req.originalUrl}`, generation: cache.generation };
}

/**
 * A rendered page, written as it is: Express's send() would also convert it to a
 * Buffer and look at the request's cache headers, for a page that is never
 * cached (no-store) and never has an ETag. Node leaves the body out for HEAD.
 */
function sendHtml(res: Response, html: string): void {
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

/**
 * Renders `views/<view>.ejs` inside the page layout (the console passes its
 * own). Views receive view models only: what they show, already decided by
 * the route.
 */
export function renderPage(res: Response, view: string, model: Record<string, unknown>, status = 200, cacheable?: Cacheable, layout = 'layouts/page'): void {
  res.status(status);
  if (cacheable) {
    const html = cacheable.cache.get(cacheable.key, res.locals.csrfToken());
    if (html !== undefined) {
      sendHtml(res, html);
      return;
    }
    model = { ...model, csrfToken: () => cacheable.cache.tokenPlaceholder };
  }
  res.render(view, model, (err, body) => {
    if (err) {
      res.req.next?.(err);
      return;
    }
    res.render(layout, { ...model, body }, (layoutErr, html) => {
      if (layoutErr) {
        res.req.next?.(layoutErr);
        return;
      }
      if (cacheable) {
        cacheable.cache.set(cacheable.key, html, cacheable.generation);
        html = html.replaceAll(cacheable.cache.tokenPlaceholder, res.locals.csrfToken());
      }
      sendHtml(res, html);
    });
  });
}

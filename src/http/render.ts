import type { Response } from 'express';

/**
 * Renders `views/<view>.ejs` inside the page layout. Views receive view models
 * only: what they show, already decided by the route.
 */
export function renderPage(res: Response, view: string, model: Record<string, unknown>, status = 200): void {
  res.status(status);
  res.render(view, model, (err, body) => {
    if (err) {
      res.req.next?.(err);
      return;
    }
    res.render('layouts/page', { ...model, body }, (layoutErr, html) => {
      if (layoutErr) {
        res.req.next?.(layoutErr);
        return;
      }
      res.type('html').send(html);
    });
  });
}

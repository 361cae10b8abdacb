import type { Response } from 'express';

/**
 * Lets this page's forms (and the redirects that follow their submission)
 * go to `uri`'s origin as well as to Gatehouse itself. helmet writes the CSP
 * before the route knows where the flow ends, so the route widens it here.
 */
export function allowFormAction(res: Response, uri: string): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp !== 'string') return;
  const origin = new URL(uri).origin;
  res.setHeader('Content-Security-Policy', csp.replace("form-action 'self'", `form-action 'self' ${origin}`));
}

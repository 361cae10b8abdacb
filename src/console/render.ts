import type { Response } from 'express';
import { takeFlash } from '../http/account.ts';
import { renderPage } from '../http/render.ts';

/** A console page: `views/console/<view>.ejs` inside the console's own layout (sidebar, realm picker, top bar). */
export function renderConsolePage(res: Response, view: string, model: Record<string, unknown>, status = 200): void {
  // A form's one-shot message (`flash()` before its 303, in the console's own session) is shown by the next
  // page rendered, then forgotten.
  takeFlash(res.req, res, () => undefined);
  renderPage(res, `console/${view}`, model, status, undefined, 'console/layout');
}

/** A console message page (not found, forbidden, signed out, an error): a heading, a sentence, and where to go. */
export function renderConsoleMessage(
  res: Response,
  status: number,
  message: { titleKey: string; textKey: string; params?: Record<string, string | number>; link?: { href: string; labelKey: string } },
): void {
  const t = res.locals.t as (key: string, params?: Record<string, unknown>) => string;
  renderConsolePage(res, 'message', { title: t(message.titleKey), text: t(message.textKey, message.params), link: message.link ?? null }, status);
}

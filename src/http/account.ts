import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { User } from '../identity/user.ts';
import { FlowError } from './flow-error.ts';
import { renderPage } from './render.ts';

/**
 * The personal center's shared plumbing: who may see it, when a fresh
 * password is needed, where to go back to, and the one-shot message a page
 * shows after a change (post-redirect-get).
 */

/** The pages of the personal center, in menu order; `icon` names a symbol in views/partials/account-icon.ejs. */
export const ACCOUNT_NAV = [
  { href: '/account', key: 'account.nav.overview', icon: 'home' },
  { href: '/account/profile', key: 'account.nav.profile', icon: 'user' },
  { href: '/account/password', key: 'account.nav.password', icon: 'key' },
  { href: '/account/email', key: 'account.nav.email', icon: 'mail' },
  { href: '/account/phone', key: 'account.nav.phone', icon: 'phone' },
  { href: '/account/mfa', key: 'account.nav.mfa', icon: 'shield' },
  { href: '/account/sessions', key: 'account.nav.sessions', icon: 'devices' },
  { href: '/account/history', key: 'account.nav.history', icon: 'clock' },
  { href: '/account/connected', key: 'account.nav.connected', icon: 'link' },
  { href: '/account/orgs', key: 'account.nav.orgs', icon: 'orgs' },
] as const;

export type AccountPage = (typeof ACCOUNT_NAV)[number]['href'];

/** Where a detour (login, re-authentication) may send the user back: a personal-center path, or the invitation and join pages, nothing else. */
export function safeNext(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 300) return null;
  if (value === '/invitation' || value === '/join') return value;
  if (!/^\/account(?:\/[\w-]*)*(?:\?[\w=&%.-]*)?$/.test(value)) return null;
  return value;
}

/** Pages that need a signed-in user send everyone else to the login page, and back afterwards. */
export const requireLogin: RequestHandler = (req, res, next) => {
  if (req.signedIn) return next();
  const back = safeNext(req.originalUrl);
  res.redirect(303, back && back !== '/account' ? `/login?next=${encodeURIComponent(back)}` : '/login');
};

/** The menu page a personal-center path belongs to: the longest menu entry it starts with (/account/phone/remove → /account/phone). */
export function pageOf(path: string): AccountPage {
  let best: AccountPage = '/account';
  for (const { href } of ACCOUNT_NAV) if ((path === href || path.startsWith(`${href}/`)) && href.length > best.length) best = href;
  return best;
}

/**
 * Changing password, email, phone or MFA needs a recent authentication
 * (realm setting `account.recentAuthMinutes`): otherwise the user confirms
 * with the password first and comes back here. `clock` is the app's.
 * A session an operator started as the user (impersonation) may make none
 * of these changes, however recent: a 403 page.
 */
export function requireRecentAuth(clock: () => Date): RequestHandler {
  return (req, res, next) => {
    if (!req.signedIn) return requireLogin(req, res, next);
    if (req.signedIn.session.act) return next(new FlowError(403, 'impersonation.notAllowed'));
    const authAt = req.session.authAt ?? 0;
    if (clock().getTime() - authAt <= req.realm.account.recentAuthMinutes * 60_000) return next();
    // A form posted after the window comes back to the page it belongs to, not to the POST (most POST paths have no page).
    const back = safeNext(req.method === 'GET' ? req.originalUrl : pageOf(req.baseUrl + req.path)) ?? '/account';
    res.redirect(303, `/account/reauth?next=${encodeURIComponent(back)}`);
  };
}

/**
 * A step the signed-in user started in this browser (a change waiting for its
 * code, recovery codes on show), from its session entry: null when it belongs
 * to another realm or another user (who signed in here since).
 */
export function ownPending<T extends { realmId: string; userId: string }>(req: Request, value: T | undefined): T | null {
  return value && value.realmId === req.realm.id && value.userId === req.signedIn?.user.id ? value : null;
}

/** A message for the next page this browser shows (after a redirect). */
export function flash(req: Request, key: string, params: Record<string, string | number> = {}): void {
  req.session.flash = { key, params };
}

/** Moves a waiting flash message into the page being rendered, once. */
export function takeFlash(req: Request, res: Response, next: NextFunction): void {
  const message = req.session?.flash;
  if (message) {
    res.locals.flash = message;
    delete req.session.flash;
  }
  next();
}

/** Initials for an avatar: the first letters of the first and last word ("Ada Lovelace" → "AL"), one character for a CJK name. */
function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/);
  const first = Array.from(words[0] || '?')[0]!;
  if (/\p{Script=Han}/u.test(first) || words.length === 1) return first.toUpperCase();
  return (first + Array.from(words[words.length - 1]!)[0]).toUpperCase();
}

/** What an avatar shows of a user: the photo, or initials of the display name. */
export function avatarOf(user: Pick<User, 'photo'>, name: string): { photo: string | null; initials: string; name: string } {
  return { photo: user.photo, initials: initialsOf(name), name };
}

/** The menu for a personal-center page, marking the current one. */
export function accountNav(current: AccountPage): Array<{ href: string; key: string; icon: string; current: boolean }> {
  return ACCOUNT_NAV.map((item) => ({ ...item, current: item.href === current }));
}

/**
 * Renders a personal-center page: the layout then shows the menu (with
 * `current` marked), the signed-in user, and the waiting flash message.
 */
export function renderAccountPage(res: Response, current: AccountPage, view: string, model: Record<string, unknown>, status = 200): void {
  renderPage(res, view, { nav: accountNav(current), ...model }, status);
}

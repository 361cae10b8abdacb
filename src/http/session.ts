import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { SessionData } from 'express-session';
import { z } from 'zod';
import { FlowError } from './flow-error.ts';
import type { LoginSessions, SessionOrigin } from '../identity/login-sessions.ts';
import type { LoginSession } from '../ports/login-sessions.ts';

export function originOf(req: Request): SessionOrigin {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/**
 * A new cookie session id for this browser, with an empty session (but for an
 * invitation link waiting for this sign-in): whoever knew the old id learns
 * nothing of the new one (no fixation, ASVS 7.2.4).
 */
export async function regenerateBrowserSession(req: Request): Promise<void> {
  // An org invitation (or an invitation link) opened in this browser waits for the sign-in or sign-up it sends the user to: it moves along.
  const { invitation, joinLink } = req.session;
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
  if (invitation) req.session.invitation = invitation;
  if (joinLink) req.session.joinLink = joinLink;
}

/**
 * Binds the browser to a new login session. The cookie's session id is
 * regenerated (no fixation, ASVS 7.2.4) and lives as long as the realm's idle
 * lifetime, renewed on use.
 */
export async function bindBrowserSession(req: Request, session: LoginSession): Promise<void> {
  await regenerateBrowserSession(req);
  req.session.realmId = session.realmId;
  req.session.userId = session.userId;
  req.session.sid = session.id;
  req.session.authAt = session.createdAt.getTime();
  req.session.cookie.maxAge = req.realm.sessions.idleMinutes * 60 * 1000;
  // express-session writes the session before the response leaves (it wraps res.end): one write, not two.
}

/**
 * A fresh cookie session id with the same contents, after the user proved
 * who they are again ("confirm it's you"): whoever knew the old id learns
 * nothing of the new one (ASVS 7.2.4).
 */
export async function renewBrowserSession(req: Request, authAt: number): Promise<void> {
  const { cookie, ...data } = req.session;
  const maxAge = cookie.maxAge;
  await regenerateBrowserSession(req);
  Object.assign(req.session, data, { authAt });
  if (maxAge != null) req.session.cookie.maxAge = maxAge;
}

/** The session entries that hold a mailed link's token once it is off the URL. */
type TokenSlot = { [K in keyof SessionData]-?: NonNullable<SessionData[K]> extends { realmId: string; token: string } ? K : never }[keyof SessionData];

const tokenQuery = z.object({ token: z.string().regex(/^[\w-]{20,100}$/) });

/**
 * A mailed link opened with ?token=…: a live token moves into this browser's
 * session (`slot`) and the page reloads at its clean URL, so the token leaves
 * no trace in history, logs or Referer headers. A malformed or dead token is
 * `invalidKey`'s 400 page. True when the redirect was sent; false when the
 * URL carries no token (the clean page itself).
 */
export async function takeTokenIntoSession(
  req: Request,
  res: Response,
  slot: TokenSlot,
  isLive: (token: string) => Promise<unknown>,
  invalidKey: string,
): Promise<boolean> {
  if (req.query.token === undefined) return false;
  const query = tokenQuery.safeParse(req.query);
  if (!query.success || !(await isLive(query.data.token))) throw new FlowError(400, invalidKey);
  req.session[slot] = { realmId: req.realm.id, token: query.data.token };
  res.redirect(303, req.baseUrl + req.path);
  return true;
}

/** The token `takeTokenIntoSession` (or a step like an accepted code) left in `slot`, when it is this realm's. */
export function tokenInSession(req: Request, slot: TokenSlot): string | null {
  const held = req.session?.[slot];
  return held && held.realmId === req.realm.id && held.token ? held.token : null;
}

/** Ends the browser's session server-side. */
export function destroyBrowserSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
}

/**
 * Sets req.signedIn when the browser's session points at a live login session of
 * this realm. A session that has ended elsewhere (logout on another instance,
 * the personal center, deactivation, an impersonating operator's console session)
 * is dropped here, at once. An impersonated one gives pages the banner's
 * `res.locals.impersonation` (who, and why).
 */
export function loadLogin(sessions: LoginSessions): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const sid = req.session?.sid;
    if (!sid) return next();
    try {
      const live = req.session.realmId === req.realm.id ? await sessions.resume(req.realm, sid) : null;
      if (live) {
        req.signedIn = live;
        res.locals.signedIn = { name: live.user.username };
        const act = live.session.act;
        if (act) {
          const held = req.session.impersonator;
          res.locals.impersonation = { operator: held?.sid === live.session.id ? held.operator : act.sub, reason: act.reason };
        }
      } else if (req.session.realmId === req.realm.id) {
        await destroyBrowserSession(req);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

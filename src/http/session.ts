import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LoginSessions, SessionOrigin } from '../identity/login-sessions.ts';
import type { LoginSession } from '../store/port.ts';

export function originOf(req: Request): SessionOrigin {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/**
 * Binds the browser to a new login session. The cookie's session id is
 * regenerated (no fixation, ASVS 7.2.4) and lives as long as the realm's idle
 * lifetime, renewed on use.
 */
export async function bindBrowserSession(req: Request, session: LoginSession): Promise<void> {
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
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
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
  Object.assign(req.session, data, { authAt });
  if (maxAge != null) req.session.cookie.maxAge = maxAge;
}

/** Ends the browser's session server-side. */
export function destroyBrowserSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
}

/**
 * Sets req.login when the browser's session points at a live login session of
 * this realm. A session that has ended elsewhere (logout on another instance,
 * the personal center, deactivation) is dropped here, at once.
 */
export function loadLogin(sessions: LoginSessions): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const sid = req.session?.sid;
    if (!sid) return next();
    try {
      const live = req.session.realmId === req.realm.id ? await sessions.resume(req.realm, sid) : null;
      if (live) {
        req.login = live;
        res.locals.signedIn = { name: live.user.username };
      } else if (req.session.realmId === req.realm.id) {
        await destroyBrowserSession(req);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

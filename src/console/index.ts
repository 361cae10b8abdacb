import { createHmac } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import session, { type Store as SessionStore } from 'express-session';
import { doubleCsrf } from 'csrf-csrf';
import type { Logger } from 'pino';
import type { RealmConfig } from '../config/index.ts';
import { roleOn, type RoleGrant } from '../domain/operator-role.ts';
import type { LoginSessions } from '../identity/login-sessions.ts';
import type { TokenIssuer } from '../identity/token-issuer.ts';
import type { Realms } from '../realms.ts';
import { mountConsoleRoute, type GuardDeps } from './access.ts';
import { renderConsoleMessage } from './render.ts';
import type { ConsoleRouteSpec } from './route.ts';
import { consoleSessionRoutes, safeNext, type ConsoleSessionDeps } from './session/session.routes.ts';

export interface ConsoleSettings {
  realmId: string;
  publicUrl: string;
}

export interface ConsoleDeps {
  settings: ConsoleSettings;
  secureCookies: boolean;
  /** The server's secret: the console's cookie signature and CSRF secret are derived from it. */
  secret: string;
  sessionStore: SessionStore;
  realms: Realms;
  issuer: TokenIssuer;
  sessions: LoginSessions;
  grantsOf: (operatorId: string) => Promise<RoleGrant[]>;
  confirm: ConsoleSessionDeps['confirm'];
  /** Every console page and form (users, settings, apps, …), each behind the one guard. */
  routes: ConsoleRouteSpec[];
  clock: () => Date;
  logger: Logger;
}

/**
 * The operator console at /admin (issue 13): server-rendered pages that call
 * the same services as the management API. Mounted before the end-user
 * session, so on /admin `req.session` is only ever the console's own
 * (cookie gh.console, SameSite=Strict, CSRF of its own).
 */
export function consoleApp(d: ConsoleDeps): Router {
  const router = Router();
  const prefix = d.secureCookies ? '__Host-' : '';
  const consoleRealm = (): RealmConfig => {
    const realm = d.realms.byIdOrNull(d.settings.realmId);
    if (!realm) throw new Error(`the console realm "${d.settings.realmId}" is not in the directory`);
    return realm;
  };
  const consoleHost = new URL(d.settings.publicUrl).host.toLowerCase();

  // The console lives on the console realm's host only; elsewhere /admin points there.
  router.use((req, res, next) => {
    if (req.realm.id === d.settings.realmId && req.host.toLowerCase() === consoleHost) return next();
    res.redirect(302, `${d.settings.publicUrl}/admin`);
  });

  // express-session writes its session factory (store.generate, with its cookie options) onto the store it is
  // given: a second middleware on the same store object would make the other's sessions with its cookie. The
  // console's middleware gets an object of its own whose prototype is the shared store (same data, same methods).
  const store = Object.create(d.sessionStore) as SessionStore;
  router.use(
    session({
      name: `${prefix}gh.console`,
      secret: createHmac('sha256', d.secret).update('gatehouse console session').digest('base64url'),
      store,
      resave: false,
      saveUninitialized: false,
      // The login session's idle timeout governs (touched once a minute by resume): a page view is not a store write.
      rolling: false,
      unset: 'destroy',
      cookie: { httpOnly: true, sameSite: 'strict', secure: d.secureCookies, path: '/', maxAge: consoleRealm().sessions.absoluteHours * 3600_000 },
    }),
  );
  const formBody = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1200 });
  router.use((req, res, next) => (req.method === 'POST' ? formBody(req, res, next) : next()));

  const csrfSecret = createHmac('sha256', d.secret).update('gatehouse console csrf').digest('base64url');
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => csrfSecret,
    // Bound to this console session: a token from before a sign-in (or another operator's) fails.
    getSessionIdentifier: (req) => req.sessionID ?? '',
    cookieName: `${prefix}gh.console.csrf`,
    cookieOptions: { sameSite: 'strict', secure: d.secureCookies, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined),
  });
  // The hosted login's form_post is the one POST without the console's token: its state binds it instead.
  router.use((req, res, next) => (req.path === '/callback' && req.method === 'POST' ? next() : doubleCsrfProtection(req, res, next)));
  router.use((req, res, next) => {
    let token: string | undefined;
    res.locals.csrfToken = () => (token ??= generateCsrfToken(req, res));
    res.locals.now = d.clock;
    res.locals.realm = { id: d.settings.realmId, name: consoleRealm().name };
    next();
  });

  router.use(loadOperator(d, consoleRealm));
  router.use(consoleSessionRoutes({ consoleRealm, publicUrl: d.settings.publicUrl, issuer: d.issuer, sessions: d.sessions, grantsOf: d.grantsOf, confirm: d.confirm, clock: d.clock }));

  // Signed in from here on.
  router.use((req, res, next) => {
    if (req.consoleOperator) return next();
    if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, `/admin/login?next=${encodeURIComponent(safeNext(req.originalUrl))}`);
    res.redirect(303, '/admin/login');
  });
  const guard: GuardDeps = {
    realmById: (id) => d.realms.byIdOrNull(id),
    consoleRealmId: d.settings.realmId,
    recentAuthMinutes: () => consoleRealm().account.recentAuthMinutes,
    clock: d.clock,
  };
  for (const spec of d.routes) mountConsoleRoute(router, spec, guard);

  router.use((_req: Request, res: Response) => {
    renderConsoleMessage(res, 404, { titleKey: 'console.errors.notFoundTitle', textKey: 'console.errors.notFound', link: { href: '/admin', labelKey: 'console.nav.home' } });
  });
  return router;
}

/**
 * Every console request: the console session's login session must still be
 * live in the console realm (not logged out, deactivated or timed out) with
 * two factors, and the operator's grants are read again — a revoked role
 * bites on the next click. What the layout shows of the operator goes to
 * res.locals.
 */
function loadOperator(d: ConsoleDeps, consoleRealm: () => RealmConfig) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const c = req.session.console;
      if (c) {
        const live = await d.sessions.resume(consoleRealm(), c.sid);
        const grants = live && live.user.id === c.operatorId && live.session.aal >= 2 ? await d.grantsOf(c.operatorId) : [];
        if (!live || grants.length === 0) {
          delete req.session.console;
        } else {
          req.consoleOperator = { user: live.user, grants, authAt: c.authAt, sid: c.sid };
          res.locals.operator = { id: live.user.id, email: live.user.email ?? live.user.username };
          res.locals.consoleRealms = d.realms
            .all()
            .filter((r) => r.id !== d.settings.realmId && roleOn(grants, r.id) !== null)
            .map((r) => ({ id: r.id, name: r.name, role: roleOn(grants, r.id) }));
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

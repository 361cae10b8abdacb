import { timingSafeEqual } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { CONSOLE_CLIENT_ID, type RealmConfig } from '../../config/index.ts';
import type { RoleGrant } from '../../domain/operator-role.ts';
import { FlowError } from '../../http/flow-error.ts';
import { field, parseForm } from '../../http/forms.ts';
import { originOf, regenerateBrowserSession } from '../../http/session.ts';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import { randomId } from '../../identity/random.ts';
import type { TokenIssuer } from '../../identity/token-issuer.ts';
import type { User } from '../../identity/user.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';

export interface ConsoleSessionDeps {
  consoleRealm: () => RealmConfig;
  publicUrl: string;
  issuer: TokenIssuer;
  sessions: LoginSessions;
  grantsOf: (operatorId: string) => Promise<RoleGrant[]>;
  /** "Confirm it's you": the operator's password and authenticator code, checked and rate-limited as the personal center does. */
  confirm: (realm: RealmConfig, user: User, password: string, origin: ReturnType<typeof originOf>, code: string) => Promise<void>;
  clock: () => Date;
}


/**
 * A console path to come back to: same origin, under /admin, no scheme-relative or backslash tricks, no dot
 * segments — nor encoded ones in the path (a browser reads /admin/%2e%2e/x as /x) —; else the console's home.
 */
export function safeNext(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 1000 || !/^\/admin(?:[/?]|$)/.test(raw) || /[\\\u0000-\u001f\u007f]|\/\/|\/\.\.?(?:\/|$)/.test(raw)) return '/admin';
  if (/%2e|%2f|%5c/i.test(raw.split('?')[0]!)) return '/admin';
  return raw;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const callbackForm = z.object({ token: z.string().min(10).max(16_384), state: z.string().min(10).max(200) });
const reauthForm = z.object({ password: field.password(), code: field.totp(), next: z.string().max(1000).optional() });

/**
 * Sign-in through Gatehouse's own hosted login (the console is an app of the
 * console realm and receives its JWT like any app), sign-out, and "confirm
 * it's you". The console's session is its own cookie (gh.console).
 */
export function consoleSessionRoutes(d: ConsoleSessionDeps): Router {
  const router = Router();
  const callbackUrl = `${d.publicUrl}/admin/callback`;

  /** GET /admin/login — off to the hosted login, with a state this browser's console session keeps. */
  router.get('/login', (req, res) => {
    if (req.session.console) return res.redirect(303, safeNext(req.query.next));
    const state = randomId(32);
    req.session.consoleLogin = { state, next: safeNext(req.query.next) };
    const url = new URL('/login', d.publicUrl);
    url.search = new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, redirect_uri: callbackUrl, state }).toString();
    req.session.save((err) => (err ? res.req.next?.(err) : res.redirect(303, url.pathname + url.search)));
  });

  /**
   * POST /admin/callback — the hosted login's form_post. The state binds it to
   * this browser (it stands in for the CSRF token); the JWT is verified
   * against the console realm's keys, its login session must be live with two
   * factors, and its subject must hold a role.
   */
  router.post('/callback', async (req, res) => {
    const parsed = callbackForm.safeParse(req.body ?? {});
    const pending = req.session.consoleLogin;
    // A token with no sign-in of this browser under way (the setup link's "done" page signs in without a state):
    // start one; the hosted login's own session answers at once.
    if (!pending) return res.redirect(303, '/admin/login');
    if (!parsed.success || !sameString(parsed.data.state, pending.state)) {
      delete req.session.consoleLogin;
      return renderConsoleMessage(res, 400, { titleKey: 'console.signIn.failedTitle', textKey: 'console.signIn.badState', link: { href: '/admin/login', labelKey: 'console.signIn.again' } });
    }
    delete req.session.consoleLogin;
    const realm = d.consoleRealm();
    const claims = await d.issuer.verify(realm, parsed.data.token, CONSOLE_CLIENT_ID);
    const live = claims && typeof claims.sid === 'string' ? await d.sessions.resume(realm, claims.sid) : null;
    if (!claims || !live || live.user.id !== claims.sub) {
      return renderConsoleMessage(res, 400, { titleKey: 'console.signIn.failedTitle', textKey: 'console.signIn.badToken', link: { href: '/admin/login', labelKey: 'console.signIn.again' } });
    }
    // The realm requires a second factor; checked again here in case the realm was ever changed by hand.
    if (live.session.aal < 2) {
      return renderConsoleMessage(res, 403, { titleKey: 'console.signIn.failedTitle', textKey: 'console.signIn.mfaRequired' });
    }
    const grants = await d.grantsOf(live.user.id);
    if (grants.length === 0) {
      return renderConsoleMessage(res, 403, { titleKey: 'console.signIn.noAccessTitle', textKey: 'console.signIn.noAccess' });
    }
    await regenerateBrowserSession(req);
    req.session.console = { operatorId: live.user.id, sid: live.session.id, authAt: live.session.createdAt.getTime() };
    res.redirect(303, pending.next);
  });

  /** POST /admin/logout — ends the operator's login session (and any impersonation riding on it) and the console's. */
  router.post('/logout', async (req, res) => {
    const c = req.session.console;
    if (c) {
      const realm = d.consoleRealm();
      const live = await d.sessions.resume(realm, c.sid);
      if (live) await d.sessions.end(realm, live.session, 'logout', { ...originOf(req), clientId: CONSOLE_CLIENT_ID });
    }
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    renderConsoleMessage(res, 200, { titleKey: 'console.signOut.title', textKey: 'console.signOut.text', link: { href: '/admin/login', labelKey: 'console.signIn.again' } });
  });

  const renderReauth = (req: Request, res: Response, next: string, error: { message: string } | null, status = 200) =>
    renderConsolePage(res, 'session/reauth', { title: res.locals.t('console.reauth.title'), next, error }, status);

  /** GET /admin/reauth — "confirm it's you" before a destructive action. */
  router.get('/reauth', (req, res) => {
    if (!req.consoleOperator) return res.redirect(303, `/admin/login?next=${encodeURIComponent(safeNext(req.query.next))}`);
    renderReauth(req, res, safeNext(req.query.next), null);
  });

  router.post('/reauth', async (req, res) => {
    const op = req.consoleOperator;
    if (!op) return res.redirect(303, '/admin/login');
    const next = safeNext((req.body as Record<string, unknown> | undefined)?.next);
    const form = parseForm(reauthForm, req.body, []);
    if (!form.ok) return renderReauth(req, res, next, { message: form.messageKey }, 400);
    try {
      await d.confirm(d.consoleRealm(), op.user, form.data.password, originOf(req), form.data.code);
    } catch (err) {
      if (err instanceof FlowError) {
        if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
        return renderReauth(req, res, next, { message: err.messageKey }, err.status);
      }
      throw err;
    }
    // A fresh cookie id with the same operator: whoever knew the old one learns nothing of the new (ASVS 7.2.4).
    const kept = req.session.console!;
    await regenerateBrowserSession(req);
    req.session.console = { ...kept, authAt: d.clock().getTime() };
    res.redirect(303, next);
  });

  return router;
}

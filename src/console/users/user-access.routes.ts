import type { Request, Response } from 'express';
import { z } from 'zod';
import { ConflictError, NotFoundError, RuleViolation } from '../../domain/errors.ts';
import { flash } from '../../http/account.ts';
import { displayName, type User } from '../../identity/user.ts';
import type { UserAccessService } from '../../services/user-access.ts';
import type { UsersService } from '../../services/users.ts';
import { consoleMessageOf } from '../access.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { userPath } from './user.routes.ts';

export interface UserAccessPageDeps {
  users: UsersService;
  access: UserAccessService;
}

type T = (key: string, params?: Record<string, unknown>) => string;

const sendForm = z.object({ send: z.literal('true').optional() });
/** The credential ids the API accepts (services refuse "password" and "api_key" with their own words). */
const CREDENTIAL_ID = /^(totp|password|api_key|identity:[a-z][a-z0-9-]{1,31})$/;

/**
 * A secret shown on this answer only (a reset link, an API key): never
 * flashed, stored or put in a URL. Pages are no-store (app.ts).
 */
function renderSecret(res: Response, c: ConsoleRequest, user: User, m: { titleKey: string; leadKey: string; secret: string; noteKey: string; params?: Record<string, unknown> }): void {
  const t = res.locals.t as T;
  res.setHeader('Cache-Control', 'no-store');
  renderConsolePage(res, 'users/secret', {
    title: t(m.titleKey),
    section: 'users',
    lead: t(m.leadKey, { name: displayName(user), ...m.params }),
    secret: m.secret,
    note: t(m.noteKey, m.params),
    back: userPath(c.realm!, user.id),
  });
}

/** A confirmation page before a heavy action (its POST at the same path): what it does, one button. */
export function renderConfirm(
  res: Response,
  c: ConsoleRequest,
  user: User,
  m: { titleKey: string; leadKey: string; action: string; submitKey: string; danger?: boolean; reason?: { value: string } | null; error?: { message: string; params?: Record<string, unknown> } | null },
  status = 200,
): void {
  const t = res.locals.t as T;
  renderConsolePage(
    res,
    'users/confirm',
    {
      title: t(m.titleKey),
      section: 'users',
      lead: t(m.leadKey, { name: displayName(user), username: user.username }),
      action: m.action,
      submit: t(m.submitKey),
      danger: m.danger ?? false,
      reason: m.reason ?? null,
      error: m.error ?? null,
      back: userPath(c.realm!, user.id),
    },
    status,
  );
}

/** The API key answers of the service's "not here" kind (hashed keys, an old key) become the page's message, 409. */
function keyRefusal(res: Response, c: ConsoleRequest, user: User, err: unknown, action: { titleKey: string; leadKey: string; action: string; submitKey: string }): void {
  if (!(err instanceof ConflictError)) throw err;
  renderConfirm(res, c, user, { ...action, error: { message: consoleMessageOf(err) } }, 409);
}

/** The user page's operations: reset link, credentials, API key, sessions, delete (the API's access routes' calls). */
export function userAccessRoutes(d: UserAccessPageDeps): ConsoleRouteSpec[] {
  const base = '/realms/:realmId/users/:userId';
  const userOf = (req: Request, c: ConsoleRequest) => d.users.get(c.realm!, String(req.params.userId));
  /** Where a form of the user's page comes back to after "confirm it's you": the user's page. */
  const userPageOf = (req: Request) => `/admin/realms/${String(req.params.realmId)}/users/${encodeURIComponent(String(req.params.userId))}`;
  const regenerate = (path: string) => ({ titleKey: 'console.userPage.keyRegenerateTitle', leadKey: 'console.userPage.keyRegenerateLead', action: path, submitKey: 'console.userPage.keyRegenerateSubmit' });
  const reveal = (path: string) => ({ titleKey: 'console.userPage.keyRevealTitle', leadKey: 'console.userPage.keyRevealLead', action: path, submitKey: 'console.userPage.keyRevealSubmit' });
  return [
    consoleRoute({
      method: 'post',
      path: `${base}/password-token`,
      capability: 'users.write',
      // The link (shown here, mailed or not) lets the operator choose the user's password, a sign-in as them beyond impersonation: a recent sign-in.
      stepUp: userPageOf,
      async handler(req, res, c) {
        const user = await userOf(req, c);
        const form = sendForm.safeParse(req.body ?? {});
        if (!form.success) throw new RuleViolation([{ field: 'send', code: 'invalid', message: 'send is a checkbox' }]);
        const token = await d.access.passwordToken(c.realm!, user.id, form.data.send === 'true', c.ctx);
        const minutes = c.realm!.recovery.ttlMinutes;
        renderSecret(res, c, user, { titleKey: 'console.userPage.resetTitle', leadKey: token.mailed ? 'console.userPage.resetMailed' : 'console.userPage.resetHandOver', secret: token.link, noteKey: 'console.userPage.resetNote', params: { minutes } });
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/credentials/:credentialId/delete`,
      capability: 'credentials.write',
      // Deleting the authenticator or a social link lowers the user's protection: a recent sign-in, as the reset link.
      stepUp: userPageOf,
      async handler(req, res, c) {
        const user = await userOf(req, c);
        const credentialId = String(req.params.credentialId);
        if (!CREDENTIAL_ID.test(credentialId)) throw new NotFoundError('credential');
        await d.access.deleteCredential(c.realm!, user.id, credentialId, c.ctx);
        flash(req, credentialId === 'totp' ? 'console.userPage.deviceDeleted' : 'console.userPage.identityDeleted');
        res.redirect(303, userPath(c.realm!, user.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: `${base}/api-key`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        renderConfirm(res, c, await userOf(req, c), { ...regenerate(req.originalUrl.split('?')[0]!), danger: true });
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/api-key`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        const user = await userOf(req, c);
        let key: string;
        try {
          key = await d.access.regenerateApiKey(c.realm!, user.id, undefined, c.ctx);
        } catch (err) {
          return keyRefusal(res, c, user, err, { ...regenerate(req.originalUrl.split('?')[0]!) });
        }
        const encrypted = c.realm!.fields.apiKeys.policy === 'encrypt';
        renderSecret(res, c, user, { titleKey: 'console.userPage.keyNewTitle', leadKey: 'console.userPage.keyNewLead', secret: key, noteKey: encrypted ? 'console.userPage.keyNoteEncrypt' : 'console.userPage.keyNoteHash' });
      },
    }),
    consoleRoute({
      method: 'get',
      path: `${base}/api-key/reveal`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        // Whether this realm can show a key is the service's answer to the POST (409 when it keeps hashes).
        renderConfirm(res, c, await userOf(req, c), reveal(req.originalUrl.split('?')[0]!));
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/api-key/reveal`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        const user = await userOf(req, c);
        let key: string;
        try {
          key = await d.access.revealApiKey(c.realm!, user.id, c.ctx);
        } catch (err) {
          return keyRefusal(res, c, user, err, reveal(req.originalUrl.split('?')[0]!));
        }
        renderSecret(res, c, user, { titleKey: 'console.userPage.keyShownTitle', leadKey: 'console.userPage.keyShownLead', secret: key, noteKey: 'console.userPage.keyShownNote' });
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/sessions/:sid/delete`,
      capability: 'sessions.write',
      async handler(req, res, c) {
        const user = await userOf(req, c);
        const sid = String(req.params.sid);
        // Only a live session of this user: another user's (or realm's) sid is not found here.
        const own = (await d.access.listSessions(c.realm!, user.id)).some((s) => s.id === sid);
        if (!own) throw new NotFoundError('session');
        await d.access.endSession(c.realm!, sid, c.ctx);
        flash(req, 'console.userPage.sessionEnded');
        res.redirect(303, userPath(c.realm!, user.id));
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/sessions/delete`,
      capability: 'sessions.write',
      async handler(req, res, c) {
        const user = await userOf(req, c);
        const ended = await d.access.endAllSessions(c.realm!, user.id, c.ctx);
        flash(req, 'console.userPage.sessionsEnded', { count: ended });
        res.redirect(303, userPath(c.realm!, user.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: `${base}/delete`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        const user = await userOf(req, c);
        renderConfirm(res, c, user, { titleKey: 'console.userPage.deleteTitle', leadKey: 'console.userPage.deleteLead', action: req.originalUrl.split('?')[0]!, submitKey: 'console.userPage.deleteSubmit', danger: true });
      },
    }),
    consoleRoute({
      method: 'post',
      path: `${base}/delete`,
      capability: 'users.write',
      stepUp: true,
      async handler(req, res, c) {
        await d.users.delete(c.realm!, String(req.params.userId), c.ctx);
        res.redirect(303, `/admin/realms/${c.realm!.id}/users`);
      },
    }),
  ];
}

import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig, RealmConfig } from '../../config/index.ts';
import { appClient, SESSION_ID, type AppSecretCheck } from '../../http/app-client.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import { findApp, type Realms } from '../../realms.ts';
import type { HandoffService } from '../../services/handoff.ts';
import type { EventOrigin } from '../../events/publish.ts';
import { requestIdOf } from './auth.ts';
import { jsonBody } from './body.ts';
import { fieldIssues, InvalidRequest, problemHandler, prototypeKeyIssue, sendProblem } from './problem.ts';
import type { Reply, ResponseSpec } from './route.ts';
import { apiSecurityHeaders } from './security-headers.ts';

/**
 * The apps' back channel under /api/v1/apps (docs/design/orgs.md §5): an app's back end authenticates with its
 * own client id and secret (HTTP Basic), never a management key; the realm is the one its Host names, the
 * realm of the app's tokens' `iss`. Declared like the management routes so the OpenAPI document carries them,
 * with the `appClient` security scheme.
 */
export interface AppRouteSpec<B = any> {
  method: 'post';
  /** Under /api/v1. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  body: z.ZodType<B>;
  responses: Record<number, ResponseSpec>;
  example: { body: unknown };
  handler(input: { body: B; realm: RealmConfig; app: AppConfig; origin: EventOrigin }): Promise<Reply | ProblemReply>;
}

/** An error answer: problem+json of `type` …/problems/`code`. */
interface ProblemReply {
  status: number;
  problem: { code: string; title: string };
}

const tokenRequest = z.strictObject({
  sid: z.string().regex(SESSION_ID, 'a session id: the `sid` claim of a token this realm issued').describe('The `sid` claim of a JWT the app received'),
});
const tokenOut = z.object({
  token: z.string().describe('A JWT for the calling app (`aud` its client id), with the user’s and orgs’ current data'),
  expiresAt: z.string().describe('When `token` expires (ISO 8601; its `exp`)'),
  sid: z.string(),
});

export function appBackChannelRoutes(handoff: HandoffService): AppRouteSpec[] {
  return [
    {
      method: 'post',
      path: '/apps/token',
      operationId: 'refreshAppToken',
      summary: 'A fresh JWT for a live session, with the user’s and orgs’ data as they are now',
      tag: 'Apps back channel',
      body: tokenRequest,
      example: { body: { sid: 'yJ3m0Q8nT2yWZfK1b7pUvA' } },
      responses: {
        200: { description: 'A new JWT for the calling app', schema: tokenOut },
        401: { description: 'No or wrong app client id and secret (HTTP Basic)' },
        403: { description: 'The app’s access rule refuses the user now (the event user.app_access.denied is written)' },
        410: { description: 'The session has ended, timed out or belongs to another realm, or its user is deleted or inactive' },
        429: { description: 'Too many failed authentications from this address' },
      },
      async handler({ body, realm, app, origin }) {
        const result = await handoff.refresh(realm, app, body.sid, origin);
        if (result.kind === 'gone') return { status: 410, problem: { code: 'session_ended', title: 'The session has ended' } };
        if (result.kind === 'denied') return { status: 403, problem: { code: 'access_denied', title: 'This app’s access rule refuses the user' } };
        return { status: 200, body: { token: result.token, expiresAt: result.expiresAt.toISOString(), sid: result.sid } };
      },
    },
  ];
}

/** Mounted at /api/v1/apps, ahead of the management API (no management key is involved). */
export function appBackChannel(d: { realms: Realms; handoff: HandoffService; secretMatches: AppSecretCheck; limiters: LimiterFactory; logger: Logger; hsts: boolean }): Router {
  const router = Router();
  const securityHeaders = apiSecurityHeaders(d.hsts);
  router.use((req, res, next) => {
    res.setHeaders(securityHeaders);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Request-Id', requestIdOf(req));
    next();
  });
  router.use(
    appClient({ secretMatches: d.secretMatches, limiters: d.limiters, realmOf: (req) => d.realms.forHost(req.host).id }, (res, retryAfter) =>
      retryAfter
        ? sendProblem(res, 429, 'rate_limited', 'Too many failed authentications from this address')
        : sendProblem(res, 401, 'invalid_client', 'HTTP Basic authentication with the app’s client id and secret is required'),
    ),
  );
  router.use(jsonBody());
  router.use((req, _res, next) => {
    const issue = prototypeKeyIssue(req.body);
    next(issue ? new InvalidRequest([issue]) : undefined);
  });
  for (const r of appBackChannelRoutes(d.handoff)) {
    const sub = r.path.replace(/^\/apps/, '');
    router[r.method](sub, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const realm = d.realms.forHost(req.host);
        const app = findApp(realm, res.locals.appClientId as string);
        // The secret matched an app of this realm a moment ago; a directory change in between makes it unknown.
        if (!app) return sendProblem(res, 401, 'invalid_client', 'HTTP Basic authentication with the app’s client id and secret is required');
        const sent = req.headers['content-length'] === '0' ? undefined : req.body;
        const parsed = r.body.safeParse(sent ?? {});
        if (!parsed.success) throw new InvalidRequest(fieldIssues(parsed.error));
        const origin = { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null, requestId: String(res.getHeader('X-Request-Id')) };
        const reply = await r.handler({ body: parsed.data, realm, app, origin });
        if ('problem' in reply) return sendProblem(res, reply.status, reply.problem.code, reply.problem.title);
        res.status(reply.status).json(reply.body);
      } catch (err) {
        next(err);
      }
    });
  }
  router.use((_req, res) => sendProblem(res, 404, 'not_found', 'No such endpoint: see /api/v1/openapi.json'));
  router.use(problemHandler(d.logger));
  return router;
}

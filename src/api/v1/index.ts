import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import { keySeesRealm } from '../../domain/management-key.ts';
import type { LimiterFactory } from '../../identity/throttle.ts';
import type { Realms } from '../../realms.ts';
import type { AuditLog } from '../../services/audit-log.ts';
import type { EventLog } from '../../services/event-log.ts';
import type { ManagementKeys } from '../../services/management-keys.ts';
import type { UserAccessService } from '../../services/user-access.ts';
import type { UsersService } from '../../services/users.ts';
import type { OrgsService } from '../../services/orgs.ts';
import type { MembershipsService } from '../../services/memberships.ts';
import type { GroupsService } from '../../services/groups.ts';
import type { InvitationsService } from '../../services/invitations.ts';
import type { InvitationLinksService } from '../../services/invitation-links.ts';
import { accessRoutes } from './access.routes.ts';
import { authenticate, type Authenticated } from './auth.ts';
import { jsonBody } from './body.ts';
import { eventRoutes } from './events.routes.ts';
import { keyRoutes } from './keys.routes.ts';
import { groupRoutes } from './groups.routes.ts';
import { invitationRoutes } from './invitations.routes.ts';
import { invitationLinkRoutes } from './invitation-links.routes.ts';
import { membershipRoutes } from './memberships.routes.ts';
import { orgRoutes } from './orgs.routes.ts';
import { realmRoutes } from './realms.routes.ts';
import type { RealmsService } from '../../services/realms.ts';
import { openApiDocument } from './openapi.ts';
import type { AppRouteSpec } from './apps.routes.ts';
import { fieldIssues, InvalidRequest, problemHandler, prototypeKeyIssue, sendProblem } from './problem.ts';
import type { RouteSpec } from './route.ts';
import { userRoutes } from './users.routes.ts';
import { apiSecurityHeaders } from './security-headers.ts';

export { apiSecurityHeaders };

const emptyQuery = z.strictObject({});
const noBody = z.undefined({ message: 'this endpoint takes no body' });

export interface ManagementApiDeps {
  realms: Realms;
  keys: ManagementKeys;
  audit: AuditLog;
  users: UsersService;
  access: UserAccessService;
  orgs: OrgsService;
  memberships: MembershipsService;
  groups: GroupsService;
  invitations: InvitationsService;
  invitationLinks: InvitationLinksService;
  /** Realms and apps at run time; absent: those routes are not served. */
  realmsService?: RealmsService;
  events: EventLog;
  limiters: LimiterFactory;
  logger: Logger;
  /** Send Strict-Transport-Security (served over HTTPS). */
  hsts: boolean;
  /** The apps' back channel (served by appBackChannel, ahead of this router): documented in the same OpenAPI document. */
  appRoutes?: AppRouteSpec[];
}

/**
 * Every route of the API, in the order Express tries them: the user access
 * routes first (authenticate-key, an app's hot path, is the first of all, one
 * layer away), and fixed paths before `:userId`.
 */
export function managementRoutes(d: Pick<ManagementApiDeps, 'keys' | 'audit' | 'users' | 'access' | 'realmsService' | 'events' | 'orgs' | 'memberships' | 'groups' | 'invitations' | 'invitationLinks'>): RouteSpec[] {
  return [
    ...accessRoutes(d.access),
    ...keyRoutes(d.keys, d.audit),
    ...(d.realmsService ? realmRoutes(d.realmsService) : []),
    ...eventRoutes(d.events),
    ...orgRoutes(d.orgs),
    ...membershipRoutes(d.memberships),
    ...groupRoutes(d.groups),
    ...invitationRoutes(d.invitations, d.orgs),
    ...invitationLinkRoutes(d.invitationLinks),
    ...userRoutes(d.users),
  ];
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequest(fieldIssues(result.error, where === 'body' ? '' : where));
  return result.data;
}

/**
 * The management API at /api/v1 (DESIGN.md §8): bearer-key auth, realm
 * scoping (another realm's ids are 404), read keys refused on writes,
 * JSON bodies ≤ 64 kB, problem+json errors, and the OpenAPI document.
 */
export function managementApi(d: ManagementApiDeps): Router {
  const routes = managementRoutes(d);
  const router = Router();
  // Built on the first request for it, then served as the same bytes: most instances are never asked.
  let document: string | null = null;

  const securityHeaders = apiSecurityHeaders(d.hsts);
  router.use((_req, res, next) => {
    res.setHeaders(securityHeaders);
    next();
  });

  /** GET /api/v1/openapi.json — public: it describes, it grants nothing. */
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    document ??= JSON.stringify(openApiDocument(routes, '/', d.appRoutes));
    res.type('application/json').send(document);
  });

  router.use(authenticate(d.keys, d.limiters));
  router.use(jsonBody());
  router.use((req, _res, next) => {
    const issue = prototypeKeyIssue(req.body);
    next(issue ? new InvalidRequest([issue]) : undefined);
  });

  for (const r of routes) {
    router[r.method](r.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const { key, ctx } = res.locals.auth as Authenticated;
        if (r.scope === 'all-realms' && key.realmId !== null) {
          return sendProblem(res, 403, 'forbidden', 'This endpoint takes a key for every realm (realm \'*\')');
        }
        const params = parse(r.params, req.params, 'path');
        const realmId = (params as { realmId?: string } | undefined)?.realmId;
        const realm = realmId !== undefined ? d.realms.byIdOrNull(realmId) : null;
        if (realmId !== undefined && (!realm || !keySeesRealm(key, realmId))) throw new NotFoundError('realm');
        if (r.access === 'write' && key.access !== 'write') return sendProblem(res, 403, 'forbidden', 'This key may only read');
        const query = parse(r.query ?? emptyQuery, req.query, 'query');
        // A body on a route that takes none is the caller's mistake (express.json leaves req.body undefined without one,
        // and makes {} of an empty one — `Content-Length: 0`, what clients send for a POST without a body — which is none).
        const sent = req.headers['content-length'] === '0' ? undefined : req.body;
        const body = r.body ? parse(r.body, sent ?? {}, 'body') : parse(noBody, sent, 'body');
        const reply = await r.handler({ params, query, body, realm: realm!, key, ctx, req, res });
        if (!reply) return;
        for (const [h, v] of Object.entries(reply.headers ?? {})) res.setHeader(h, v);
        if (reply.body === undefined) res.status(reply.status).end();
        else res.status(reply.status).json(reply.body);
      } catch (err) {
        next(err);
      }
    });
  }
  router.use((_req, res) => sendProblem(res, 404, 'not_found', 'No such endpoint: see /api/v1/openapi.json'));
  router.use(problemHandler(d.logger));
  return router;
}

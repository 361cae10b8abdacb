import type { Request, Response } from 'express';
import type { RealmConfig } from '../config/index.ts';
import type { Capability, RoleGrant } from '../domain/operator-role.ts';
import type { User } from '../identity/user.ts';
import type { RequestContext } from '../services/context.ts';

/** What every console handler is given: who is asking, on which realm, and the context its writes carry. */
export interface ConsoleRequest {
  operator: User;
  grants: RoleGrant[];
  /** The realm of the path's `:realmId`, checked against the operator's grants; null on pages of no realm. */
  realm: RealmConfig | null;
  /** The request's context for services: the operator as actor, the request id, IP and browser. */
  ctx: RequestContext;
  /** Whether the operator may do `capability` on `realmId` (default: this page's realm). Views use it to hide buttons. */
  can(capability: Capability, realmId?: string): boolean;
}

/**
 * One console page or form (the pattern of api/v1/route.ts): the guard in
 * access.ts runs before every handler, so no handler checks a role itself.
 * `capability` is what the operator needs on the path's realm (or, for a
 * path without `:realmId`, on any realm they have a role on — `realmFree`
 * pages do their own cross-realm rule, written in the spec).
 */
export interface ConsoleRouteSpec {
  method: 'get' | 'post';
  /** Under /admin, e.g. '/realms/:realmId/users'. */
  path: string;
  capability: Capability;
  /**
   * Destructive: asks to confirm it's you when the sign-in is older than the recent-auth window, then comes back to
   * the page at the same path (a GET), or to the page this function names (a form whose path has no page of its own).
   */
  stepUp?: true | ((req: Request) => string);
  handler: (req: Request, res: Response, c: ConsoleRequest) => Promise<void> | void;
}

export const consoleRoute = (spec: ConsoleRouteSpec): ConsoleRouteSpec => spec;

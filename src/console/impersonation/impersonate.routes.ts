import type { Request } from 'express';
import { z } from 'zod';
import { ConflictError, ForbiddenError, RuleViolation } from '../../domain/errors.ts';
import { allowFormAction } from '../../http/csp.ts';
import type { ImpersonationService } from '../../services/impersonation.ts';
import type { UsersService } from '../../services/users.ts';
import { consoleMessageOf } from '../access.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { renderConfirm } from '../users/user-access.routes.ts';

export interface ImpersonatePageDeps {
  users: UsersService;
  impersonation: ImpersonationService;
  /** The console realm: its id, and its issuer (publicUrl) that the session's JWTs name in `act.iss`. */
  consoleRealmId: string;
  consolePublicUrl: string;
}

const reasonForm = z.object({ reason: z.string().max(1000).optional() });

/**
 * "Sign in as this user" (docs/design/console.md §3): a confirmation page that
 * asks for the reason, then ImpersonationService.begin and off to the user's
 * realm, where the operator's browser confirms once more and becomes the user.
 */
export function impersonateRoutes(d: ImpersonatePageDeps): ConsoleRouteSpec[] {
  const path = '/realms/:realmId/users/:userId/impersonate';
  const page = (req: Request, reason: string, error: { message: string; params?: Record<string, unknown> } | null = null) => ({
    titleKey: 'console.userPage.impersonateTitle',
    leadKey: 'console.userPage.impersonateLead',
    action: req.originalUrl.split('?')[0]!,
    submitKey: 'console.userPage.impersonateSubmit',
    reason: { value: reason },
    error,
  });
  return [
    // Step-up before the reason is typed: coming back from "confirm it's you" would lose it.
    consoleRoute({
      method: 'get',
      path,
      capability: 'impersonate',
      stepUp: true,
      async handler(req, res, c) {
        // The form's answer redirects to the user's realm (another origin): CSP form-action governs that redirect too.
        allowFormAction(res, c.realm!.publicUrl);
        renderConfirm(res, c, await d.users.get(c.realm!, String(req.params.userId)), page(req, ''));
      },
    }),
    consoleRoute({
      method: 'post',
      path,
      capability: 'impersonate',
      stepUp: true,
      async handler(req, res, c: ConsoleRequest) {
        const user = await d.users.get(c.realm!, String(req.params.userId));
        // A refusal shows the form again: its next answer, too, may redirect to the user's realm.
        allowFormAction(res, c.realm!.publicUrl);
        const form = reasonForm.safeParse(req.body ?? {});
        const reason = form.success ? (form.data.reason ?? '') : '';
        try {
          if (!form.success) throw new RuleViolation([{ field: 'reason', code: 'reason.invalid', message: 'one reason' }]);
          const { url } = await d.impersonation.begin(
            c.realm!,
            user.id,
            { operatorId: c.operator.id, consoleRealmId: d.consoleRealmId, consoleSid: req.consoleOperator!.sid, iss: d.consolePublicUrl },
            reason,
            c.ctx,
          );
          res.redirect(303, url);
        } catch (err) {
          if (err instanceof RuleViolation) return renderConfirm(res, c, user, page(req, reason, { message: 'console.userPage.impersonateReason' }), 422);
          if (err instanceof ConflictError) return renderConfirm(res, c, user, page(req, reason, { message: consoleMessageOf(err) }), 409);
          if (err instanceof ForbiddenError) return renderConfirm(res, c, user, page(req, reason, { message: 'console.userPage.impersonateForbidden' }), 403);
          throw err;
        }
      },
    }),
  ];
}

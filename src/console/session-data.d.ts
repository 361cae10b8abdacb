import type { User as GatehouseUser } from '../identity/user.ts';
import type { RoleGrant } from '../domain/operator-role.ts';

// The console's own session (cookie gh.console) and what loadOperator puts on the request.

declare global {
  namespace Express {
    interface Request {
      /** Set on /admin pages by loadOperator: the signed-in operator and their grants, read on every request. */
      consoleOperator?: { user: GatehouseUser; grants: RoleGrant[]; authAt: number; sid: string };
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    /** A console sign-in under way: the state sent to the hosted login, and the console page to return to. */
    consoleLogin: { state: string; next: string };
    /** A signed-in operator: their console-realm user and login session, and when they last proved who they are. */
    console: { operatorId: string; sid: string; authAt: number };
  }
}

export {};

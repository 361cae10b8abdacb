/**
 * Who makes a management change, and from which request: every service write takes one (audit, events).
 * `user`: a realm's own user acting on what their memberships allow (a member inviting, leaving an org).
 */
export interface Actor {
  type: 'api_key' | 'operator' | 'cli' | 'user';
  id: string | null;
}

export interface RequestContext {
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** The event log's actor for a management change: the key or operator; a CLI command is the system's. */
export function eventActor(ctx: RequestContext): { type: 'operator' | 'api_key' | 'user' | 'system'; id: string | null } {
  return ctx.actor.type === 'cli' ? { type: 'system', id: null } : { type: ctx.actor.type, id: ctx.actor.id };
}

/** A CLI command's context: no request behind it. */
export const CLI_CONTEXT: RequestContext = { actor: { type: 'cli', id: null }, requestId: null, ip: null, userAgent: null };

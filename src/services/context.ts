/** Who makes a management change, and from which request: every service write takes one (audit, events). */
export interface Actor {
  type: 'api_key' | 'operator' | 'cli';
  id: string | null;
}

export interface RequestContext {
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** A CLI command's context: no request behind it. */
export const CLI_CONTEXT: RequestContext = { actor: { type: 'cli', id: null }, requestId: null, ip: null, userAgent: null };

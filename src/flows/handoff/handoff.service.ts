import { z } from 'zod';
import type { AppConfig, RealmConfig } from '../../config/index.ts';
import { matchRedirectUri } from '../../identity/redirect-uri.ts';
import { FlowError } from '../../http/flow-error.ts';
import type { ReturnTo } from '../../domain/return-to.ts';

/** Where the user goes once the flow is done: an app's registered URI, with the app's `state`. */
export interface ReturnTarget {
  app: AppConfig;
  redirectUri: string;
  state?: string;
  /** `org=select`: a user with several memberships picks one before the token goes (docs/design/orgs.md §7.1). */
  pickOrg?: true;
}

const printable = /^[\x20-\x7e]*$/;

/** The redirect-protocol parameters (DESIGN.md §3), as they arrive in the query string. */
export const returnParamsSchema = z.object({
  redirect_uri: z.string().max(2048).optional(),
  state: z.string().max(1024).regex(printable).optional(),
  client_id: z.string().max(64).optional(),
  org: z.enum(['select']).optional(),
});

export type ReturnParams = z.infer<typeof returnParamsSchema>;

/**
 * Resolves `redirect_uri` (+ optional `client_id`) against the realm's apps.
 * `kind` picks the list: login URIs, or logout URIs. No redirect_uri → null
 * (the user lands in the personal center). Anything else that does not match
 * exactly → FlowError 400: a page, never a redirect.
 */
export function resolveReturnTarget(realm: RealmConfig, query: unknown, kind: 'login' | 'logout' = 'login'): ReturnTarget | null {
  const parsed = returnParamsSchema.safeParse(query);
  if (!parsed.success) throw new FlowError(400, 'redirect.invalidParams');
  const { redirect_uri: uri, state, client_id: clientId, org } = parsed.data;
  if (uri === undefined || uri === '') {
    if (clientId !== undefined && !realm.apps.some((a) => a.clientId === clientId)) throw new FlowError(400, 'redirect.unknownApp');
    return null;
  }
  const candidates = clientId === undefined ? realm.apps : realm.apps.filter((a) => a.clientId === clientId);
  if (candidates.length === 0) throw new FlowError(400, 'redirect.unknownApp');
  for (const app of candidates) {
    const registered = kind === 'login' ? app.redirectUris : app.logoutRedirectUris;
    const match = matchRedirectUri(uri, registered);
    if (match) return { app, redirectUri: match, state: state || undefined, ...(org === 'select' && kind === 'login' ? { pickOrg: true as const } : {}) };
  }
  throw new FlowError(400, 'redirect.unregistered');
}

/** The query string that carries the flow on to a sibling page (login ↔ signup), or ''. */
export function returnQuery(target: ReturnTarget | null): string {
  if (!target) return '';
  const params = new URLSearchParams({ redirect_uri: target.redirectUri, client_id: target.app.clientId });
  if (target.state) params.set('state', target.state);
  if (target.pickOrg) params.set('org', 'select');
  return `?${params.toString()}`;
}

/** `uri` with `params` added to its query (keeping a registered query) or its fragment. */
export function withParams(uri: string, params: Record<string, string | undefined>, where: 'query' | 'fragment'): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  const encoded = new URLSearchParams(entries).toString();
  if (!encoded) return uri;
  if (where === 'fragment') return `${uri}#${encoded}`;
  return `${uri}${uri.includes('?') ? '&' : '?'}${encoded}`;
}

/** A ReturnTarget as it can be stored (session, token data) and checked again later. */
export function toReturnInfo(target: ReturnTarget | null): ReturnTo | null {
  return target
    ? { redirectUri: target.redirectUri, clientId: target.app.clientId, ...(target.state ? { state: target.state } : {}), ...(target.pickOrg ? { org: 'select' as const } : {}) }
    : null;
}

/** A stored return target, checked against the realm's apps as they are now; null when it no longer matches. */
export function fromReturnInfo(realm: RealmConfig, info: unknown): ReturnTarget | null {
  if (!info || typeof info !== 'object') return null;
  const { redirectUri, clientId, state, org } = info as Partial<ReturnTo>;
  try {
    return resolveReturnTarget(realm, { redirect_uri: redirectUri, client_id: clientId, state, org });
  } catch {
    return null;
  }
}

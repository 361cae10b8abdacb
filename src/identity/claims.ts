import type { JWTPayload } from 'jose';
import type { OrgClaims } from '../domain/org-claims.ts';
import { displayName, type User } from './user.ts';

export interface ClaimsContext {
  issuer: string;
  audience: string;
  realmId: string;
  sessionId: string;
  jwtId: string;
  amr: string[];
  /** Only for a session an operator started as the user: RFC 8693 §4.1's actor, their subject and issuer. */
  act?: { sub: string; iss: string };
  /** Whether the user's custom attributes go in as `cs` (the realm's `tokens.fields` has `custom`; default yes). */
  includeCustom?: boolean;
  /** `perm`, `orgs`, `orgs_truncated` (domain/org-claims.ts), merged after `cs`; `orgs: []` is kept on purpose. */
  orgs?: OrgClaims;
}

/**
 * The JWT's claims (DESIGN.md §3): OIDC names where one exists, AuthRocket's
 * otherwise. Empty fields are left out rather than sent as null.
 */
export function buildClaims(user: User, ctx: ClaimsContext): JWTPayload {
  const claims: Record<string, unknown> = {
    iss: ctx.issuer,
    aud: ctx.audience,
    sub: user.id,
    rid: ctx.realmId,
    sid: ctx.sessionId,
    jti: ctx.jwtId,
    amr: ctx.amr,
    preferred_username: user.username,
    name: user.userType === 'human' ? displayName(user) : undefined,
    given_name: user.firstName ?? undefined,
    family_name: user.lastName ?? undefined,
    nickname: user.nickname ?? undefined,
    picture: user.photo ?? undefined,
    email: user.email ?? undefined,
    email_verified: user.email ? user.emailVerification === 'verified' : undefined,
    phone_number: user.phone ?? undefined,
    phone_number_verified: user.phone ? user.phoneVerified : undefined,
    ref: user.reference ?? undefined,
    cs: ctx.includeCustom !== false && Object.keys(user.customAttributes).length > 0 ? user.customAttributes : undefined,
    perm: ctx.orgs?.perm,
    orgs: ctx.orgs?.orgs,
    orgs_truncated: ctx.orgs?.orgs_truncated,
    // `sub` stays the user the token is about; `act` names who is actually present (impersonation).
    act: ctx.act ? { sub: ctx.act.sub, iss: ctx.act.iss } : undefined,
  };
  for (const key of Object.keys(claims)) if (claims[key] === undefined || claims[key] === '') delete claims[key];
  return claims as JWTPayload;
}

import type { JWTPayload } from 'jose';
import { displayName, type User } from './user.ts';

export interface ClaimsContext {
  issuer: string;
  audience: string;
  realmId: string;
  sessionId: string;
  jwtId: string;
  amr: string[];
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
    cs: Object.keys(user.customAttributes).length > 0 ? user.customAttributes : undefined,
  };
  for (const key of Object.keys(claims)) if (claims[key] === undefined || claims[key] === '') delete claims[key];
  return claims as JWTPayload;
}

import { compactVerify, createLocalJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { AppConfig, RealmConfig } from '../config/index.ts';
import type { OrgClaims } from '../domain/org-claims.ts';
import type { LoginSession } from '../ports/login-sessions.ts';
import { buildClaims } from './claims.ts';
import type { KeyRing } from './keys.ts';
import { randomId } from './random.ts';
import type { User } from './user.ts';

/** Issues the JWT an app receives, and reads back the ones Gatehouse issued (logout's token_hint). */
export class TokenIssuer {
  constructor(private readonly keys: KeyRing) {}

  /** `orgs`: the realm's org claims (HandoffService reads them), merged after `cs`. */
  issue(realm: RealmConfig, app: AppConfig, user: User, session: LoginSession, orgs?: OrgClaims): Promise<string> {
    const claims = buildClaims(user, {
      issuer: realm.publicUrl,
      audience: app.clientId,
      realmId: realm.id,
      sessionId: session.id,
      jwtId: randomId(16),
      amr: session.amr,
      act: session.act ? { sub: session.act.sub, iss: session.act.iss } : undefined,
      includeCustom: realm.tokens.fields.includes('custom'),
      orgs,
    });
    return this.keys.sign(realm.id, realm.tokens.algorithm, claims, realm.tokens.ttlSeconds);
  }

  /**
   * The `sid` of a token this realm signed, or null. Expiry is not checked: a
   * logout hint may be old, and it only ever ends the session it names.
   */
  async sessionIdOf(realm: RealmConfig, token: string): Promise<string | null> {
    try {
      const jwks = createLocalJWKSet(await this.keys.jwks(realm.id, realm.tokens.ttlSeconds * 2));
      await compactVerify(token, jwks);
      const claims = decodeJwt(token);
      return claims.iss === realm.publicUrl && claims.rid === realm.id && typeof claims.sid === 'string' ? claims.sid : null;
    } catch {
      return null;
    }
  }

  /**
   * The claims of a token this realm signed for `audience` — signature,
   * issuer, audience and expiry checked, as an app checks them against the
   * JWKS — or null. The console verifies its operators' tokens this way.
   */
  async verify(realm: RealmConfig, token: string, audience: string): Promise<JWTPayload | null> {
    try {
      const jwks = createLocalJWKSet(await this.keys.jwks(realm.id, realm.tokens.ttlSeconds * 2));
      const { payload } = await jwtVerify(token, jwks, { issuer: realm.publicUrl, audience, algorithms: [realm.tokens.algorithm] });
      return payload.rid === realm.id ? payload : null;
    } catch {
      return null;
    }
  }
}

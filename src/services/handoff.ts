import type { AppConfig, RealmConfig } from '../config/index.ts';
import { needsAccessView, orgClaims, type OrgClaims } from '../domain/org-claims.ts';
import type { TokenIssuer } from '../identity/token-issuer.ts';
import type { User } from '../identity/user.ts';
import { decodeJwt } from 'jose';
import type { LoginSessions } from '../identity/login-sessions.ts';
import type { LoginSession } from '../ports/login-sessions.ts';
import type { Store } from '../store/port.ts';

/**
 * What goes in an app's JWT at the hand-off (docs/design/orgs.md §4.4): the user's claims, and — when the realm's
 * `tokens.fields` asks for memberships or orgs — their org claims, read fresh from `store.orgs.accessOf` (which
 * leaves out expired memberships and closed orgs). A realm with the default `['custom']` reads nothing more.
 * The access rule and org selection come with later commits.
 */
/** What the back channel's POST /api/v1/apps/token answers. */
export type Refreshed = { kind: 'token'; token: string; expiresAt: Date; sid: string } | { kind: 'gone' };

export class HandoffService {
  constructor(private readonly d: { store: Pick<Store, 'orgs'>; issuer: TokenIssuer; sessions: Pick<LoginSessions, 'liveForApp'>; clock: () => Date }) {}

  /** The org claims for this user's token, or undefined when the realm sends none (no read then). */
  async claimsFor(realm: RealmConfig, user: User, _session: LoginSession): Promise<OrgClaims | undefined> {
    if (!needsAccessView(realm)) return undefined;
    // Org selection (the session's selected org) is a later commit: none is selected yet.
    const selectedOrgId = null;
    const view = await this.d.store.orgs.accessOf(realm.id, user.id, this.d.clock(), { maxOrgs: realm.tokens.maxOrgs, selectedOrgId });
    return orgClaims(view, realm.tokens.fields, selectedOrgId);
  }

  /** The signed JWT for `app`. */
  async token(realm: RealmConfig, app: AppConfig, user: User, session: LoginSession): Promise<string> {
    return this.d.issuer.issue(realm, app, user, session, await this.claimsFor(realm, user, session));
  }

  /**
   * A fresh JWT for `app` on the live session `sid` (AuthRocket's "Returning a JWT with Updated User and Org
   * Data"): the user and their orgs as they are now, the session's `amr` and `act`. `gone` when the session has
   * ended or timed out, its user is deleted or inactive, or its impersonating operator has left. The session is
   * not touched.
   */
  async refresh(realm: RealmConfig, app: AppConfig, sid: string): Promise<Refreshed> {
    const live = await this.d.sessions.liveForApp(realm, sid);
    if (!live) return { kind: 'gone' };
    const token = await this.token(realm, app, live.user, live.session);
    return { kind: 'token', token, expiresAt: new Date(decodeJwt(token).exp! * 1000), sid: live.session.id };
  }
}

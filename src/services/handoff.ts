import type { AppConfig, RealmConfig } from '../config/index.ts';
import { needsAccessView, orgClaims, type OrgClaims } from '../domain/org-claims.ts';
import type { TokenIssuer } from '../identity/token-issuer.ts';
import type { User } from '../identity/user.ts';
import { decodeJwt } from 'jose';
import type { LoginSessions } from '../identity/login-sessions.ts';
import type { LoginSession } from '../ports/login-sessions.ts';
import type { Store } from '../store/port.ts';
import { describeAccess, explainAccess } from '../domain/app-access.ts';
import { accessSourcesOf } from './app-access.ts';
import { publish, type EventOrigin } from '../events/publish.ts';

/** An org the user may pick for the session (`/login?…&org=select`). */
export interface OrgChoice {
  orgId: string;
  name: string;
  reference: string | null;
}

/** The picker's list: by name, at most PICKER_MAX, the session's current pick (when still valid) named. */
export interface OrgChoices {
  choices: OrgChoice[];
  current: string | null;
  /** More live memberships than the picker lists. */
  truncated: boolean;
}

/** The orgs the picker lists at most. */
export const PICKER_MAX = 100;

/** A token for the app, or its access rule refuses the user (the event is written). */
export type Issued = { kind: 'token'; token: string } | { kind: 'denied' };

/** What the hand-off does next: send this token, let the user pick an org first, or say the app is closed to them. */
export type Prepared = Issued | { kind: 'pick'; choices: OrgChoices };

/** What the back channel's POST /api/v1/apps/token answers. */
export type Refreshed = { kind: 'token'; token: string; expiresAt: Date; sid: string } | { kind: 'gone' } | { kind: 'denied' };

/**
 * What goes in an app's JWT at the hand-off (docs/design/orgs.md §4.4): the user's claims, and — when the realm's
 * `tokens.fields` asks for memberships or orgs — their org claims, read fresh from `store.orgs.accessOf` (which
 * leaves out expired memberships and closed orgs). A realm with the default `['custom']` reads nothing more.
 * It is also where the app's access rule (docs/design/orgs.md §6) is applied: a user it refuses gets no token,
 * and the event `user.app_access.denied` says so.
 */
export class HandoffService {
  constructor(private readonly d: { store: Pick<Store, 'orgs' | 'events'>; issuer: TokenIssuer; sessions: Pick<LoginSessions, 'liveForApp' | 'selectOrg'>; clock: () => Date }) {}

  /** The org claims for this user's token, or undefined when the realm sends none (no read then). */
  async claimsFor(realm: RealmConfig, user: User, session: LoginSession): Promise<OrgClaims | undefined> {
    if (!needsAccessView(realm)) return undefined;
    // The session's pick; one no longer valid (membership gone or expired, org closed) is in no entry, so none is marked.
    const selectedOrgId = session.selectedOrgId;
    const view = await this.d.store.orgs.accessOf(realm.id, user.id, this.d.clock(), { maxOrgs: realm.tokens.maxOrgs, selectedOrgId });
    return orgClaims(view, realm.tokens.fields, selectedOrgId);
  }

  /**
   * The hand-off, `pick` when the app asked `org=select` (docs/design/orgs.md §7.1, §11.1): a user with two or
   * more live memberships of active orgs picks one every time (the current one checked); with exactly one, it
   * is picked for them; with none, the token goes without. A realm whose tokens carry no orgs ignores `pick`.
   */
  async prepare(realm: RealmConfig, app: AppConfig, user: User, session: LoginSession, o: { pick: boolean; origin: EventOrigin }): Promise<Prepared> {
    if (!(await this.allowed(realm, app, user, o.origin))) return { kind: 'denied' };
    if (o.pick && needsAccessView(realm)) {
      const choices = await this.orgChoices(realm, user, session);
      if (choices.choices.length >= 2) return { kind: 'pick', choices };
      const only = choices.choices[0];
      if (only && session.selectedOrgId !== only.orgId) await this.d.sessions.selectOrg(realm, session, only.orgId);
    }
    return { kind: 'token', token: await this.token(realm, app, user, session) };
  }

  /** The token for `app` once the org is picked: the access rule checked again (the memberships may have changed since). */
  async issue(realm: RealmConfig, app: AppConfig, user: User, session: LoginSession, origin: EventOrigin): Promise<Issued> {
    if (!(await this.allowed(realm, app, user, origin))) return { kind: 'denied' };
    return { kind: 'token', token: await this.token(realm, app, user, session) };
  }

  /**
   * Whether `app`'s access rule lets `user` in, from every live membership and group (not the token's possibly
   * truncated list); when not, `user.app_access.denied` is written. An app open to everyone reads nothing.
   */
  private async allowed(realm: RealmConfig, app: AppConfig, user: User, origin: EventOrigin): Promise<boolean> {
    const access = app.access;
    if (access.type === 'everyone') return true;
    const at = this.d.clock();
    // The console's Apps panel explains by the same call (AppAccessService): one rule for both.
    const ok = explainAccess(access, await accessSourcesOf(this.d.store.orgs, realm.id, user.id, at)).allowed;
    if (!ok) {
      await publish(this.d.store.events, {
        realm,
        type: 'user.app_access.denied',
        userId: user.id,
        origin: { ...origin, clientId: app.clientId },
        at,
        data: { clientId: app.clientId, rule: describeAccess(access) },
      });
    }
    return ok;
  }

  /** The orgs the user may pick: live memberships of active orgs, by name. */
  async orgChoices(realm: RealmConfig, user: User, session: LoginSession): Promise<OrgChoices> {
    const view = await this.d.store.orgs.accessOf(realm.id, user.id, this.d.clock(), { maxOrgs: PICKER_MAX, selectedOrgId: session.selectedOrgId });
    const choices = view.orgs.map((o) => ({ orgId: o.orgId, name: o.name, reference: o.reference }));
    choices.sort((a, b) => a.name.localeCompare(b.name) || a.orgId.localeCompare(b.orgId));
    const current = choices.some((c) => c.orgId === session.selectedOrgId) ? session.selectedOrgId : null;
    return { choices, current, truncated: view.truncated };
  }

  /** Picks `orgId` for the session: only an org the user holds a live membership of, while it is active. */
  async select(realm: RealmConfig, user: User, session: LoginSession, orgId: string): Promise<boolean> {
    if (!(await this.d.store.orgs.memberOfAny(realm.id, user.id, this.d.clock(), [orgId], []))) return false;
    return this.d.sessions.selectOrg(realm, session, orgId);
  }

  /** The signed JWT for `app`, whatever its access rule: callers go through prepare, issue or refresh. */
  private async token(realm: RealmConfig, app: AppConfig, user: User, session: LoginSession): Promise<string> {
    return this.d.issuer.issue(realm, app, user, session, await this.claimsFor(realm, user, session));
  }

  /**
   * A fresh JWT for `app` on the live session `sid` (AuthRocket's "Returning a JWT with Updated User and Org
   * Data"): the user and their orgs as they are now, the session's `amr` and `act`. `gone` when the session has
   * ended or timed out, its user is deleted or inactive, or its impersonating operator has left; `denied` when the
   * app's access rule now refuses the user. The session is not touched.
   */
  async refresh(realm: RealmConfig, app: AppConfig, sid: string, origin: EventOrigin): Promise<Refreshed> {
    const live = await this.d.sessions.liveForApp(realm, sid);
    if (!live) return { kind: 'gone' };
    if (!(await this.allowed(realm, app, live.user, origin))) return { kind: 'denied' };
    const token = await this.token(realm, app, live.user, live.session);
    return { kind: 'token', token, expiresAt: new Date(decodeJwt(token).exp! * 1000), sid: live.session.id };
  }
}

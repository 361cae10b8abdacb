import type { ConsoleConfig, RealmConfig } from '../config/index.ts';
import { CONSOLE_CLIENT_ID } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation, type FieldIssue } from '../domain/errors.ts';
import { ALL_REALMS, isOperatorRole, OPERATOR_ROLES, type OperatorRole, type RoleGrant } from '../domain/operator-role.ts';
import type { UserCursor } from '../domain/user-query.ts';
import type { User } from '../identity/user.ts';
import type { OperatorRolesPort } from '../ports/operator-roles.ts';
import type { Store } from '../store/port.ts';
import type { AuditLog } from './audit-log.ts';
import { CLI_CONTEXT, type RequestContext } from './context.ts';
import type { UserAccessService } from './user-access.ts';
import type { UsersService } from './users.ts';

export interface OperatorsDeps {
  roles: OperatorRolesPort;
  users: UsersService;
  access: UserAccessService;
  audit: AuditLog;
  store: Store;
  /** The console (Config.console); null: there is none, and every call but list/grantsOf refuses. */
  console: ConsoleConfig | null;
  /** A served realm by id (the console's included), or null. */
  realmOf: (id: string) => RealmConfig | null;
  clock: () => Date;
}

export interface SetupLink {
  /** The console host's `/reset-password?token=…`: the operator chooses a password, then signs in to the console. */
  setupLink: string;
  expiresAt: Date;
}

/** Operators read in pages of this many (the console realm's users are a handful; the loop is for safety, not speed). */
const PAGE = 500;

/**
 * The console's operators (docs/design/console.md §1.3): users of the console realm, each with role grants on
 * realms ('*': every realm). Created without a password: the setup link (a reset link of the console realm, an
 * hour long, that goes on to the console's sign-in) lets them choose one, and the realm makes them enrol an
 * authenticator at that first sign-in. Every write is audited with the caller's actor. The last owner of every
 * realm is never removed: `gatehouse operators setup-link` is the way back in, not a second owner.
 */
export class OperatorsService {
  constructor(private readonly d: OperatorsDeps) {}

  /** The console's realm as it is served now; ConflictError when there is no console. */
  private consoleRealm(): RealmConfig {
    const realm = this.d.console ? this.d.realmOf(this.d.console.realmId) : null;
    if (!realm) throw new ConflictError('console.disabled', 'there is no console: set console.publicUrl in the configuration file or CONSOLE_PUBLIC_URL');
    return realm;
  }

  private async operator(realm: RealmConfig, operatorId: string): Promise<User> {
    const user = await this.d.store.findUserById(realm.id, operatorId);
    if (!user) throw new NotFoundError('operator');
    return user;
  }

  /** The console realm's user with this email, or NotFoundError. */
  async byEmail(email: string): Promise<User> {
    const realm = this.consoleRealm();
    const [found] = await this.d.store.findUsersByEmail(realm.id, email);
    if (!found) throw new NotFoundError('operator');
    return found.user;
  }

  /** A grant's realm: '*' or a served realm other than the console's own (operators are managed here, not by roles on it). */
  private checkGrant(realmId: string, role: unknown, field: string): FieldIssue[] {
    const issues: FieldIssue[] = [];
    if (realmId !== ALL_REALMS && (realmId === this.d.console?.realmId || !this.d.realmOf(realmId))) {
      issues.push({ field: `${field}.realmId`, code: 'unknown_realm', message: `no realm has the id "${realmId}" (a realm id, or * for every realm)` });
    }
    if (!isOperatorRole(role)) issues.push({ field: `${field}.role`, code: 'invalid_role', message: 'must be owner, admin or viewer' });
    return issues;
  }

  private link(realm: RealmConfig, operatorId: string, ctx: RequestContext): Promise<SetupLink> {
    const ret = { clientId: CONSOLE_CLIENT_ID, redirectUri: this.d.console!.callbackUrl };
    return this.d.access.passwordToken(realm, operatorId, false, ctx, { ret }).then(({ link, expiresAt }) => ({ setupLink: link, expiresAt }));
  }

  private grantedBy(ctx: RequestContext): string | null {
    return ctx.actor.type === 'operator' ? ctx.actor.id : null;
  }

  private auditGrant(ctx: RequestContext, operation: 'operator.grant' | 'operator.revoke', operatorId: string, realmId: string, before: RoleGrant | null, after: RoleGrant | null) {
    return this.d.audit.record(ctx, {
      realmId: realmId === ALL_REALMS ? null : realmId,
      operation,
      target: { type: 'operator', id: operatorId },
      before: before && { realmId: before.realmId, role: before.role },
      after: after && { realmId: after.realmId, role: after.role },
    });
  }

  /** A new operator with its grants (at least one), and the setup link to hand them. */
  async create(input: { email: string; grants: Array<{ realmId: string; role: OperatorRole }> }, ctx: RequestContext): Promise<{ operator: User } & SetupLink> {
    const realm = this.consoleRealm();
    const issues = input.grants.flatMap((g, i) => this.checkGrant(g.realmId, g.role, `grants[${i}]`));
    if (input.grants.length === 0) issues.push({ field: 'grants', code: 'required', message: 'an operator needs a role on a realm (or on *)' });
    if (new Set(input.grants.map((g) => g.realmId)).size !== input.grants.length) issues.push({ field: 'grants', code: 'duplicate', message: 'one role per realm' });
    if (issues.length > 0) throw new RuleViolation(issues);
    // The users service's rules: emails as usernames, unique, a well-formed address. Created verified, without a password.
    const { user } = await this.d.users.create(realm, { userType: 'human', email: input.email, emailVerification: 'verified' }, ctx);
    for (const g of input.grants) {
      const grant: RoleGrant = { operatorId: user.id, realmId: g.realmId, role: g.role, grantedAt: this.d.clock(), grantedBy: this.grantedBy(ctx) };
      await this.d.roles.setGrant(grant);
      await this.auditGrant(ctx, 'operator.grant', user.id, g.realmId, null, grant);
    }
    return { operator: user, ...(await this.link(realm, user.id, ctx)) };
  }

  /** A new setup link for the operator with this email (lost password or authenticator, or an unused link); an older one stops working. */
  async setupLink(email: string, ctx: RequestContext): Promise<SetupLink> {
    const realm = this.consoleRealm();
    const operator = await this.byEmail(email);
    return this.link(realm, operator.id, ctx);
  }

  /**
   * The operators with their grants. With `realmId`: those who can reach that realm (a grant on it or on '*'),
   * each with those grants only. Without: every user of the console realm, with all their grants (none: no access).
   */
  async list(realmId?: string): Promise<Array<{ operator: User; grants: RoleGrant[] }>> {
    const realm = this.d.console ? this.d.realmOf(this.d.console.realmId) : null;
    if (!realm) return [];
    const grants = realmId === undefined ? await this.d.roles.allGrants() : await this.d.roles.grantsOn(realmId);
    const byOperator = new Map<string, RoleGrant[]>();
    for (const g of grants) byOperator.set(g.operatorId, [...(byOperator.get(g.operatorId) ?? []), g]);
    if (realmId !== undefined) {
      const found = await Promise.all([...byOperator.keys()].map((id) => this.d.store.findUserById(realm.id, id)));
      return found.filter((u): u is User => u !== null).map((operator) => ({ operator, grants: byOperator.get(operator.id)! }));
    }
    const out: Array<{ operator: User; grants: RoleGrant[] }> = [];
    let after: UserCursor | null = null;
    do {
      const page: { users: User[]; next: UserCursor | null } = await this.d.users.list(realm, {}, { key: 'email', direction: 'asc' }, after, PAGE);
      for (const operator of page.users) out.push({ operator, grants: byOperator.get(operator.id) ?? [] });
      after = page.next;
    } while (after);
    return out;
  }

  /** Whether anyone holds a grant yet (the CLI makes the first operator owner of '*' by default). */
  hasOperators(): Promise<boolean> {
    return this.d.roles.anyOperator();
  }

  grantsOf(operatorId: string): Promise<RoleGrant[]> {
    return this.d.roles.grantsOf(operatorId);
  }

  /** Refuses a change that leaves no owner of every realm ('*'). */
  private async keepLastOwner(before: RoleGrant | undefined, nextRole: OperatorRole | null): Promise<void> {
    if (before?.realmId !== ALL_REALMS || before.role !== 'owner' || nextRole === 'owner') return;
    if ((await this.d.roles.countOwners(ALL_REALMS)) <= 1) {
      throw new ConflictError('last_owner', 'this is the last owner of every realm (*): make another operator owner of * first');
    }
  }

  /**
   * Refuses an operator taking away or lowering their own grant (a console click that would lock them out);
   * another owner, or the CLI, does it. Checked after the last-owner rule, whose message says more.
   */
  private keepOwnAccess(operatorId: string, before: RoleGrant | undefined, nextRole: OperatorRole | null, ctx: RequestContext): void {
    if (ctx.actor.type !== 'operator' || ctx.actor.id !== operatorId || !before) return;
    if (nextRole === null || OPERATOR_ROLES.indexOf(nextRole) < OPERATOR_ROLES.indexOf(before.role)) {
      throw new ConflictError('self_lockout', 'you cannot revoke or lower your own role: ask another owner to do it');
    }
  }

  /** Whether the operator has chosen a password (no: their setup link is still to be used). */
  async hasPassword(operatorId: string): Promise<boolean> {
    const realm = this.consoleRealm();
    return (await this.d.store.passwordHashOf(realm.id, operatorId)) !== null;
  }

  /** Gives the operator `role` on `realmId` ('*': every realm), replacing their role there. */
  async grant(operatorId: string, realmId: string, role: OperatorRole, ctx: RequestContext): Promise<void> {
    const realm = this.consoleRealm();
    const issues = this.checkGrant(realmId, role, 'grant');
    if (issues.length > 0) throw new RuleViolation(issues);
    await this.operator(realm, operatorId);
    const before = (await this.d.roles.grantsOf(operatorId)).find((g) => g.realmId === realmId);
    if (before?.role === role) return;
    await this.keepLastOwner(before, role);
    this.keepOwnAccess(operatorId, before, role, ctx);
    const after: RoleGrant = { operatorId, realmId, role, grantedAt: this.d.clock(), grantedBy: this.grantedBy(ctx) };
    await this.d.roles.setGrant(after);
    await this.auditGrant(ctx, 'operator.grant', operatorId, realmId, before ?? null, after);
  }

  /** Takes the operator's role on `realmId` away; NotFoundError when they had none there. */
  async revoke(operatorId: string, realmId: string, ctx: RequestContext): Promise<void> {
    this.consoleRealm();
    const before = (await this.d.roles.grantsOf(operatorId)).find((g) => g.realmId === realmId);
    if (!before) throw new NotFoundError('grant');
    await this.keepLastOwner(before, null);
    this.keepOwnAccess(operatorId, before, null, ctx);
    if (!(await this.d.roles.removeGrant(operatorId, realmId))) throw new NotFoundError('grant');
    await this.auditGrant(ctx, 'operator.revoke', operatorId, realmId, before, null);
  }

  /**
   * `npm start` only: the development operator, owner of every realm, made on first start. A setup link while
   * they have no password yet (a new one each start: the previous stops working); null once they chose one,
   * or when there is no console. `consoleUrl`: `<console.publicUrl>/admin`, null without a console.
   */
  async ensureDemo(email: string): Promise<{ setupLink: string | null; consoleUrl: string | null }> {
    if (!this.d.console || !this.d.realmOf(this.d.console.realmId)) return { setupLink: null, consoleUrl: null };
    const realm = this.consoleRealm();
    const consoleUrl = `${this.d.console.publicUrl}/admin`;
    const [found] = await this.d.store.findUsersByEmail(realm.id, email);
    if (!found) return { setupLink: (await this.create({ email, grants: [{ realmId: ALL_REALMS, role: 'owner' }] }, CLI_CONTEXT)).setupLink, consoleUrl };
    if (found.passwordHash) return { setupLink: null, consoleUrl };
    return { setupLink: (await this.link(realm, found.user.id, CLI_CONTEXT)).setupLink, consoleUrl };
  }
}

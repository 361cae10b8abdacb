import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { decodeCreatedCursor, encodeCreatedCursor } from '../../domain/org-cursor.ts';
import type { CreatedCursor, Membership, Org } from '../../domain/orgs.ts';
import { flash } from '../../http/account.ts';
import type { FormError } from '../../http/forms.ts';
import type { MembershipsService } from '../../services/memberships.ts';
import type { OrgsService } from '../../services/orgs.ts';
import type { UsersService } from '../../services/users.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { userPath } from '../users/user.routes.ts';
import { dayField, dayOfExpiry, expiryOfDay, linesOf, memberRefusal, MEMBERS_PAGE_SIZE, refusalStatus, membershipRow, peopleOf, permissionsField, userByLogin, userField, zodProblem } from './member-forms.ts';
import { orgOf, orgPath } from './orgs.routes.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
const MEMBERSHIP_ID = /^mb_[A-Za-z0-9_-]{16}$/;

export interface MembersPageDeps {
  orgs: OrgsService;
  memberships: MembershipsService;
  users: UsersService;
}

/** What the add and edit forms show: as stored, or as typed. */
interface MemberValues {
  user: string;
  permissions: string;
  expires: string;
}
const EMPTY: MemberValues = { user: '', permissions: '', expires: '' };

const addForm = z.object({ user: userField, permissions: permissionsField, expires: dayField });
const editForm = z.object({ permissions: permissionsField, expires: dayField });

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const typed = (body: Record<string, unknown>): MemberValues => ({ user: str(body.user), permissions: str(body.permissions), expires: str(body.expires) });

/**
 * An org's members tab and the membership forms (docs/design/orgs.md §8): the members (user, permissions, end,
 * expired), a user added by email or username with permissions one a line and an optional last day, a
 * membership's page to change its permissions or end, and its delete. Every write is MembershipsService's.
 */
export function membersRoutes(d: MembersPageDeps): ConsoleRouteSpec[] {
  const membersPath = (realm: RealmConfig, orgId: string) => `${orgPath(realm, orgId)}/members`;
  const membershipPath = (realm: RealmConfig, id: string) => `/admin/realms/${realm.id}/memberships/${encodeURIComponent(id)}`;
  const membershipOf = (c: ConsoleRequest, req: Request) => {
    const id = String(req.params.membershipId);
    if (!MEMBERSHIP_ID.test(id)) throw new NotFoundError('membership');
    return d.memberships.get(c.realm!, id);
  };
  /** Where a membership's forms come back to: its org's members, or (user-only) the user's page. */
  const backOf = (realm: RealmConfig, m: Membership) => (m.orgId ? membersPath(realm, m.orgId) : userPath(realm, m.userId));

  const renderMembers = async (req: Request, res: Response, c: ConsoleRequest, org: Org, form: { values?: MemberValues; error?: FormError | null } = {}, status = 200) => {
    const realm = c.realm!;
    let after: CreatedCursor | null = null;
    const rawAfter = typeof req.query.after === 'string' ? req.query.after : null;
    if (rawAfter) {
      try {
        after = decodeCreatedCursor(rawAfter);
      } catch {
        after = null;
      }
    }
    const page = await d.memberships.list(realm, { orgId: org.id }, after, MEMBERS_PAGE_SIZE);
    const people = await peopleOf(d.users, realm, page.memberships.map((m) => m.userId));
    const now = d.memberships.now();
    const base = membersPath(realm, org.id);
    renderConsolePage(
      res,
      'orgs/members',
      {
        title: org.name,
        section: 'orgs',
        base: `/admin/realms/${realm.id}/orgs`,
        org,
        tab: 'members',
        rows: page.memberships.map((m) => ({ ...membershipRow(m, now), person: people.get(m.userId)!, href: membershipPath(realm, m.id) })),
        usersBase: `/admin/realms/${realm.id}/users`,
        next: page.next ? `${base}?after=${encodeCreatedCursor(page.next)}` : null,
        first: rawAfter ? base : null,
        values: form.values ?? EMPTY,
        error: form.error ?? null,
      },
      status,
    );
  };

  const renderMembership = async (res: Response, c: ConsoleRequest, m: Membership, form: { values?: MemberValues; error?: FormError | null } = {}, status = 200) => {
    const realm = c.realm!;
    const t = res.locals.t as T;
    const [org, people] = await Promise.all([m.orgId ? d.orgs.get(realm, m.orgId) : Promise.resolve(null), peopleOf(d.users, realm, [m.userId])]);
    const person = people.get(m.userId)!;
    renderConsolePage(
      res,
      'orgs/membership',
      {
        title: t('console.members.editTitle', { name: person.name }),
        section: org ? 'orgs' : 'users',
        membership: membershipRow(m, d.memberships.now()),
        org,
        person,
        action: membershipPath(realm, m.id),
        back: backOf(realm, m),
        userHref: userPath(realm, m.userId),
        values: form.values ?? { user: '', permissions: m.permissions.join('\n'), expires: dayOfExpiry(m.expiresAt) },
        error: form.error ?? null,
      },
      status,
    );
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/orgs/:orgId/members',
      capability: 'read',
      async handler(req, res, c) {
        await renderMembers(req, res, c, await orgOf(d.orgs, c, req));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/orgs/:orgId/members',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const org = await orgOf(d.orgs, c, req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const values = typed(body);
        const fail = (error: FormError, status: number) => renderMembers(req, res, c, org, { values, error }, status);
        const parsed = addForm.safeParse(body);
        if (!parsed.success) return fail(zodProblem(parsed.error), 400);
        const expiresAt = expiryOfDay(parsed.data.expires ?? '');
        if (expiresAt === 'bad') return fail({ field: 'expires', message: 'console.users.badDate' }, 400);
        const user = await userByLogin(d.users, realm, parsed.data.user);
        if (!user) return fail({ field: 'user', message: 'console.members.noSuchUser' }, 404);
        try {
          await d.memberships.create(realm, { userId: user.id, orgId: org.id, permissions: linesOf(parsed.data.permissions ?? ''), expiresAt }, c.ctx);
        } catch (err) {
          const error = memberRefusal(err, { orgId: 'user', expiresAt: 'expires' });
          return fail(error, refusalStatus(error));
        }
        flash(req, 'console.members.added', { name: user.email ?? user.username });
        res.redirect(303, membersPath(realm, org.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/memberships/:membershipId',
      capability: 'read',
      async handler(req, res, c) {
        await renderMembership(res, c, await membershipOf(c, req));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/memberships/:membershipId',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const m = await membershipOf(c, req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const values = typed(body);
        const fail = (error: FormError, status: number) => renderMembership(res, c, m, { values, error }, status);
        const parsed = editForm.safeParse(body);
        if (!parsed.success) return fail(zodProblem(parsed.error), 400);
        const day = parsed.data.expires ?? '';
        const expiresAt = expiryOfDay(day);
        if (expiresAt === 'bad') return fail({ field: 'expires', message: 'console.users.badDate' }, 400);
        const permissions = linesOf(parsed.data.permissions ?? '');
        // The day as shown is left alone (an end set through the API at another time of day stays as it is).
        const change = { permissions, ...(day !== dayOfExpiry(m.expiresAt) ? { expiresAt } : {}) };
        try {
          await d.memberships.update(realm, m.id, change, c.ctx);
        } catch (err) {
          return fail(memberRefusal(err, { expiresAt: 'expires' }), 422);
        }
        flash(req, 'console.members.saved');
        res.redirect(303, backOf(realm, m));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/memberships/:membershipId/delete',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const m = await membershipOf(c, req);
        await d.memberships.delete(c.realm!, m.id, c.ctx);
        flash(req, 'console.members.removed');
        res.redirect(303, backOf(c.realm!, m));
      },
    }),
  ];
}

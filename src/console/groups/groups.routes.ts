import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { GROUP_ID } from '../../domain/ids.ts';
import { decodeCreatedCursor, decodeGroupCursor, encodeCreatedCursor, encodeGroupCursor } from '../../domain/org-cursor.ts';
import type { CreatedCursor, Group, GroupCursor } from '../../domain/orgs.ts';
import { flash } from '../../http/account.ts';
import { field, type FormError } from '../../http/forms.ts';
import type { GroupChange, GroupsService } from '../../services/groups.ts';
import type { UsersService } from '../../services/users.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { linesOf, memberRefusal, MEMBERS_PAGE_SIZE, refusalStatus, peopleOf, permissionsField, userByLogin, userField, zodProblem } from '../orgs/member-forms.ts';

type T = (k: string, p?: Record<string, unknown>) => string;
export const GROUPS_PAGE_SIZE = 50;

export interface GroupsPageDeps {
  groups: GroupsService;
  users: UsersService;
}

interface GroupValues {
  name: string;
  description: string;
  permissions: string;
}
const EMPTY_GROUP: GroupValues = { name: '', description: '', permissions: '' };
const groupForm = z.object({ name: field.requiredText(100), description: field.optionalText(500), permissions: permissionsField });
const addForm = z.object({ user: userField });

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const valuesOf = (g: Group): GroupValues => ({ name: g.name, description: g.description ?? '', permissions: g.permissions.join('\n') });

/** A cursor of the query, or null (a bad one starts again at the first page). */
function cursorOf<C>(raw: unknown, decode: (s: string) => C): C | null {
  if (typeof raw !== 'string' || raw === '') return null;
  try {
    return decode(raw);
  } catch {
    return null;
  }
}

/**
 * The groups pages of a realm (docs/design/orgs.md §8): the list (name prefix, paging), a new group, the group's
 * page (name, description, permissions one a line; its members, a user added by email or username, removed), and
 * delete with a confirmation page. Every write is GroupsService's (audited, evented).
 */
export function groupsRoutes(d: GroupsPageDeps): ConsoleRouteSpec[] {
  const groupsPath = (realm: RealmConfig) => `/admin/realms/${realm.id}/groups`;
  const groupPath = (realm: RealmConfig, id: string) => `${groupsPath(realm)}/${encodeURIComponent(id)}`;
  const groupOf = (c: ConsoleRequest, req: Request) => {
    const id = String(req.params.groupId);
    if (!GROUP_ID.test(id)) throw new NotFoundError('group');
    return d.groups.get(c.realm!, id);
  };

  const renderGroup = async (req: Request, res: Response, c: ConsoleRequest, group: Group, form: { values?: GroupValues; error?: FormError | null; member?: { user: string; error: FormError } } = {}, status = 200) => {
    const realm = c.realm!;
    const after: CreatedCursor | null = cursorOf(req.query.after, decodeCreatedCursor);
    const page = await d.groups.members(realm, group.id, after, MEMBERS_PAGE_SIZE);
    const people = await peopleOf(d.users, realm, page.members.map((m) => m.userId));
    const base = groupPath(realm, group.id);
    renderConsolePage(
      res,
      'groups/group',
      {
        title: group.name,
        section: 'groups',
        base: groupsPath(realm),
        group,
        values: form.values ?? valuesOf(group),
        error: form.error ?? null,
        memberValue: form.member?.user ?? '',
        memberError: form.member?.error ?? null,
        members: page.members.map((m) => ({ ...people.get(m.userId)!, addedAt: m.addedAt })),
        usersBase: `/admin/realms/${realm.id}/users`,
        next: page.next ? `${base}?after=${encodeCreatedCursor(page.next)}` : null,
        first: after ? base : null,
      },
      status,
    );
  };
  const renderNew = (res: Response, c: ConsoleRequest, values: GroupValues, error: FormError | null, status = 200) => {
    const t = res.locals.t as T;
    renderConsolePage(res, 'groups/new', { title: t('console.groups.newTitle'), section: 'groups', base: groupsPath(c.realm!), values, error }, status);
  };
  /** The group form: what it sets, or the first thing wrong. */
  const parseGroup = (body: Record<string, unknown>): { ok: true; input: Required<GroupChange> } | { ok: false; error: FormError } => {
    const parsed = groupForm.safeParse(body);
    if (!parsed.success) return { ok: false, error: zodProblem(parsed.error) };
    return { ok: true, input: { name: parsed.data.name, description: parsed.data.description || null, permissions: linesOf(parsed.data.permissions ?? '') } };
  };
  const typed = (body: Record<string, unknown>): GroupValues => ({ name: str(body.name), description: str(body.description), permissions: str(body.permissions) });

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/groups',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as T;
        const base = groupsPath(realm);
        const q = field.optionalText(200).safeParse(req.query.q);
        const search = q.success ? (q.data ?? '') : '';
        const after: GroupCursor | null = cursorOf(req.query.after, decodeGroupCursor);
        const page = await d.groups.list(realm, search ? { q: search } : {}, after, GROUPS_PAGE_SIZE);
        const qs = (cursor?: string) => {
          const p = new URLSearchParams();
          if (search) p.set('q', search);
          if (cursor) p.set('after', cursor);
          const s = p.toString();
          return s ? `?${s}` : '';
        };
        renderConsolePage(res, 'groups/list', {
          title: t('console.groups.title'),
          section: 'groups',
          base,
          search,
          rows: page.groups,
          next: page.next ? base + qs(encodeGroupCursor(page.next)) : null,
          first: after ? base + qs() : null,
        });
      },
    }),
    consoleRoute({ method: 'get', path: '/realms/:realmId/groups/new', capability: 'read', handler: (_req, res, c) => renderNew(res, c, EMPTY_GROUP, null) }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/groups/new',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const form = parseGroup(body);
        if (!form.ok) return renderNew(res, c, typed(body), form.error, 400);
        let group: Group;
        try {
          group = await d.groups.create(c.realm!, form.input, c.ctx);
        } catch (err) {
          const error = memberRefusal(err);
          return renderNew(res, c, typed(body), error, refusalStatus(error));
        }
        flash(req, 'console.groups.created', { name: group.name });
        res.redirect(303, groupPath(c.realm!, group.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/groups/:groupId',
      capability: 'read',
      async handler(req, res, c) {
        await renderGroup(req, res, c, await groupOf(c, req));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/groups/:groupId',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const group = await groupOf(c, req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const form = parseGroup(body);
        if (!form.ok) return renderGroup(req, res, c, group, { values: typed(body), error: form.error }, 400);
        const change: GroupChange = {};
        if (form.input.name !== group.name) change.name = form.input.name;
        if (form.input.description !== group.description) change.description = form.input.description;
        if (form.input.permissions.join('\n') !== group.permissions.join('\n')) change.permissions = form.input.permissions;
        if (Object.keys(change).length === 0) {
          flash(req, 'console.userPage.nothingChanged');
          return res.redirect(303, groupPath(c.realm!, group.id));
        }
        try {
          await d.groups.update(c.realm!, group.id, change, c.ctx);
        } catch (err) {
          const error = memberRefusal(err);
          return renderGroup(req, res, c, group, { values: typed(body), error }, refusalStatus(error));
        }
        flash(req, 'console.groups.saved');
        res.redirect(303, groupPath(c.realm!, group.id));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/groups/:groupId/members',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const group = await groupOf(c, req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const fail = (error: FormError, status: number) => renderGroup(req, res, c, group, { member: { user: str(body.user), error } }, status);
        const parsed = addForm.safeParse(body);
        if (!parsed.success) return fail({ ...zodProblem(parsed.error), field: 'user' }, 400);
        const user = await userByLogin(d.users, realm, parsed.data.user);
        if (!user) return fail({ field: 'user', message: 'console.members.noSuchUser' }, 404);
        try {
          await d.groups.addMembers(realm, group.id, [user.id], c.ctx);
        } catch (err) {
          return fail(memberRefusal(err, { userIds: 'user' }), 409);
        }
        flash(req, 'console.members.added', { name: user.email ?? user.username });
        res.redirect(303, groupPath(realm, group.id));
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/groups/:groupId/members/:userId/delete',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const group = await groupOf(c, req);
        await d.groups.removeMember(c.realm!, group.id, String(req.params.userId), c.ctx);
        flash(req, 'console.members.removed');
        res.redirect(303, groupPath(c.realm!, group.id));
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/groups/:groupId/delete',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const t = res.locals.t as T;
        const group = await groupOf(c, req);
        renderConsolePage(res, 'groups/delete', { title: t('console.groups.deleteTitle', { name: group.name }), section: 'groups', group, base: groupsPath(c.realm!) });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/groups/:groupId/delete',
      capability: 'orgs.write',
      async handler(req, res, c) {
        const group = await groupOf(c, req);
        const { members } = await d.groups.delete(c.realm!, group.id, c.ctx);
        flash(req, 'console.groups.deleted', { name: group.name, count: members });
        res.redirect(303, groupsPath(c.realm!));
      },
    }),
  ];
}

import type { Response } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import type { ManagementKey } from '../../domain/management-key.ts';
import { field, parseForm } from '../../http/forms.ts';
import { flash } from '../../http/account.ts';
import type { ManagementKeys } from '../../services/management-keys.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';

type Translate = (k: string, p?: Record<string, unknown>) => string;
const KEY_ID = /^mk_[A-Za-z0-9_-]{1,40}$/;

/** The create form: what the key may do, and a name to tell it apart. Keys for every realm ('*') are not made here. */
const keyForm = z.object({
  access: z.enum(['read', 'write'], { error: 'validation.invalid' }),
  name: field.requiredText(100),
});

/** A realm's management API keys: list, create (the key shown once, after a recent sign-in), revoke. */
export function keysRoutes(keys: Pick<ManagementKeys, 'list' | 'get' | 'create' | 'revoke'>): ConsoleRouteSpec[] {
  const base = (c: ConsoleRequest) => `/admin/realms/${c.realm!.id}/keys`;
  const renderNew = (res: Response, c: ConsoleRequest, values: Record<string, string>, error: { field: string | null; message: string } | null, status = 200) => {
    const t = res.locals.t as Translate;
    renderConsolePage(res, 'keys/new', { title: t('console.keys.newTitle'), section: 'keys', base: base(c), values: { access: 'read', name: '', ...values }, error, readOnly: !c.can('keys.write') }, status);
  };
  /** The key of the path when it is this realm's (a key of another realm or of every realm is "not found" here). */
  const keyOf = async (c: ConsoleRequest, keyId: unknown): Promise<ManagementKey> => {
    if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) throw new NotFoundError('api key');
    const key = await keys.get(keyId);
    if (key.realmId !== c.realm!.id) throw new NotFoundError('api key');
    return key;
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/keys',
      capability: 'read',
      async handler(req, res, c) {
        const t = res.locals.t as Translate;
        const list = await keys.list({ realmId: c.realm!.id });
        renderConsolePage(res, 'keys/list', { title: t('console.keys.title'), section: 'keys', base: base(c), keys: list });
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/keys/new',
      capability: 'read',
      handler: (_req, res, c) => renderNew(res, c, {}, null),
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/keys/new',
      capability: 'keys.write',
      stepUp: true,
      async handler(req, res, c) {
        const t = res.locals.t as Translate;
        const form = parseForm(keyForm, req.body, ['access', 'name']);
        if (!form.ok) return renderNew(res, c, form.values, { field: form.field, message: form.messageKey }, 400);
        const made = await keys.create({ realmId: c.realm!.id, access: form.data.access, name: form.data.name }, c.ctx, null);
        res.setHeader('Cache-Control', 'no-store');
        renderConsolePage(res, 'keys/created', { title: t('console.keys.createdTitle'), section: 'keys', base: base(c), key: made.key, secret: made.secret }, 201);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/keys/:keyId/revoke',
      capability: 'keys.write',
      async handler(req, res, c) {
        const key = await keyOf(c, req.params.keyId);
        await keys.revoke(key.id, c.ctx);
        flash(req, 'console.keys.revoked', { name: key.name ?? key.id });
        res.redirect(303, base(c));
      },
    }),
  ];
}


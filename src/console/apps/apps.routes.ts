import type { Request, Response } from 'express';
import type { RealmConfig } from '../../config/index.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { flash } from '../../http/account.ts';
import type { AppView, RealmsService } from '../../services/realms.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { ACCESS_TYPES, appFormErrors, DELIVERY_MODES, EMPTY_APP, keptAppValues, parseAppForm, valuesOfApp, type AppFormErrors, type AppFormValues } from './app-form.ts';

type Translate = (k: string, p?: Record<string, unknown>) => string;
const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The apps pages of a realm: list, add (the secret shown once), edit, rotate the secret, delete. */
/**
 * Editing an app's redirect URIs (where its users' tokens go), rotating its secret (shown on the page) and deleting it
 * ask a stale sign-in to confirm it's you first (stepUp), coming back to the app's page.
 */
export function appsRoutes(realms: RealmsService, configPath: string): ConsoleRouteSpec[] {
  const base = (realm: RealmConfig) => `/admin/realms/${realm.id}/apps`;
  /** A realm from the configuration file: its apps are declared there too, read-only here. */
  const provisioned = async (realm: RealmConfig) => (await realms.getRealm(realm.id)).source === 'file';
  /** The app of the path (NotFoundError: the guard's 404; a malformed client id is not looked up). */
  const appOf = async (realm: RealmConfig, req: Request): Promise<AppView> => {
    const clientId = req.params.clientId;
    if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId)) throw new NotFoundError('app');
    return realms.getApp(realm.id, clientId);
  };

  const renderForm = async (res: Response, c: ConsoleRequest, view: 'apps/new' | 'apps/app', model: { app: AppView | null; values: AppFormValues; errors: AppFormErrors | null }, status = 200) => {
    const realm = c.realm!;
    const t = res.locals.t as Translate;
    const fromFile = (model.app?.source ?? (await realms.getRealm(realm.id)).source) === 'file';
    renderConsolePage(
      res,
      view,
      {
        title: model.app ? t('console.apps.appTitle', { name: model.app.settings.name }) : t('console.apps.newTitle'),
        section: 'apps',
        base: base(realm),
        app: model.app,
        values: model.values,
        errors: model.errors ?? { fields: {}, form: null },
        deliveryModes: DELIVERY_MODES,
        accessTypes: ACCESS_TYPES,
        readOnly: fromFile || !c.can('apps.write'),
        provisioned: fromFile,
        configPath,
      },
      status,
    );
  };
  const secretPage = (res: Response, c: ConsoleRequest, app: AppView, secret: string, created: boolean) => {
    const t = res.locals.t as Translate;
    res.setHeader('Cache-Control', 'no-store');
    renderConsolePage(res, 'apps/secret', { title: t(created ? 'console.apps.createdTitle' : 'console.apps.rotatedTitle'), section: 'apps', base: base(c.realm!), app, secret, created }, created ? 201 : 200);
  };

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/apps',
      capability: 'read',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const page = await realms.listApps(realm.id, { limit: 1000 });
        renderConsolePage(res, 'apps/list', { title: t('console.apps.title'), section: 'apps', base: base(realm), apps: page.data, provisioned: await provisioned(realm), configPath });
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/apps/new',
      capability: 'read',
      handler: (_req, res, c) => renderForm(res, c, 'apps/new', { app: null, values: EMPTY_APP, errors: null }),
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/apps/new',
      capability: 'apps.write',
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const values = keptAppValues(req.body, EMPTY_APP);
        const form = parseAppForm(req.body, true, t);
        if (!form.ok) return renderForm(res, c, 'apps/new', { app: null, values, errors: form.errors }, 400);
        try {
          const made = await realms.createApp(realm.id, form.input, c.ctx);
          secretPage(res, c, made.after!, made.secret, true);
        } catch (err) {
          const refused = appFormErrors(err, t);
          if (!refused) throw err;
          return renderForm(res, c, 'apps/new', { app: null, values, errors: refused.errors }, refused.status);
        }
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/apps/:clientId',
      capability: 'read',
      async handler(req, res, c) {
        const app = await appOf(c.realm!, req);
        await renderForm(res, c, 'apps/app', { app, values: valuesOfApp(app), errors: null });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/apps/:clientId',
      capability: 'apps.write',
      stepUp: true,
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const app = await appOf(realm, req);
        const values = { ...keptAppValues(req.body, valuesOfApp(app)), clientId: app.clientId };
        const form = parseAppForm(req.body, false, t);
        if (!form.ok) return renderForm(res, c, 'apps/app', { app, values, errors: form.errors }, 400);
        try {
          await realms.updateApp(realm.id, app.clientId, form.input, {}, c.ctx);
        } catch (err) {
          const refused = appFormErrors(err, t);
          if (!refused) throw err;
          return renderForm(res, c, 'apps/app', { app, values, errors: refused.errors }, refused.status);
        }
        flash(req, 'console.apps.saved');
        res.redirect(303, `${base(realm)}/${encodeURIComponent(app.clientId)}`);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/apps/:clientId/rotate',
      capability: 'apps.write',
      // Its page is the app's: the new secret is shown once, on the answer to this form.
      stepUp: (req) => `/admin/realms/${String(req.params.realmId)}/apps/${encodeURIComponent(String(req.params.clientId))}`,
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const app = await appOf(realm, req);
        try {
          const changed = await realms.updateApp(realm.id, app.clientId, {}, { rotateSecret: true }, c.ctx);
          secretPage(res, c, changed.after!, changed.secret!, false);
        } catch (err) {
          const refused = appFormErrors(err, t);
          if (!refused) throw err;
          return renderForm(res, c, 'apps/app', { app, values: valuesOfApp(app), errors: refused.errors }, refused.status);
        }
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/apps/:clientId/delete',
      capability: 'read',
      async handler(req, res, c) {
        const app = await appOf(c.realm!, req);
        renderDelete(res, c, app, null);
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/apps/:clientId/delete',
      capability: 'apps.write',
      stepUp: true,
      async handler(req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as Translate;
        const app = await appOf(realm, req);
        try {
          await realms.deleteApp(realm.id, app.clientId, c.ctx);
        } catch (err) {
          const refused = appFormErrors(err, t);
          if (!refused) throw err;
          return renderDelete(res, c, app, refused.errors.form, refused.status);
        }
        flash(req, 'console.apps.deleted', { name: app.settings.name });
        res.redirect(303, base(realm));
      },
    }),
  ];

  function renderDelete(res: Response, c: ConsoleRequest, app: AppView, error: AppFormErrors['form'], status = 200) {
    const t = res.locals.t as Translate;
    renderConsolePage(res, 'apps/delete', { title: t('console.apps.deleteTitle', { name: app.settings.name }), section: 'apps', base: base(c.realm!), app, error, readOnly: app.source === 'file' || !c.can('apps.write'), configPath }, status);
  }
}

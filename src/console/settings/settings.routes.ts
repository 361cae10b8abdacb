import type { Request, Response } from 'express';
import { ConflictError, issueLimit, RuleViolation } from '../../domain/errors.ts';
import { brandColor, realmSchema } from '../../domain/realm-settings.ts';
import type { DirectoryRealm } from '../../ports/directory.ts';
import { mergePatch, type RealmsService } from '../../services/realms.ts';
import { issueText } from '../issue-text.ts';
import { renderConsoleMessage, renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRequest, type ConsoleRouteSpec } from '../route.ts';
import { formValues, isSettingsSection, postedValues, providerRows, sectionPatch, SECTION_FIELDS, SETTINGS_SECTIONS, SOCIAL_FIELDS, type FormValues, type SettingsSection } from './sections.ts';

export interface SettingsDeps {
  realmsService: Pick<RealmsService, 'getRealm' | 'updateRealm' | 'configPath'>;
}

type T = (key: string, params?: Record<string, unknown>) => string;

/** What went wrong, already in words: per input, and for the whole form (the alert). */
interface Problems {
  alert: string | null;
  fields: Record<string, string>;
}

/**
 * The realm's settings pages (issue 13, "Settings"): one form per section, each a JSON merge patch of the
 * realm's settings through RealmsService.updateRealm — the same call and audit entry as PATCH /api/v1/realms/:id,
 * so every rule is the service's, shown at its input with the typed values kept. A realm provisioned from the
 * configuration file shows every section disabled, naming the file; a POST still goes to the service (409).
 */
export function settingsRoutes(d: SettingsDeps): ConsoleRouteSpec[] {
  const base = (realmId: string) => `/admin/realms/${realmId}/settings`;

  const render = (res: Response, c: ConsoleRequest, section: SettingsSection, realm: DirectoryRealm, values: FormValues, problems: Problems | null, status = 200, extra: { saved?: boolean; preview?: Preview } = {}) => {
    const t = res.locals.t as T;
    const provisioned = realm.source === 'file';
    const settings = realm.settings;
    renderConsolePage(
      res,
      `settings/${section}`,
      {
        title: `${t(`console.settings.tabs.${section}`)} · ${t('console.settings.title')}`,
        section: 'settings',
        current: section,
        tabs: SETTINGS_SECTIONS.map((s) => ({ id: s, href: `${base(realm.id)}/${s}`, current: s === section })),
        action: `${base(realm.id)}/${section}`,
        fields: section === 'social' ? SOCIAL_FIELDS : SECTION_FIELDS[section],
        values,
        problems: problems ?? { alert: null, fields: {} },
        provisioned,
        configPath: d.realmsService.configPath,
        readOnly: provisioned || !c.can('settings.write'),
        saved: extra.saved ?? false,
        emailsOneWay: settings.fields.emails === 'duplicates',
        providers: providerRows(settings),
        preview: extra.preview ?? previewOf(realm.id, settings.name, settings.branding.logoUrl ?? null, settings.branding.primaryColor),
      },
      status,
    );
  };

  const sectionOf = (req: Request): SettingsSection | null => (isSettingsSection(req.params.section) ? req.params.section : null);

  const notFound = (res: Response) =>
    renderConsoleMessage(res, 404, { titleKey: 'console.errors.notFoundTitle', textKey: 'console.errors.notFound', link: { href: '/admin', labelKey: 'console.nav.home' } });

  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/settings',
      capability: 'read',
      handler(_req, res, c) {
        res.redirect(303, `${base(c.realm!.id)}/fields`);
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/settings/branding/preview.css',
      capability: 'read',
      handler(req, res) {
        // The colour goes into a stylesheet: only what the realm schema accepts as a colour, nothing else.
        const color = brandColor.safeParse(req.query.color);
        if (!color.success) return void res.status(400).type('text/css').send('/* a colour like #4f46e5 */\n');
        res.type('text/css').send(`:root{--preview-brand:${color.data}}\n`);
      },
    }),
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId/settings/:section',
      capability: 'read',
      async handler(req, res, c) {
        const section = sectionOf(req);
        if (!section) return notFound(res);
        const realm = await d.realmsService.getRealm(c.realm!.id);
        render(res, c, section, realm, formValues(section, realm.settings), null, 200, { saved: req.query.saved === '1' });
      },
    }),
    consoleRoute({
      method: 'post',
      path: '/realms/:realmId/settings/:section',
      capability: 'settings.write',
      // A realm's settings decide who signs in and how (usernames and emails, sign-up, two-factor, sessions, social
      // providers, branding): "confirm it's you" first when the sign-in is stale, coming back to the section.
      stepUp: true,
      async handler(req, res, c) {
        const section = sectionOf(req);
        if (!section) return notFound(res);
        const t = res.locals.t as T;
        const realm = await d.realmsService.getRealm(c.realm!.id);
        const values = postedValues(section, req.body, realm.settings);
        const form = sectionPatch(section, req.body, realm.settings);
        if (!form.ok) return render(res, c, section, realm, values, { alert: t('console.settings.notSaved'), fields: { [form.field]: t(form.messageKey) } }, 400);

        if (section === 'branding' && (req.body as Record<string, unknown>).intent === 'preview') {
          // Shows the typed branding without saving it; what the realm schema refuses is marked as a save would.
          const merged = mergePatch(realm.settings, form.patch) as Record<string, unknown>;
          const tried = realmSchema.pick({ name: true, branding: true }).safeParse({ name: merged.name, branding: merged.branding });
          if (!tried.success) {
            const fields: Record<string, string> = {};
            for (const i of tried.error.issues) fields[form.fieldOf(i.path.join('.')) ?? 'name'] ??= issueText(t, { code: i.code, message: i.message, ...issueLimit(i) });
            return render(res, c, section, realm, values, { alert: t('console.settings.previewInvalid'), fields }, 400);
          }
          return render(res, c, section, realm, values, null, 200, { preview: previewOf(realm.id, tried.data.name, tried.data.branding.logoUrl ?? null, tried.data.branding.primaryColor, true) });
        }

        try {
          // The same call as PATCH /api/v1/realms/:id: the service checks every rule and audits the change.
          await d.realmsService.updateRealm(realm.id, form.patch, c.ctx);
        } catch (err) {
          if (err instanceof RuleViolation) {
            const fields: Record<string, string> = {};
            const elsewhere: string[] = [];
            for (const issue of err.issues) {
              const name = form.fieldOf(issue.field);
              if (name) fields[name] ??= issueText(t, issue);
              else elsewhere.push(`${issue.field}: ${issueText(t, issue)}`);
            }
            return render(res, c, section, realm, values, { alert: [t('console.settings.notSaved'), ...elsewhere].join(' '), fields }, 422);
          }
          if (err instanceof ConflictError) {
            // The provisioned refusal in the page's language, naming the file; another conflict as the service words it.
            const alert = err.reason === 'provisioned' ? t('console.settings.provisionedRefused', { file: err.details.file ?? d.realmsService.configPath }) : err.message;
            return render(res, c, section, realm, values, { alert, fields: {} }, 409);
          }
          throw err;
        }
        res.redirect(303, `${base(realm.id)}/${section}?saved=1`);
      },
    }),
  ];
}

/** The branding preview: the login card's look with these values; its colour arrives through preview.css. */
export interface Preview {
  name: string;
  logoUrl: string | null;
  initial: string;
  stylesheet: string;
  unsaved: boolean;
}

function previewOf(realmId: string, name: string, logoUrl: string | null, color: string, unsaved = false): Preview {
  return { name, logoUrl, initial: name.trim().charAt(0).toUpperCase(), stylesheet: `/admin/realms/${realmId}/settings/branding/preview.css?color=${encodeURIComponent(color)}`, unsaved };
}

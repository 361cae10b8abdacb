import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { avatarOf, flash, renderAccountPage, requireLogin } from '../../http/account.ts';
import { field, keptValues, parseForm, rerenderOnFlowError, type FormError } from '../../http/forms.ts';
import { LOCALE_COOKIE, localeCookieOptions, SUPPORTED_LOCALES } from '../../http/i18n.ts';
import { originOf } from '../../http/session.ts';
import { displayName, type User } from '../../identity/user.ts';
import { attributeViews } from './attributes.ts';
import { PHOTO_MAX_LENGTH, usernameEditable, type ProfileService } from './profile.service.ts';

/** Every field may be absent (left as it is); an array or control characters fail here (400). */
const profileForm = z.object({
  firstName: field.text(100).optional(),
  lastName: field.text(100).optional(),
  nickname: field.text(100).optional(),
  photo: field.text(PHOTO_MAX_LENGTH).optional(),
  locale: z.enum(['', ...SUPPORTED_LOCALES], { error: 'validation.invalid' }).optional(),
});

const usernameForm = z.object({ username: field.username() });

const TEXT_FIELDS = ['firstName', 'lastName', 'nickname', 'photo', 'locale'] as const;

/** Initials for the avatar without a photo: "Ada Lovelace" → "AL"; one character for a CJK name or a single word. */
/**
 * The profile page. Names, nickname, photo, language and custom attributes
 * change without a fresh password, as in Keycloak's account console: they
 * are not credentials and do not let anyone take the account over. The
 * username is different — it is what the user signs in with — so it has its
 * own small form at POST /account/profile/username behind requireRecentAuth
 * (a detour to "confirm it's you" comes back to the profile page).
 */
export function profileRoutes(service: ProfileService, recentAuth: RequestHandler, options: { secureCookies: boolean }): Router {
  const router = Router();

  function show(
    req: Request,
    res: Response,
    extra: { values?: Record<string, string>; posted?: Record<string, unknown> | null; error?: FormError | null; errorForm?: 'profile' | 'username'; username?: string; focusUsername?: boolean } = {},
    status = 200,
  ): void {
    const user: User = req.signedIn!.user;
    const t = res.locals.t;
    const languages = (res.locals.languages as Array<{ locale: string; name: string }>).map((l) => ({ value: l.locale, label: l.name }));
    const name = displayName(user);
    renderAccountPage(
      res,
      '/account/profile',
      'account/profile',
      {
        title: t('profile.title'),
        avatar: avatarOf(user, name),
        values: {
          firstName: user.firstName ?? '',
          lastName: user.lastName ?? '',
          nickname: user.nickname ?? '',
          photo: user.photo ?? '',
          locale: user.locale ?? '',
          ...extra.values,
        },
        // Not `languages`: that name is the footer's language switcher (res.locals).
        languageOptions: [{ value: '', label: t('profile.languageBrowser') }, ...languages],
        email: user.email,
        username:
          req.realm.fields.usernames === 'separate'
            ? { value: extra.username ?? user.username, editable: usernameEditable(req.realm), focus: extra.focusUsername ?? false }
            : null,
        attributes: attributeViews(req.realm.account.attributes, user.customAttributes, req.locale, extra.posted ?? null),
        profileError: extra.errorForm === 'username' ? null : (extra.error ?? null),
        usernameError: extra.errorForm === 'username' ? (extra.error ?? null) : null,
      },
      status,
    );
  }

  /** GET /account/profile */
  router.get('/account/profile', requireLogin, (req, res) => {
    show(req, res);
  });

  /** POST /account/profile */
  router.post('/account/profile', requireLogin, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const form = parseForm(profileForm, body, TEXT_FIELDS);
    if (!form.ok) return show(req, res, { values: form.values, posted: body, error: { field: form.field, message: form.messageKey } }, 400);
    let saved;
    try {
      saved = await service.update(req.realm, req.signedIn!.user, { ...form.data, body }, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, { values: keptValues(body, TEXT_FIELDS), posted: body, error }, status));
    }
    // The pages follow the saved language from now on (mails already use user.locale).
    if (form.data.locale !== undefined) {
      if (saved.user.locale) res.cookie(LOCALE_COOKIE, saved.user.locale, localeCookieOptions(options.secureCookies));
      else res.clearCookie(LOCALE_COOKIE, { ...localeCookieOptions(options.secureCookies), maxAge: undefined });
    }
    flash(req, 'profile.saved');
    res.redirect(303, '/account/profile');
  });

  /** GET /account/profile/username — the profile page with the username field first (its form's own address). */
  router.get('/account/profile/username', recentAuth, (req, res) => {
    if (!usernameEditable(req.realm)) return res.redirect(303, '/account/profile');
    show(req, res, { focusUsername: true });
  });

  /** POST /account/profile/username */
  router.post('/account/profile/username', recentAuth, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const typed = typeof body.username === 'string' ? body.username : undefined;
    const form = parseForm(usernameForm, body, []);
    if (!form.ok) return show(req, res, { username: typed, errorForm: 'username', focusUsername: true, error: { field: form.field, message: form.messageKey } }, 400);
    try {
      await service.changeUsername(req.realm, req.signedIn!.user, form.data.username, originOf(req));
    } catch (err) {
      return rerenderOnFlowError(res, err, (error, status) => show(req, res, { username: form.data.username, errorForm: 'username', focusUsername: true, error }, status));
    }
    flash(req, 'profile.usernameSaved');
    res.redirect(303, '/account/profile');
  });

  return router;
}

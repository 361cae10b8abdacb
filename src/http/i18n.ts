import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import i18next, { type TFunction } from 'i18next';
import { LanguageDetector } from 'i18next-http-middleware';

export const SUPPORTED_LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];
export const LOCALE_COOKIE = 'gh_lang';
const DETECTION_ORDER = ['querystring', 'cookie', 'header'];

/** The language cookie's options: wherever it is set (?lang=, the profile page), it is the same cookie. */
export function localeCookieOptions(secureCookies: boolean) {
  return { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: '/', maxAge: 365 * 24 * 3600 * 1000 } as const;
}

export interface I18n {
  /** Sets req.locale, res.locals.t and res.locals.lang from ?lang=, the cookie, then Accept-Language. */
  middleware: (req: Request, res: Response, next: NextFunction) => void;
  t(locale: string): TFunction;
}

/**
 * A page calls t() dozens of times, mostly for plain strings: those are looked
 * up once per locale. Calls with options (interpolation, plurals) go to i18next.
 * Keys come from code and views, never from input, so the cache stays small.
 */
function memoize(t: TFunction): TFunction {
  const plain = new Map<string, string>();
  const cached = (key: unknown, ...rest: unknown[]) => {
    if (rest.length > 0 || typeof key !== 'string') return (t as unknown as (...args: unknown[]) => string)(key, ...rest);
    let text = plain.get(key);
    if (text === undefined) {
      text = t(key);
      plain.set(key, text);
    }
    return text;
  };
  return cached as unknown as TFunction;
}

/** Loads locales/*.json once; `en` is the source of truth and the fallback. */
export function createI18n(localesDir: string, secureCookies: boolean): I18n {
  const resources = Object.fromEntries(
    SUPPORTED_LOCALES.map((lng) => [lng, { translation: JSON.parse(readFileSync(path.join(localesDir, `${lng}.json`), 'utf8')) }]),
  );
  const instance = i18next.createInstance();
  void instance.init({
    resources,
    fallbackLng: 'en',
    initAsync: false,
    interpolation: { escapeValue: false }, // EJS escapes on output
    returnNull: false,
  });
  const detector = new LanguageDetector(instance.services, {
    order: DETECTION_ORDER,
    lookupQuerystring: 'lang',
    lookupCookie: LOCALE_COOKIE,
    caches: false,
  });
  const fixed = new Map<string, TFunction>(SUPPORTED_LOCALES.map((lng) => [lng, memoize(instance.getFixedT(lng))]));

  const resolve = (candidate: unknown): Locale => {
    const list = Array.isArray(candidate) ? candidate : [candidate];
    for (const c of list) {
      if (typeof c !== 'string') continue;
      const exact = SUPPORTED_LOCALES.find((l) => l.toLowerCase() === c.toLowerCase());
      if (exact) return exact;
      const base = SUPPORTED_LOCALES.find((l) => l.split('-')[0] === c.toLowerCase().split('-')[0]);
      if (base) return base;
    }
    return 'en';
  };

  return {
    middleware(req, res, next) {
      const locale = resolve(detector.detect(req, res, DETECTION_ORDER));
      const chosen = typeof req.query.lang === 'string' && resolve(req.query.lang) === req.query.lang;
      if (chosen && req.cookies?.[LOCALE_COOKIE] !== locale) {
        res.cookie(LOCALE_COOKIE, locale, localeCookieOptions(secureCookies));
      }
      req.locale = locale;
      res.locals.lang = locale;
      res.locals.t = fixed.get(locale);
      res.setHeader('Content-Language', locale);
      next();
    },
    t: (locale) => fixed.get(resolve(locale)) ?? fixed.get('en')!,
  };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import i18next, { type TFunction } from 'i18next';
import { momentsFor } from './moments.ts';

export const SUPPORTED_LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];
export const LOCALE_COOKIE = 'gh_lang';

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

/** The first of `tags` Gatehouse speaks, exactly ("zh-CN") or by its language ("zh-TW" → zh-CN, "en-GB" → en); null when none. */
function matchSupported(tags: readonly string[]): Locale | null {
  for (const tag of tags) {
    const lower = tag.toLowerCase();
    const exact = SUPPORTED_LOCALES.find((l) => l.toLowerCase() === lower);
    if (exact) return exact;
    const base = SUPPORTED_LOCALES.find((l) => l.split('-')[0] === lower.split('-')[0]);
    if (base) return base;
  }
  return null;
}

/** An Accept-Language header's tags, most wanted first (RFC 9110 §12.5.4: q defaults to 1, q=0 means "not this"). */
export function acceptedLanguages(header: string): string[] {
  return header
    .slice(0, 1000)
    .split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), i };
    })
    .filter((l) => l.tag && l.tag !== '*' && l.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((l) => l.tag);
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
  const fixed = new Map<string, TFunction>(SUPPORTED_LOCALES.map((lng) => [lng, memoize(instance.getFixedT(lng))]));

  const resolve = (candidate: unknown): Locale => (typeof candidate === 'string' ? matchSupported([candidate]) : null) ?? 'en';

  // Accept-Language values repeat across visitors: each is read once (a bounded memo, emptied when full).
  const byHeader = new Map<string, Locale | null>();
  const fromHeader = (header: string | undefined): Locale | null => {
    if (!header) return null;
    let locale = byHeader.get(header);
    if (locale === undefined) {
      locale = matchSupported(acceptedLanguages(header));
      if (byHeader.size >= 500) byHeader.clear();
      byHeader.set(header, locale);
    }
    return locale;
  };

  return {
    middleware(req, res, next) {
      // ?lang=, then the language cookie, then Accept-Language; the first one Gatehouse speaks wins.
      const query = req.query.lang;
      const cookie = req.cookies?.[LOCALE_COOKIE];
      const locale =
        (typeof query === 'string' ? matchSupported([query]) : null) ??
        (typeof cookie === 'string' ? matchSupported([cookie]) : null) ??
        fromHeader(req.headers['accept-language']) ??
        'en';
      const chosen = typeof req.query.lang === 'string' && resolve(req.query.lang) === req.query.lang;
      if (chosen && req.cookies?.[LOCALE_COOKIE] !== locale) {
        res.cookie(LOCALE_COOKIE, locale, localeCookieOptions(secureCookies));
      }
      req.locale = locale;
      res.locals.lang = locale;
      res.locals.t = fixed.get(locale);
      res.locals.moments = momentsFor(locale);
      res.setHeader('Content-Language', locale);
      next();
    },
    t: (locale) => fixed.get(resolve(locale)) ?? fixed.get('en')!,
  };
}

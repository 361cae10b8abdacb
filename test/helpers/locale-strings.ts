import { readFileSync } from 'node:fs';

type Messages = Record<string, unknown>;
const MESSAGES: Record<string, Messages> = {
  en: JSON.parse(readFileSync(new URL('../../locales/en.json', import.meta.url), 'utf8')) as Messages,
  'zh-CN': JSON.parse(readFileSync(new URL('../../locales/zh-CN.json', import.meta.url), 'utf8')) as Messages,
};

/**
 * A locale's string as the pages say it, for tests that must find a page's words without hard-coding them:
 * `_one`/`_other` by `count` (Chinese has only `_other`), `{{x}}` filled in. Throws for a key the locale lacks.
 */
export function tr(lang: string, key: string, params: Record<string, string | number> = {}): string {
  const get = (k: string) => k.split('.').reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Messages)[p] : undefined), MESSAGES[lang]);
  let text = get(key);
  if (text === undefined && params.count !== undefined) text = get(`${key}_${lang === 'en' && params.count === 1 ? 'one' : 'other'}`);
  if (typeof text !== 'string') throw new Error(`no string ${key} in ${lang}`);
  return text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(params[name] ?? ''));
}

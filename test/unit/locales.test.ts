import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Tree = { [key: string]: string | Tree };

/** `{ a: { b: 'x' } }` → `{ 'a.b': 'x' }`; a value that is neither string nor object is kept as is so a test can flag it. */
function flatten(tree: Tree, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(tree)) {
    const full = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of flatten(value, full)) out.set(k, v);
    } else {
      out.set(full, value);
    }
  }
  return out;
}

function loadLocale(name: string): Map<string, unknown> {
  return flatten(JSON.parse(readFileSync(path.join(ROOT, 'locales', `${name}.json`), 'utf8')) as Tree);
}

const en = loadLocale('en');
const zh = loadLocale('zh-CN');

const placeholders = (s: string) => new Set([...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]!));

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(ext))
    .map((d) => path.join(d.parentPath, d.name));
}

describe('locales', () => {
  it('every locale file in locales/ is covered by this suite', () => {
    expect(readdirSync(path.join(ROOT, 'locales')).sort()).toEqual(['en.json', 'zh-CN.json']);
  });

  it('en and zh-CN have exactly the same keys', () => {
    const missingInZh = [...en.keys()].filter((k) => !zh.has(k));
    const extraInZh = [...zh.keys()].filter((k) => !en.has(k));
    expect(missingInZh).toEqual([]);
    expect(extraInZh).toEqual([]);
  });

  it('every value is a non-empty string', () => {
    for (const [name, locale] of [['en', en], ['zh-CN', zh]] as const) {
      for (const [key, value] of locale) {
        expect(typeof value, `${name}:${key}`).toBe('string');
        expect((value as string).trim(), `${name}:${key}`).not.toBe('');
      }
    }
  });

  it('every {{placeholder}} of an en string appears in the zh-CN string, and no others', () => {
    for (const [key, value] of en) {
      const wanted = placeholders(String(value));
      const got = placeholders(String(zh.get(key) ?? ''));
      expect([...got].sort(), key).toEqual([...wanted].sort());
    }
  });
});

describe('locale keys used in code', () => {
  const sources = [...filesUnder(path.join(ROOT, 'views'), '.ejs'), ...filesUnder(path.join(ROOT, 'src'), '.ts')];
  const KEY = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+$/;

  /** Every key literal found, with where it was found. */
  const used = new Map<string, string>();
  const note = (key: string, file: string) => {
    if (KEY.test(key) && !used.has(key)) used.set(key, path.relative(ROOT, file));
  };

  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    // t('key') / res.locals.t('key') / t("key", …): a call of a function named exactly t.
    for (const m of text.matchAll(/(?<![\w$])t\(\s*(['"`])([^'"`]+)\1/g)) note(m[2]!, file);
    // new FlowError(status, 'key', …), also keys chosen by a ternary on the same line
    // (dotted literals only: `field === 'username'` is not a key).
    for (const m of text.matchAll(/new FlowError\(\s*\d+\s*,(.*)$/gm)) {
      for (const lit of m[1]!.matchAll(/(['"`])([^'"`]+)\1/g)) note(lit[2]!, file);
    }
    // Validation messages and error-page messages are keys wherever they appear.
    for (const m of text.matchAll(/(['"`])((?:validation|errors)\.[A-Za-z0-9]+)\1/g)) note(m[2]!, file);
  }
  // The password policy's problems are locale keys (signup passes them to FlowError as a variable).
  const policy = readFileSync(path.join(ROOT, 'src/identity/password-policy.ts'), 'utf8');
  const problemType = /type PasswordProblem =([^;]+);/.exec(policy)?.[1] ?? '';
  for (const m of problemType.matchAll(/'([^']+)'/g)) note(m[1]!, 'src/identity/password-policy.ts');

  it('finds the keys the scan is meant to find', () => {
    // Guards the scan itself: one key of each kind must be picked up.
    for (const key of ['login.heading', 'errors.notFound', 'redirect.unregistered', 'signup.emailTaken', 'validation.email', 'password.common', 'rateLimit.tooMany']) {
      expect(used.has(key), key).toBe(true);
    }
    // …and event names and file names must not be.
    expect(used.has('user.login.succeeded')).toBe(false);
    expect(used.has('session.deleted')).toBe(false);
  });

  it('every key used in views and code exists in en.json', () => {
    expect(used.size).toBeGreaterThan(50);
    // A key counted with i18next's plurals ({ count }) exists as key_one and key_other.
    const exists = (key: string) => en.has(key) || (en.has(`${key}_one`) && en.has(`${key}_other`));
    const missing = [...used].filter(([key]) => !exists(key)).map(([key, file]) => `${key} (${file})`);
    expect(missing).toEqual([]);
  });
});

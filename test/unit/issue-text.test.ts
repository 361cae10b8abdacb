import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_KEYS, issueText, MESSAGE_KEYS } from '../../src/console/issue-text.ts';

const en = JSON.parse(readFileSync(new URL('../../locales/en.json', import.meta.url), 'utf8'));
const zh = JSON.parse(readFileSync(new URL('../../locales/zh-CN.json', import.meta.url), 'utf8'));
const lookup = (tree: Record<string, unknown>, key: string) => key.split('.').reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], tree);
/** A translator over one locale file, as i18next's t() would answer (the key itself when missing). */
const tOf = (tree: Record<string, unknown>) => (key: string, params: Record<string, unknown> = {}) =>
  String(lookup(tree, key) ?? key).replace(/\{\{(\w+)\}\}/g, (_, p: string) => String(params[p]));

/** Every fixed message the realm schema and rules word, read from their source. */
function domainMessages(): string[] {
  const found = new Set<string>();
  for (const file of ['src/domain/realm-settings.ts', 'src/domain/realm-rules.ts']) {
    const src = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    for (const m of src.matchAll(/\.(?:regex\(\/(?:\\\/|[^/])+\/[a-z]*|refine\(.+?), '([^']+)'\)/g)) found.add(m[1]!);
    for (const m of src.matchAll(/message: '([^']+)'/g)) found.add(m[1]!);
  }
  return [...found];
}

describe('the console says the realm schema’s refusals in the page’s language', () => {
  it('every fixed message of realm-settings.ts and realm-rules.ts has a key, present in en and zh-CN', () => {
    const messages = domainMessages();
    expect(messages.length).toBeGreaterThan(20);
    const missing = messages.filter((m) => !MESSAGE_KEYS[m] && !/^(duplicate|editable usernames|social logins only)/.test(m));
    expect(missing).toEqual([]);
    for (const key of [...Object.values(MESSAGE_KEYS), ...Object.values(CODE_KEYS), 'console.issue.tooBig', 'console.issue.tooSmall', 'console.issue.required']) {
      expect(typeof lookup(en, key), key).toBe('string');
      expect(typeof lookup(zh, key), key).toBe('string');
      expect(lookup(zh, key), key).not.toBe(lookup(en, key));
    }
  });

  it('reads in Chinese, bounds included; a message nobody translated keeps its words', () => {
    const issues = [
      { code: 'invalid_format', message: 'a colour like #4f46e5' },
      { code: 'too_big', message: 'Too big: expected string to have <=100 characters', limit: 100 },
      { code: 'too_small', message: 'Too small: expected string to have >=1 characters', limit: 1 },
      { code: 'too_small', message: 'Too small: expected number to be >=8', limit: 8 },
      { code: 'duplicate', message: 'duplicate clientId "a"' },
      { code: 'custom', message: 'duplicate provider id "x"' },
      { code: 'brand_new_rule', message: 'a rule nobody translated' },
      { code: 'needs_separate_usernames', message: 'duplicate emails need separate usernames (fields.usernames: "separate"): with emails as usernames every email is unique' },
    ];
    expect(issues.map((i) => issueText(tOf(zh), i))).toEqual(['请输入颜色值，例如 #4f46e5。', '太长或太大：最多 100。', '请填写此项。', '太短或太小：至少 8。', '此值重复出现：每一项都必须不同。', '此值重复出现：每一项都必须不同。', 'a rule nobody translated', lookup(zh, 'console.settings.issue.needsSeparateUsernames')]);
    expect(issueText(tOf(en), issues[0]!)).toBe('Enter a colour like #4f46e5.');
    // A number below 1 was typed: too small, not "fill in this field".
    expect(issueText(tOf(en), { code: 'too_small', message: 'Too small: expected number to be >=1', limit: 1 })).toBe('Too short or too small: at least 1.');
  });
});

describe('the console says every conflict of a service in the page’s language', () => {
  it('each ConflictError reason in src/ has console.conflict.<reason> in en and zh-CN (consoleMessageOf’s key)', async () => {
    const { readdirSync } = await import('node:fs');
    const dir = new URL('../../src/', import.meta.url);
    const reasons = new Set<string>();
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      for (const m of readFileSync(new URL(f, dir), 'utf8').matchAll(/new ConflictError\('([a-z_.]+)'/g)) reasons.add(m[1]!);
    }
    expect(reasons.size).toBeGreaterThan(10);
    for (const r of reasons) {
      const key = `console.conflict.${r.replace(/\./g, '_')}`;
      expect(typeof lookup(en, key), key).toBe('string');
      expect(typeof lookup(zh, key), key).toBe('string');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { momentsFor } from '../../src/http/moments.ts';

describe('moments in the page language (views/partials/when.ejs)', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it('says how long ago within a week, and the date beyond it', () => {
    const en = momentsFor('en');
    expect(en.relative(ago(10_000), now)).toBe('now');
    expect(en.relative(ago(5 * 60_000), now)).toBe('5 minutes ago');
    expect(en.relative(ago(3 * 3_600_000), now)).toBe('3 hours ago');
    expect(en.relative(ago(86_400_000), now)).toBe('yesterday');
    expect(en.relative(ago(8 * 86_400_000), now)).toBe(en.short(ago(8 * 86_400_000)));
    expect(en.relative(new Date(now.getTime() + 2 * 60_000), now)).toBe('in 2 minutes');
  });

  it('speaks Simplified Chinese, and keeps one set of formatters per language', () => {
    const zh = momentsFor('zh-CN');
    expect(zh.relative(ago(5 * 60_000), now)).toBe('5分钟前');
    expect(zh.short(now)).toMatch(/2026年12月7日/);
    expect(zh.full(now)).toMatch(/星期一/);
    expect(momentsFor('zh-CN')).toBe(zh);
    expect(momentsFor('en')).not.toBe(zh);
  });
});

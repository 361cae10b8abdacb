import { describe, expect, it } from 'vitest';
import { ConfigError, parseFileConfig } from '../../src/config/index.ts';
import { accountAttributeSchema, type AccountAttribute } from '../../src/config/schema.ts';
import { FlowError } from '../../src/http/flow-error.ts';
import { attributeViews, isIsoDate, parseAttributeValue, readAttributes } from '../../src/flows/profile/attributes.ts';
import { photoUrl } from '../../src/flows/profile/profile.service.ts';

const attr = (a: Record<string, unknown>): AccountAttribute => accountAttributeSchema.parse({ labels: { en: 'Label' }, ...a });

/** The locale key and field of the FlowError `fn` throws. */
function refusal(fn: () => unknown): { key: string; field?: string; status: number } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlowError);
    const e = err as FlowError;
    return { key: e.messageKey, field: e.field, status: e.status };
  }
  throw new Error('expected a FlowError, nothing was thrown');
}

function configWith(attributes: unknown[]): unknown {
  return { defaultRealm: 'a', realms: [{ id: 'a', name: 'A', publicUrl: 'https://a.example', account: { attributes } }] };
}

function configError(attributes: unknown[]): string {
  try {
    parseFileConfig(configWith(attributes));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('account.attributes in the configuration', () => {
  it('fills in the defaults: editable, optional, strings up to 200 characters', () => {
    const realm = parseFileConfig(configWith([{ key: 'bio', type: 'string', labels: { en: 'Bio' } }])).realms[0]!;
    expect(realm.account).toMatchObject({ recentAuthMinutes: 10, usernameEditable: false });
    expect(realm.account.attributes).toEqual([{ key: 'bio', type: 'string', labels: { en: 'Bio' }, editable: true, required: false, maxLength: 200 }]);
    expect(parseFileConfig(configWith([])).realms[0]!.account.attributes).toEqual([]);
  });

  it('refuses an enum without options, options or maxLength on the wrong type, and a required boolean', () => {
    expect(configError([{ key: 'plan', type: 'enum', labels: { en: 'Plan' } }])).toContain('realms[0].account.attributes[0].options: an enum attribute needs options');
    expect(configError([{ key: 'n', type: 'number', labels: { en: 'N' }, options: [{ value: 'x', labels: { en: 'X' } }] }])).toContain('options are for enum attributes only');
    expect(configError([{ key: 'n', type: 'number', labels: { en: 'N' }, maxLength: 5 }])).toContain('maxLength is for string attributes only');
    expect(configError([{ key: 'b', type: 'boolean', labels: { en: 'B' }, required: true }])).toContain('cannot be required');
    expect(configError([{ key: 'p', type: 'enum', labels: { en: 'P' }, options: [{ value: 'x', labels: { en: 'X' } }, { value: 'x', labels: { en: 'Y' } }] }])).toContain('duplicate option value "x"');
  });

  it('refuses duplicate keys but keeps keys that differ only in case apart', () => {
    expect(configError([{ key: 'plan', type: 'string', labels: { en: 'A' } }, { key: 'plan', type: 'number', labels: { en: 'B' } }])).toContain(
      'realms[0].account.attributes[1].key: duplicate attribute key "plan"',
    );
    const ok = parseFileConfig(configWith([{ key: 'plan', type: 'string', labels: { en: 'A' } }, { key: 'Plan', type: 'string', labels: { en: 'B' } }]));
    expect(ok.realms[0]!.account.attributes.map((a) => a.key)).toEqual(['plan', 'Plan']);
  });

  it('refuses bad keys, labels without en, unknown types and unknown settings', () => {
    for (const key of ['1st', '_x', 'has-dash', 'a'.repeat(65), 'dot.ted', '']) {
      expect(configError([{ key, type: 'string', labels: { en: 'A' } }]), key).toContain('.key:');
    }
    expect(configError([{ key: 'a', type: 'string', labels: { 'zh-CN': '甲' } }])).toContain('labels.en');
    expect(configError([{ key: 'a', type: 'string', labels: { en: 'A', fr: 'A' } }])).toContain('labels');
    expect(configError([{ key: 'a', type: 'json', labels: { en: 'A' } }])).toContain('.type:');
    expect(configError([{ key: 'a', type: 'string', labels: { en: 'A' }, hidden: true }])).toContain('hidden');
    expect(configError([{ key: 'a', type: 'string', labels: { en: 'line\nbreak' } }])).toContain('one line');
  });
});

describe('parseAttributeValue', () => {
  it('reads each type from its form string', () => {
    expect(parseAttributeValue(attr({ key: 's', type: 'string' }), '  hi  ')).toBe('hi');
    expect(parseAttributeValue(attr({ key: 'n', type: 'number' }), '42')).toBe(42);
    expect(parseAttributeValue(attr({ key: 'n', type: 'number' }), '-0.5')).toBe(-0.5);
    expect(parseAttributeValue(attr({ key: 'n', type: 'number' }), '1.5e3')).toBe(1500);
    expect(parseAttributeValue(attr({ key: 'd', type: 'date' }), '2024-02-29')).toBe('2024-02-29');
    expect(parseAttributeValue(attr({ key: 'b', type: 'boolean' }), 'true')).toBe(true);
    expect(parseAttributeValue(attr({ key: 'b', type: 'boolean' }), undefined)).toBe(false);
    const plan = attr({ key: 'p', type: 'enum', options: [{ value: 'pro', labels: { en: 'Pro' } }] });
    expect(parseAttributeValue(plan, 'pro')).toBe('pro');
  });

  it('clears an optional value left empty, leaves an absent one alone, and refuses an empty required one', () => {
    expect(parseAttributeValue(attr({ key: 's', type: 'string' }), '   ')).toBeNull();
    expect(parseAttributeValue(attr({ key: 'n', type: 'number' }), '')).toBeNull();
    expect(parseAttributeValue(attr({ key: 's', type: 'string' }), undefined)).toBeUndefined();
    expect(refusal(() => parseAttributeValue(attr({ key: 'co', type: 'string', required: true }), ' '))).toEqual({ key: 'validation.required', field: 'attr_co', status: 400 });
  });

  it('refuses values that do not fit the type, naming the field', () => {
    const number = attr({ key: 'n', type: 'number' });
    for (const bad of ['abc', 'NaN', 'Infinity', '-Infinity', '1e999', '0x10', '1,5', '1.', '--1', ' 1 2 ', '9'.repeat(41)]) {
      expect(refusal(() => parseAttributeValue(number, bad)), bad).toEqual({ key: 'profile.attributeNumber', field: 'attr_n', status: 400 });
    }
    const date = attr({ key: 'd', type: 'date' });
    for (const bad of ['2023-02-29', '2024-04-31', '2024-00-10', '2024-1-1', '20240101', '2024-01-01T00:00:00Z', 'tomorrow']) {
      expect(refusal(() => parseAttributeValue(date, bad)).key, bad).toBe('profile.attributeDate');
    }
    const plan = attr({ key: 'p', type: 'enum', options: [{ value: 'pro', labels: { en: 'Pro' } }] });
    expect(refusal(() => parseAttributeValue(plan, 'Pro')).key).toBe('profile.attributeOption');
    expect(refusal(() => parseAttributeValue(attr({ key: 'b', type: 'boolean' }), 'on')).key).toBe('validation.invalid');
    expect(refusal(() => parseAttributeValue(attr({ key: 's', type: 'string', maxLength: 3 }), 'abcd'))).toMatchObject({ key: 'profile.attributeTooLong' });
    // Length counts characters, not UTF-16 units.
    expect(parseAttributeValue(attr({ key: 's', type: 'string', maxLength: 3 }), '😀😀😀')).toBe('😀😀😀');
    expect(refusal(() => parseAttributeValue(attr({ key: 's', type: 'string' }), 'a\u0000b')).key).toBe('validation.invalidChars');
  });

  it('refuses an array or any other non-string for every type', () => {
    for (const type of ['string', 'number', 'date', 'boolean']) {
      expect(refusal(() => parseAttributeValue(attr({ key: 'x', type }), ['1', '2'])).key, type).toBe('validation.invalid');
      expect(refusal(() => parseAttributeValue(attr({ key: 'x', type }), { a: '1' })).key, type).toBe('validation.invalid');
    }
  });
});

describe('readAttributes', () => {
  const defs = [
    attr({ key: 'bio', type: 'string' }),
    attr({ key: 'Tier', type: 'string', editable: false }),
    attr({ key: 'news', type: 'boolean' }),
  ];

  it('reads only the editable attributes the realm lists', () => {
    expect(readAttributes(defs, { attr_bio: 'x', attr_Tier: 'gold', attr_other: '1', bio: 'y', attr_news: 'true' })).toEqual({ bio: 'x', news: true });
    expect(readAttributes(defs, {})).toEqual({ news: false });
  });
});

describe('attributeViews', () => {
  const defs = [
    attr({ key: 'plan', type: 'enum', labels: { en: 'Plan', 'zh-CN': '套餐' }, options: [{ value: 'pro', labels: { en: 'Pro', 'zh-CN': '专业版' } }] }),
    attr({ key: 'news', type: 'boolean', editable: false }),
    attr({ key: 'seats', type: 'number' }),
  ];

  it('labels in the page language with English as the fallback, stored values as text', () => {
    const [plan, news, seats] = attributeViews(defs, { plan: 'pro', news: true, seats: 3 }, 'zh-CN');
    expect(plan).toMatchObject({ label: '套餐', value: 'pro', display: '专业版', options: [{ value: 'pro', label: '专业版' }] });
    expect(news).toMatchObject({ label: 'Label', editable: false, yes: true });
    expect(seats).toMatchObject({ value: '3', maxLength: null });
  });

  it('shows what was just posted after a refusal, for editable attributes only', () => {
    const [, news, seats] = attributeViews(defs, { news: true, seats: 3 }, 'en', { attr_seats: 'three', attr_news: '' });
    expect(seats!.value).toBe('three');
    expect(news!.yes).toBe(true);
  });
});

describe('photoUrl', () => {
  it('keeps an absolute https URL, normalised', () => {
    expect(photoUrl('https://CDN.example.com/a b.png')).toBe('https://cdn.example.com/a%20b.png');
  });

  it('refuses everything else', () => {
    for (const bad of ['http://cdn.example.com/a.png', 'javascript:alert(1)', 'data:image/png;base64,AA', '//cdn.example.com/a', 'a.png', 'https://u:p@cdn.example.com/a', `https://a.example/${'x'.repeat(2048)}`]) {
      expect(refusal(() => photoUrl(bad)), bad).toEqual({ key: 'profile.photoInvalid', field: 'photo', status: 400 });
    }
  });

  it('knows real calendar days', () => {
    expect(isIsoDate('2000-02-29')).toBe(true);
    expect(isIsoDate('1900-02-29')).toBe(false);
    expect(isIsoDate('2024-12-31')).toBe(true);
  });
});

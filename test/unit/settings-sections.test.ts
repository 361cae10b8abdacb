import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { realmSchema } from '../../src/config/schema.ts';
import { formValues, sectionPatch, SECTION_FIELDS, SETTINGS_SECTIONS, SOCIAL_FIELDS } from '../../src/console/settings/sections.ts';

/** The console's settings forms as merge patches (pure): what each input becomes, and the locale keys its labels use. */
const realm = realmSchema.omit({ apps: true }).parse({
  id: 'acme',
  name: 'Acme',
  publicUrl: 'https://login.acme.example',
  fields: { usernames: 'separate', apiKeys: { prefix: 'acme_' } },
  social: { providers: [{ type: 'github', id: 'github', clientId: 'c', secretEnv: 'GH_SECRET', enabled: false }] },
});

const locale = (name: string) => JSON.parse(readFileSync(new URL(`../../locales/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const has = (tree: Record<string, unknown>, key: string) => typeof key.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), tree) === 'string';

describe('settings sections', () => {
  it('shows the realm’s values as the form’s strings', () => {
    expect(formValues('fields', realm)).toEqual({ usernames: 'separate', emails: 'unique', lowercaseUsernames: '', apiKeyPolicy: 'hash', apiKeyPrefix: 'acme_' });
    expect(formValues('sessions', realm)).toMatchObject({ idleMinutes: '4320', tokenAlgorithm: 'ES256' });
    expect(formValues('social', realm)).toMatchObject({ linkByEmail: 'true', only: '', 'provider.github.enabled': '' });
  });

  it('turns a form into a merge patch: numbers, unticked boxes false, an empty optional text removes its key', () => {
    const r = sectionPatch('fields', { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'encrypt', apiKeyPrefix: ' ' }, realm);
    expect(r.ok && r.patch).toEqual({ fields: { usernames: 'separate', emails: 'unique', lowercaseUsernames: false, apiKeys: { policy: 'encrypt', prefix: null } } });
    const p = sectionPatch('password', { minLength: '10', maxLength: '300', rejectCommon: 'true', recoveryTtlMinutes: '60', recoveryCodeAttempts: '5' }, realm);
    expect(p.ok && p.patch).toEqual({ password: { minLength: 10, maxLength: 300, rejectCommon: true }, recovery: { ttlMinutes: 60, codeAttempts: 5 } });
    // Values are the service's to judge: an unknown choice passes through.
    const s = sectionPatch('signup', { policy: 'sometimes' }, realm);
    expect(s.ok && s.patch).toEqual({ signup: { policy: 'sometimes' } });
    expect(s.ok && s.fieldOf('signup.policy')).toBe('policy');
    expect(s.ok && s.fieldOf('mfa.policy')).toBeNull();
  });

  it('refuses what is not a form value: arrays, control characters, not a whole number', () => {
    expect(sectionPatch('signup', { policy: ['open', 'disabled'] }, realm)).toMatchObject({ ok: false, field: 'policy' });
    expect(sectionPatch('branding', { name: 'A\r\nB', primaryColor: '#000000' }, realm)).toMatchObject({ ok: false, field: 'name', messageKey: 'validation.invalidChars' });
    expect(sectionPatch('mfa', { policy: '' }, realm)).toMatchObject({ ok: false, field: 'policy', messageKey: 'validation.required' });
    const n = sectionPatch('verification', { policy: 'off', linkTtlHours: '2.5', codeTtlMinutes: '1', codeAttempts: '1' }, realm);
    expect(n).toMatchObject({ ok: false, field: 'linkTtlHours', messageKey: 'console.settings.wholeNumber' });
  });

  it('switching emails to duplicates needs the “cannot be undone” box; staying on duplicates does not', () => {
    const form = { usernames: 'separate', emails: 'duplicates', apiKeyPolicy: 'hash' };
    expect(sectionPatch('fields', form, realm)).toMatchObject({ ok: false, field: 'confirmDuplicates', messageKey: 'console.settings.fields.confirmRequired' });
    expect(sectionPatch('fields', { ...form, confirmDuplicates: 'true' }, realm).ok).toBe(true);
    const already = { ...realm, fields: { ...realm.fields, emails: 'duplicates' as const } };
    expect(sectionPatch('fields', form, already).ok).toBe(true);
  });

  it('social: keeps, toggles and removes providers, adds one, and maps the service’s paths back to inputs', () => {
    const r = sectionPatch('social', { linkByEmail: 'true', 'provider.github.enabled': 'true', newType: 'oidc', newId: 'corp', newClientId: 'x', newSecretEnv: 'CORP', newIssuer: 'https://id.example.com' }, realm);
    if (!r.ok) throw new Error(r.messageKey);
    const providers = (r.patch.social as { providers: Array<Record<string, unknown>> }).providers;
    expect(providers.map((p) => [p.id, p.enabled])).toEqual([['github', true], ['corp', false]]);
    expect(r.fieldOf('social.providers[0].enabled')).toBe('provider.github.enabled');
    expect(r.fieldOf('social.providers[1].issuer')).toBe('newIssuer');
    expect(r.fieldOf('social.only')).toBe('only');
    const removed = sectionPatch('social', { 'provider.github.remove': 'true' }, realm);
    expect(removed.ok && removed.patch).toEqual({ social: { linkByEmail: false, only: false, providers: [] } });
    expect(sectionPatch('social', { newId: 'corp' }, realm)).toMatchObject({ ok: false, field: 'newType' });
  });

  it('every label, option and hint the views build from the sections exists in en and zh-CN', () => {
    const keys: string[] = [];
    for (const section of SETTINGS_SECTIONS) {
      keys.push(`console.settings.tabs.${section}`, `console.settings.${section}.lead`);
      const fields = section === 'social' ? SOCIAL_FIELDS : SECTION_FIELDS[section];
      for (const f of fields) {
        keys.push(`console.settings.${section}.${f.name}`);
        if (f.hint) keys.push(`console.settings.${section}.${f.name}Hint`);
        if (f.kind.type === 'choice') for (const o of f.kind.options) keys.push(`console.settings.${section}.${f.name}Options.${o}`);
      }
    }
    for (const k of ['newId', 'newName', 'newClientId', 'newSecretEnv', 'newIssuer', 'newEnabled']) keys.push(`console.settings.social.${k}`);
    for (const k of ['newIdHint', 'newSecretEnvHint', 'newIssuerHint', 'newEnabledHint', 'newTypeOptions.github', 'newTypeOptions.google', 'newTypeOptions.oidc']) keys.push(`console.settings.social.${k}`);
    for (const name of ['en', 'zh-CN']) {
      const tree = locale(name);
      expect(keys.filter((k) => !has(tree, k)), name).toEqual([]);
    }
  });
});

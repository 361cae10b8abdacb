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

  it('orgs & tokens: the JWT’s fields as a set of boxes (none ticked is []), numbers, rate limits, an empty permission removed', () => {
    expect(formValues('orgs', realm)).toEqual({
      'tokenFields.custom': 'true',
      'tokenFields.memberships': '',
      'tokenFields.orgs': '',
      tokenMaxOrgs: '50',
      maxPermissions: '20',
      invitationTtlHours: '168',
      memberPermission: '',
      invitationResendPoints: '5',
      invitationResendSeconds: '3600',
      memberInvitationsPoints: '20',
      memberInvitationsSeconds: '3600',
    });
    const form = { tokenMaxOrgs: '10', maxPermissions: '30', invitationTtlHours: '24', memberPermission: ' Members:Invite ', invitationResendPoints: '3', invitationResendSeconds: '600', memberInvitationsPoints: '7', memberInvitationsSeconds: '86400' };
    const r = sectionPatch('orgs', { ...form, 'tokenFields.orgs': 'true', 'tokenFields.custom': 'true' }, realm);
    if (!r.ok) throw new Error(r.messageKey);
    expect(r.patch).toEqual({
      tokens: { fields: ['custom', 'orgs'], maxOrgs: 10 },
      memberships: { maxPermissions: 30 },
      // The service lower-cases a permission; the form only trims.
      invitations: { ttlHours: 24, memberPermission: 'Members:Invite' },
      rateLimits: { invitationResend: { points: 3, durationSeconds: 600 }, memberInvitationsPerUser: { points: 7, durationSeconds: 86400 } },
    });
    expect(r.fieldOf('tokens.fields[1]')).toBe('tokenFields');
    expect(r.fieldOf('tokens.fields')).toBe('tokenFields');
    expect(r.fieldOf('rateLimits.memberInvitationsPerUser.durationSeconds')).toBe('memberInvitationsSeconds');
    expect(r.fieldOf('rateLimits.loginPerIp.points')).toBeNull();
    const none = sectionPatch('orgs', { ...form, memberPermission: '' }, realm);
    expect(none.ok && none.patch.tokens).toEqual({ fields: [], maxOrgs: 10 });
    expect(none.ok && none.patch.invitations).toEqual({ ttlHours: 24, memberPermission: null });
    // A box sent twice, or with another value, is not a checkbox: refused at the set.
    expect(sectionPatch('orgs', { ...form, 'tokenFields.orgs': ['true', 'true'] }, realm)).toMatchObject({ ok: false, field: 'tokenFields', messageKey: 'validation.invalid' });
    expect(sectionPatch('orgs', { ...form, 'tokenFields.orgs': 'yes' }, realm)).toMatchObject({ ok: false, field: 'tokenFields' });
    // A field name outside the options is not read at all.
    expect(sectionPatch('orgs', { ...form, 'tokenFields.everything': 'true' }, realm)).toMatchObject({ ok: true, patch: { tokens: { fields: [] } } });
    expect(sectionPatch('orgs', { ...form, invitationResendSeconds: '1h' }, realm)).toMatchObject({ ok: false, field: 'invitationResendSeconds', messageKey: 'console.settings.wholeNumber' });
  });

  it('every label, option and hint the views build from the sections exists in en and zh-CN', () => {
    const keys: string[] = [];
    for (const section of SETTINGS_SECTIONS) {
      keys.push(`console.settings.tabs.${section}`, `console.settings.${section}.lead`);
      const fields = section === 'social' ? SOCIAL_FIELDS : SECTION_FIELDS[section];
      for (const f of fields) {
        keys.push(`console.settings.${section}.${f.name}`);
        if (f.hint) keys.push(`console.settings.${section}.${f.name}Hint`);
        if (f.kind.type === 'choice' || f.kind.type === 'set') for (const o of f.kind.options) keys.push(`console.settings.${section}.${f.name}Options.${o}`);
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

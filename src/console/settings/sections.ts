import { z } from 'zod';
import { TOKEN_FIELDS, type ProviderConfig } from '../../domain/realm-settings.ts';
import type { RealmSettings } from '../../ports/directory.ts';

/**
 * The realm settings pages, one per section: what each shows of the realm's settings (the file's realm keys)
 * and the JSON merge patch its form becomes. Pure. The form only turns strings into the types the settings
 * have (a whole number, a checkbox, an empty text removing its key); every rule on the values — enums, ranges,
 * the colour's pattern, the one-way emails, which realm may enable a provider — is the realms service's, and
 * its refusal comes back naming a settings path that `fieldOf` maps to the form's input.
 */
export const SETTINGS_SECTIONS = ['fields', 'signup', 'verification', 'password', 'mfa', 'sessions', 'orgs', 'social', 'branding'] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

export const isSettingsSection = (s: unknown): s is SettingsSection => typeof s === 'string' && (SETTINGS_SECTIONS as readonly string[]).includes(s);

type Kind =
  | { type: 'choice'; options: readonly string[] }
  | { type: 'int' }
  | { type: 'bool' }
  /** A checkbox per option (input `<name>.<option>`): the ticked ones, in the options' order, as an array; none ticked is `[]`. */
  | { type: 'set'; options: readonly string[] }
  /** `optional`: an empty value removes the key (the setting falls back to its default or to none). */
  | { type: 'text'; max: number; optional: boolean };

export interface SettingField {
  /** The form input's name; its label is `console.settings.<section>.<name>`. */
  name: string;
  path: readonly string[];
  kind: Kind;
  /** A hint under the input: `console.settings.<section>.<name>Hint`. */
  hint?: boolean;
}

const choice = (...options: string[]): Kind => ({ type: 'choice', options });
const INT: Kind = { type: 'int' };
const BOOL: Kind = { type: 'bool' };
const text = (max: number, optional = false): Kind => ({ type: 'text', max, optional });
const set = (...options: string[]): Kind => ({ type: 'set', options });

/** Every section but social (its providers are a list, below). Choices' and sets' labels: `console.settings.<section>.<name>Options.<option>`. */
export const SECTION_FIELDS: Record<Exclude<SettingsSection, 'social'>, readonly SettingField[]> = {
  fields: [
    { name: 'usernames', path: ['fields', 'usernames'], kind: choice('email', 'separate'), hint: true },
    { name: 'emails', path: ['fields', 'emails'], kind: choice('unique', 'duplicates'), hint: true },
    { name: 'lowercaseUsernames', path: ['fields', 'lowercaseUsernames'], kind: BOOL, hint: true },
    { name: 'apiKeyPolicy', path: ['fields', 'apiKeys', 'policy'], kind: choice('hash', 'encrypt'), hint: true },
    { name: 'apiKeyPrefix', path: ['fields', 'apiKeys', 'prefix'], kind: text(100, true), hint: true },
  ],
  signup: [{ name: 'policy', path: ['signup', 'policy'], kind: choice('open', 'invite_only', 'disabled') }],
  verification: [
    { name: 'policy', path: ['emailVerification', 'policy'], kind: choice('off', 'optional', 'required') },
    { name: 'linkTtlHours', path: ['emailVerification', 'linkTtlHours'], kind: INT },
    { name: 'codeTtlMinutes', path: ['emailVerification', 'codeTtlMinutes'], kind: INT },
    { name: 'codeAttempts', path: ['emailVerification', 'codeAttempts'], kind: INT },
  ],
  password: [
    { name: 'minLength', path: ['password', 'minLength'], kind: INT },
    { name: 'maxLength', path: ['password', 'maxLength'], kind: INT },
    { name: 'rejectCommon', path: ['password', 'rejectCommon'], kind: BOOL, hint: true },
    { name: 'recoveryTtlMinutes', path: ['recovery', 'ttlMinutes'], kind: INT, hint: true },
    { name: 'recoveryCodeAttempts', path: ['recovery', 'codeAttempts'], kind: INT },
  ],
  mfa: [{ name: 'policy', path: ['mfa', 'policy'], kind: choice('optional', 'required'), hint: true }],
  sessions: [
    { name: 'idleMinutes', path: ['sessions', 'idleMinutes'], kind: INT, hint: true },
    { name: 'absoluteHours', path: ['sessions', 'absoluteHours'], kind: INT, hint: true },
    { name: 'recentAuthMinutes', path: ['account', 'recentAuthMinutes'], kind: INT, hint: true },
    { name: 'tokenTtlSeconds', path: ['tokens', 'ttlSeconds'], kind: INT, hint: true },
    { name: 'tokenAlgorithm', path: ['tokens', 'algorithm'], kind: choice('ES256', 'RS256', 'EdDSA'), hint: true },
  ],
  orgs: [
    { name: 'tokenFields', path: ['tokens', 'fields'], kind: set(...TOKEN_FIELDS), hint: true },
    { name: 'tokenMaxOrgs', path: ['tokens', 'maxOrgs'], kind: INT, hint: true },
    { name: 'maxPermissions', path: ['memberships', 'maxPermissions'], kind: INT, hint: true },
    { name: 'invitationTtlHours', path: ['invitations', 'ttlHours'], kind: INT, hint: true },
    { name: 'memberPermission', path: ['invitations', 'memberPermission'], kind: text(100, true), hint: true },
    // Rate limits: a pair each, "so many … per so many seconds" (the view puts a pair on one row).
    { name: 'invitationResendPoints', path: ['rateLimits', 'invitationResend', 'points'], kind: INT },
    { name: 'invitationResendSeconds', path: ['rateLimits', 'invitationResend', 'durationSeconds'], kind: INT },
    { name: 'memberInvitationsPoints', path: ['rateLimits', 'memberInvitationsPerUser', 'points'], kind: INT },
    { name: 'memberInvitationsSeconds', path: ['rateLimits', 'memberInvitationsPerUser', 'durationSeconds'], kind: INT },
  ],
  branding: [
    { name: 'name', path: ['name'], kind: text(200), hint: true },
    { name: 'logoUrl', path: ['branding', 'logoUrl'], kind: text(2000, true), hint: true },
    { name: 'primaryColor', path: ['branding', 'primaryColor'], kind: text(20), hint: true },
  ],
};

/** The social section's fixed inputs; each provider adds `provider.<id>.enabled` and `provider.<id>.remove`. */
export const SOCIAL_FIELDS: readonly SettingField[] = [
  { name: 'linkByEmail', path: ['social', 'linkByEmail'], kind: BOOL, hint: true },
  { name: 'only', path: ['social', 'only'], kind: BOOL, hint: true },
];
export const NEW_PROVIDER_TYPES = ['github', 'google', 'oidc'] as const;
const NEW_PROVIDER_TEXT = ['newId', 'newName', 'newClientId', 'newSecretEnv', 'newIssuer'] as const;

/** What a form shows: every input's value as a string ('true' / '' for a checkbox). */
export type FormValues = Record<string, string>;

export interface ProviderRow {
  id: string;
  type: ProviderConfig['type'];
  name: string | null;
  enabled: boolean;
}

const at = (settings: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), settings);

function show(kind: Kind, v: unknown): string {
  if (kind.type === 'bool') return v === true ? 'true' : '';
  return v === undefined || v === null ? '' : String(v);
}

/** The section's form filled with the realm's current settings; a set's boxes are `<name>.<option>`. */
export function formValues(section: SettingsSection, settings: RealmSettings): FormValues {
  const values: FormValues = {};
  const fields = section === 'social' ? SOCIAL_FIELDS : SECTION_FIELDS[section];
  for (const f of fields) {
    if (f.kind.type === 'set') {
      const held = at(settings, f.path);
      for (const o of f.kind.options) values[`${f.name}.${o}`] = Array.isArray(held) && held.includes(o) ? 'true' : '';
    } else values[f.name] = show(f.kind, at(settings, f.path));
  }
  if (section === 'social') {
    for (const p of settings.social.providers) values[`provider.${p.id}.enabled`] = p.enabled ? 'true' : '';
    for (const k of ['newType', ...NEW_PROVIDER_TEXT, 'newEnabled']) values[k] = '';
  }
  return values;
}

export const providerRows = (settings: RealmSettings): ProviderRow[] => settings.social.providers.map((p) => ({ id: p.id, type: p.type, name: p.name ?? null, enabled: p.enabled }));

/** The posted values worth showing again: strings only (an array is never echoed), checkboxes as 'true' / ''. */
export function postedValues(section: SettingsSection, body: unknown, settings: RealmSettings): FormValues {
  const b = (body ?? {}) as Record<string, unknown>;
  const values: FormValues = {};
  for (const name of Object.keys(formValues(section, settings))) values[name] = typeof b[name] === 'string' ? (b[name] as string) : '';
  return values;
}

const noControlChars = (v: string) => !/[\u0000-\u001f\u007f\ufffd]/.test(v);
/** A text input; one the form did not send reads as empty (then a required one says so). */
const textInput = (max: number) =>
  z
    .string({ error: 'validation.invalid' })
    .optional()
    .transform((v) => v ?? '')
    .refine((v) => v.length <= max, 'validation.tooLong')
    .refine(noControlChars, 'validation.invalidChars')
    .transform((v) => v.trim());

function inputSchema(kind: Kind): z.ZodType<unknown> {
  switch (kind.type) {
    case 'bool':
      // A ticked checkbox sends "true"; an unticked one sends nothing (or an empty value).
      return z.enum(['true', ''], { error: 'validation.invalid' }).optional().transform((v) => v === 'true');
    case 'int':
      return textInput(12)
        .refine((v) => v.length > 0, 'validation.required')
        .refine((v) => /^-?\d{1,9}$/.test(v), 'console.settings.wholeNumber')
        .transform(Number);
    case 'set':
      throw new Error('a set is read box by box');
    case 'choice':
      return textInput(40).refine((v) => v.length > 0, 'validation.required');
    case 'text':
      return kind.optional ? textInput(kind.max).transform((v) => (v === '' ? null : v)) : textInput(kind.max).refine((v) => v.length > 0, 'validation.required');
  }
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const k of path.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

export type SectionPatch =
  | { ok: true; patch: Record<string, unknown>; fieldOf: (settingsPath: string) => string | null }
  | { ok: false; field: string; messageKey: string };

/** Reads one input (a set: its boxes, from the whole body); a message key on failure. */
function read(kind: Kind, raw: unknown, body: Record<string, unknown> = {}, name = ''): { ok: true; value: unknown } | { ok: false; messageKey: string } {
  if (kind.type === 'set') {
    const ticked: string[] = [];
    for (const o of kind.options) {
      const box = read(BOOL, body[`${name}.${o}`]);
      if (!box.ok) return box;
      if (box.value) ticked.push(o);
    }
    return { ok: true, value: ticked };
  }
  const r = inputSchema(kind).safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const m = r.error.issues[0]!.message;
  return { ok: false, messageKey: m.startsWith('validation.') || m.startsWith('console.') ? m : 'validation.invalid' };
}

/** The form input a service issue's settings path (`fields.emails`, `tokens.fields[1]`, `social.providers[2].enabled`) belongs to. */
const byPath = (fields: readonly SettingField[]) => (settingsPath: string) =>
  fields.find((f) => {
    const p = f.path.join('.');
    return settingsPath === p || settingsPath.startsWith(`${p}.`) || settingsPath.startsWith(`${p}[`);
  })?.name ?? null;

/**
 * The section's form as a merge patch of the realm's settings, given the current ones. Switching emails to
 * "may be duplicated" needs the "I understand this cannot be undone" box (`confirmDuplicates`): the one-way
 * rule itself is the service's; this is only the operator saying they read the warning.
 */
export function sectionPatch(section: SettingsSection, body: unknown, current: RealmSettings): SectionPatch {
  const b = (body ?? {}) as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  const fields = section === 'social' ? SOCIAL_FIELDS : SECTION_FIELDS[section];
  for (const f of fields) {
    const r = read(f.kind, b[f.name], b, f.name);
    if (!r.ok) return { ok: false, field: f.name, messageKey: r.messageKey };
    setAt(patch, f.path, r.value);
  }
  if (section === 'fields' && patch.fields && (patch.fields as Record<string, unknown>).emails === 'duplicates' && current.fields.emails !== 'duplicates') {
    const confirmed = read(BOOL, b.confirmDuplicates);
    if (!confirmed.ok || confirmed.value !== true) return { ok: false, field: 'confirmDuplicates', messageKey: 'console.settings.fields.confirmRequired' };
  }
  if (section !== 'social') return { ok: true, patch, fieldOf: byPath(fields) };
  return socialPatch(b, current, patch);
}

/** Providers: each kept one's enabled box, the removed ones left out, and at most one new one (the service checks it whole). */
function socialPatch(b: Record<string, unknown>, current: RealmSettings, patch: Record<string, unknown>): SectionPatch {
  const providers: unknown[] = [];
  const names: string[] = [];
  for (const p of current.social.providers) {
    const remove = read(BOOL, b[`provider.${p.id}.remove`]);
    if (!remove.ok) return { ok: false, field: `provider.${p.id}.remove`, messageKey: remove.messageKey };
    if (remove.value) continue;
    const enabled = read(BOOL, b[`provider.${p.id}.enabled`]);
    if (!enabled.ok) return { ok: false, field: `provider.${p.id}.enabled`, messageKey: enabled.messageKey };
    providers.push({ ...p, enabled: enabled.value });
    names.push(`provider.${p.id}.enabled`);
  }
  const type = read(text(20, true), b.newType);
  if (!type.ok) return { ok: false, field: 'newType', messageKey: type.messageKey };
  const added: Record<string, string> = {};
  for (const k of NEW_PROVIDER_TEXT) {
    const r = read(text(k === 'newIssuer' ? 2000 : 300, true), b[k]);
    if (!r.ok) return { ok: false, field: k, messageKey: r.messageKey };
    if (r.value !== null) added[k] = r.value as string;
  }
  const newEnabled = read(BOOL, b.newEnabled);
  if (!newEnabled.ok) return { ok: false, field: 'newEnabled', messageKey: newEnabled.messageKey };
  if (type.value !== null) {
    providers.push({
      type: type.value,
      id: added.newId ?? '',
      ...(added.newName !== undefined ? { name: added.newName } : {}),
      clientId: added.newClientId ?? '',
      secretEnv: added.newSecretEnv ?? '',
      ...(added.newIssuer !== undefined ? { issuer: added.newIssuer } : {}),
      enabled: newEnabled.value,
    });
  } else if (Object.keys(added).length > 0) {
    return { ok: false, field: 'newType', messageKey: 'console.settings.social.newTypeRequired' };
  }
  setAt(patch, ['social', 'providers'], providers);
  const fixed = byPath(SOCIAL_FIELDS);
  const NEW_KEYS: Record<string, string> = { id: 'newId', name: 'newName', clientId: 'newClientId', secretEnv: 'newSecretEnv', issuer: 'newIssuer', enabled: 'newEnabled', type: 'newType' };
  const fieldOf = (settingsPath: string): string | null => {
    const m = /^social\.providers\[(\d+)\](?:\.(\w+))?/.exec(settingsPath);
    if (!m) return fixed(settingsPath);
    const i = Number(m[1]);
    if (i < names.length) return names[i]!;
    return NEW_KEYS[m[2] ?? 'type'] ?? 'newType';
  };
  return { ok: true, patch, fieldOf };
}

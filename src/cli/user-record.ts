import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ARGON2ID_HASH, BCRYPT_HASH } from '../identity/password.ts';
import { normalizeLogin, type AttributeValue } from '../identity/user.ts';
import type { ExternalIdentity } from '../ports/identities.ts';
import type { UserRecord } from '../ports/user-records.ts';

/**
 * One user as `gatehouse users export` writes it and `import` reads it: every
 * User field (dates as ISO 8601 strings), the password hash and the linked
 * identities. `realmId` is written for the reader; the import puts every row
 * into its --realm and does not read it. Absent fields take their defaults:
 * a row is the whole user, not a patch.
 */
export interface ExportedUser {
  id: string;
  realmId: string;
  userType: 'human' | 'api';
  username: string;
  email: string | null;
  emailVerification: 'none' | 'requested' | 'verified';
  phone: string | null;
  phoneVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  /** An API user's own name; null for humans (theirs is derived from firstName and lastName). */
  name: string | null;
  nickname: string | null;
  photo: string | null;
  locale: string | null;
  state: 'active' | 'inactive';
  reference: string | null;
  customAttributes: Record<string, AttributeValue>;
  loginsCount: number;
  lastLoginAt: string | null;
  lastLoginIp: string | null;
  createdAt: string;
  updatedAt: string;
  passwordHash: string | null;
  identities: ExportedIdentity[];
}

export interface ExportedIdentity {
  provider: string;
  subject: string;
  displayName: string | null;
  email: string | null;
  createdAt: string;
}

/** The columns of the CSV format, in order (the JSON Lines objects have the same keys). */
export const CSV_COLUMNS = [
  'id',
  'realmId',
  'userType',
  'username',
  'email',
  'emailVerification',
  'phone',
  'phoneVerified',
  'firstName',
  'lastName',
  'name',
  'nickname',
  'photo',
  'locale',
  'state',
  'reference',
  'customAttributes',
  'loginsCount',
  'lastLoginAt',
  'lastLoginIp',
  'createdAt',
  'updatedAt',
  'passwordHash',
  'identities',
] as const satisfies ReadonlyArray<keyof ExportedUser>;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

export function toExported(record: UserRecord): ExportedUser {
  const u = record.user;
  return {
    id: u.id,
    realmId: u.realmId,
    userType: u.userType,
    username: u.username,
    email: u.email,
    emailVerification: u.emailVerification,
    phone: u.phone,
    phoneVerified: u.phoneVerified,
    firstName: u.firstName,
    lastName: u.lastName,
    name: u.name,
    nickname: u.nickname,
    photo: u.photo,
    locale: u.locale,
    state: u.state,
    reference: u.reference,
    customAttributes: u.customAttributes,
    loginsCount: u.loginsCount,
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
    lastLoginIp: u.lastLoginIp,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
    passwordHash: record.passwordHash,
    identities: record.identities.map((i) => ({ provider: i.provider, subject: i.subject, displayName: i.displayName, email: i.email, createdAt: i.createdAt.toISOString() })),
  };
}

/** A CSV row: null as an empty cell, the nested customAttributes and identities as JSON in their cells. */
export function toCsvRow(user: ExportedUser): string[] {
  return CSV_COLUMNS.map((column) => {
    const value = user[column];
    if (value === null) return '';
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  });
}

const NESTED = new Set<string>(['customAttributes', 'identities']);
const NUMERIC = new Set<string>(['loginsCount']);
const BOOLEAN = new Set<string>(['phoneVerified']);

/**
 * A CSV row (header → cell) as the JSON the schema reads: an empty cell is
 * an absent field, the nested ones are parsed from JSON (an unreadable cell
 * stays a string, which the schema refuses by name), and the number and
 * boolean cells become numbers and booleans when they read as such.
 */
export function fromCsvRow(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, cell] of Object.entries(row)) {
    if (cell === '') continue;
    if (NESTED.has(key)) {
      try {
        out[key] = JSON.parse(cell);
      } catch {
        out[key] = cell;
      }
    } else if (NUMERIC.has(key) && /^-?\d+$/.test(cell)) out[key] = Number(cell);
    else if (BOOLEAN.has(key) && (cell === 'true' || cell === 'false')) out[key] = cell === 'true';
    else out[key] = cell;
  }
  return out;
}

/**
 * The id of a row that has none: an RFC 9562 version-8 ("custom") UUID made
 * of the first 128 bits of SHA-256 over the realm and the case-folded
 * username. The same row gets the same id on every run, so importing a file
 * twice updates the users the first run created instead of doubling them.
 */
export function stableUserId(realmId: string, username: string): string {
  const bytes = createHash('sha256').update(`gatehouse-user\0${realmId}\0${normalizeLogin(username)}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const noControl = (v: string) => !CONTROL.test(v);

/** One line of text without control characters (no CR/LF in anything that reaches a page, a mail or a JWT). */
const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'required' : 'not a string') })
    .max(max, `at most ${max} characters`).refine(noControl, 'contains control characters (CR, LF, …)');
/** Absent, null or "": none. */
const optionalText = (max: number) =>
  text(max)
    .nullish()
    .transform((v) => (v ? v : null));
const isoDate = z.iso.datetime({ offset: true, error: 'not an ISO 8601 date-time (2024-05-01T12:00:00Z)' }).transform((v) => new Date(v));

const email = z
  .string()
  .max(254, 'at most 254 characters')
  .refine(noControl, 'contains control characters (CR, LF, …)')
  .pipe(z.email('not an email address'));

const phone = z.string().regex(/^\+[1-9]\d{6,14}$/, 'not an E.164 phone number (+14155550100)');

/** What the profile page accepts: an absolute https URL without credentials (pages show it as an image). */
const photo = z
  .string()
  .max(2048, 'at most 2048 characters')
  .refine((v) => {
    if (!URL.canParse(v)) return false;
    const url = new URL(v);
    return url.protocol === 'https:' && Boolean(url.hostname) && !url.username && !url.password;
  }, 'not an absolute https URL');

const scalar = z.union([z.string().max(2000, 'at most 2000 characters'), z.number(), z.boolean()], { error: 'a string, number or boolean' });
const attributeValue = z.union([scalar, z.null(), z.array(scalar).max(100, 'at most 100 values')], {
  error: 'a string, number, boolean, null or an array of those',
});
const customAttributes = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a key is a letter, then letters, digits, _ . -, at most 64'), attributeValue, {
    error: 'an object of attributes',
  })
  .refine((v) => Object.keys(v).length <= 100, 'at most 100 attributes');

const identity = z.strictObject(
  {
    provider: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'a provider id (lower-case letters, digits and dashes)'),
    subject: text(255).min(1, 'required'),
    displayName: optionalText(255),
    email: optionalText(254),
    /** Absent: when the user was created. */
    createdAt: isoDate.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : 'an identity object') },
);

const passwordHash = z
  .string()
  .refine((v) => ARGON2ID_HASH.test(v) || BCRYPT_HASH.test(v), 'not an argon2id or bcrypt ($2a$, $2b$, $2y$) hash')
  .refine((v) => !BCRYPT_HASH.test(v) || Number(v.slice(4, 6)) <= 16, 'a bcrypt cost over 16 would make every login of this user take seconds');

/** A row of an import file, once parsed (JSON object, or a CSV row through `fromCsvRow`). */
export const importRowSchema = z
  .strictObject(
    {
      /** Absent: `stableUserId(realm, username)`. */
      id: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, . _ : -, at most 100').optional(),
      /** Written by the export; the import does not read it (the rows go into --realm). */
      realmId: z.string().optional(),
      userType: z.enum(['human', 'api'], 'human or api').default('human'),
      username: text(254)
        .transform((v) => v.trim())
        .refine((v) => v.length > 0, 'required'),
      email: email.nullish().transform((v) => v ?? null),
      emailVerification: z.enum(['none', 'requested', 'verified'], 'none, requested or verified').default('none'),
      phone: phone.nullish().transform((v) => v ?? null),
      phoneVerified: z.boolean('true or false').default(false),
      firstName: optionalText(100),
      lastName: optionalText(100),
      name: optionalText(100),
      nickname: optionalText(100),
      photo: photo.nullish().transform((v) => v ?? null),
      locale: z
        .string()
        .regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$/, 'not a language tag (en, zh-CN)')
        .nullish()
        .transform((v) => v ?? null),
      state: z.enum(['active', 'inactive'], 'active or inactive').default('active'),
      reference: optionalText(255),
      customAttributes: customAttributes.default({}),
      loginsCount: z.number('a whole number').int('a whole number').min(0, 'not negative').default(0),
      lastLoginAt: isoDate.nullish().transform((v) => v ?? null),
      lastLoginIp: z
        .string()
        .refine((v) => isIP(v) !== 0, 'not an IP address')
        .nullish()
        .transform((v) => v ?? null),
      /** Absent: kept from the stored user when the id exists, else the time of the import. */
      createdAt: isoDate.optional(),
      /** Absent: createdAt. */
      updatedAt: isoDate.optional(),
      passwordHash: passwordHash.nullish().transform((v) => v ?? null),
      identities: z.array(identity, 'an array of identities').max(20, 'at most 20').default([]),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : 'not an object') },
  )
  .superRefine((row, ctx) => {
    if (row.emailVerification !== 'none' && !row.email) ctx.addIssue({ code: 'custom', path: ['emailVerification'], message: `${row.emailVerification} needs an email` });
    if (row.phoneVerified && !row.phone) ctx.addIssue({ code: 'custom', path: ['phoneVerified'], message: 'true needs a phone' });
    const providers = new Set<string>();
    row.identities.forEach((i, n) => {
      if (providers.has(i.provider)) ctx.addIssue({ code: 'custom', path: ['identities', n, 'provider'], message: `a second identity of ${i.provider}` });
      providers.add(i.provider);
    });
  });

export type ImportRow = z.output<typeof importRowSchema>;

/** The issues of a refused row in one line: `email: not an email address; phone: …`. */
export function describeRowIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * The store record of a valid row in `realmId`. `storedCreatedAt`: when the
 * user of this id was created, if it exists (a row without createdAt keeps it).
 */
export function toUserRecord(row: ImportRow, realmId: string, now: Date, storedCreatedAt: Date | null = null): UserRecord {
  const id = row.id ?? stableUserId(realmId, row.username);
  const createdAt = row.createdAt ?? storedCreatedAt ?? now;
  const identities: ExternalIdentity[] = row.identities.map((i) => ({
    realmId,
    provider: i.provider,
    subject: i.subject,
    userId: id,
    displayName: i.displayName,
    email: i.email,
    createdAt: i.createdAt ?? createdAt,
  }));
  return {
    user: {
      id,
      realmId,
      userType: row.userType,
      username: row.username,
      email: row.email,
      emailVerification: row.emailVerification,
      phone: row.phone,
      phoneVerified: row.phoneVerified,
      firstName: row.firstName,
      lastName: row.lastName,
      name: row.userType === 'api' ? row.name : null,
      nickname: row.nickname,
      photo: row.photo,
      locale: row.locale,
      state: row.state,
      reference: row.reference,
      customAttributes: row.customAttributes,
      loginsCount: row.loginsCount,
      lastLoginAt: row.lastLoginAt,
      lastLoginIp: row.lastLoginIp,
      createdAt,
      updatedAt: row.updatedAt ?? createdAt,
    },
    passwordHash: row.passwordHash,
    identities,
  };
}

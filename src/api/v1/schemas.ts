import { z } from 'zod';
import { ATTRIBUTE_KEY, MAX_ATTRIBUTE_ARRAY, MAX_ATTRIBUTE_STRING, MAX_ATTRIBUTES, RESERVED_ATTRIBUTE_KEYS } from '../../domain/custom-attributes.ts';
import { USER_SORT_KEYS } from '../../domain/user-query.ts';

/** Request and response schemas of the management API: they validate requests and generate the OpenAPI document. */

const CONTROL = /[\u0000-\u001f\u007f]/;
/** One line of text: no control characters (no CRLF), trimmed, at most `max`. */
export const line = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !CONTROL.test(v), 'must be one line without control characters');

export const realmId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a realm id');
/** User ids are UUIDs when Gatehouse makes them, or what an import gave (printable, ≤ 100). */
export const userId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'a user id');
export const sessionId = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/, 'a session id');

export const realmParams = z.strictObject({ realmId });
export const userParams = z.strictObject({ realmId, userId });

/** A query's number: digits only (no "1e3", no "-1"). */
const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const date = z.iso.datetime({ offset: true, message: 'an RFC 3339 date-time like 2026-01-31T12:00:00Z' }).transform((v) => new Date(v));

export const limitParam = intParam(1, 1000).optional();
export const afterParam = z.string().min(1).max(2000).optional();

/** The one user filter: list, count, export and bulk delete. */
export const userFilterShape = {
  userType: z.enum(['human', 'api']).optional(),
  state: z.enum(['active', 'inactive']).optional(),
  createdAfter: date.optional(),
  createdBefore: date.optional(),
  q: line(200)
    .min(1)
    .describe('Search: a prefix of the username, the email or the name (any case, Unicode-aware), or of the reference (case-sensitive, as stored)')
    .optional(),
  reference: line(255).min(1).optional(),
  emailVerification: z.enum(['none', 'requested', 'verified']).optional(),
};
export const userFilterQuery = z.strictObject(userFilterShape);
export const userSortShape = {
  sort: z.enum(USER_SORT_KEYS).default('createdAt'),
  direction: z.enum(['asc', 'desc']).default('asc'),
};
export const userListQuery = z.strictObject({ ...userFilterShape, ...userSortShape, limit: limitParam, after: afterParam });
export const userExportQuery = z.strictObject({
  ...userFilterShape,
  ...userSortShape,
  format: z.enum(['csv', 'ndjson']).default('ndjson'),
  /** true: the passwordHash column carries the hashes (write keys only); else it is empty. */
  includePasswordHashes: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

const scalar = z.union([z.string().max(MAX_ATTRIBUTE_STRING), z.number().finite(), z.boolean()]);
/** Custom attributes: case-sensitive keys, scalar or array-of-scalar values (null removes nothing: the object replaces the stored one). */
export const customAttributes = z
  .record(
    z
      .string()
      .regex(ATTRIBUTE_KEY, 'a key of 1 to 64 characters without control characters')
      .refine((k) => !RESERVED_ATTRIBUTE_KEYS.has(k), 'a reserved name'),
    z.union([scalar, z.null(), z.array(scalar).max(MAX_ATTRIBUTE_ARRAY)]),
  )
  .refine((r) => Object.keys(r).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

const username = line(254).min(1).refine((v) => v.trim() === v, 'no spaces at either end');
const email = line(254);
const name = line(100);
const locale = z.string().regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$/, 'a language tag like en or zh-CN');
const password = z.string().min(1).max(1024);

export const createUserBody = z.strictObject({
  userType: z.enum(['human', 'api']).default('human'),
  username: username.optional(),
  email: email.nullable().optional(),
  firstName: name.nullable().optional(),
  lastName: name.nullable().optional(),
  /** API users only. */
  name: name.nullable().optional(),
  password: password.optional(),
  emailVerification: z.enum(['none', 'requested', 'verified']).optional(),
  locale: locale.nullable().optional(),
  reference: line(255).nullable().optional(),
  customAttributes: customAttributes.optional(),
  state: z.enum(['active', 'inactive']).optional(),
  /** API users only: a key of your own instead of a generated one. */
  apiKey: z.string().min(1).max(200).optional(),
});

export const patchUserBody = z
  .strictObject({
    username: username.optional(),
    email: email.nullable().optional(),
    emailVerification: z.enum(['none', 'requested', 'verified']).optional(),
    firstName: name.nullable().optional(),
    lastName: name.nullable().optional(),
    name: name.nullable().optional(),
    locale: locale.nullable().optional(),
    state: z.enum(['active', 'inactive']).optional(),
    reference: line(255).nullable().optional(),
    customAttributes: customAttributes.optional(),
    password: password.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

/** `{ ids }`, or `{ filter, expect? }`: one object, so a mistake is reported at its field, not as "no union member matched". */
export const bulkDeleteBody = z
  .strictObject({
    ids: z.array(userId).min(1).max(1000).optional().describe('Up to 1000 user ids; not with filter'),
    filter: z.strictObject(userFilterShape).optional().describe('The users list’s filter; not with ids'),
    expect: z.number().int().min(0).optional().describe('With filter: delete only while exactly this many match; without it, a dry run'),
  })
  .superRefine((b, ctx) => {
    if ((b.ids === undefined) === (b.filter === undefined)) ctx.addIssue({ code: 'custom', path: ['ids'], message: 'give ids, or a filter (with expect to delete)' });
    if (b.expect !== undefined && b.filter === undefined) ctx.addIssue({ code: 'custom', path: ['expect'], message: 'expect goes with a filter' });
  });

export const passwordTokenBody = z.strictObject({ send: z.boolean().default(false) });
export const apiKeyBody = z.strictObject({ apiKey: z.string().min(1).max(200).optional() });
export const authenticateKeyBody = z.strictObject({ apiKey: z.string().min(1).max(512) });

export const createManagementKeyBody = z.strictObject({
  /** A realm id, or "*" for every realm. */
  realm: z.union([realmId, z.literal('*')]),
  access: z.enum(['read', 'write']),
  name: line(100).min(1).optional(),
});

// Responses (documentation; the serializers in serialize.ts produce them).
const time = z.string().describe('RFC 3339 UTC');
export const userOut = z.object({
  id: z.string(),
  realmId: z.string(),
  userType: z.enum(['human', 'api']),
  username: z.string(),
  email: z.string().nullable(),
  emailVerification: z.enum(['none', 'requested', 'verified']),
  phone: z.string().nullable(),
  phoneVerified: z.boolean(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  name: z.string().describe("humans: derived from firstName and lastName; API users: their own"),
  nickname: z.string().nullable(),
  photo: z.string().nullable(),
  locale: z.string().nullable(),
  state: z.enum(['active', 'inactive']),
  reference: z.string().nullable(),
  customAttributes: z.record(z.string(), z.unknown()),
  loginsCount: z.number(),
  lastLoginAt: time.nullable(),
  lastLoginIp: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
});
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next: z.string().nullable() });
export const countOut = z.object({ count: z.number() });
export const managementKeyOut = z.object({
  id: z.string(),
  name: z.string().nullable(),
  realm: z.string().describe('a realm id or "*"'),
  access: z.enum(['read', 'write']),
  lastFour: z.string(),
  createdAt: time,
  createdBy: z.string().nullable(),
  lastUsedAt: time.nullable(),
  revokedAt: time.nullable(),
});
export const sessionOut = z.object({
  id: z.string(),
  userId: z.string(),
  createdAt: time,
  lastSeenAt: time,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  amr: z.array(z.string()),
  aal: z.number(),
});
export const credentialOut = z.object({
  id: z.string(),
  type: z.enum(['password', 'totp', 'api_key', 'identity']),
  createdAt: time.nullable(),
  provider: z.string().optional(),
  displayName: z.string().nullable().optional(),
  confirmed: z.boolean().optional(),
});
export const auditOut = z.object({
  id: z.string(),
  realmId: z.string().nullable(),
  at: time,
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  operation: z.string(),
  target: z.object({ type: z.string(), id: z.string().nullable() }),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
});
export const problemOut = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  errors: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })).optional(),
});

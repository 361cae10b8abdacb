import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { lazyModule } from '../lazy-module.ts';
import { GROUP_ID, ORG_ID } from './ids.ts';
import { PERMISSION } from './permissions.ts';

/**
 * A realm's and an app's settings: the one zod schema the configuration file
 * (src/config/schema.ts) and the management API's realm writes (the realms
 * service) both parse with. Plain rules, no I/O; the cross-field rules that
 * apply to a write are in realm-rules.ts.
 */

/** Only a configuration that names a default phone country loads libphonenumber-js to check it. */
const phoneNumbers = lazyModule<typeof import('libphonenumber-js')>('libphonenumber-js');
const LOCALHOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An absolute http(s) URL an app registers for redirects: exact, no fragment, no user info. */
export const registeredUri = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCALHOSTS.has(url.hostname))) {
    ctx.addIssue({ code: 'custom', message: 'must use https (http is allowed for localhost only)' });
  }
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain user info' });
  if (url.hash || value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not contain a fragment' });
  if (value.includes('*')) ctx.addIssue({ code: 'custom', message: 'wildcards are not supported: register each URI exactly' });
});

const publicUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:\/\//.test(v), { message: 'must be an absolute http(s) URL', abort: true })
  .refine((v) => new URL(v).pathname === '/' && !new URL(v).search, 'must be an origin, without path or query')
  .transform((v) => new URL(v).origin);

const hostName = z
  .string()
  .regex(/^[a-z0-9.-]+(:\d{1,5})?$/i, 'must be a host name, optionally with a port')
  .transform((v) => v.toLowerCase());

/** What a realm's JWT may carry beyond who the user is (`tokens.fields`). */
export const TOKEN_FIELDS = ['custom', 'memberships', 'orgs'] as const;
export type TokenField = (typeof TOKEN_FIELDS)[number];

/** Who may receive an app's JWT (docs/design/orgs.md §6; the rule: domain/app-access.ts). */
export const appAccessSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('everyone') }),
    z.strictObject({
      type: z.literal('permission'),
      permission: z.string().regex(PERMISSION, 'a permission: letters, digits and * : ; . _ -, at most 62').transform((p) => p.toLowerCase()),
    }),
    z
      .strictObject({
        type: z.literal('members'),
        orgs: z.array(z.string().regex(ORG_ID, 'an org id (org_…)')).max(100).default([]),
        groups: z.array(z.string().regex(GROUP_ID, 'a group id (grp_…)')).max(100).default([]),
      })
      .refine((a) => a.orgs.length + a.groups.length > 0, 'name at least one org or group'),
  ])
  .default({ type: 'everyone' })
  .describe(
    'Who may receive this app’s JWT: `{"type":"everyone"}` (the default); `{"type":"permission","permission":"portal:use"}`: users holding it (with the wildcard rule: `portal:*` or `*` count) in any live membership or group; `{"type":"members","orgs":["org_…"],"groups":["grp_…"]}`: live members of one of those active orgs or groups. Anyone else gets a page saying they have no access, no JWT, and the event `user.app_access.denied`; their sign-in stands for the realm’s other apps.',
  );
export type AppAccess = z.infer<typeof appAccessSchema>;

export const appSchema = z.strictObject({
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash and underscore, at most 64')
    // The console's "new app" page is …/apps/new (paths match case-insensitively): an app named so could not be opened.
    .refine((id) => id.toLowerCase() !== 'new', 'is reserved (the console’s page for a new app); choose another')
    .describe('Public id: letters, digits, `.`, `_`, `-`, at most 64, not `new`; unique in the realm (the same `clientId` may exist in several realms). The JWT’s `aud`; the `client_id` parameter.'),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters')
    .describe('Shown to users (“to continue to …”): one line, like the realm’s name.'),
  redirectUris: z.array(registeredUri).min(1).describe('Exact URIs the JWT may be delivered to, at least one.'),
  logoutRedirectUris: z.array(registeredUri).default([]).describe('Exact URIs `/logout` may send the user back to.'),
  delivery: z
    .enum(['form_post', 'fragment', 'query'])
    .default('form_post')
    .describe('How the JWT reaches the app: an auto-submitting form, the URI’s fragment, or its query (LoginRocket-compatible).'),
  secretEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'an environment variable name, like DEMO_APP_SECRET')
    .optional()
    .describe(
      'Name of the environment variable holding the app’s secret (at least 32 characters), for the back channel `GET /api/sessions/:sid` and `POST /api/v1/apps/token` (HTTP Basic `clientId:secret`). Gatehouse refuses to start when the variable is missing or short. The secret never sits in the file.',
    ),
  access: appAccessSchema,
});

const rateLimitSchema = z.strictObject({
  points: z.number().int().min(1),
  durationSeconds: z.number().int().min(1),
});

/** One line of at most `max` characters, without control characters. */
const oneLineText = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters');

/** One line for a page: a label or an option's name. */
const oneLine = z.string().min(1).max(100).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters');

/** An operator's text in each page language; `en` is required and the fallback. */
const attributeLabels = z.strictObject({ en: oneLine, 'zh-CN': oneLine.optional() });

/** The profile form has one input per attribute and the form body allows 50 fields. */
export const MAX_ACCOUNT_ATTRIBUTES = 30;

/** A custom attribute shown on the profile page (see README "Realm keys", `account.attributes`). */
export const accountAttributeSchema = z
  .strictObject({
    key: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'a letter, then letters, digits or underscores, at most 64')
      .describe('The key in the user’s custom attributes and the JWT’s `cs`: a letter, then letters, digits or `_`, at most 64; case-sensitive, unique in the realm.'),
    type: z
      .enum(['string', 'number', 'boolean', 'date', 'enum'])
      .describe('The input and the check: text; a finite number; a checkbox (unticked is `false`); a calendar day `YYYY-MM-DD`; one of `options` (a select).'),
    labels: attributeLabels.describe('`{ "en": "…", "zh-CN": "…" }`, one line each; `en` is required and shown where the page’s language has no label.'),
    editable: z.boolean().default(true).describe('`false`: shown read-only (set by an administrator or an app); a form that tries to change it is ignored.'),
    required: z.boolean().default(false).describe('The user may not leave it empty (an empty optional value removes the attribute). Not for booleans: a checkbox is always true or false.'),
    options: z
      .array(z.strictObject({ value: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters'), labels: attributeLabels }))
      .min(1)
      .max(100)
      .optional()
      .describe('Enum only, and required there: `[{ "value": "pro", "labels": { "en": "Pro" } }]`, 1–100 options, values unique.'),
    maxLength: z.number().int().min(1).max(2000).optional().describe('String only: the longest value, in characters (Unicode code points); 200 when not given.'),
  })
  .superRefine((a, ctx) => {
    if (a.type === 'enum' && !a.options) ctx.addIssue({ code: 'custom', path: ['options'], message: 'an enum attribute needs options' });
    if (a.type !== 'enum' && a.options) ctx.addIssue({ code: 'custom', path: ['options'], message: 'options are for enum attributes only' });
    if (a.type !== 'string' && a.maxLength !== undefined) ctx.addIssue({ code: 'custom', path: ['maxLength'], message: 'maxLength is for string attributes only' });
    if (a.type === 'boolean' && a.required) ctx.addIssue({ code: 'custom', path: ['required'], message: 'a boolean is always true or false: it cannot be required' });
    const values = new Set<string>();
    a.options?.forEach((o, i) => {
      if (values.has(o.value)) ctx.addIssue({ code: 'custom', path: ['options', i, 'value'], message: `duplicate option value "${o.value}"` });
      values.add(o.value);
    });
  })
  .transform((a) => (a.type === 'string' ? { ...a, maxLength: a.maxLength ?? 200 } : a));

export type AccountAttribute = z.infer<typeof accountAttributeSchema>;

/** Methods RFC 8176 names: a provider id may not pose as one in the JWT's `amr`. */
const AMR_VALUES = new Set(['face', 'fpt', 'geo', 'hwk', 'iris', 'kba', 'mca', 'mfa', 'otp', 'pin', 'pwd', 'rba', 'retina', 'sc', 'sms', 'swk', 'tel', 'user', 'vbm', 'wia']);

/** Pages under /social/ that a provider id would shadow. */
const SOCIAL_PAGES = new Set(['complete', 'confirm', 'link']);

/** An endpoint of a provider: https, or http on loopback (the tests' servers). */
const providerUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an absolute http(s) URL', abort: true })
  .refine((v) => new URL(v).protocol === 'https:' || LOCALHOSTS.has(new URL(v).hostname), 'must use https (http is allowed for localhost only)');

const providerBase = {
  id: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case letters, digits and dashes, 2 to 32, starting with a letter')
    .refine((v) => !AMR_VALUES.has(v), 'is an RFC 8176 authentication method name: pick another id')
    .refine((v) => !SOCIAL_PAGES.has(v), 'is the name of a page under /social/: pick another id')
    .describe(
      'Stable id, unique in the realm: lower-case letters, digits and dashes, 2–32, starting with a letter; not an RFC 8176 method name (`pwd`, `otp`, …) nor a page under `/social/` (`complete`, `confirm`, `link`). In the URLs (`/social/<id>/callback`), in the stored identities (renaming it orphans them) and in the JWT’s `amr`.',
    ),
  name: oneLineText(40).optional().describe('The button says “Continue with *name*”; GitHub, Google or the id when not given.'),
  clientId: z.string().min(1).max(300).describe('The OAuth client id the provider issued.'),
  secretEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'an environment variable name, like GITHUB_CLIENT_SECRET')
    .describe('Name of the environment variable holding the client secret; Gatehouse refuses to start when an enabled provider’s variable is unset. The secret never sits in the file.'),
  enabled: z.boolean().default(true).describe('`false`: no button, and sign-in through it refused (no secret needed); linked identities stay stored.'),
};

const PROVIDER_TYPE = 'The strategy: passport-github2, passport-google-oauth20, or openid-client for any OpenID Connect provider.';
const PROVIDER_SCOPES = 'What Gatehouse asks for. GitHub needs `user:email` to see the addresses and their verified flags.';
const PROVIDER_ENDPOINTS = 'The provider’s public endpoints; set them for GitHub Enterprise or a provider on a test host. Each https, or http on localhost.';
const ENDPOINT_AUTHORIZATION = 'Where the button sends the browser to sign in at the provider.';
const ENDPOINT_TOKEN = 'Where Gatehouse exchanges the callback’s code for a token.';

/** One social login provider of a realm (README "Social login"). */
export const providerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...providerBase,
    type: z.literal('github').describe(PROVIDER_TYPE),
    // read:user and user:email give the profile and every address with its verified flag.
    scopes: z.array(z.string().min(1).max(100)).default(['read:user', 'user:email']).describe(PROVIDER_SCOPES),
    endpoints: z
      .strictObject({
        authorization: providerUrl.default('https://github.com/login/oauth/authorize').describe(ENDPOINT_AUTHORIZATION),
        token: providerUrl.default('https://github.com/login/oauth/access_token').describe(ENDPOINT_TOKEN),
        user: providerUrl.default('https://api.github.com/user').describe('GitHub’s user endpoint: the profile.'),
        emails: providerUrl.default('https://api.github.com/user/emails').describe('GitHub’s emails endpoint: every address with its verified flag.'),
      })
      .prefault({})
      .describe(PROVIDER_ENDPOINTS),
  }),
  z.strictObject({
    ...providerBase,
    type: z.literal('google').describe(PROVIDER_TYPE),
    scopes: z.array(z.string().min(1).max(100)).default(['openid', 'email', 'profile']).describe(PROVIDER_SCOPES),
    endpoints: z
      .strictObject({
        authorization: providerUrl.default('https://accounts.google.com/o/oauth2/v2/auth').describe(ENDPOINT_AUTHORIZATION),
        token: providerUrl.default('https://oauth2.googleapis.com/token').describe(ENDPOINT_TOKEN),
        userinfo: providerUrl.default('https://openidconnect.googleapis.com/v1/userinfo').describe('Google’s userinfo endpoint: the profile and the address.'),
      })
      .prefault({})
      .describe(PROVIDER_ENDPOINTS),
  }),
  z.strictObject({
    ...providerBase,
    type: z.literal('oidc').describe(PROVIDER_TYPE),
    issuer: providerUrl.describe(
      'The issuer URL (https, or http on localhost). Its discovery document, `<issuer>/.well-known/openid-configuration`, is read at the first sign-in through it (and again after a failure), not at start; its `issuer` must equal this value exactly.',
    ),
    scopes: z.array(z.string().min(1).max(100)).default(['openid', 'email', 'profile']).describe(PROVIDER_SCOPES),
  }),
]);

export type ProviderConfig = z.infer<typeof providerSchema>;

/** A realm's accent colour, `#rrggbb`: the one check of the file, the API and the console's preview. */
export const brandColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #4f46e5');

export const realmSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')
    // The console's "new realm" page is /admin/realms/new: a realm of that id would have no dashboard there.
    .refine((v) => v !== 'new', 'reserved: "new" is a console path')
    .describe('Stable id, lower-case letters, digits and dashes (at most 63). Stored on every record; the JWT’s `rid`; the branding stylesheet is `/branding/<id>.css`. Do not change it once users exist.'),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters')
    .describe('Shown on the pages and in mail subjects: one line.'),
  publicUrl: publicUrl.describe(
    'Origin the realm is served on (`https://login.example.com`: no path, no query). The JWT’s `iss` and the base of every link Gatehouse builds, never taken from request headers. Its host always serves the realm.',
  ),
  hosts: z.array(hostName).default([]).describe('More host names (custom domains, optionally with `:port`, case-insensitive) serving this realm.'),
  branding: z
    .strictObject({
      logoUrl: z
        .string()
        .url()
        .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
        .optional()
        .describe('http(s) URL of a logo shown in the header instead of the initial and the name.'),
      primaryColor: brandColor.default('#4f46e5').describe('Accent colour `#rrggbb`: buttons, links and focus rings.'),
    })
    .prefault({}),
  fields: z
    .strictObject({
      usernames: z
        .enum(['email', 'separate'])
        .default('email')
        .describe(
          '`email`: the email address is the username; sign-in asks for the email. `separate`: sign-up also asks for a username (2–64 letters, digits, `.`, `_`, `-`) and sign-in accepts either. Usernames and emails are unique per realm, compared case-insensitively.',
        ),
      emails: z
        .enum(['unique', 'duplicates'])
        .default('unique')
        .describe(
          '`unique`: one account per address. `duplicates`: accounts may share an address (needs `usernames: "separate"`); signing in by a shared address asks for the username, and `/forgot` mails every account that has it. **One way**: once a realm has run with `duplicates`, a configuration with `unique` is refused at start.',
        ),
      lowercaseUsernames: z.boolean().default(false).describe('Store usernames in lower case (with `email` usernames, the lower-cased address). Sign-in ignores case either way.'),
      apiKeys: z
        .strictObject({
          policy: z
            .enum(['hash', 'encrypt'])
            .default('hash')
            .describe('`hash`: kept as a keyed one-way hash (fast; never shown again). `encrypt`: sealed with AES-256-GCM, so it can be shown again.'),
          prefix: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,16}$/, 'letters, digits, dash and underscore, at most 16')
            .optional()
            .describe('Put before every generated key (not before a key a caller gives), e.g. `acme_`: letters, digits, `_`, `-`, at most 16.'),
        })
        .prefault({})
        .describe('API users’ keys (AuthRocket “Settings: Fields”).'),
    })
    .prefault({}),
  emailVerification: z
    .strictObject({
      policy: z
        .enum(['off', 'optional', 'required'])
        .default('optional')
        .describe(
          '`off`: no verification mail. `optional`: mailed at sign-up; sign-in works before, and the JWT says `email_verified: false`. `required`: no JWT until verified; sign-in shows a page that takes the code and resends. An address an administrator marked verified counts as verified.',
        ),
      linkTtlHours: z.number().int().min(1).max(24 * 14).default(24).describe('Lifetime of the link in the verification mail; it works once.'),
      codeTtlMinutes: z.number().int().min(1).max(60).default(10).describe('Lifetime of the 6-digit code in the same mail.'),
      codeAttempts: z.number().int().min(1).max(10).default(5).describe('Wrong codes a code survives.'),
    })
    .prefault({}),
  account: z
    .strictObject({
      recentAuthMinutes: z
        .number()
        .int()
        .min(1)
        .max(24 * 60)
        .default(10)
        .describe('Changing the password, email, phone, two-factor settings or the username asks for the password (and a code, with an authenticator) again when the sign-in is older than this.'),
      defaultPhoneCountry: z
        .string()
        .transform((v) => v.toUpperCase())
        .refine((v) => /^[A-Z]{2}$/.test(v) && phoneNumbers().isSupportedCountry(v), 'must be an ISO 3166-1 alpha-2 country code, like "US" or "CN"')
        .transform((v) => v as CountryCode)
        .optional()
        .describe(
          'ISO 3166-1 alpha-2 code (`US`, `CN`, …; any case). On the phone page a number typed without `+<country code>` is read as a number of this country. Unset: numbers must be typed in international form.',
        ),
      usernameEditable: z
        .boolean()
        .default(false)
        .describe(
          'Users may change their username on the profile page, behind the recent-authentication check; sign-up’s username rules apply. Only with `fields.usernames: "separate"` (with emails as usernames the username is the email): otherwise the configuration is refused at start.',
        ),
      attributes: z
        .array(accountAttributeSchema)
        .max(MAX_ACCOUNT_ATTRIBUTES)
        .default([])
        .superRefine((attributes, ctx) => {
          const keys = new Set<string>();
          attributes.forEach((a, i) => {
            if (keys.has(a.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate attribute key "${a.key}"` });
            keys.add(a.key);
          });
        })
        .describe('Custom attributes the profile page shows, in this order (each described below); the editable ones the user may change. Checked when the configuration loads.'),
    })
    .prefault({})
    .describe('The personal center.'),
  mfa: z
    .strictObject({
      policy: z
        .enum(['optional', 'required'])
        .default('optional')
        .describe(
          '`optional`: users may turn on an authenticator app (TOTP) with recovery codes in the personal center; sign-in then asks for a code after the password, and the JWT’s `amr` is `["pwd","otp"]`. `required`: every user without one sets it up at the next sign-in (or at sign-up), before any JWT. Authenticator secrets are sealed under keys derived from `SESSION_SECRET`: changing it disables every enrolled authenticator and recovery code.',
        ),
    })
    .prefault({})
    .describe('Two-factor authentication.'),
  recovery: z
    .strictObject({
      ttlMinutes: z
        .number()
        .int()
        .min(5)
        .max(24 * 60)
        .default(60)
        .describe('Lifetime of the password-reset link and code. A newer request or any password change ends them sooner.'),
      codeAttempts: z.number().int().min(1).max(10).default(5).describe('Wrong reset codes a code survives.'),
    })
    .prefault({}),
  signup: z
    .strictObject({
      policy: z
        .enum(['open', 'invite_only', 'disabled'])
        .default('open')
        .describe(
          '`invite_only`: `/signup` only for someone who opened an org invitation’s link in that browser (the address fixed to the invited one, and verified by it); social sign-up and the sign-in page’s sign-up link are off. `disabled`: `/signup` answers 403 and the sign-in page shows no sign-up link (an invitation is accepted with an existing account).',
        ),
    })
    .prefault({}),
  password: z
    .strictObject({
      minLength: z.number().int().min(8).max(64).default(8).describe('Shortest password, in Unicode code points.'),
      maxLength: z.number().int().min(64).max(1024).default(256).describe('Longest password; longer ones are refused, never truncated.'),
      rejectCommon: z
        .boolean()
        .default(true)
        .describe('Refuse the ~50,000 most common passwords (the zxcvbn-ts list), case-insensitively. A password equal to the email, the username or the email’s local part is always refused.'),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      idleMinutes: z
        .number()
        .int()
        .min(1)
        .default(60 * 24 * 3)
        .describe('A login session unused this long ends (3 days by default); also the browser cookie’s lifetime, renewed on each visit.'),
      absoluteHours: z
        .number()
        .int()
        .min(1)
        .default(24 * 30)
        .describe('A login session ends this long after sign-in (30 days by default), however active.'),
    })
    .prefault({}),
  tokens: z
    .strictObject({
      ttlSeconds: z.number().int().min(30).max(86400).default(600).describe('JWT lifetime (`exp - iat`). A retired signing key stays in the JWKS for `ttlSeconds + 300` seconds.'),
      algorithm: z
        .enum(['ES256', 'RS256', 'EdDSA'])
        .default('ES256')
        .describe('Signing algorithm. A key for it is created on first start (RS256: 2048-bit; EdDSA: Ed25519).'),
      fields: z
        .array(z.enum(TOKEN_FIELDS))
        .max(TOKEN_FIELDS.length)
        .refine((list) => new Set(list).size === list.length, 'each field once')
        .default(['custom'])
        .describe('What the JWT carries beyond who the user is (AuthRocket’s `jwt_fields`): `custom` the user’s custom attributes as `cs`; `memberships` the user’s permissions as `perm` and each org membership’s ids and permissions in `orgs`; `orgs` the same with each org’s name, reference and custom attributes.'),
      maxOrgs: z
        .number()
        .int()
        .min(1)
        .max(500)
        .default(50)
        .describe('At most this many entries in the JWT’s `orgs` (the selected org first, then the newest memberships); a user with more gets `orgs_truncated: true` and an app reads the rest from the API.'),
    })
    .prefault({}),
  memberships: z
    .strictObject({
      maxPermissions: z.number().int().min(1).max(200).default(20).describe('Permissions per membership and per group. Lowering it keeps what is stored; the next change must fit.'),
    })
    .prefault({}),
  invitations: z
    .strictObject({
      ttlHours: z.number().int().min(1).max(720).default(168).describe('How long a mailed org invitation’s link works (a resend starts it again). It works once.'),
      memberPermission: z
        .string()
        .regex(PERMISSION, 'a permission: letters, digits and * : ; . _ -, at most 62')
        .transform((p) => p.toLowerCase())
        .nullable()
        .default(null)
        .describe(
          'Members whose membership of an org holds this permission (with the wildcard rule: `members:*` or `*` count) may invite others to that org by mail from the personal center (`/account/orgs`), passing on only permissions they hold themselves. `null`: only operators and management keys invite.',
        ),
      welcomeLinkTtlHours: z
        .number()
        .int()
        .min(1)
        .max(168)
        .default(72)
        .describe('How long the set-password link in the welcome mail works: the mail an approved join request sends to a new account (an invitation link with approval). It works once.'),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      loginPerIdentifierAndIp: rateLimitSchema
        .default({ points: 5, durationSeconds: 15 * 60 })
        .describe('Failed sign-ins for one identifier from one IP; a success resets the count. The same identifier from another IP has its own count, so nobody can lock a user out from elsewhere.'),
      loginPerIp: rateLimitSchema.default({ points: 100, durationSeconds: 60 * 60 }).describe('Failed sign-ins from one IP, whatever the identifier.'),
      signupPerIp: rateLimitSchema.default({ points: 20, durationSeconds: 60 * 60 }).describe('Sign-up attempts from one IP that pass form validation and the password policy.'),
      joinPerIp: rateLimitSchema.default({ points: 20, durationSeconds: 60 * 60 }).describe('Requests to join (an invitation link with approval) from one IP.'),
      recoveryPerIdentifier: rateLimitSchema
        .default({ points: 5, durationSeconds: 60 * 60 })
        .describe('Password-reset requests for one email or username, whoever asks; counted the same whether or not the account exists.'),
      recoveryPerIp: rateLimitSchema.default({ points: 30, durationSeconds: 60 * 60 }).describe('Password-reset requests from one IP.'),
      verificationResendPerUser: rateLimitSchema.default({ points: 5, durationSeconds: 60 * 60 }).describe('Verification mails resent (“Send it again”) per user.'),
      emailChangePerUser: rateLimitSchema
        .default({ points: 5, durationSeconds: 60 * 60 })
        .describe('Mails with a code and a link to a new address (changing or binding the email in the personal center), per user.'),
      phoneCodePerNumber: rateLimitSchema
        .default({ points: 5, durationSeconds: 60 * 60 })
        .describe('SMS codes sent to one phone number, whoever asks: nobody can flood a number through Gatehouse. A failed send counts too.'),
      phoneCodePerUser: rateLimitSchema.default({ points: 10, durationSeconds: 60 * 60 }).describe('SMS codes one user may ask for, whatever the numbers (each SMS costs the operator money).'),
      memberInvitationsPerUser: rateLimitSchema
        .default({ points: 20, durationSeconds: 60 * 60 })
        .describe('Org invitations a member sends from the personal center (`invitations.memberPermission`), per user, whatever the org.'),
      invitationResend: rateLimitSchema
        .default({ points: 5, durationSeconds: 60 * 60 })
        .describe('Resends of one org invitation (a new mail and link each), whoever asks: an invitee’s mailbox is not flooded through Gatehouse.'),
      mfaPerUser: rateLimitSchema
        .default({ points: 10, durationSeconds: 15 * 60 })
        .describe(
          'Wrong second-factor codes (TOTP or recovery) per user, wherever typed: sign-in, “confirm it’s you”, removing the authenticator. Each pending sign-in also ends after 5 wrong codes; this rule keeps starting over from granting more guesses. A right code resets the count.',
        ),
    })
    .prefault({})
    .describe('Each rule is `{ "points": int ≥ 1, "durationSeconds": int ≥ 1 }`: so many counted attempts in a window that starts at the first; a rule given needs both. Over a limit the page answers 429 with `Retry-After`.'),
  social: z
    .strictObject({
      providers: z
        .array(providerSchema)
        .max(20)
        .default([])
        .superRefine((providers, ctx) => {
          const ids = new Set<string>();
          providers.forEach((p, i) => {
            if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate provider id "${p.id}"` });
            ids.add(p.id);
          });
        })
        .describe('Social login providers (the provider keys below), at most 20, ids unique: a button each on the sign-in and sign-up pages.'),
      linkByEmail: z
        .boolean()
        .default(true)
        .describe(
          'An unknown provider identity whose address the **provider verified** is linked to the one local account with that address (if the account never verified it, the provider-verified owner takes the account over). `false`: the user signs in to that account with its password once to link it. An address the provider did not verify never links.',
        ),
      only: z
        .boolean()
        .default(false)
        .describe('Only the provider buttons: the sign-in page hides the password form, sign-up goes through a provider, and password sign-in and sign-up are refused (403). Needs an enabled provider.'),
    })
    .prefault({}),
  apps: z.array(appSchema).default([]).describe('The realm’s apps (the app keys below); `clientId` unique in the realm.'),
  mail: z
    .strictObject({
      from: z
        .string()
        .max(200)
        .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters')
        .optional()
        .describe('The From of this realm’s mails (`Name <address>` or an address); `MAIL_FROM` when absent.'),
    })
    .prefault({}),
});

export type AppConfig = z.infer<typeof appSchema>;
export type RealmConfig = z.infer<typeof realmSchema>;

import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { lazyModule } from '../lazy-module.ts';

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

export const appSchema = z.strictObject({
  /** Public identifier of the app; the JWT's `aud`. */
  clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash and underscore, at most 64'),
  /** Shown to users (the login page): one line, like the realm’s name. */
  name: z.string().min(1).max(100).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters'),
  /** Exact-match list of URIs the JWT may be delivered to. */
  redirectUris: z.array(registeredUri).min(1),
  /** Exact-match list of URIs /logout may send the user back to. */
  logoutRedirectUris: z.array(registeredUri).default([]),
  /** How the JWT reaches the app: form_post (default), fragment, or query (LoginRocket-compatible). */
  delivery: z.enum(['form_post', 'fragment', 'query']).default('form_post'),
  /**
   * Name of the environment variable that holds the app's secret (≥ 32 characters). With one, the app may
   * call Gatehouse's back channel (GET /api/sessions/:sid) with HTTP Basic `clientId:secret`. The secret
   * itself never sits in this file.
   */
  secretEnv: z.string().regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'an environment variable name, like DEMO_APP_SECRET').optional(),
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
    /** The key in the user's custom attributes (and the JWT's `cs`), case-sensitive. */
    key: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'a letter, then letters, digits or underscores, at most 64'),
    /** string: text; number: a finite number; boolean: a checkbox; date: YYYY-MM-DD; enum: one of `options`. */
    type: z.enum(['string', 'number', 'boolean', 'date', 'enum']),
    labels: attributeLabels,
    /** false: shown read-only (set by an administrator or an app). */
    editable: z.boolean().default(true),
    /** The user may not leave it empty. Not for booleans (a checkbox is always true or false). */
    required: z.boolean().default(false),
    /** enum only, and required there: the values the user picks from, each with its labels. */
    options: z.array(z.strictObject({ value: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters'), labels: attributeLabels })).min(1).max(100).optional(),
    /** string only: the longest value, in characters (default 200). */
    maxLength: z.number().int().min(1).max(2000).optional(),
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
  /** Stable id: in URLs (/social/<id>), in the stored identities and in the JWT's `amr`. */
  id: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case letters, digits and dashes, 2 to 32, starting with a letter')
    .refine((v) => !AMR_VALUES.has(v), 'is an RFC 8176 authentication method name: pick another id')
    .refine((v) => !SOCIAL_PAGES.has(v), 'is the name of a page under /social/: pick another id'),
  /** Shown on the button ("Continue with <name>"); defaults to GitHub / Google / the id. */
  name: oneLineText(40).optional(),
  /** The OAuth client id registered at the provider. */
  clientId: z.string().min(1).max(300),
  /** Name of the environment variable that holds the client secret; the secret itself never sits in this file. */
  secretEnv: z.string().regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'an environment variable name, like GITHUB_CLIENT_SECRET'),
  /** false: the button is hidden and sign-in through it refused; linked identities stay stored. */
  enabled: z.boolean().default(true),
};

/** One social login provider of a realm (README "Social login"). */
export const providerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...providerBase,
    type: z.literal('github'),
    /** read:user and user:email give the profile and every address with its verified flag. */
    scopes: z.array(z.string().min(1).max(100)).default(['read:user', 'user:email']),
    /** Defaults are github.com's; set them for GitHub Enterprise (or a test server). */
    endpoints: z
      .strictObject({
        authorization: providerUrl.default('https://github.com/login/oauth/authorize'),
        token: providerUrl.default('https://github.com/login/oauth/access_token'),
        user: providerUrl.default('https://api.github.com/user'),
        emails: providerUrl.default('https://api.github.com/user/emails'),
      })
      .prefault({}),
  }),
  z.strictObject({
    ...providerBase,
    type: z.literal('google'),
    scopes: z.array(z.string().min(1).max(100)).default(['openid', 'email', 'profile']),
    endpoints: z
      .strictObject({
        authorization: providerUrl.default('https://accounts.google.com/o/oauth2/v2/auth'),
        token: providerUrl.default('https://oauth2.googleapis.com/token'),
        userinfo: providerUrl.default('https://openidconnect.googleapis.com/v1/userinfo'),
      })
      .prefault({}),
  }),
  z.strictObject({
    ...providerBase,
    type: z.literal('oidc'),
    /** The issuer: its discovery document is `<issuer>/.well-known/openid-configuration`. */
    issuer: providerUrl,
    scopes: z.array(z.string().min(1).max(100)).default(['openid', 'email', 'profile']),
  }),
]);

export type ProviderConfig = z.infer<typeof providerSchema>;

export const realmSchema = z.strictObject({
  /** Stable id stored on every record; the JWT's `rid`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  /** Shown on pages and in mail subjects: one line. */
  name: z.string().min(1).max(100).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters'),
  /** Origin the realm is served on: the JWT's `iss`, and the base of every link Gatehouse builds. */
  publicUrl,
  /** Further host names (custom domains) serving this realm; the publicUrl's host is always included. */
  hosts: z.array(hostName).default([]),
  branding: z
    .strictObject({
      logoUrl: z.string().url().refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL').optional(),
      primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #4f46e5').default('#4f46e5'),
    })
    .prefault({}),
  fields: z
    .strictObject({
      /** "email": the email address is the username. "separate": users pick a username too. */
      usernames: z.enum(['email', 'separate']).default('email'),
      /** "unique": one account per address. "duplicates": several may share one; one way only (see README). */
      emails: z.enum(['unique', 'duplicates']).default('unique'),
      /** Fold usernames to lower case at signup and login. Uniqueness is case-insensitive either way. */
      lowercaseUsernames: z.boolean().default(false),
      /** API users' keys (AuthRocket "Settings: Fields"). */
      apiKeys: z
        .strictObject({
          /** hash: kept as a keyed one-way hash (fast; never shown again). encrypt: sealed with AES-256-GCM, so it can be shown again. */
          policy: z.enum(['hash', 'encrypt']).default('hash'),
          /** Put before every generated key (not before a key a caller gives), e.g. "acme_". */
          prefix: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'letters, digits, dash and underscore, at most 16').optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  emailVerification: z
    .strictObject({
      /** off: never asked. optional: mailed at signup, login works without. required: no JWT until verified. */
      policy: z.enum(['off', 'optional', 'required']).default('optional'),
      /** Lifetime of the link in the verification mail. */
      linkTtlHours: z.number().int().min(1).max(24 * 14).default(24),
      /** Lifetime of the 6-digit code in the same mail. */
      codeTtlMinutes: z.number().int().min(1).max(60).default(10),
      /** Wrong guesses a code survives. */
      codeAttempts: z.number().int().min(1).max(10).default(5),
    })
    .prefault({}),
  account: z
    .strictObject({
      /** Changing password, email, phone or MFA asks for the password again when the login is older than this. */
      recentAuthMinutes: z.number().int().min(1).max(24 * 60).default(10),
      /**
       * The country a phone number typed without "+<country code>" belongs to (ISO 3166-1 alpha-2, e.g. "US",
       * "CN"). Unset: the phone page asks for numbers in international form.
       */
      defaultPhoneCountry: z
        .string()
        .transform((v) => v.toUpperCase())
        .refine((v) => /^[A-Z]{2}$/.test(v) && phoneNumbers().isSupportedCountry(v), 'must be an ISO 3166-1 alpha-2 country code, like "US" or "CN"')
        .transform((v) => v as CountryCode)
        .optional(),
      /**
       * Users may change their username on the profile page (after confirming it's them). Only with
       * `fields.usernames: "separate"`: with emails as usernames the username is the email.
       */
      usernameEditable: z.boolean().default(false),
      /** Custom attributes the profile page shows, typed; the editable ones the user may change. Keys unique. */
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
        }),
    })
    .prefault({}),
  mfa: z
    .strictObject({
      /**
       * optional: users may turn on an authenticator app (TOTP) in the personal center. required: every
       * user without one sets it up at the next sign-in, before any JWT.
       */
      policy: z.enum(['optional', 'required']).default('optional'),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      /** Lifetime of the reset link and code. */
      ttlMinutes: z.number().int().min(5).max(24 * 60).default(60),
      codeAttempts: z.number().int().min(1).max(10).default(5),
    })
    .prefault({}),
  signup: z
    .strictObject({
      policy: z.enum(['open', 'disabled']).default('open'),
    })
    .prefault({}),
  password: z
    .strictObject({
      minLength: z.number().int().min(8).max(64).default(8),
      maxLength: z.number().int().min(64).max(1024).default(256),
      rejectCommon: z.boolean().default(true),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      /** A login session idle for this long ends. */
      idleMinutes: z.number().int().min(1).default(60 * 24 * 3),
      /** A login session ends this long after the login, however active. */
      absoluteHours: z.number().int().min(1).default(24 * 30),
    })
    .prefault({}),
  tokens: z
    .strictObject({
      /** JWT lifetime (`exp - iat`). */
      ttlSeconds: z.number().int().min(30).max(86400).default(600),
      algorithm: z.enum(['ES256', 'RS256', 'EdDSA']).default('ES256'),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      /** Failed logins per identifier from one IP: a victim is never locked out from another IP. */
      loginPerIdentifierAndIp: rateLimitSchema.default({ points: 5, durationSeconds: 15 * 60 }),
      /** Failed logins from one IP, whatever the identifier. */
      loginPerIp: rateLimitSchema.default({ points: 100, durationSeconds: 60 * 60 }),
      /** Signups from one IP. */
      signupPerIp: rateLimitSchema.default({ points: 20, durationSeconds: 60 * 60 }),
      /** Password-reset requests per identifier, whoever asks. */
      recoveryPerIdentifier: rateLimitSchema.default({ points: 5, durationSeconds: 60 * 60 }),
      /** Password-reset requests from one IP. */
      recoveryPerIp: rateLimitSchema.default({ points: 30, durationSeconds: 60 * 60 }),
      /** Verification mails resent per user. */
      verificationResendPerUser: rateLimitSchema.default({ points: 5, durationSeconds: 60 * 60 }),
      /** Mails with a code and a link to a new address (changing or binding the email in the personal center), per user. */
      emailChangePerUser: rateLimitSchema.default({ points: 5, durationSeconds: 60 * 60 }),
      /** SMS codes sent to one phone number, whoever asks: nobody can flood a number through Gatehouse. */
      phoneCodePerNumber: rateLimitSchema.default({ points: 5, durationSeconds: 60 * 60 }),
      /** SMS codes one user may ask for, whatever the numbers (each SMS costs the operator money). */
      phoneCodePerUser: rateLimitSchema.default({ points: 10, durationSeconds: 60 * 60 }),
      /**
       * Wrong second-factor codes (TOTP or recovery) per user, wherever typed: sign-in, "confirm it's you",
       * removing the authenticator. Each pending sign-in also ends after 5 wrong codes; this rule keeps
       * starting over from granting more guesses. A right code resets the count.
       */
      mfaPerUser: rateLimitSchema.default({ points: 10, durationSeconds: 15 * 60 }),
    })
    .prefault({}),
  social: z
    .strictObject({
      /** The providers whose buttons the login and signup pages show (README "Social login"). Ids unique. */
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
        }),
      /**
       * An unknown provider identity whose address the provider verified is linked to the one local account
       * with that address (verified there too; unverified there, the provider-verified owner takes it over —
       * see README). false: the user proves the local account with its password first.
       */
      linkByEmail: z.boolean().default(true),
      /** Only the provider buttons: the login page hides the password form and signup goes through a provider. */
      only: z.boolean().default(false),
    })
    .prefault({}),
  apps: z.array(appSchema).default([]),
  mail: z
    .strictObject({
      /** The From of the realm's mails; MAIL_FROM when absent. */
      from: z.string().max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters').optional(),
    })
    .prefault({}),
});

export type AppConfig = z.infer<typeof appSchema>;
export type RealmConfig = z.infer<typeof realmSchema>;

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { request as httpRequest } from 'node:http';
import type { Request, Response } from 'express';
import passport from 'passport';
import type { Strategy as OAuth2Strategy, StateStore } from 'passport-oauth2';
import type { Logger } from 'pino';
import { z } from 'zod';
import { providerSecretKey, type ProviderConfig, type RealmConfig } from '../../config/index.ts';
import type { SocialProfile } from '../../identity/external-identity.ts';
import { lazyModule } from '../../lazy-module.ts';
import { discoveredAuthorization } from './buttons.ts';

// Loaded when a realm first uses a provider: instances without social login never hold them.
const github = lazyModule<typeof import('passport-github2')>('passport-github2');
const google = lazyModule<typeof import('passport-google-oauth20')>('passport-google-oauth20');
const loadOidc = () => Promise.all([import('openid-client'), import('openid-client/passport')]);

/** How long the round trip to a provider may take, from the button to the callback. */
export const SOCIAL_FLOW_MS = 10 * 60_000;

/**
 * One round trip to a provider, kept in the browser's session from the
 * button to the callback. `state` binds the callback to this browser
 * (CSRF on the redirect, RFC 6749 §10.12); the PKCE verifier of OAuth 2
 * providers waits here too (openid-client keeps its own, with the nonce).
 */
export interface SocialFlow {
  realmId: string;
  provider: string;
  intent: 'login' | 'link' | 'reauth';
  state: string;
  startedAt: number;
  /** The app the sign-in is for, and the personal-center page to return to. */
  ret: import('../../domain/return-to.ts').ReturnTo | null;
  next: string | null;
  /** link / reauth: the signed-in user the flow belongs to. */
  userId?: string;
  /** reauth with an authenticator: the code was checked when the flow started. */
  secondFactorDone?: boolean;
  verifier?: string;
}

export type StrategyResult = { profile: SocialProfile } | { failed: 'cancelled' | 'state' } | { error: Error };

/** The flow in this browser's session, when its state matches the callback's (one use: it is removed either way). */
export function takeFlow(req: Request, provider: string, state: unknown, now: number): SocialFlow | null {
  const flow = req.session?.socialFlow;
  if (!flow) return null;
  delete req.session.socialFlow;
  if (flow.realmId !== req.realm.id || flow.provider !== provider || typeof state !== 'string') return null;
  const a = Buffer.from(flow.state);
  const b = Buffer.from(state);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
  return now - flow.startedAt <= SOCIAL_FLOW_MS ? flow : null;
}

/** A fresh `state` for a flow: 256 random bits. */
export const newState = (): string => randomBytes(32).toString('base64url');

/**
 * passport-oauth2's state store, on the flow the route put in the session.
 * The route has already matched the callback's state (`takeFlow`) and hands
 * the flow over in `req.socialFlow`; this store only gives the strategy the
 * state to send and the PKCE verifier to redeem the code with.
 */
const flowStateStore: StateStore & { store(req: Request, verifier: string, state: unknown, meta: unknown, cb: (err: Error | null, state?: string) => void): void } = {
  store(req: Request, verifier: string, _state: unknown, _meta: unknown, cb: (err: Error | null, state?: string) => void) {
    const flow = req.session.socialFlow;
    if (!flow) return cb(new Error('no social flow in the session'));
    flow.verifier = verifier;
    cb(null, flow.state);
  },
  verify(req: Request, _state: string, cb: (err: Error | null, ok: string | false) => void) {
    const verifier = req.socialFlow?.verifier;
    cb(null, verifier ?? false);
  },
} as never;

// ── Provider answers → SocialProfile. Whatever does not fit is dropped; a profile without a subject is refused. ──

const emailAddress = z.email().max(320);
const httpsUrl = z.url({ protocol: /^https$/ }).max(2000);
const maybe = <T extends z.ZodType>(schema: T) => schema.nullish().catch(null);
const text = (max: number) => z.string().trim().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]+$/);

const githubUser = z.object({
  id: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String),
  login: maybe(text(100)),
  name: maybe(text(200)),
  avatar_url: maybe(httpsUrl),
});
const githubEmails = z.array(z.object({ value: z.string(), primary: z.boolean().catch(false), verified: z.boolean().catch(false) }).loose()).catch([]);

const oidcClaims = z.object({
  sub: z.string().min(1).max(255),
  email: maybe(z.string()),
  // Google has sent it as the string "true".
  email_verified: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).catch(false),
  name: maybe(text(200)),
  given_name: maybe(text(100)),
  family_name: maybe(text(100)),
  picture: maybe(httpsUrl),
  preferred_username: maybe(text(100)),
});

function addresses(rows: { value: string; primary?: boolean; verified: boolean }[]): SocialProfile['emails'] {
  return [...rows]
    .sort((a, b) => Number(Boolean(b.primary)) - Number(Boolean(a.primary)))
    .filter((r) => emailAddress.safeParse(r.value).success)
    .map((r) => ({ address: r.value, verified: r.verified }));
}

/** GitHub: /user, and /user/emails with each address's verified flag (even the primary can be unverified). */
export function githubProfile(provider: string, raw: { _json?: unknown; emails?: unknown }): SocialProfile {
  const user = githubUser.parse(raw._json);
  const emails = addresses(githubEmails.parse(raw.emails ?? []));
  return {
    provider,
    subject: user.id,
    emails,
    username: user.login ?? null,
    displayName: user.login ?? emails[0]?.address ?? null,
    // GitHub has one name field: it stays whole (splitting it would guess wrong for many names).
    firstName: user.name ?? null,
    lastName: null,
    photo: user.avatar_url ?? null,
  };
}

/** Google's userinfo and any OpenID Connect provider's claims (id_token, then userinfo). */
export function oidcProfile(provider: string, raw: unknown): SocialProfile {
  const c = oidcClaims.parse(raw);
  const emails = c.email ? addresses([{ value: c.email, verified: c.email_verified }]) : [];
  return {
    provider,
    subject: c.sub,
    emails,
    username: c.preferred_username ?? null,
    displayName: c.preferred_username ?? emails[0]?.address ?? c.name ?? null,
    firstName: c.given_name ?? (c.family_name ? null : (c.name ?? null)),
    lastName: c.family_name ?? null,
    photo: c.picture ?? null,
  };
}

/**
 * The Passport strategies of every realm's providers, built on first use
 * (an OpenID provider's discovery document is fetched then, and again after
 * a failure). Each strategy is thin: its verify callback hands back the
 * provider's profile as a SocialProfile, and the route asks the social
 * service what it means. No Passport session: Gatehouse keeps its own.
 */
export class SocialStrategies {
  private readonly passport = new passport.Passport();
  private readonly built = new Map<string, Promise<string>>();

  constructor(
    private readonly secrets: Map<string, string>,
    private readonly logger: Logger,
  ) {}

  /** Sends the browser to the provider (the flow must be in the session already). */
  async start(req: Request, res: Response, realm: RealmConfig, provider: ProviderConfig): Promise<StrategyResult | null> {
    return this.run(req, res, realm, provider);
  }

  /** The callback: the code is redeemed and the profile read. `req.socialFlow` holds the flow `takeFlow` matched. */
  async callback(req: Request, res: Response, realm: RealmConfig, provider: ProviderConfig): Promise<StrategyResult> {
    return (await this.run(req, res, realm, provider)) ?? { error: new Error('the strategy redirected from a callback') };
  }

  /** Runs the strategy: null when it redirected (the response is sent). */
  private async run(req: Request, res: Response, realm: RealmConfig, provider: ProviderConfig): Promise<StrategyResult | null> {
    let name: string;
    try {
      name = await this.strategyFor(realm, provider);
    } catch (err) {
      return { error: err as Error };
    }
    // Passport's authenticate() puts its own req.signedIn (a function) on the request: Gatehouse's is kept.
    const signedIn = req.signedIn;
    return new Promise<StrategyResult | null>((resolve) => {
      res.once('finish', () => resolve(null));
      const done = (err: Error | null, profile: SocialProfile | false, info?: { message?: string }) => {
        req.signedIn = signedIn;
        if (err) return resolve({ error: err });
        if (profile) return resolve({ profile });
        resolve({ failed: /state/i.test(info?.message ?? '') ? 'state' : 'cancelled' });
      };
      this.passport.authenticate(name, { session: false }, done)(req, res, (err?: unknown) => resolve({ error: err instanceof Error ? err : new Error(String(err)) }));
    });
  }

  private strategyFor(realm: RealmConfig, provider: ProviderConfig): Promise<string> {
    const name = `${realm.id}/${provider.id}`;
    let ready = this.built.get(name);
    if (!ready) {
      ready = this.build(name, realm, provider);
      this.built.set(name, ready);
      // A provider that could not be set up (discovery failed) is tried again by the next sign-in.
      ready.catch((err: Error) => {
        this.built.delete(name);
        this.logger.warn({ err, realm: realm.id, provider: provider.id }, 'social provider unavailable');
      });
    }
    return ready;
  }

  private async build(name: string, realm: RealmConfig, provider: ProviderConfig): Promise<string> {
    const clientSecret = this.secrets.get(providerSecretKey(realm.id, provider.id));
    if (!clientSecret) throw new Error(`no client secret for provider ${provider.id}`);
    const callbackURL = `${realm.publicUrl}/social/${provider.id}/callback`;
    const common = { clientID: provider.clientId, clientSecret, callbackURL, scope: provider.scopes, store: flowStateStore, pkce: true, state: true } as const;
    switch (provider.type) {
      case 'github': {
        const e = provider.endpoints;
        const strategy = new (github().Strategy)(
          { ...common, authorizationURL: e.authorization, tokenURL: e.token, userProfileURL: e.user, userEmailURL: e.emails, allRawEmails: true } as never,
          (_at: string, _rt: string, profile: object, done: (err: Error | null, p?: SocialProfile) => void) => settle(() => githubProfile(provider.id, profile), done),
        );
        hardenOAuth2(strategy as unknown as OAuth2Strategy, { profile: e.user, emails: e.emails });
        this.passport.use(name, strategy as unknown as passport.Strategy);
        return name;
      }
      case 'google': {
        const e = provider.endpoints;
        const strategy = new (google().Strategy)(
          { ...common, authorizationURL: e.authorization, tokenURL: e.token, userProfileURL: e.userinfo } as never,
          (_at: string, _rt: string, profile: { _json?: unknown }, done: (err: Error | null, p?: SocialProfile) => void) => settle(() => oidcProfile(provider.id, profile._json), done),
        );
        hardenOAuth2(strategy as unknown as OAuth2Strategy, { profile: e.userinfo });
        this.passport.use(name, strategy as unknown as passport.Strategy);
        return name;
      }
      case 'oidc': {
        const [client, { Strategy }] = await loadOidc();
        const loopback = new URL(provider.issuer).protocol === 'http:';
        const config = await client.discovery(new URL(provider.issuer), provider.clientId, clientSecret, undefined, {
          execute: loopback ? [client.allowInsecureRequests] : [],
          timeout: 10,
        });
        const authorization = config.serverMetadata().authorization_endpoint;
        if (authorization) discoveredAuthorization.set(name, authorization);
        /** openid-client sends the nonce and PKCE; the state is the flow's, so the route's check and the library's agree. */
        class FlowBoundStrategy extends Strategy {
          override authorizationRequestParams<T extends import('openid-client/passport').AuthenticateOptions>(req: Request, options: T) {
            const params = new URLSearchParams(super.authorizationRequestParams(req, options));
            const flow = req.session.socialFlow!;
            params.set('state', flow.state);
            params.set('nonce', client.randomNonce());
            // "Confirm it's you": the provider must authenticate the user now, not reuse its session (openid-client then checks auth_time).
            if (flow.intent === 'reauth') {
              params.set('prompt', 'login');
              params.set('max_age', '0');
            }
            return params;
          }
          override shouldInitiateAuthRequest(req: Request): boolean {
            return req.socialFlow === undefined;
          }
        }
        const strategy = new FlowBoundStrategy(
          { config, callbackURL, scope: provider.scopes.join(' '), sessionKey: `oidc:${name}`, name },
          (tokens, done) => {
            const claims = tokens.claims();
            const withUserinfo = async () => {
              if (!claims) throw new Error('the provider sent no id_token');
              // Addresses often come only from userinfo.
              if (claims.email || !config.serverMetadata().userinfo_endpoint) return claims;
              return { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)), sub: claims.sub };
            };
            withUserinfo().then(
              (raw) => settle(() => oidcProfile(provider.id, raw), done as never),
              (err: Error) => done(err),
            );
          },
        );
        this.passport.use(name, strategy as unknown as passport.Strategy);
        return name;
      }
    }
  }
}

/** The verify callback's answer: the profile, or the reason it is not one (a bad profile is a provider error). */
function settle(parse: () => SocialProfile, done: (err: Error | null, p?: SocialProfile) => void): void {
  let profile: SocialProfile;
  try {
    profile = parse();
  } catch (err) {
    return done(new Error(`the provider sent a profile Gatehouse cannot use: ${(err as Error).message.slice(0, 200)}`));
  }
  done(null, profile);
}

/** How long one request to a GitHub or Google endpoint may take (openid-client has its own, set above). */
const PROVIDER_TIMEOUT_MS = 10_000;

/** The provider's profile endpoint (and GitHub's emails endpoint): their answers must be JSON. */
interface ProviderApi {
  profile: string;
  emails?: string;
}

type OAuth2Callback = (err: unknown, body?: string, res?: unknown) => void;
type OAuth2Client = {
  _request(method: string, url: string, headers: object, body: string | null, token: string | null, cb: OAuth2Callback): void;
  _chooseHttpLibrary(url: URL): { request: typeof httpRequest };
};

/** What a JSON body must be for the code that parses it next not to throw: the emails list an array of objects, the rest an object. */
function usableBody(body: string | undefined, url: string, api: ProviderApi): boolean {
  let json: unknown;
  try {
    json = JSON.parse(String(body));
  } catch {
    // Not JSON: only the token endpoint may answer form-encoded (GitHub without Accept), and the oauth package parses that itself.
    return url !== api.emails && url !== api.profile;
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return url === api.emails ? Array.isArray(json) && json.length > 0 && json.every(isObject) : isObject(json);
}

/**
 * Gaps of the `oauth` package and the strategies on it, closed here:
 * - its requests have no timeout: a provider that accepts the connection and
 *   never answers would hold the sign-in forever; each request now ends with
 *   an error after PROVIDER_TIMEOUT_MS;
 * - answers are parsed inside HTTP callbacks without a guard (the token
 *   response read as an object, passport-github2's bare JSON.parse of
 *   /user/emails and its loop over it): a `null`, a string, a non-array
 *   emails list would throw out of the callback and take the process down.
 *   Such a body becomes an ordinary fetch error before any of them sees it.
 */
function hardenOAuth2(strategy: OAuth2Strategy, api: ProviderApi): void {
  const oauth2 = (strategy as unknown as { _oauth2: OAuth2Client })._oauth2;
  const choose = oauth2._chooseHttpLibrary.bind(oauth2);
  oauth2._chooseHttpLibrary = (url) => {
    const library = choose(url);
    return {
      request: ((options: object) => {
        const req = library.request(options);
        req.setTimeout(PROVIDER_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${url.host} within ${PROVIDER_TIMEOUT_MS} ms`)));
        return req;
      }) as typeof httpRequest,
    };
  };
  const request = oauth2._request.bind(oauth2);
  oauth2._request = (method, url, headers, body, token, cb) =>
    request(method, url, headers, body, token, (err, data, res) => {
      if (!err && !usableBody(data, url, api)) return cb({ statusCode: 502, data: 'the provider sent an answer Gatehouse cannot read' });
      cb(err, data, res);
    });
}

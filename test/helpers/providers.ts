/**
 * Social login providers on loopback, so tests run the real strategies (passport-github2,
 * passport-google-oauth20, openid-client/passport) over real HTTP instead of stubbing them:
 *
 * - startFakeOAuth: one node:http server answering like GitHub's and Google's OAuth 2.0 endpoints
 *   do for those strategies, with switchable accounts and one-shot failures.
 * - startOidcProvider: a real OpenID Provider (oidc-provider) whose login and consent complete
 *   without any UI for the account the test chose.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';

// ---------------------------------------------------------------------------------------------
// Fake GitHub + Google
// ---------------------------------------------------------------------------------------------

export interface FakeAccount {
  /** GitHub: numeric id; Google: `sub`. Stringified where needed. */
  id: string;
  /** GitHub login. */
  login?: string;
  name?: string;
  /** Google only. */
  givenName?: string;
  familyName?: string;
  /** GitHub avatar_url / Google picture (https URL). */
  avatarUrl?: string;
  /** GitHub /user/emails rows; Google uses the first row: email + email_verified. */
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * - 'cancel': the authorize step sends the user back with error=access_denied.
 * - 'token': the token endpoint answers 500 with an OAuth error body.
 * - 'profile': GitHub /user or Google userinfo answers 500.
 * - 'bad-emails': GitHub /user/emails (Google: userinfo) answers 200 with a body that is not JSON.
 * - 'down': the token endpoint resets the connection (the provider went down mid-flow).
 */
export type FakeFailure = 'cancel' | 'token' | 'profile' | 'bad-emails' | 'down';

export type FakeProvider = 'github' | 'google';

export interface FakeOAuth {
  /** http://127.0.0.1:PORT */
  url: string;
  github: { authorizationURL: string; tokenURL: string; userProfileURL: string; userEmailURL: string };
  google: { authorizationURL: string; tokenURL: string; userProfileURL: string };
  /** The account the next authorization of this provider hands out (until changed). */
  setAccount(provider: FakeProvider, account: FakeAccount): void;
  /**
   * The next flow of this provider fails once in the given way. The failure stays armed until the
   * step it affects runs (authorize for 'cancel', the token request for 'token'/'down', the profile
   * or emails request for 'profile'/'bad-emails'), so it may be armed before or after authorize().
   */
  failNext(provider: FakeProvider, failure: FakeFailure): void;
  /**
   * Follows an authorization URL (the Location Gatehouse redirected to) like a browser whose user approves:
   * returns the full callback URL (redirect_uri?code=…&state=…, or ?error=access_denied&state=… for 'cancel').
   */
  authorize(authorizationUrl: string): Promise<string>;
  /** Token requests received, per provider, failed ones included (lets tests assert a replayed callback made none). */
  tokenRequests(provider: FakeProvider): number;
  close(): Promise<void>;
}

interface IssuedCode {
  provider: FakeProvider;
  redirectUri: string;
  codeChallenge: string | null;
  scopes: string[];
  account: FakeAccount;
  used: boolean;
  expiresAt: number;
}

interface IssuedToken {
  provider: FakeProvider;
  scopes: string[];
  account: FakeAccount;
}

/** GitHub's codes live 10 minutes; Google's are shorter but tests never get near either. */
const CODE_TTL_MS = 10 * 60 * 1000;

const PATHS = {
  github: {
    authorize: '/github/login/oauth/authorize',
    token: '/github/login/oauth/access_token',
    user: '/github/user',
    emails: '/github/user/emails',
  },
  google: {
    authorize: '/google/o/oauth2/v2/auth',
    token: '/google/token',
    userinfo: '/google/oauth2/v3/userinfo',
  },
} as const;

export async function startFakeOAuth(options: { clientId: string; clientSecret: string }): Promise<FakeOAuth> {
  const accounts = new Map<FakeProvider, FakeAccount>();
  const failures = new Map<FakeProvider, FakeFailure>();
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, IssuedToken>();
  const tokenCounts: Record<FakeProvider, number> = { github: 0, google: 0 };

  function takeFailure(provider: FakeProvider, ...kinds: FakeFailure[]): FakeFailure | undefined {
    const failure = failures.get(provider);
    if (failure === undefined || !kinds.includes(failure)) return undefined;
    failures.delete(provider);
    return failure;
  }

  function authorizeEndpoint(provider: FakeProvider, url: URL, res: ServerResponse): void {
    const query = url.searchParams;
    if (query.get('client_id') !== options.clientId) return sendText(res, 400, `unknown client_id ${query.get('client_id')}`);
    const redirectUri = query.get('redirect_uri');
    // Neither fake has a registered callback to fall back on, so the client must name one.
    if (!redirectUri || !URL.canParse(redirectUri)) return sendText(res, 400, 'missing or invalid redirect_uri');
    const state = query.get('state');
    if (!state) return sendText(res, 400, 'missing state');
    const responseType = query.get('response_type');
    if (provider === 'google' ? responseType !== 'code' : responseType !== null && responseType !== 'code') {
      return sendText(res, 400, `unsupported response_type ${responseType}`);
    }
    const codeChallenge = query.get('code_challenge');
    const method = query.get('code_challenge_method');
    if ((codeChallenge !== null && method !== 'S256') || (codeChallenge === null && method !== null)) {
      return sendText(res, 400, `unsupported code_challenge_method ${method}`);
    }

    const back = new URL(redirectUri);
    if (takeFailure(provider, 'cancel')) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user has denied your application access.');
      back.searchParams.set('state', state);
      return redirect(res, back);
    }
    const account = accounts.get(provider);
    if (!account) return sendText(res, 500, `fake ${provider}: no account set, call setAccount('${provider}', …) first`);

    const code = randomBytes(20).toString('hex');
    codes.set(code, {
      provider,
      redirectUri,
      codeChallenge,
      scopes: (query.get('scope') ?? '').split(/[\s,]+/).filter(Boolean),
      account: structuredClone(account),
      used: false,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    redirect(res, back);
  }

  async function tokenEndpoint(provider: FakeProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
    tokenCounts[provider] += 1;
    if (takeFailure(provider, 'down')) {
      req.socket.destroy();
      return;
    }
    const body = new URLSearchParams(await readBody(req));
    // GitHub answers token errors with 200 and an error body; passport-oauth2 then reports "Failed to obtain access token".
    // Google answers 4xx, which passport-oauth2 turns into a TokenError carrying the code.
    const refuse = (googleStatus: number, githubError: string, googleError: string, description: string): void =>
      provider === 'github'
        ? sendJson(res, 200, { error: githubError, error_description: description, error_uri: `https://docs.github.com/apps/troubleshooting#${githubError}` })
        : sendJson(res, googleStatus, { error: googleError, error_description: description });

    if (takeFailure(provider, 'token')) return sendJson(res, 500, { error: 'server_error', error_description: 'The token endpoint failed (fake failure).' });

    const credentials = clientCredentials(req, body);
    if (!credentials || credentials.id !== options.clientId || !sameSecret(credentials.secret, options.clientSecret)) {
      return refuse(401, 'incorrect_client_credentials', 'invalid_client', 'The client_id and/or client_secret passed are incorrect.');
    }
    const grantType = body.get('grant_type');
    if (provider === 'google' ? grantType !== 'authorization_code' : grantType !== null && grantType !== 'authorization_code') {
      return refuse(400, 'unsupported_grant_type', 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
    }
    const issued = codes.get(body.get('code') ?? '');
    if (!issued || issued.provider !== provider || issued.used || issued.expiresAt < Date.now()) {
      return refuse(400, 'bad_verification_code', 'invalid_grant', 'The code passed is incorrect or expired.');
    }
    // Burnt on the first attempt, even a failing one: a code that leaked must not be retried into working.
    issued.used = true;
    if (body.get('redirect_uri') !== issued.redirectUri) {
      return refuse(400, 'redirect_uri_mismatch', 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    }
    if (issued.codeChallenge !== null) {
      const verifier = body.get('code_verifier');
      if (!verifier || createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge) {
        return refuse(400, 'bad_verification_code', 'invalid_grant', 'Invalid code verifier.');
      }
    }

    const accessToken = `${provider === 'github' ? 'gho_' : 'ya29.'}${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, { provider, scopes: issued.scopes, account: issued.account });
    if (provider === 'github') return sendJson(res, 200, { access_token: accessToken, token_type: 'bearer', scope: issued.scopes.join(',') });
    sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3599, scope: issued.scopes.join(' ') });
  }

  function accessTokenFor(provider: FakeProvider, req: IncomingMessage, url: URL): IssuedToken | undefined {
    const header = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // passport-google-oauth20 sends the token as ?access_token=, which Google accepts; passport-github2 uses the header.
    const token = header ?? (provider === 'google' ? url.searchParams.get('access_token') : null);
    const issued = token ? tokens.get(token) : undefined;
    return issued?.provider === provider ? issued : undefined;
  }

  function githubApi(path: string, req: IncomingMessage, url: URL, res: ServerResponse): void {
    if (!req.headers['user-agent']) {
      return sendText(res, 403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.');
    }
    const issued = accessTokenFor('github', req, url);
    if (!issued) return sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const { account } = issued;

    if (path === PATHS.github.user) {
      if (takeFailure('github', 'profile')) return sendJson(res, 500, { message: 'Server Error' });
      const login = account.login ?? `user${account.id}`;
      return sendJson(res, 200, {
        login,
        id: /^\d+$/.test(account.id) ? Number(account.id) : account.id,
        node_id: Buffer.from(`04:User${account.id}`).toString('base64'),
        avatar_url: account.avatarUrl ?? null,
        html_url: `https://github.com/${login}`,
        type: 'User',
        name: account.name ?? null,
        // A private email address is null here; the real addresses come from /user/emails.
        email: null,
      });
    }
    if (!issued.scopes.includes('user:email') && !issued.scopes.includes('user')) {
      return sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/emails' });
    }
    if (takeFailure('github', 'bad-emails')) return sendHtml(res, 200, '<html>oops');
    sendJson(res, 200, account.emails.map((row) => ({ email: row.email, primary: row.primary, verified: row.verified, visibility: null })));
  }

  function googleUserinfo(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const issued = accessTokenFor('google', req, url);
    if (!issued) return sendJson(res, 401, { error: 'invalid_request', error_description: 'Invalid Credentials' });
    if (takeFailure('google', 'profile')) return sendJson(res, 500, { error: { code: 500, message: 'Backend Error', status: 'INTERNAL' } });
    if (takeFailure('google', 'bad-emails')) return sendHtml(res, 200, '<html>oops');
    const { account, scopes } = issued;
    const claims: Record<string, unknown> = { sub: account.id };
    // Google only returns what the granted scopes cover, so a client that forgets `email` gets no address.
    if (scopes.includes('profile') || scopes.includes('https://www.googleapis.com/auth/userinfo.profile')) {
      Object.assign(claims, { name: account.name, given_name: account.givenName, family_name: account.familyName, picture: account.avatarUrl });
    }
    const first = account.emails[0];
    if (first && (scopes.includes('email') || scopes.includes('https://www.googleapis.com/auth/userinfo.email'))) {
      Object.assign(claims, { email: first.email, email_verified: first.verified });
    }
    sendJson(res, 200, claims);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case `GET ${PATHS.github.authorize}`:
        return authorizeEndpoint('github', url, res);
      case `POST ${PATHS.github.token}`:
        return tokenEndpoint('github', req, res);
      case `GET ${PATHS.github.user}`:
      case `GET ${PATHS.github.emails}`:
        return githubApi(url.pathname, req, url, res);
      case `GET ${PATHS.google.authorize}`:
        return authorizeEndpoint('google', url, res);
      case `POST ${PATHS.google.token}`:
        return tokenEndpoint('google', req, res);
      case `GET ${PATHS.google.userinfo}`:
        return googleUserinfo(req, url, res);
      default:
        return sendText(res, 404, `fake OAuth: no route for ${key}`);
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendText(res, 500, `fake OAuth failed: ${String(error)}`);
      else res.destroy();
    });
  });
  const url = await listen(server);

  return {
    url,
    github: {
      authorizationURL: url + PATHS.github.authorize,
      tokenURL: url + PATHS.github.token,
      userProfileURL: url + PATHS.github.user,
      userEmailURL: url + PATHS.github.emails,
    },
    google: {
      authorizationURL: url + PATHS.google.authorize,
      tokenURL: url + PATHS.google.token,
      userProfileURL: url + PATHS.google.userinfo,
    },
    setAccount(provider, account) {
      accounts.set(provider, structuredClone(account));
    },
    failNext(provider, failure) {
      failures.set(provider, failure);
    },
    async authorize(authorizationUrl) {
      const target = new URL(authorizationUrl);
      if (target.origin !== url) throw new Error(`fake OAuth: ${target.origin} is not this server (${url})`);
      const res = await fetch(target, { redirect: 'manual' });
      const body = await res.text();
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`fake OAuth authorize answered ${res.status}: ${body}`);
      return new URL(location, target).href;
    },
    tokenRequests: (provider) => tokenCounts[provider],
    close: () => closeServer(server),
  };
}

function clientCredentials(req: IncomingMessage, body: URLSearchParams): { id: string; secret: string } | undefined {
  const basic = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  const id = body.get('client_id');
  const secret = body.get('client_secret');
  return id !== null && secret !== null ? { id, secret } : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Real OpenID Provider
// ---------------------------------------------------------------------------------------------

export interface OidcAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  preferred_username?: string;
}

export interface OidcHarness {
  /** http://127.0.0.1:PORT (discovery at issuer + '/.well-known/openid-configuration'). */
  issuer: string;
  /** Who "logs in" at the next interaction. */
  setAccount(account: OidcAccount): void;
  /** The next interaction ends with error=access_denied. */
  cancelNext(): void;
  /**
   * Follows the authorization URL through the provider (with a fresh cookie jar, completing login + consent
   * automatically with the current account) and returns the callback URL it finally redirects to
   * (our redirect_uri with code+state+iss, or error=access_denied).
   */
  authorize(authorizationUrl: string): Promise<string>;
  close(): Promise<void>;
}

/** The few parts of oidc-provider's API used here; the package ships no type declarations. */
interface OidcInteraction {
  uid: string;
  params: Record<string, unknown>;
  prompt: { name: string; details: Record<string, unknown> };
}
interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface OidcProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<OidcInteraction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => OidcGrant;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type OidcProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProviderInstance;

let oidcProviderModule: Promise<OidcProviderConstructor> | undefined;

/** Loaded lazily, so suites that only need the fake OAuth server don't pay for koa + oidc-provider. */
function loadOidcProvider(): Promise<OidcProviderConstructor> {
  oidcProviderModule ??= (async () => {
    // oidc-provider warns on import that Node 20 is not a runtime it supports; it works, and the notice is noise in test output.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
      warn(...args);
    };
    try {
      // @ts-ignore -- oidc-provider ships no type declarations (and @types/oidc-provider is not installed); typed by OidcProviderInstance.
      const module = (await import('oidc-provider')) as { default: unknown };
      return module.default as OidcProviderConstructor;
    } finally {
      console.warn = warn;
    }
  })();
  return oidcProviderModule;
}

interface StoredPayload {
  [key: string]: unknown;
  uid?: string;
  userCode?: string;
  grantId?: string;
  consumed?: number;
}

/**
 * An in-memory adapter of the provider's own: the built-in one is shared by every Provider in the process
 * and prints a "development-only adapter" warning; this one is per harness and quiet.
 */
function memoryAdapter(): (model: string) => Record<string, (...args: never[]) => Promise<unknown>> {
  const store = new Map<string, { payload: StoredPayload; expiresAt: number }>();
  const live = (key: string): StoredPayload | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (model: string, field: 'uid' | 'userCode', value: string): StoredPayload | undefined => {
    for (const key of store.keys()) {
      const payload = key.startsWith(`${model}:`) ? live(key) : undefined;
      if (payload?.[field] === value) return payload;
    }
    return undefined;
  };
  return (model) => ({
    upsert: async (id: string, payload: StoredPayload, expiresIn?: number) => {
      store.set(`${model}:${id}`, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    },
    find: async (id: string) => live(`${model}:${id}`),
    findByUid: async (uid: string) => findBy(model, 'uid', uid),
    findByUserCode: async (userCode: string) => findBy(model, 'userCode', userCode),
    consume: async (id: string) => {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    destroy: async (id: string) => {
      store.delete(`${model}:${id}`);
    },
    revokeByGrantId: async (grantId: string) => {
      for (const [key, { payload }] of store) if (payload.grantId === grantId) store.delete(key);
    },
  });
}

const OIDC_CLAIMS = {
  acr: null,
  sid: null,
  auth_time: null,
  iss: null,
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'picture', 'preferred_username'],
};

export async function startOidcProvider(options: { clientId: string; clientSecret: string; redirectUris: string[] }): Promise<OidcHarness> {
  const Provider = await loadOidcProvider();
  const accounts = new Map<string, OidcAccount>();
  let current: OidcAccount | undefined;
  let cancel = false;
  let lastServerError: unknown;

  // Listen first: the issuer (and so the Provider) needs the port, and port 0 can't be taken by someone else in between.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => sendText(res, 503, 'starting');
  const server = createServer((req, res) => handle(req, res));
  const issuer = await listen(server);

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: `test-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // openid-client's discovery(server, id, secret) authenticates with client_secret_post; oidc-provider v9
        // accepts client_secret_basic too for a client registered with either of the two.
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: OIDC_CLAIMS,
    // Put the scope-granted claims in the ID token too: openid-client/passport hands the verify callback the ID token claims.
    conformIdTokenClaims: false,
    // The default only requires PKCE of public clients; Gatehouse always sends it, so make forgetting it fail.
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // Numbers instead of the default functions, which print a "you SHOULD change it" notice on first use.
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86400 },
    renderError: (ctx: { type: string; body: unknown }, out: Record<string, unknown>) => {
      ctx.type = 'text/plain';
      ctx.body = JSON.stringify(out);
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => Object.fromEntries(Object.entries(account).filter(([, value]) => value !== undefined)),
      };
    },
  });
  provider.on('server_error', (_ctx: unknown, error: unknown) => {
    lastServerError = error;
  });

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (cancel) {
      cancel = false;
      const denied = { error: 'access_denied', error_description: 'End-User aborted interaction' };
      await provider.interactionFinished(req, res, denied, { mergeWithLastSubmission: false });
      return;
    }
    if (!current) return sendText(res, 500, 'OIDC harness: no account set, call setAccount(…) first');
    // Login and consent in one step: a grant covering everything asked for means the consent prompt never shows.
    const grant = new provider.Grant({ accountId: current.sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
    const claims = new Set<string>();
    if (typeof details.params.claims === 'string') {
      const requested = JSON.parse(details.params.claims) as { userinfo?: object; id_token?: object };
      for (const name of [...Object.keys(requested.userinfo ?? {}), ...Object.keys(requested.id_token ?? {})]) claims.add(name);
    }
    const missing = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(missing)) for (const name of missing) claims.add(String(name));
    if (claims.size) grant.addOIDCClaims([...claims]);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: current.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  const callback = provider.callback();
  handle = (req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendText(res, 500, `OIDC harness interaction failed: ${String(error)}`);
        else res.destroy();
      });
      return;
    }
    callback(req, res);
  };

  return {
    issuer,
    setAccount(account) {
      accounts.set(account.sub, structuredClone(account));
      current = accounts.get(account.sub);
    },
    cancelNext() {
      cancel = true;
    },
    async authorize(authorizationUrl) {
      const jar = new CookieJar();
      let at = new URL(authorizationUrl);
      if (at.origin !== issuer) throw new Error(`OIDC harness: ${at.origin} is not the provider (${issuer})`);
      for (let hop = 0; hop < 20; hop += 1) {
        lastServerError = undefined;
        const res = await fetch(at, { redirect: 'manual', headers: jar.header(at) ? { cookie: jar.header(at) } : {} });
        jar.store(at, res.headers.getSetCookie());
        const body = await res.text();
        const location = res.headers.get('location');
        if (res.status < 300 || res.status >= 400 || !location) {
          const cause = lastServerError === undefined ? '' : ` (server_error: ${String(lastServerError)})`;
          throw new Error(`OIDC provider answered ${res.status} at ${at.pathname}: ${body.slice(0, 500)}${cause}`);
        }
        const next = new URL(location, at);
        if (next.origin !== issuer) return next.href;
        at = next;
      }
      throw new Error('OIDC harness: too many redirects inside the provider');
    },
    close: () => closeServer(server),
  };
}

/** Just enough of a browser's cookie store for oidc-provider: name + path scoping, deletion by expiry. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = url.pathname.slice(0, Math.max(1, url.pathname.lastIndexOf('/')));
      let expired = false;
      for (const attribute of attributes) {
        const [rawKey = '', ...rest] = attribute.split('=');
        const key = rawKey.toLowerCase();
        const attributeValue = rest.join('=');
        if (key === 'path' && attributeValue.startsWith('/')) path = attributeValue;
        if (key === 'max-age' && Number(attributeValue) <= 0) expired = true;
        if (key === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(url: URL): string {
    const matches = (path: string) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`);
    return [...this.cookies.values()]
      .filter((cookie) => matches(cookie.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }
}

// ---------------------------------------------------------------------------------------------
// Shared HTTP bits
// ---------------------------------------------------------------------------------------------

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // fetch keeps connections alive; without this close() would wait for them to time out.
    server.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
}

function redirect(res: ServerResponse, location: URL): void {
  res.writeHead(302, { Location: location.href }).end();
}

import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import ejs from 'ejs';
import { doubleCsrf } from 'csrf-csrf';
import express, { type Express, type Request, type Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config, RealmConfig } from './config/index.ts';
import { accountRoutes } from './flows/account/account.routes.ts';
import { OverviewService } from './flows/account/overview.service.ts';
import { PasswordService } from './flows/password/password.service.ts';
import { passwordRoutes } from './flows/password/password.routes.ts';
import { ProfileService } from './flows/profile/profile.service.ts';
import { profileRoutes } from './flows/profile/profile.routes.ts';
import { LoginService } from './flows/login/login.service.ts';
import { MfaService } from './flows/mfa/mfa.service.ts';
import { mfaRoutes } from './flows/mfa/mfa.routes.ts';
import { devMailRoutes } from './flows/dev-mail/dev-mail.routes.ts';
import { EmailService } from './flows/email/email.service.ts';
import { emailRoutes } from './flows/email/email.routes.ts';
import { PhoneService } from './flows/phone/phone.service.ts';
import { phoneRoutes } from './flows/phone/phone.routes.ts';
import { loginRoutes } from './flows/login/login.routes.ts';
import { RecoveryService } from './flows/recovery/recovery.service.ts';
import { recoveryRoutes } from './flows/recovery/recovery.routes.ts';
import { logoutRoutes } from './flows/logout/logout.routes.ts';
import { SignupService } from './flows/signup/signup.service.ts';
import { invitationRoutes } from './flows/invitations/invitations.routes.ts';
import { memberOrgsRoutes } from './flows/orgs/member-orgs.routes.ts';
import { MemberOrgsService } from './flows/orgs/member-orgs.service.ts';
import { joinRoutes } from './flows/join/join.routes.ts';
import { signupRoutes } from './flows/signup/signup.routes.ts';
import { VerificationService } from './flows/verification/verification.service.ts';
import { verificationRoutes } from './flows/verification/verification.routes.ts';
import { jwksRoutes } from './flows/well-known/jwks.routes.ts';
import { historyRoutes } from './flows/history/history.routes.ts';
import { impersonationRoutes } from './flows/impersonation/impersonation.routes.ts';
import { SessionsService } from './flows/sessions/sessions.service.ts';
import { sessionsApiRoutes, sessionsRoutes } from './flows/sessions/sessions.routes.ts';
import { ConnectedAccountsService } from './flows/social/connected.service.ts';
import { connectedRoutes } from './flows/social/connected.routes.ts';
import { SocialService } from './flows/social/social.service.ts';
import { socialRoutes } from './flows/social/social.routes.ts';
import { SocialStrategies } from './flows/social/strategies.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { createI18n, SUPPORTED_LOCALES } from './http/i18n.ts';
import { requireRecentAuth, takeFlash } from './http/account.ts';
import { PageCache } from './http/page-cache.ts';
import { AfterResponse } from './http/after-response.ts';
import { loadLogin } from './http/session.ts';
import { KeyRing } from './identity/keys.ts';
import { LoginSessions } from './identity/login-sessions.ts';
import { OneTimeSecrets } from './identity/one-time.ts';
import { PasswordHasher } from './identity/password.ts';
import type { LimiterFactory } from './identity/throttle.ts';
import { TokenIssuer } from './identity/token-issuer.ts';
import { Totp } from './identity/totp.ts';
import { ejsMailRenderer } from './infra/mail/templates.ts';
import { Mailer } from './mail/mailer.ts';
import type { Directory } from './ports/directory.ts';
import { Realms } from './realms.ts';
import type { RealmsService } from './services/realms.ts';
import type { SmsSender } from './sms/sms.ts';
import type { Store } from './store/port.ts';
import { apiSecurityHeaders, managementApi } from './api/v1/index.ts';
import { appBackChannel, appBackChannelRoutes } from './api/v1/apps.routes.ts';
import { authenticateKeyFastPath } from './api/v1/fast-path.ts';
import { consoleApp } from './console/index.ts';
import { consoleRoutes } from './console/routes.ts';
import type { AuditPort } from './ports/audit.ts';
import type { ManagementKeysPort } from './ports/management-keys.ts';
import type { UsersAdminPort } from './ports/users-admin.ts';
import type { ManagementPorts } from './store/open.ts';
import { ApiUserKeys } from './services/api-user-keys.ts';
import { AuditLog } from './services/audit-log.ts';
import { EventLog } from './services/event-log.ts';
import { HandoffService } from './services/handoff.ts';
import { orgPickerRoutes } from './flows/login/org-picker.routes.ts';
import { ImpersonationService } from './services/impersonation.ts';
import { ManagementKeys } from './services/management-keys.ts';
import { OperatorsService } from './services/operators.ts';
import { SignInHistory } from './services/sign-in-history.ts';
import { ReauthService } from './services/step-up.ts';
import { UserAccessService } from './services/user-access.ts';
import { UsersService } from './services/users.ts';
import { OrgsService } from './services/orgs.ts';
import { AppAccessService } from './services/app-access.ts';
import { MembershipsService } from './services/memberships.ts';
import { GroupsService } from './services/groups.ts';
import { InvitationsService } from './services/invitations.ts';
import { InvitationLinksService } from './services/invitation-links.ts';
import { RealmDashboard } from './services/realm-dashboard.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Deps {
  config: Config;
  store: Store;
  /** express-session's store: SQLite's or connect-redis, chosen in main.ts. */
  sessionStore: session.Store;
  limiters: LimiterFactory;
  logger: Logger;
  /** Secret for cookie signing and CSRF tokens. */
  secret: string;
  /** Called after a mail is queued: wakes the outbox worker (main.ts) so it sends at once. */
  onMailQueued?: () => void;
  /** Named readiness checks for /readyz (the store's is always included). */
  readiness?: Record<string, () => Promise<unknown>>;
  clock?: () => Date;
  hasher?: PasswordHasher;
  /** Text messages: the signed webhook or the development outbox, chosen in main.ts. */
  sms: SmsSender;
  /** The management side's ports (the store adapter's, chosen in main.ts); absent: no management API. */
  management?: ManagementPorts;
  /** The served realms and apps, loaded from the directory and kept current by main.ts; else the file's, fixed. */
  realms?: Realms;
  /** The realms-and-apps directory the management API writes through realmsService (main.ts picks its adapter). */
  directory?: Directory;
  /** Realms and apps use cases (list/get/create/update/delete), for the management API. */
  realmsService?: RealmsService;
}

export type { ManagementPorts };

export interface Gatehouse {
  app: Express;
  /** The management services (the CLI and the tests call them as the API does); null without management ports. */
  management: ManagementServices | null;
  keys: KeyRing;
  realms: Realms;
  /** Waits for the work routes started after their answers (shutdown calls it before closing the store). */
  drain(): Promise<void>;
}

export interface ManagementServices {
  keys: ManagementKeys;
  audit: AuditLog;
  users: UsersService;
  access: UserAccessService;
  dashboard: RealmDashboard;
  /** The console's operators and their roles (without a console, its writes refuse). */
  operators: OperatorsService;
  /** "Sign in as this user": begin() for the console, accept() and end() for the flow on the user's realm. */
  impersonation: ImpersonationService;
  events: EventLog;
  /** A user's sign-ins (the personal center's history, and the console's for any user). */
  history: SignInHistory;
  /** Orgs and memberships (docs/design/orgs.md §3.1), groups (§3.2). */
  orgs: OrgsService;
  memberships: MembershipsService;
  groups: GroupsService;
  /** Org invitations by mail (§3.3): the API's and the console's writes, audited; the /invitation pages use the same. */
  invitations: InvitationsService;
  /** Which apps a user may reach and why (§6: the hand-off's rule), for the console's user page. */
  appAccess: AppAccessService;
  /** Realm invitation links and join requests (§3.3): the API's and the console's writes, audited; the /join pages use the same. */
  invitationLinks: InvitationLinksService;
}

const LANGUAGE_NAMES: Record<string, string> = { en: 'English', 'zh-CN': '简体中文' };

/** `url` (path + query) with its `lang` parameter set to `locale`. */
function withLang(url: string, locale: string): string {
  const u = new URL(url, 'http://x');
  u.searchParams.set('lang', locale);
  return `${u.pathname}${u.search}`;
}

/** Builds the Express app from its dependencies. Reads no environment, opens no socket. */
export function createApp(deps: Deps): Gatehouse {
  const { config, store, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const realms = deps.realms ?? new Realms(config.realms, config.defaultRealm, config.appSecrets);
  const keys = new KeyRing(store, clock);
  const issuer = new TokenIssuer(keys);
  const hasher = deps.hasher ?? new PasswordHasher();
  // An impersonated session looks up its operator's console-realm session in that realm.
  const sessions = new LoginSessions(store, clock, (id) => realms.byIdOrNull(id));
  const handoff = new HandoffService({ store, issuer, sessions, clock });
  const secretMatches = (realmId: string, clientId: string, secret: string) => realms.appSecretMatches(realmId, clientId, secret);
  const i18n = createI18n(path.join(ROOT, 'locales'), config.secureCookies);
  const viewsDir = path.join(ROOT, 'views');
  const viewCache = config.env !== 'development';
  const mailer = new Mailer(store, ejsMailRenderer(viewsDir, i18n.t, viewCache), config.mailFrom, clock, deps.onMailQueued);
  const secrets = new OneTimeSecrets(store, createHmac('sha256', deps.secret).update('gatehouse one-time tokens').digest('base64url'), clock);
  const verificationService = new VerificationService(store, secrets, mailer, deps.limiters, sessions, clock);
  // Authenticator secrets are sealed (AES-256-GCM) and recovery codes HMAC'd under keys of their own, derived like the others.
  const totp = new Totp(
    store,
    {
      encryption: createHmac('sha256', deps.secret).update('gatehouse totp secrets').digest(),
      recovery: createHmac('sha256', deps.secret).update('gatehouse recovery codes').digest(),
    },
    deps.limiters,
    clock,
  );
  const mfaService = new MfaService(store, totp, clock);
  const loginService = new LoginService(store, hasher, deps.limiters, sessions, mfaService, clock);
  const recoveryService = new RecoveryService(store, secrets, mailer, hasher, deps.limiters, clock);
  const reauthService = new ReauthService(store, hasher, deps.limiters, mfaService, clock);
  const profileService = new ProfileService(store, clock);
  const passwordService = new PasswordService(store, hasher, mailer, reauthService, clock);
  // One guard for every sensitive personal-center change, on the app's clock.
  const recentAuth = requireRecentAuth(clock);
  const sessionsService = new SessionsService(store, sessions, clock);
  const emailService = new EmailService(store, secrets, mailer, deps.limiters, sessions, clock);
  const sms = deps.sms;
  const phoneService = new PhoneService(store, secrets, sms, i18n.t, deps.limiters, logger, clock);
  const socialService = new SocialService(store, sessions, secrets, mailer, deps.limiters, clock);
  const socialStrategies = new SocialStrategies(config.providerSecrets, logger);
  const cookiePrefix = config.secureCookies ? '__Host-' : '';
  const management = deps.management ? managementServices(deps, deps.management, { store, hasher, secrets, sessions, mailer, verificationService, realms, clock }) : null;
  // The /invitation pages and sign-up read invitations without the management side too (then nothing is audited: none can be made).
  const invitations = management?.invitations ?? invitationsService(deps, { store, mailer, clock }, null);
  const invitationLinks = management?.invitationLinks ?? invitationLinksService(deps, { store, mailer, clock }, invitations, null);
  const signupService = new SignupService(store, hasher, deps.limiters, sessions, verificationService, clock, invitations, invitationLinks);
  const afterResponse = new AfterResponse();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  app.set('view cache', viewCache);
  // Includes are written from the views root ('/partials/field'), so EJS resolves them without touching the disk.
  app.engine('ejs', (file, data, done) => ejs.renderFile(file, data as ejs.Data, { root: viewsDir, views: [viewsDir], cache: viewCache }, done));
  app.set('query parser', 'simple');
  // Pages are no-store and carry fresh CSRF tokens: hashing each body for an ETag buys nothing. JWKS sets its own.
  app.set('etag', false);

  if (config.logRequests) {
    app.use(
      pinoHttp({
        logger,
        // Tokens travel in redirects (Location) and in token_hint: neither reaches the log.
        redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]', 'res.headers.location'],
        serializers: {
          req: (req: { url?: string }) => Object.assign(req, { url: req.url?.split('?')[0] }),
        },
      }),
    );
  }

  // authenticate-key's success path, ahead of everything (api/v1/fast-path.ts); it hands every other case to the API below.
  if (management) app.use(authenticateKeyFastPath({ realms, keys: management.keys, access: management.access, securityHeaders: apiSecurityHeaders(config.secureCookies) }));

  /** GET /healthz — the process is up. */
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  /** GET /readyz — the store and (when configured) Redis answer. */
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, () => Promise<unknown>> = { store: () => store.ping(), ...deps.readiness };
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await check().then(() => 'ok', (e: Error) => `down: ${e.message}`)] as const),
    );
    const ok = results.every(([, r]) => r === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  });

  // The management API is JSON only: it sets its own security headers and needs no page middleware (helmet's CSP, the realm by host).
  // The apps' back channel: an app's client id and secret, no management key (so it is there without the management API too).
  app.use('/api/v1/apps', appBackChannel({ realms, handoff, secretMatches, limiters: deps.limiters, logger, hsts: config.secureCookies }));
  if (management) {
    const appRoutes = appBackChannelRoutes(handoff);
    app.use('/api/v1', managementApi({ ...management, realms, realmsService: deps.realmsService, limiters: deps.limiters, logger, hsts: config.secureCookies, appRoutes }));
  }

  app.use('/static', express.static(path.join(ROOT, 'public'), { maxAge: '1h', index: false }));

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:', 'https:'],
          fontSrc: ["'self'"],
          frameAncestors: ["'none'"],
          // Widened per page by allowFormAction() where a flow ends at an app.
          formAction: ["'self'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: config.secureCookies ? { maxAge: 31536000, includeSubDomains: false } : false,
      crossOriginEmbedderPolicy: false,
      xFrameOptions: { action: 'deny' },
    }),
  );

  // What pages show of a realm, made once per realm object (a directory change makes new objects).
  const realmViews = new WeakMap<object, { id: string; name: string; logoUrl?: string }>();
  const realmView = (r: RealmConfig) => {
    let view = realmViews.get(r);
    if (!view) realmViews.set(r, (view = { id: r.id, name: r.name, logoUrl: r.branding.logoUrl }));
    return view;
  };
  app.use((req, res, next) => {
    req.realm = realms.forHost(req.host);
    res.locals.realm = realmView(req.realm);
    next();
  });

  // JWKS and the apps' back channel need neither cookies nor a session. Mounted under their prefixes, so
  // every other request passes them by a path comparison instead of walking their routers.
  app.use('/.well-known', jwksRoutes(keys));
  app.use('/api', sessionsApiRoutes(sessionsService, secretMatches, deps.limiters));
  app.use(cookieParser());
  app.use(i18n.middleware);

  /** GET /branding/:realm.css — the realm's colours (a stylesheet, since the CSP forbids inline styles). */
  app.get('/branding/:file', (req, res) => {
    const realm = realms.byIdOrNull(req.params.file.replace(/\.css$/, ''));
    if (!realm) return res.status(404).type('text/css').send('');
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('text/css').send(`:root{--brand:${realm.branding.primaryColor};}\n`);
  });

  // Pages from here on are per user (forms carry CSRF tokens): never cached.
  app.use((req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    // The language switcher's links, worked out only when a page is rendered.
    Object.defineProperty(res.locals, 'languages', {
      enumerable: true,
      get: () =>
        SUPPORTED_LOCALES.map((locale) => ({
          locale,
          name: LANGUAGE_NAMES[locale],
          href: withLang(req.originalUrl, locale),
          current: locale === req.locale,
        })),
    });
    next();
  });

  // The operator console: its own cookie, CSRF and pages, ahead of the end-user session (src/console/).
  if (config.console && management) {
    app.use(
      '/admin',
      consoleApp({
        settings: { realmId: config.console.realmId, publicUrl: config.console.publicUrl },
        secureCookies: config.secureCookies,
        secret: deps.secret,
        sessionStore: deps.sessionStore,
        realms,
        issuer,
        sessions,
        grantsOf: (id) => management.operators.grantsOf(id),
        confirm: (realm, user, password, origin, code) => reauthService.confirm(realm, user, password, origin, code),
        routes: consoleRoutes({ realms, consoleRealmId: config.console.realmId, consolePublicUrl: config.console.publicUrl, clock, configPath: config.configPath, management: { ...management, realmsService: deps.realmsService } }),
        clock,
        logger,
      }),
    );
  }

  const sessionCookie = `${cookiePrefix}gh.sid`;
  const browserSession = session({
    name: sessionCookie,
    secret: deps.secret,
    store: deps.sessionStore,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: 'destroy',
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/' },
  });
  // A GET without a session cookie has no session to load and starts none, except a link that
  // carries a token (it moves into the session): it skips express-session's id generation and bookkeeping.
  app.use((req, res, next) => {
    const safe = req.method === 'GET' || req.method === 'HEAD';
    if (safe && req.cookies[sessionCookie] === undefined && req.query.token === undefined) return next();
    browserSession(req, res, next);
  });
  const formBody = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  app.use((req, res, next) => (req.method === 'POST' ? formBody(req, res, next) : next()));

  const csrfSecret = createHmac('sha256', deps.secret).update('gatehouse csrf').digest('base64url');
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => csrfSecret,
    // Bound to the browser session once there is one; anonymous forms rely on the signed double-submit cookie.
    getSessionIdentifier: (req) => (req.session?.sid ? req.sessionID : ''),
    cookieName: `${cookiePrefix}gh.csrf`,
    cookieOptions: { sameSite: 'lax', secure: config.secureCookies, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined),
  });
  app.use(doubleCsrfProtection);

  app.use((req: Request, res: Response, next) => {
    // One token per response: when the cookie no longer fits the session (just after login), every call
    // would mint a new token and cookie, and only the page's last form would carry the one the browser keeps.
    let token: string | undefined;
    res.locals.csrfToken = () => (token ??= generateCsrfToken(req, res));
    // "5 minutes ago" counts from the app's clock (injected in tests), not the machine's.
    res.locals.now = clock;
    next();
  });

  app.use(loadLogin(sessions));
  app.use(takeFlash);
  app.get('/', (req, res) => res.redirect(302, req.signedIn ? '/account' : '/login'));
  // Rendered login/signup forms are kept only when templates are (not in development).
  const pages = viewCache ? new PageCache() : undefined;
  // A directory change: pages rendered from the old settings go, and a realm created at run time (or given
  // another algorithm) gets its signing key before its first login.
  realms.onChange((current) => {
    pages?.clear();
    for (const r of current.all()) keys.ensure(r.id, r.tokens.algorithm).catch((err: unknown) => logger.error({ err, realm: r.id }, 'signing key not ready'));
  });
  app.use(loginRoutes(loginService, handoff, pages));
  app.use(orgPickerRoutes(handoff));
  app.use(signupRoutes(signupService, handoff, pages, invitations, invitationLinks));
  app.use(invitationRoutes(invitations, sessions, handoff));
  app.use(joinRoutes(invitationLinks, handoff));
  app.use(verificationRoutes(verificationService, handoff));
  app.use(recoveryRoutes(recoveryService, logger, afterResponse));
  app.use(logoutRoutes(sessions, issuer));
  // The development outbox: every mail, readable in the browser. Absent (404) outside development.
  if (config.env === 'development') app.use(devMailRoutes(store));
  app.use(socialRoutes({ service: socialService, strategies: socialStrategies, login: loginService, reauth: reauthService, handoff, logger, recentAuth, clock }));
  app.use(accountRoutes(reauthService, socialService, new OverviewService(store, sessions), clock));
  app.use(profileRoutes(profileService, recentAuth, { secureCookies: config.secureCookies }));
  app.use(passwordRoutes(passwordService, recentAuth));
  app.use(emailRoutes(emailService, verificationService, recentAuth));
  app.use(phoneRoutes(phoneService, recentAuth));
  app.use(mfaRoutes(mfaService, recentAuth));
  app.use(sessionsRoutes(sessionsService, recentAuth));
  app.use(historyRoutes(new SignInHistory(store.events)));
  // Only the management side can begin an impersonation (its begin() is audited): without it, nothing to accept.
  if (management) app.use(impersonationRoutes(management.impersonation));
  app.use(connectedRoutes(new ConnectedAccountsService(store, (realm, id) => socialService.nameOf(realm, id)), socialService, recentAuth));
  // The member's orgs (leave, invite, links): their writes are audited, so they need the management side too.
  if (management) {
    app.use(memberOrgsRoutes(new MemberOrgsService({ orgs: store.orgs, memberships: management.memberships, invitations: management.invitations, links: management.invitationLinks, limiters: deps.limiters, clock })));
  }

  app.use(notFound);
  app.use(errorHandler(logger));

  return { app, keys, realms, management, drain: () => afterResponse.drain() };
}

/** The management services on their ports, sharing the end-user side's tools (one rule, one place). */
function managementServices(
  deps: Deps,
  ports: ManagementPorts,
  t: { store: Store; hasher: PasswordHasher; secrets: OneTimeSecrets; sessions: LoginSessions; mailer: Mailer; verificationService: VerificationService; realms: Realms; clock: () => Date },
): ManagementServices {
  const audit = new AuditLog(ports.audit, t.clock);
  const derive = (label: string) => createHmac('sha256', deps.secret).update(label).digest();
  const apiKeys = new ApiUserKeys(derive('gatehouse api user key lookup'), derive('gatehouse api user key encryption'));
  const keys = new ManagementKeys(ports.keys, audit, (id) => t.realms.byIdOrNull(id) !== null, t.clock);
  const users = new UsersService({
    store: t.store,
    admin: ports.usersAdmin,
    hasher: t.hasher,
    apiKeys,
    audit,
    sessions: t.sessions,
    passwordTools: { store: t.store, hasher: t.hasher, mailer: t.mailer, clock: t.clock },
    sendVerification: (realm, user) => t.verificationService.send(realm, user, user.locale ?? 'en', null),
    revokeVerification: (realm, userId) => t.secrets.revoke(realm.id, userId, 'verify-email'),
    clock: t.clock,
  });
  const access = new UserAccessService({ store: t.store, admin: ports.usersAdmin, apiKeys, audit, sessions: t.sessions, secrets: t.secrets, mailer: t.mailer, clock: t.clock });
  const dashboard = new RealmDashboard({ users, events: t.store.events, sessions: t.sessions, clock: t.clock });
  const operators = new OperatorsService({
    roles: ports.operatorRoles,
    users,
    access,
    audit,
    store: t.store,
    console: deps.config.console,
    realmOf: (id) => t.realms.byIdOrNull(id),
    clock: t.clock,
  });
  const impersonation = new ImpersonationService({ store: t.store, sessions: t.sessions, secrets: t.secrets, audit, clock: t.clock });
  const orgs = new OrgsService({ orgs: t.store.orgs, audit, clock: t.clock });
  const memberships = new MembershipsService({ orgs: t.store.orgs, audit, clock: t.clock });
  const groups = new GroupsService({ orgs: t.store.orgs, audit, clock: t.clock });
  const invitations = invitationsService(deps, t, audit);
  const appAccess = new AppAccessService({ orgs: t.store.orgs, clock: t.clock });
  const invitationLinks = invitationLinksService(deps, t, invitations, { audit, users, access });
  return { keys, audit, users, access, dashboard, operators, impersonation, events: new EventLog(t.store.events), history: new SignInHistory(t.store.events), orgs, memberships, groups, invitations, invitationLinks, appAccess };
}

/** Org invitations, their links' tokens HMAC'd under a key of their own, derived like the others. */
function invitationsService(deps: Deps, t: { store: Store; mailer: Mailer; clock: () => Date }, audit: AuditLog | null): InvitationsService {
  const key = createHmac('sha256', deps.secret).update('gatehouse invitations').digest();
  return new InvitationsService({ store: t.store, mailer: t.mailer, audit, key, consoleRealmId: deps.config.console?.realmId ?? null, limiters: deps.limiters, clock: t.clock });
}

/** Invitation links and join requests: their tokens HMAC'd under the invitations key; the page names the inviter as an invitation's does. */
function invitationLinksService(
  deps: Deps,
  t: { store: Store; mailer: Mailer; clock: () => Date },
  invitations: InvitationsService,
  management: { audit: AuditLog; users: UsersService; access: UserAccessService } | null,
): InvitationLinksService {
  const key = createHmac('sha256', deps.secret).update('gatehouse invitations').digest();
  return new InvitationLinksService({ store: t.store, mailer: t.mailer, management, key, limiters: deps.limiters, inviterName: (realm, by) => invitations.inviterName(realm, by), clock: t.clock });
}

import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * The console's realm settings (issue 13, "Settings", and AuthRocket's "Settings: Fields"): every section shows
 * the realm's values and saves a merge patch through RealmsService.updateRealm, so the hosted pages change at
 * once; the service's refusals (one-way emails, API realms' providers, the schema) come back at their input.
 * Real HTTP, real SQLite. alpha and beta come from the test file (provisioned); gamma is made through the service.
 */
let gh: TestGatehouse;
let owner: ConsoleBrowser;
let viewer: ConsoleBrowser;
/** The app's clock runs `skew` ms ahead of the wall clock: a step-up test makes the sign-in old. */
let skew = 0;

const GAMMA = '/admin/realms/gamma/settings';
const gamma = () => gh.realmsService.getRealm('gamma');
const decoded = (html: string) => html.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** The orgs & tokens section's form with its defaults (JWT: custom attributes only). */
const ORGS_FORM = {
  'tokenFields.custom': 'true',
  tokenMaxOrgs: '50',
  maxPermissions: '20',
  invitationTtlHours: '168',
  memberPermission: '',
  invitationResendPoints: '5',
  invitationResendSeconds: '3600',
  memberInvitationsPoints: '20',
  memberInvitationsSeconds: '3600',
};

/** GETs a settings page, then POSTs `form` to it with the page's CSRF token. */
async function save(b: ConsoleBrowser, path: string, form: Record<string, string | string[]>) {
  const page = await b.get(path);
  expect(page.status, page.text).toBe(200);
  return b.post(path, { _csrf: csrfOf(page.text), ...form });
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(Date.now() + skew) });
  await gh.realmsService.createRealm({
    id: 'gamma',
    name: 'Gamma',
    publicUrl: 'http://gamma.test',
    social: { providers: [{ type: 'github', id: 'github', clientId: 'gh-client', secretEnv: 'GAMMA_GITHUB_SECRET', enabled: false }] },
  }, CLI_CONTEXT);
  owner = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'gamma', role: 'owner' }, { realmId: 'alpha', role: 'owner' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'gamma', role: 'viewer' }]));
});
afterAll(() => gh.close());

describe('console realm settings: every section round-trips', () => {
  it('/settings opens the fields section; an unknown section is a 404', async () => {
    const res = await owner.get(GAMMA);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${GAMMA}/fields`);
    expect((await owner.get(`${GAMMA}/rate-limits`)).status).toBe(404);
    expect((await owner.post(`${GAMMA}/rate-limits`, { _csrf: csrfOf((await owner.get(`${GAMMA}/fields`)).text) })).status).toBe(404);
  });

  it('sign-up: the page shows the policy; disabling it makes the realm’s /signup answer 403', async () => {
    const page = await owner.get(`${GAMMA}/signup`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/id="policy-open" name="policy" value="open" checked/);
    expect(page.text).toContain('aria-current="page">Sign-up<');
    // No inline styles or scripts: the console's CSP would block them.
    expect(page.text).not.toMatch(/\sstyle=|<script>/);
    expect((await request(gh.app).get('/signup').set('Host', 'gamma.test')).status).toBe(200);

    const res = await save(owner, `${GAMMA}/signup`, { policy: 'disabled' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(`${GAMMA}/signup?saved=1`);
    expect((await gamma()).settings.signup.policy).toBe('disabled');
    expect((await request(gh.app).get('/signup').set('Host', 'gamma.test')).status).toBe(403);
    const after = await owner.get(res.headers.location as string);
    expect(after.text).toContain('alert-ok');
    expect(after.text).toMatch(/value="disabled" checked/);
    await save(owner, `${GAMMA}/signup`, { policy: 'open' });
    expect((await request(gh.app).get('/signup').set('Host', 'gamma.test')).status).toBe(200);
  });

  const sections: Array<{ section: string; form: Record<string, string>; shown: RegExp; check: (s: Awaited<ReturnType<typeof gamma>>['settings']) => void }> = [
    {
      section: 'verification',
      form: { policy: 'required', linkTtlHours: '48', codeTtlMinutes: '15', codeAttempts: '3' },
      shown: /name="linkTtlHours" type="number" value="48"/,
      check: (s) => expect(s.emailVerification).toEqual({ policy: 'required', linkTtlHours: 48, codeTtlMinutes: 15, codeAttempts: 3 }),
    },
    {
      section: 'password',
      form: { minLength: '12', maxLength: '128', recoveryTtlMinutes: '30', recoveryCodeAttempts: '4' },
      shown: /name="minLength" type="number" value="12"/,
      check: (s) => {
        expect(s.password).toEqual({ minLength: 12, maxLength: 128, rejectCommon: false });
        expect(s.recovery).toEqual({ ttlMinutes: 30, codeAttempts: 4 });
      },
    },
    { section: 'mfa', form: { policy: 'required' }, shown: /value="required" checked/, check: (s) => expect(s.mfa.policy).toBe('required') },
    {
      section: 'sessions',
      form: { idleMinutes: '120', absoluteHours: '48', recentAuthMinutes: '7', tokenTtlSeconds: '300', tokenAlgorithm: 'RS256' },
      shown: /value="RS256" checked/,
      check: (s) => {
        expect(s.sessions).toEqual({ idleMinutes: 120, absoluteHours: 48 });
        expect(s.account.recentAuthMinutes).toBe(7);
        expect(s.tokens).toEqual({ ttlSeconds: 300, algorithm: 'RS256', fields: ['custom'], maxOrgs: 50 });
      },
    },
    {
      section: 'fields',
      form: { usernames: 'separate', emails: 'unique', lowercaseUsernames: 'true', apiKeyPolicy: 'encrypt', apiKeyPrefix: 'gam_' },
      shown: /name="apiKeyPrefix" type="text" value="gam_"/,
      check: (s) => expect(s.fields).toEqual({ usernames: 'separate', emails: 'unique', lowercaseUsernames: true, apiKeys: { policy: 'encrypt', prefix: 'gam_' } }),
    },
  ];
  for (const { section, form, shown, check } of sections) {
    it(`${section}: saved through the service and shown again`, async () => {
      const before = await owner.get(`${GAMMA}/${section}`);
      expect(before.text).not.toMatch(shown);
      const res = await save(owner, `${GAMMA}/${section}`, form);
      expect(res.status, res.text).toBe(303);
      check((await gamma()).settings);
      const after = await owner.get(`${GAMMA}/${section}`);
      expect(after.text).toMatch(shown);
    });
  }

  it('fields: an empty API key prefix removes it; the next generated key has none', async () => {
    const res = await save(owner, `${GAMMA}/fields`, { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'hash', apiKeyPrefix: '' });
    expect(res.status, res.text).toBe(303);
    const s = (await gamma()).settings;
    expect(s.fields.apiKeys).toEqual({ policy: 'hash' });
    expect(s.fields.lowercaseUsernames).toBe(false);
  });

  it('social: link-by-email and a new (disabled) provider saved; enabling one in an API realm is refused at its checkbox', async () => {
    const res = await save(owner, `${GAMMA}/social`, { newType: 'oidc', newId: 'corp', newName: 'Corp SSO', newClientId: 'c1', newSecretEnv: 'CORP_SECRET', newIssuer: 'https://id.example.com' });
    expect(res.status, res.text).toBe(303);
    const s = (await gamma()).settings.social;
    expect(s.linkByEmail).toBe(false);
    expect(s.providers.map((p) => [p.id, p.enabled])).toEqual([['github', false], ['corp', false]]);
    const page = await owner.get(`${GAMMA}/social`);
    expect(page.text).toContain('Corp SSO');

    const refused = await save(owner, `${GAMMA}/social`, { linkByEmail: 'true', 'provider.github.enabled': 'true', 'provider.corp.enabled': '' });
    expect(refused.status).toBe(422);
    expect(refused.text).toMatch(/id="provider\.github\.enabled-error">A realm created in the console or through the API cannot enable a social provider/);
    // The typed values are kept: the box stays ticked.
    expect(refused.text).toMatch(/name="provider\.github\.enabled" value="true" checked/);
    expect((await gamma()).settings.social.providers.every((p) => !p.enabled)).toBe(true);

    const removed = await save(owner, `${GAMMA}/social`, { 'provider.corp.remove': 'true' });
    expect(removed.status).toBe(303);
    expect((await gamma()).settings.social.providers.map((p) => p.id)).toEqual(['github']);
  });

  it('branding: name, logo and colour reach the hosted pages; the preview shows typed values without saving', async () => {
    const page = await owner.get(`${GAMMA}/branding`);
    expect(page.text).toContain(`${GAMMA}/branding/preview.css?color=%234f46e5`);
    const preview = await save(owner, `${GAMMA}/branding`, { name: 'Gamma Preview', logoUrl: '', primaryColor: '#abcdef', intent: 'preview' });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain(`${GAMMA}/branding/preview.css?color=%23abcdef`);
    expect(preview.text).toContain('Gamma Preview');
    expect((await gamma()).settings.branding.primaryColor).toBe('#4f46e5');

    const res = await save(owner, `${GAMMA}/branding`, { name: 'Gamma Co', logoUrl: 'https://cdn.example.com/logo.png', primaryColor: '#112233' });
    expect(res.status, res.text).toBe(303);
    expect((await gamma()).settings).toMatchObject({ name: 'Gamma Co', branding: { logoUrl: 'https://cdn.example.com/logo.png', primaryColor: '#112233' } });
    expect((await request(gh.app).get('/branding/gamma.css')).text).toContain('--brand:#112233');
    expect((await request(gh.app).get('/login').set('Host', 'gamma.test')).text).toContain('src="https://cdn.example.com/logo.png"');
    const css = await owner.get(`${GAMMA}/branding/preview.css?color=%23112233`);
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text.trim()).toBe(':root{--preview-brand:#112233}');
    for (const bad of ['?color=red;}', '?color=%23112233;}body{x:y', '?color=%23112233&color=%23000000', '']) {
      expect((await owner.get(`${GAMMA}/branding/preview.css${bad}`)).status, bad).toBe(400);
    }
  });

  it('orgs & tokens: every field saved through the service (one audit entry) and shown again; none ticked is []', async () => {
    const page = await owner.get(`${GAMMA}/orgs`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('aria-current="page">Orgs &amp; tokens<');
    expect(page.text).toMatch(/name="tokenFields\.custom" value="true" checked/);
    expect(page.text).toMatch(/name="tokenFields\.orgs" value="true">/);
    expect(page.text).toMatch(/name="invitationResendSeconds" type="number" value="3600"/);
    expect(page.text).not.toMatch(/\sstyle=|<script>/);

    const res = await save(owner, `${GAMMA}/orgs`, {
      'tokenFields.memberships': 'true',
      'tokenFields.orgs': 'true',
      tokenMaxOrgs: '12',
      maxPermissions: '40',
      invitationTtlHours: '72',
      memberPermission: 'Members:Invite',
      invitationResendPoints: '3',
      invitationResendSeconds: '600',
      memberInvitationsPoints: '9',
      memberInvitationsSeconds: '86400',
    });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(`${GAMMA}/orgs?saved=1`);
    const s = (await gamma()).settings;
    expect(s.tokens).toMatchObject({ fields: ['memberships', 'orgs'], maxOrgs: 12 });
    expect(s.memberships.maxPermissions).toBe(40);
    expect(s.invitations).toMatchObject({ ttlHours: 72, memberPermission: 'members:invite' });
    expect(s.rateLimits.invitationResend).toEqual({ points: 3, durationSeconds: 600 });
    expect(s.rateLimits.memberInvitationsPerUser).toEqual({ points: 9, durationSeconds: 86400 });
    // The other rate limits are left as they were.
    expect(s.rateLimits.loginPerIp).toEqual({ points: 100, durationSeconds: 3600 });
    const [entry] = await gh.management!.audit.query({ realmId: 'gamma', limit: 1 });
    expect(entry).toMatchObject({ operation: 'realm.update', target: { type: 'realm', id: 'gamma' }, actor: { type: 'operator', id: owner.operatorId } });
    const audited = (entry!.after as { settings: { tokens: unknown; invitations: unknown } }).settings;
    expect(audited.tokens).toMatchObject({ fields: ['memberships', 'orgs'], maxOrgs: 12 });
    expect(audited.invitations).toEqual({ ttlHours: 72, memberPermission: 'members:invite', welcomeLinkTtlHours: 72 });

    const after = await owner.get(res.headers.location as string);
    expect(after.text).toContain('alert-ok');
    expect(after.text).toMatch(/name="tokenFields\.custom" value="true">/);
    expect(after.text).toMatch(/name="tokenFields\.orgs" value="true" checked/);
    expect(after.text).toMatch(/name="memberPermission" type="text" value="members:invite"/);
    expect(after.text).toMatch(/name="memberInvitationsSeconds" type="number" value="86400"/);

    // No box ticked and the permission emptied: no fields in the JWT, and only operators invite.
    const none = await save(owner, `${GAMMA}/orgs`, { ...ORGS_FORM, 'tokenFields.custom': '' });
    expect(none.status, none.text).toBe(303);
    const n = (await gamma()).settings;
    expect(n.tokens.fields).toEqual([]);
    expect(n.invitations.memberPermission).toBeNull();
    expect((await owner.get(`${GAMMA}/orgs`)).text).not.toMatch(/name="tokenFields\.\w+" value="true" checked/);
    await save(owner, `${GAMMA}/orgs`, ORGS_FORM);
    expect((await gamma()).settings.tokens.fields).toEqual(['custom']);
  });

  it('orgs & tokens: the next JWT of the hosted login carries what the ticked boxes say', async () => {
    const APP = 'https://app.example.com/cb';
    await gh.realmsService.createRealm({
      id: 'zeta',
      name: 'Zeta',
      publicUrl: 'http://zeta.test',
      account: { attributes: [{ key: 'plan', type: 'string', labels: { en: 'Plan' } }] },
      rateLimits: { loginPerIp: { points: 1000, durationSeconds: 60 } },
    }, CLI_CONTEXT);
    await gh.realmsService.createApp('zeta', { clientId: 'app1', name: 'App', redirectUris: [APP] }, CLI_CONTEXT);
    await gh.management!.operators.grant(owner.operatorId, 'zeta', 'owner', CLI_CONTEXT);
    const zeta = () => gh.realms.byIdOrNull('zeta')!;
    const email = uniqueEmail('zeta');
    const made = await gh.management!.users.create(zeta(), { userType: 'human', email, password: GOOD_PASSWORD, custom: { plan: 'pro' } }, CLI_CONTEXT);
    const acme = await gh.management!.orgs.create(zeta(), { name: 'Acme', reference: 'crm-1' }, CLI_CONTEXT);
    const m = await gh.management!.memberships.create(zeta(), { userId: made.user.id, orgId: acme.id, permissions: ['admin'] }, CLI_CONTEXT);

    const tokenOf = async (): Promise<JWTPayload> => {
      const res = await browser(gh, 'zeta.test').submit(`/login?redirect_uri=${encodeURIComponent(APP)}&state=s`, { identifier: email, password: GOOD_PASSWORD });
      expect(res.status, res.text).toBe(200);
      const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', 'zeta.test').expect(200)).body as JSONWebKeySet;
      return (await jwtVerify(formPostOf(res.text).token, createLocalJWKSet(jwks), { issuer: 'http://zeta.test', audience: 'app1' })).payload;
    };
    const PATH = '/admin/realms/zeta/settings/orgs';
    const fields = async (...ticked: string[]) => {
      const res = await save(owner, PATH, { ...ORGS_FORM, 'tokenFields.custom': '', ...Object.fromEntries(ticked.map((f) => [`tokenFields.${f}`, 'true'])) });
      expect(res.status, res.text).toBe(303);
      expect(gh.realms.byIdOrNull('zeta')!.tokens.fields).toEqual(ticked);
    };

    // The default, custom attributes only.
    let claims = await tokenOf();
    expect(claims.cs).toEqual({ plan: 'pro' });
    for (const key of ['perm', 'orgs']) expect(claims).not.toHaveProperty(key);

    await fields('orgs');
    claims = await tokenOf();
    expect(claims).not.toHaveProperty('cs');
    expect(claims.orgs).toEqual([{ oid: acme.id, mid: m.id, name: 'Acme', ref: 'crm-1', perm: ['admin'] }]);

    await fields('custom', 'memberships');
    claims = await tokenOf();
    expect(claims.cs).toEqual({ plan: 'pro' });
    expect(claims.orgs).toEqual([{ oid: acme.id, mid: m.id, perm: ['admin'] }]);

    await fields();
    claims = await tokenOf();
    for (const key of ['cs', 'perm', 'orgs', 'orgs_truncated']) expect(claims).not.toHaveProperty(key);
    expect(claims.sub).toBe(made.user.id);
  });

  it('writes one audit entry per save, with the operator, before and after', async () => {
    const res = await save(owner, `${GAMMA}/mfa`, { policy: 'optional' });
    expect(res.status).toBe(303);
    const [entry] = await gh.management!.audit.query({ realmId: 'gamma', limit: 1 });
    expect(entry).toMatchObject({ operation: 'realm.update', target: { type: 'realm', id: 'gamma' }, actor: { type: 'operator', id: owner.operatorId } });
    expect((entry!.before as { settings: { mfa: unknown } }).settings.mfa).toEqual({ policy: 'required' });
    expect((entry!.after as { settings: { mfa: unknown } }).settings.mfa).toEqual({ policy: 'optional' });
  });
});

describe('console realm settings: the one-way emails rule', () => {
  it('may be duplicated: warned, needs the “cannot be undone” box, then saved; going back is refused by the service', async () => {
    await gh.realmsService.createRealm({ id: 'delta', name: 'Delta', publicUrl: 'http://delta.test', fields: { usernames: 'separate' } }, CLI_CONTEXT);
    await gh.management!.operators.grant(owner.operatorId, 'delta', 'owner', CLI_CONTEXT);
    const path = '/admin/realms/delta/settings/fields';
    const page = await owner.get(path);
    expect(page.text).toContain('cannot be changed back to “must be unique”');
    expect(page.text).toContain('I understand this cannot be undone');

    const unticked = await save(owner, path, { usernames: 'separate', emails: 'duplicates', apiKeyPolicy: 'hash' });
    expect(unticked.status).toBe(400);
    expect(decoded(unticked.text)).toContain('tick “I understand this cannot be undone”');
    expect(unticked.text).toMatch(/value="duplicates" checked/);
    expect((await gh.realmsService.getRealm('delta')).settings.fields.emails).toBe('unique');

    const ticked = await save(owner, path, { usernames: 'separate', emails: 'duplicates', apiKeyPolicy: 'hash', confirmDuplicates: 'true' });
    expect(ticked.status, ticked.text).toBe(303);
    expect((await gh.realmsService.getRealm('delta')).settings.fields.emails).toBe('duplicates');
    const now = await owner.get(path);
    expect(now.text).toContain('This realm allows duplicate email addresses');
    expect(now.text).not.toContain('name="confirmDuplicates"');

    const back = await save(owner, path, { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'hash' });
    expect(back.status).toBe(422);
    expect(back.text).toMatch(/id="emails-error">This realm has allowed duplicate email addresses/);
    expect(back.text).toMatch(/value="unique" checked/);
    expect((await gh.realmsService.getRealm('delta')).settings.fields.emails).toBe('duplicates');
  });

  it('duplicates with emails as usernames: the service’s rule, shown at the field', async () => {
    const res = await save(owner, `${GAMMA}/fields`, { usernames: 'email', emails: 'duplicates', apiKeyPolicy: 'hash', confirmDuplicates: 'true' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/id="emails-error">This needs separate usernames/);
    expect((await gamma()).settings.fields.emails).toBe('unique');
  });

  it('fields needs a recent sign-in: a stale one goes to “confirm it’s you” and back; other sections do not ask', async () => {
    const page = await owner.get(`${GAMMA}/fields`);
    const before = (await gamma()).settings.fields;
    skew += 10 * 60_000;
    try {
      const stale = await owner.post(`${GAMMA}/fields`, { _csrf: csrfOf(page.text), usernames: 'separate', emails: 'unique', apiKeyPolicy: 'encrypt', apiKeyPrefix: 'late_' });
      expect(stale.status).toBe(303);
      expect(stale.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(`${GAMMA}/fields`)}`);
      expect((await gamma()).settings.fields).toEqual(before);
      expect((await save(owner, `${GAMMA}/mfa`, { policy: 'optional' })).status).toBe(303);

      const reauth = await owner.get(stale.headers.location as string);
      const code = generateSync({ secret: owner.secret, epoch: Math.floor((Date.now() + skew) / 1000) + 30 });
      const ok = await owner.post('/admin/reauth', { _csrf: csrfOf(reauth.text), password: GOOD_PASSWORD, code, next: `${GAMMA}/fields` });
      expect(ok.status, ok.text).toBe(303);
      expect(ok.headers.location).toBe(`${GAMMA}/fields`);
      const res = await save(owner, `${GAMMA}/fields`, { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'encrypt', apiKeyPrefix: 'late_' });
      expect(res.status, res.text).toBe(303);
      expect((await gamma()).settings.fields.apiKeys.prefix).toBe('late_');
    } finally {
      skew = 0;
    }
  });
});

describe('console realm settings: who may, which realm, bad input', () => {
  it('a viewer sees the settings disabled and may not save (403)', async () => {
    const page = await viewer.get(`${GAMMA}/password`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<fieldset class="settings-fields" disabled>');
    expect(page.text).toContain('can view these settings but not change them');
    expect(page.text).not.toContain('Save changes');
    const res = await viewer.post(`${GAMMA}/password`, { _csrf: csrfOf(page.text), minLength: '20', maxLength: '256', recoveryTtlMinutes: '60', recoveryCodeAttempts: '5' });
    expect(res.status).toBe(403);
    expect((await gamma()).settings.password.minLength).not.toBe(20);

    const orgs = await viewer.get(`${GAMMA}/orgs`);
    expect(orgs.status).toBe(200);
    expect(orgs.text).toContain('<fieldset class="settings-fields" disabled>');
    expect(orgs.text).not.toContain('Save changes');
    const refused = await viewer.post(`${GAMMA}/orgs`, { _csrf: csrfOf(orgs.text), ...ORGS_FORM, tokenMaxOrgs: '7', 'tokenFields.orgs': 'true' });
    expect(refused.status).toBe(403);
    expect((await gamma()).settings.tokens).toMatchObject({ fields: ['custom'], maxOrgs: 50 });
  });

  it('another realm’s settings are a 404, read or write', async () => {
    const page = await owner.get(`${GAMMA}/signup`);
    expect((await owner.get('/admin/realms/beta/settings/signup')).status).toBe(404);
    expect((await owner.post('/admin/realms/beta/settings/signup', { _csrf: csrfOf(page.text), policy: 'disabled' })).status).toBe(404);
    expect((await owner.get('/admin/realms/beta/settings/branding/preview.css?color=%23112233')).status).toBe(404);
    expect((await gh.realmsService.getRealm('beta')).settings.signup.policy).toBe('open');
  });

  it('a provisioned realm is read-only, naming the file; a POST reaches the service and shows its 409', async () => {
    const file = gh.config.configPath;
    for (const section of ['fields', 'signup', 'verification', 'password', 'mfa', 'sessions', 'orgs', 'social', 'branding']) {
      const page = await owner.get(`/admin/realms/alpha/settings/${section}`);
      expect(page.status, section).toBe(200);
      expect(page.text, section).toContain(`provisioned from ${file}`);
      expect(page.text, section).toMatch(/<fieldset class="settings-fields" disabled>/);
      expect(page.text, section).not.toContain('console.settings.');
    }
    const res = await save(owner, '/admin/realms/alpha/settings/signup', { policy: 'disabled' });
    expect(res.status).toBe(409);
    expect(res.text).toContain(`Not saved: this realm is provisioned from ${file}`);
    expect((await gh.realmsService.getRealm('alpha')).settings.signup.policy).toBe('open');
    expect((await request(gh.app).get('/signup').set('Host', 'alpha.test')).status).toBe(200);
  });

  it('bad values are a 4xx at their field and change nothing: a colour that is not one, arrays, CR/LF, not a number, out of range', async () => {
    const before = await gamma();
    const password = { minLength: '12', maxLength: '256', recoveryTtlMinutes: '60', recoveryCodeAttempts: '5' };
    const cases: Array<[string, Record<string, string | string[]>, number, string]> = [
      ['branding', { name: 'Gamma Co', logoUrl: '', primaryColor: 'red;}' }, 422, 'primaryColor'],
      ['branding', { name: 'Gamma Co', logoUrl: '', primaryColor: '#112233;}' }, 422, 'primaryColor'],
      ['branding', { name: 'Gamma Co', logoUrl: 'javascript:alert(1)', primaryColor: '#112233' }, 422, 'logoUrl'],
      ['branding', { name: 'Gamma\r\nBcc: x@example.com', logoUrl: '', primaryColor: '#112233' }, 400, 'name'],
      ['branding', { name: ['Gamma', 'Co'], logoUrl: '', primaryColor: '#112233' }, 400, 'name'],
      ['signup', { policy: ['open', 'disabled'] }, 400, 'policy'],
      ['signup', { policy: 'sometimes' }, 422, 'policy'],
      ['password', { ...password, minLength: 'twelve' }, 400, 'minLength'],
      ['password', { ...password, minLength: '3' }, 422, 'minLength'],
      ['password', { ...password, maxLength: '' }, 400, 'maxLength'],
      ['password', { ...password, rejectCommon: ['true', 'true'] }, 400, 'rejectCommon'],
      ['password', { ...password, recoveryTtlMinutes: '1e3' }, 400, 'recoveryTtlMinutes'],
      ['fields', { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'hash', apiKeyPrefix: 'has space!' }, 422, 'apiKeyPrefix'],
      ['sessions', { idleMinutes: '0', absoluteHours: '1', recentAuthMinutes: '5', tokenTtlSeconds: '600', tokenAlgorithm: 'ES256' }, 422, 'idleMinutes'],
      ['orgs', { ...ORGS_FORM, tokenMaxOrgs: '0' }, 422, 'tokenMaxOrgs'],
      ['orgs', { ...ORGS_FORM, tokenMaxOrgs: '501' }, 422, 'tokenMaxOrgs'],
      ['orgs', { ...ORGS_FORM, maxPermissions: '201' }, 422, 'maxPermissions'],
      ['orgs', { ...ORGS_FORM, invitationTtlHours: '721' }, 422, 'invitationTtlHours'],
      ['orgs', { ...ORGS_FORM, invitationTtlHours: '' }, 400, 'invitationTtlHours'],
      ['orgs', { ...ORGS_FORM, memberPermission: 'invite members!' }, 422, 'memberPermission'],
      ['orgs', { ...ORGS_FORM, memberPermission: 'a\r\nb' }, 400, 'memberPermission'],
      ['orgs', { ...ORGS_FORM, invitationResendPoints: '0' }, 422, 'invitationResendPoints'],
      ['orgs', { ...ORGS_FORM, memberInvitationsSeconds: 'an hour' }, 400, 'memberInvitationsSeconds'],
      ['orgs', { ...ORGS_FORM, memberInvitationsSeconds: '-5' }, 422, 'memberInvitationsSeconds'],
      ['orgs', { ...ORGS_FORM, 'tokenFields.orgs': ['true', 'true'] }, 400, 'tokenFields'],
      ['orgs', { ...ORGS_FORM, 'tokenFields.custom': 'yes' }, 400, 'tokenFields'],
    ];
    for (const [section, form, status, field] of cases) {
      const res = await save(owner, `${GAMMA}/${section}`, form);
      expect(res.status, `${section} ${JSON.stringify(form)}`).toBe(status);
      expect(res.text, `${section} ${field}`).toContain(`id="${field}-error"`);
    }
    // The preview refuses what a save would.
    const preview = await save(owner, `${GAMMA}/branding`, { name: 'Gamma Co', logoUrl: '', primaryColor: 'red;}', intent: 'preview' });
    expect(preview.status).toBe(400);
    expect(preview.text).toContain('id="primaryColor-error"');
    expect(preview.text).not.toContain('preview.css?color=red');
    const after = await gamma();
    expect(after.settings).toEqual(before.settings);
    expect(after.updatedAt).toEqual(before.updatedAt);
  });

  it('orgs & tokens: a refusal is said at its input in words, with what was typed kept', async () => {
    const before = await gamma();
    const typed = { ...ORGS_FORM, 'tokenFields.orgs': 'true', tokenMaxOrgs: '999', memberPermission: 'invite members!', invitationResendPoints: '4' };
    const res = await save(owner, `${GAMMA}/orgs`, typed);
    expect(res.status).toBe(422);
    expect(decoded(res.text)).toMatch(/id="memberPermission-error">A permission: letters, digits and \* : ; \. _ -, at most 62 characters\.</);
    expect(res.text).toMatch(/id="tokenMaxOrgs-error">Too long or too large: at most 500\.</);
    expect(res.text).toMatch(/name="memberPermission" type="text" value="invite members!"/);
    expect(res.text).toMatch(/name="tokenMaxOrgs" type="number" value="999"/);
    expect(res.text).toMatch(/name="invitationResendPoints" type="number" value="4"/);
    expect(res.text).toMatch(/name="tokenFields\.orgs" value="true" checked/);
    const zero = await save(owner, `${GAMMA}/orgs`, { ...ORGS_FORM, memberInvitationsSeconds: '0' });
    expect(zero.status).toBe(422);
    expect(zero.text).toMatch(/id="memberInvitationsSeconds-error">Too short or too small: at least 1\.</);
    expect(zero.text).toMatch(/name="memberInvitationsSeconds" type="number" value="0"/);
    expect(zero.text).toMatch(/aria-describedby="memberInvitations-hint memberInvitationsSeconds-error"/);
    try {
      await owner.get(`${GAMMA}/orgs?lang=zh-CN`);
      const zh = await save(owner, `${GAMMA}/orgs`, typed);
      expect(zh.status).toBe(422);
      expect(zh.text).toMatch(/id="memberPermission-error">权限：/);
      expect(zh.text).toMatch(/id="tokenMaxOrgs-error">太长或太大：最多 500。</);
    } finally {
      await owner.get(`${GAMMA}/fields?lang=en`);
    }
    expect((await gamma()).settings).toEqual(before.settings);
  });

  it('the realm schema’s refusals read in Simplified Chinese at their fields (save and preview)', async () => {
    const before = await gamma();
    try {
      await owner.get(`${GAMMA}/fields?lang=zh-CN`);
      const prefix = await save(owner, `${GAMMA}/fields`, { usernames: 'separate', emails: 'unique', apiKeyPolicy: 'hash', apiKeyPrefix: 'bad prefix!' });
      expect(prefix.status).toBe(422);
      expect(prefix.text).toMatch(/id="apiKeyPrefix-error"[^>]*>可使用字母、数字、短横线和下划线，最多 16 个字符。</);
      const colour = await save(owner, `${GAMMA}/branding`, { name: 'Gamma Co', logoUrl: '', primaryColor: 'red', intent: 'preview' });
      expect(colour.status).toBe(400);
      expect(colour.text).toMatch(/id="primaryColor-error"[^>]*>请输入颜色值，例如 #4f46e5。</);
      const logo = await save(owner, `${GAMMA}/branding`, { name: 'Gamma Co', logoUrl: 'ftp://logo.example/x.png', primaryColor: '#112233' });
      expect(logo.status).toBe(422);
      expect(logo.text).toMatch(/id="logoUrl-error"[^>]*>[^<]*[\u4e00-\u9fff][^<]*</);
      expect(logo.text).not.toMatch(/id="logoUrl-error"[^>]*>[^<]*must be/);
    } finally {
      await owner.get(`${GAMMA}/fields?lang=en`);
    }
    expect((await gamma()).settings).toEqual(before.settings);
  });

  it('every section reads in Simplified Chinese too, with no key left untranslated', async () => {
    try {
      for (const section of ['fields', 'signup', 'verification', 'password', 'mfa', 'sessions', 'orgs', 'social', 'branding']) {
        const page = await viewer.get(`${GAMMA}/${section}?lang=zh-CN`);
        expect(page.status, section).toBe(200);
        expect(page.text, section).toContain('<html lang="zh-CN">');
        expect(page.text, section).toContain('设置');
        expect(page.text, section).not.toContain('console.settings.');
      }
    } finally {
      await viewer.get(`${GAMMA}/fields?lang=en`);
    }
  });
});

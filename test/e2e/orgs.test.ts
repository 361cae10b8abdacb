/**
 * Orgs in a real browser (Debian's Chromium, playwright-core), issue 14: the demo app's "Choose organization"
 * link (`/login?…&org=select`) → the org picker, used with the keyboard → the callback's verified JWT carries
 * `orgs[]` with the chosen org `selected: true`; then an app closed to a permission: the refusal page in English
 * on a desktop and in Simplified Chinese on a phone, while the demo app still signs in without a password (SSO).
 * No CSP violation on any page.
 * Then the invitation journey (docs/design/orgs.md §10 item 15): a management key invites an address to Acme and
 * to Beta through the API, a real SMTP server receives both mails; the first link → sign-up (the address fixed)
 * → the demo app with Acme selected, no picker; the second link → Accept → Beta; "Choose organization" → the
 * picker lists both → Beta → the JWT the demo app verified has Beta `selected: true` and Acme without.
 */
import { existsSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';
import { partAvailable } from '../helpers/parts.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';
import { CHROMIUM_PATH, DEMO_CLIENT_ID, launchChromium, startStack, type Stack, watchCsp } from '../helpers/stack.ts';

const has = partAvailable('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');
const DEVICES = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } } as const;

describe.skipIf(!has)('orgs in the browser', { timeout: 60_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const email = uniqueEmail('orgs-e2e');
  const orgs: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack({
      realm: { tokens: { fields: ['custom', 'orgs'] } } as never,
      apps: [{ clientId: 'payroll', name: 'Payroll', redirectUris: ['{demoUrl}/payroll/callback'], access: { type: 'permission', permission: 'payroll:use' } }],
    });
    browser = await launchChromium();
    const gh = stack.gatehouse.gatehouse;
    const realm = gh.realms.byIdOrNull('main')!;
    const { user } = await gh.management!.users.create(realm, { userType: 'human', email, password: GOOD_PASSWORD, firstName: 'Ada' }, CLI_CONTEXT);
    for (const name of ['Acme', 'Beta']) {
      orgs[name] = (await gh.management!.orgs.create(realm, { name }, CLI_CONTEXT)).id;
      await gh.management!.memberships.create(realm, { userId: user.id, orgId: orgs[name]!, permissions: [`${name.toLowerCase()}:read`] }, CLI_CONTEXT);
    }
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await stack?.stop();
  });

  async function page(device: keyof typeof DEVICES, locale: string): Promise<Page> {
    const context = await browser.newContext({ viewport: DEVICES[device], locale });
    contexts.push(context);
    return context.newPage();
  }

  /** The claims of the JWT the demo app's callback receives next. */
  async function nextToken(p: Page): Promise<JWTPayload> {
    const request = await p.waitForRequest((r) => r.method() === 'POST' && r.url() === `${stack.demoUrl}/callback`);
    const token = new URLSearchParams(request.postData() ?? '').get('token')!;
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    return (await jwtVerify(token, jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID })).payload;
  }

  async function signIn(p: Page, lang = 'en') {
    await p.goto(`${stack.demoUrl}/`);
    const href = await p.locator('#login').getAttribute('href');
    await p.goto(`${href}&lang=${lang}`);
    await p.locator('input[name="identifier"]').fill(email);
    await p.locator('input[name="password"]').fill(GOOD_PASSWORD);
    const token = nextToken(p);
    await p.locator('form button[type="submit"]').first().click();
    const claims = await token;
    await p.waitForURL(`${stack.demoUrl}/callback`);
    return claims;
  }

  it('en, desktop: signs in with two orgs, then picks Beta with the keyboard; the JWT marks it selected', async () => {
    const p = await page('desktop', 'en-US');
    const csp = watchCsp(p);
    const first = await signIn(p);
    expect((first.orgs as Array<{ selected?: true }>).some((o) => o.selected)).toBe(false);

    await p.locator('#choose-org').click();
    await p.waitForURL(`${stack.gatehouseUrl}/login/org`);
    await expect.poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(tr('en', 'login.org.heading'));
    const radios = p.getByRole('radio');
    expect(await radios.count()).toBe(2);
    expect(await p.getByRole('radio', { name: 'Acme' }).isChecked()).toBe(true);
    // The checked radio has the focus; the arrow key moves the choice to Beta, Enter submits.
    await p.keyboard.press('ArrowDown');
    expect(await p.getByRole('radio', { name: 'Beta' }).isChecked()).toBe(true);
    const token = nextToken(p);
    await p.keyboard.press('Enter');
    const claims = await token;
    expect(claims.orgs).toEqual([
      { oid: orgs.Beta, mid: expect.any(String), name: 'Beta', perm: ['beta:read'], selected: true },
      { oid: orgs.Acme, mid: expect.any(String), name: 'Acme', perm: ['acme:read'] },
    ]);
    await p.waitForURL(`${stack.demoUrl}/callback`);
    await expect.poll(() => p.locator('[data-claim="orgs"]').textContent()).toContain('"selected":true');
    expect(csp).toEqual([]);
  });

  for (const [device, lang, locale] of [
    ['desktop', 'en', 'en-US'],
    ['phone', 'zh-CN', 'zh-CN'],
  ] as const) {
    it(`${lang}, ${device}: an app closed to a permission refuses with a page; the demo app still signs in without a password`, async () => {
      const p = await page(device, locale);
      const csp = watchCsp(p);
      await signIn(p, lang);
      const closed = new URLSearchParams({ redirect_uri: `${stack.demoUrl}/payroll/callback`, client_id: 'payroll', state: 'x' });
      const res = await p.goto(`${stack.gatehouseUrl}/login?${closed}`);
      expect(res!.status()).toBe(403);
      await expect.poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(tr(lang, 'handoff.noAccess.title', { app: 'Payroll' }));
      expect(await p.getByRole('alert').textContent()).toBe(tr(lang, 'handoff.noAccess.text', { app: 'Payroll' }));
      await expect.poll(() => p.getByRole('link', { name: tr(lang, 'handoff.noAccess.account') }).isVisible()).toBe(true);
      if (device === 'phone') {
        // Nothing wider than the phone's screen.
        expect(await p.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(DEVICES.phone.width);
      }
      // Single sign-on to the open app: straight back with a token, no form.
      await p.goto(`${stack.demoUrl}/`);
      const token = nextToken(p);
      await p.locator('#login').click();
      expect((await token).sub).toBeTruthy();
      await p.waitForURL(`${stack.demoUrl}/callback`);
      expect(csp).toEqual([]);
    });
  }
});

describe.skipIf(!has)('an org invitation journey in the browser', { timeout: 60_000 }, () => {
  let stack: Stack;
  let smtp: TestSmtp;
  let browser: Browser;
  let key: string;
  const email = uniqueEmail('invited-e2e');
  const orgs: Record<string, string> = {};

  beforeAll(async () => {
    smtp = await startSmtp();
    stack = await startStack({
      smtpUrl: smtp.url,
      realm: { tokens: { fields: ['orgs'] }, signup: { policy: 'invite_only' }, emailVerification: { policy: 'required' } } as never,
    });
    browser = await launchChromium();
    const gh = stack.gatehouse.gatehouse;
    key = (await gh.management!.keys.create({ realmId: 'main', access: 'write', name: 'e2e invitations' }, CLI_CONTEXT)).secret;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await smtp?.close();
  });

  /** The management API over HTTP, as an operator's script calls it. */
  async function api(path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${stack.gatehouseUrl}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Every JWT posted to the demo app's callback (verified here too), in order, with the state it came with. */
  function callbacks(p: Page): Array<Promise<{ state: string; claims: JWTPayload }>> {
    const seen: Array<Promise<{ state: string; claims: JWTPayload }>> = [];
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', stack.gatehouseUrl));
    p.on('request', (r) => {
      if (r.method() !== 'POST' || r.url() !== `${stack.demoUrl}/callback`) return;
      const form = new URLSearchParams(r.postData() ?? '');
      seen.push(jwtVerify(form.get('token')!, jwks, { issuer: stack.gatehouseUrl, audience: DEMO_CLIENT_ID }).then((v) => ({ state: form.get('state') ?? '', claims: v.payload })));
    });
    return seen;
  }

  /** The orgs claim the demo app's page shows (it verified the JWT against the JWKS before showing it). */
  async function demoOrgs(p: Page): Promise<unknown> {
    await p.waitForURL(`${stack.demoUrl}/callback`);
    await expect.poll(() => p.locator('#signed-in').isVisible()).toBe(true);
    return JSON.parse((await p.locator('[data-claim="orgs"]').textContent())!);
  }

  it('en, desktop: mail → sign-up (address fixed) → the app with Acme; mail → Join Beta; Choose organization → Beta selected', async () => {
    for (const [name, perm] of [['Acme', 'acme:read'], ['Beta', 'beta:admin']] as const) {
      orgs[name] = (await api('/realms/main/orgs', { name })).id as string;
      await api(`/realms/main/orgs/${orgs[name]}/invitations`, { email, permissions: [perm], returnTo: { clientId: DEMO_CLIENT_ID, redirectUri: `${stack.demoUrl}/callback` } });
    }
    const mails = await Promise.all([1, 2].map((n) => smtp.waitFor(email, () => smtp.to(email).length >= n).then(() => smtp.to(email)[n - 1]!)));
    const linkOf = (subject: string) => {
      const mail = mails.find((m) => m.subject === subject)!;
      expect(mail, `a mail "${subject}"`).toBeDefined();
      return mail.links.find((l) => new URL(l).pathname === '/invitation')!;
    };
    const acmeLink = linkOf('Acme invited you to Acme on Acme');
    const betaLink = linkOf('Acme invited you to Beta on Acme');

    const context = await browser.newContext({ viewport: DEVICES.desktop, locale: 'en-US' });
    try {
      const p = await context.newPage();
      const csp = watchCsp(p);
      const tokens = callbacks(p);

      // The first mail: not signed in → Create account, the invited address fixed.
      await p.goto(acmeLink);
      await p.waitForURL(`${stack.gatehouseUrl}/invitation`);
      await expect.poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(tr('en', 'invitation.heading', { org: 'Acme' }));
      await p.getByRole('link', { name: tr('en', 'invitation.signup') }).click();
      await p.waitForURL(`${stack.gatehouseUrl}/signup`);
      const address = p.getByLabel(tr('en', 'fields.email'));
      expect(await address.inputValue()).toBe(email);
      expect(await address.getAttribute('readonly')).not.toBeNull();
      await p.getByLabel(tr('en', 'fields.password')).fill(GOOD_PASSWORD);
      await p.getByRole('button', { name: tr('en', 'signup.submit') }).click();
      // One org: no picker, Acme selected — first in the token Gatehouse delivered unasked (no state), which the
      // demo app does not take as a login but answers with a login of its own (SSO: no form), then in that one.
      expect(await demoOrgs(p)).toEqual([{ oid: orgs.Acme, mid: expect.any(String), name: 'Acme', perm: ['acme:read'], selected: true }]);
      expect(tokens).toHaveLength(2);
      const [unasked, own] = await Promise.all(tokens);
      expect(unasked!.state).toBe('');
      expect(own!.state).not.toBe('');
      expect(own!.claims.email_verified).toBe(true);
      expect(unasked!.claims.orgs).toEqual(own!.claims.orgs);

      // The second mail, signed in: Join Beta → the app with Beta selected.
      await p.goto(betaLink);
      await p.waitForURL(`${stack.gatehouseUrl}/invitation`);
      await p.getByRole('button', { name: tr('en', 'invitation.accept', { org: 'Beta' }) }).click();
      const afterJoin = (await demoOrgs(p)) as Array<{ name: string; selected?: true }>;
      expect(afterJoin.find((o) => o.selected)?.name).toBe('Beta');

      // Choose organization: the picker lists both, the current one (Beta) checked; Beta it is.
      await p.locator('#choose-org').click();
      await p.waitForURL(`${stack.gatehouseUrl}/login/org`);
      await expect.poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(tr('en', 'login.org.heading'));
      expect(await p.getByRole('radio').count()).toBe(2);
      expect(await p.getByRole('radio', { name: 'Acme' }).isChecked()).toBe(false);
      await p.getByRole('radio', { name: 'Beta' }).check();
      const before = tokens.length;
      await p.getByRole('button', { name: tr('en', 'login.org.submit') }).click();
      expect(await demoOrgs(p)).toEqual([
        { oid: orgs.Beta, mid: expect.any(String), name: 'Beta', perm: ['beta:admin'], selected: true },
        { oid: orgs.Acme, mid: expect.any(String), name: 'Acme', perm: ['acme:read'] },
      ]);
      expect(tokens).toHaveLength(before + 1);
      const last = await tokens[before]!;
      expect(last.state).not.toBe('');
      expect(last.claims.orgs).toEqual([
        { oid: orgs.Beta, mid: expect.any(String), name: 'Beta', perm: ['beta:admin'], selected: true },
        { oid: orgs.Acme, mid: expect.any(String), name: 'Acme', perm: ['acme:read'] },
      ]);
      // No verification mail: the invitation proved the mailbox.
      expect(smtp.to(email)).toHaveLength(2);
      expect(csp).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

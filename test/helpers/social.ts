/**
 * A Gatehouse whose realms sign in through the loopback providers of
 * test/helpers/providers.ts: the real passport-github2, passport-google-oauth20
 * and openid-client strategies, pointed at servers on 127.0.0.1.
 */
import { expect } from 'vitest';
import { browser, csrfOf, testGatehouse, TEST_CONFIG, type TestGatehouse } from './gatehouse.ts';
import { startFakeOAuth, startOidcProvider, type FakeOAuth, type OidcHarness } from './providers.ts';

export const CLIENT_ID = 'gatehouse-test-client';
export const CLIENT_SECRET = 'provider-client-secret-for-tests';

export interface SocialRig {
  gh: TestGatehouse;
  fake: FakeOAuth;
  oidc: OidcHarness;
  close(): Promise<void>;
}

type RealmPatch = Record<string, unknown>;

/** The realm settings every social test starts from: GitHub, Google and an OIDC provider "acme", all enabled. */
export function socialRealm(fake: FakeOAuth, oidc: OidcHarness, patch: RealmPatch = {}, social: RealmPatch = {}) {
  const base = TEST_CONFIG.realms[0]!;
  const common = { clientId: CLIENT_ID, secretEnv: 'SOCIAL_SECRET' };
  return {
    ...base,
    ...patch,
    social: {
      providers: [
        {
          id: 'github',
          type: 'github',
          ...common,
          endpoints: { authorization: fake.github.authorizationURL, token: fake.github.tokenURL, user: fake.github.userProfileURL, emails: fake.github.userEmailURL },
        },
        { id: 'google', type: 'google', ...common, endpoints: { authorization: fake.google.authorizationURL, token: fake.google.tokenURL, userinfo: fake.google.userProfileURL } },
        { id: 'acme', type: 'oidc', name: 'Acme SSO', ...common, issuer: oidc.issuer },
      ],
      ...social,
    },
  };
}

/**
 * The loopback providers and a Gatehouse on them. `realms(fake, oidc)`: the
 * realms of the config file (default: alpha with the three providers, and
 * TEST_CONFIG's beta).
 */
export async function socialRig(options: { realms?: (fake: FakeOAuth, oidc: OidcHarness) => unknown[]; clock?: () => Date; redisUrl?: string } = {}): Promise<SocialRig> {
  const fake = await startFakeOAuth({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const oidc = await startOidcProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: ['http://alpha.test/social/acme/callback', 'http://gamma.test/social/acme/callback'],
  });
  const realms = options.realms?.(fake, oidc) ?? [socialRealm(fake, oidc), TEST_CONFIG.realms[1]];
  const gh = await testGatehouse({
    file: { defaultRealm: (realms[0] as { id: string }).id, realms },
    env: { SOCIAL_SECRET: CLIENT_SECRET },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  return {
    gh,
    fake,
    oidc,
    async close() {
      await Promise.all([gh.close(), fake.close(), oidc.close()]);
    },
  };
}

export type Browser = ReturnType<typeof browser>;

/** The path + query of a URL on a Gatehouse host (the callback the provider sent the browser to). */
export function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/**
 * Presses "Continue with <provider>" on `page` (default: /login + `query`)
 * and returns where the provider sends the browser: the callback URL.
 */
export async function pressProviderButton(b: Browser, provider: string, query = '', page = `/login${query}`): Promise<string> {
  const form = await b.get(page);
  expect(form.status).toBe(200);
  const start = await b.post(`/social/${provider}${query}`, { _csrf: csrfOf(form.text) });
  expect(start.status, start.text).toBe(302);
  return start.headers.location as string;
}

/** A whole round trip: button, provider (approving as its current account), callback. Returns the callback's response. */
export async function signInWith(rig: SocialRig, b: Browser, provider: 'github' | 'google' | 'acme', query = '') {
  const authorizeUrl = await pressProviderButton(b, provider, query);
  const callback = await (provider === 'acme' ? rig.oidc : rig.fake).authorize(authorizeUrl);
  return b.get(pathOf(callback));
}

/** The code of the newest 'social-code' mail to `email` in the outbox (it stands alone after the intro, no link around it). */
export async function socialCodeOf(rig: SocialRig, email: string): Promise<string> {
  const mail = (await rig.gh.store.listMail(1000)).find((m) => m.kind === 'social-code' && m.to.address.toLowerCase() === email.toLowerCase());
  if (!mail) throw new Error(`no social-code mail to ${email}`);
  const code = /(?<=\s)(\d{6})(?=\s|$)/m.exec(mail.text)?.[1];
  if (!code) throw new Error(`no code in the social-code mail to ${email}: ${mail.text}`);
  return code;
}

/**
 * Types the code of the newest 'social-code' mail to `email` on /social/confirm
 * in `b` (the browser that started the sign-in) and returns the answer.
 */
export async function confirmAddress(rig: SocialRig, b: Browser, email: string) {
  return b.submit('/social/confirm', { code: await socialCodeOf(rig, email) });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * UserAccessService.passwordToken with `ret`: the reset link an operator hands out can carry the app the
 * user goes on to, so the "done" page's sign-in leads to that app (the console's setup links use it).
 */
let gh: TestGatehouse;

beforeAll(async () => {
  gh = await testGatehouse();
});
afterAll(() => gh.close());

async function userWithoutPassword(): Promise<{ id: string; email: string }> {
  const email = uniqueEmail('setup');
  const { user } = await gh.management!.users.create(gh.realms.byIdOrNull('alpha')!, { userType: 'human', email, emailVerification: 'verified' }, CLI_CONTEXT);
  return { id: user.id, email };
}

/** Opens the link, chooses a password, and returns the "done" page's sign-in href. */
async function setPassword(b: ReturnType<typeof browser>, link: string): Promise<string> {
  const opened = await b.get(link.replace('http://alpha.test', ''));
  expect(opened.status).toBe(303);
  const form = await b.get(String(opened.headers.location));
  expect(form.status).toBe(200);
  const done = await b.post('/reset-password', { _csrf: csrfOf(form.text), password: GOOD_PASSWORD });
  expect(done.status, done.text).toBe(200);
  const href = /<a class="button" href="([^"]+)"/.exec(done.text)?.[1];
  expect(href).toBeDefined();
  return href!.replace(/&amp;/g, '&');
}

describe('passwordToken(…, { ret })', () => {
  it('the link, once used, leads the sign-in on to the app it names, and the JWT reaches its redirect_uri', async () => {
    const { id, email } = await userWithoutPassword();
    const ret = { clientId: 'app1', redirectUri: 'https://app.example.com/cb' };
    const { link, expiresAt } = await gh.management!.access.passwordToken(gh.realms.byIdOrNull('alpha')!, id, false, CLI_CONTEXT, { ret });
    // The realm's recovery TTL (60 minutes by default).
    expect(Math.round((expiresAt.getTime() - Date.now()) / 60_000)).toBe(60);
    const b = browser(gh);
    const loginHref = await setPassword(b, link);
    const login = new URL(loginHref, 'http://alpha.test');
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('redirect_uri')).toBe(ret.redirectUri);
    expect(login.searchParams.get('client_id')).toBe('app1');
    const page = await b.get(`${login.pathname}${login.search}`);
    const signedIn = await b.post(`${login.pathname}${login.search}`, { _csrf: csrfOf(page.text), identifier: email, password: GOOD_PASSWORD });
    expect(signedIn.status, signedIn.text).toBe(200);
    expect(formPostOf(signedIn.text).action).toBe(ret.redirectUri);
  });

  it('without ret the done page signs in to the personal center, as before', async () => {
    const { id } = await userWithoutPassword();
    const { link } = await gh.management!.access.passwordToken(gh.realms.byIdOrNull('alpha')!, id, false, CLI_CONTEXT);
    expect(await setPassword(browser(gh), link)).toBe('/login');
  });

  it('a ret naming no app of the realm is dropped when used (checked like a stored return target)', async () => {
    const { id } = await userWithoutPassword();
    const { link } = await gh.management!.access.passwordToken(gh.realms.byIdOrNull('alpha')!, id, false, CLI_CONTEXT, { ret: { clientId: 'app1', redirectUri: 'https://evil.example/cb' } });
    expect(await setPassword(browser(gh), link)).toBe('/login');
  });
});

/**
 * "Confirm it's you": the recent-authentication detour in front of sensitive
 * personal-center changes (ASVS 7.5.1), with an injected clock.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { listEvents } from '../helpers/events.ts';

const sessionCookieOf = (res: request.Response) =>
  ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('gh.sid='))?.split(';')[0] ?? null;

describe('confirm it’s you (recent authentication)', () => {
  let gh: TestGatehouse;
  let now = Date.now();
  beforeAll(async () => {
    gh = await testGatehouse({ clock: () => new Date(now) });
  });
  afterAll(async () => {
    await gh.close();
  });

  async function staleLogin() {
    const email = uniqueEmail('reauth');
    const b = browser(gh);
    const signup = await b.submit('/signup', { email, password: GOOD_PASSWORD });
    const cookie = sessionCookieOf(signup)!;
    now += (gh.config.realms[0]!.account.recentAuthMinutes + 1) * 60_000;
    return { b, email, cookie };
  }

  it('sends a login older than the window to the password prompt, then back to the page it was going to (ASVS 7.5.1)', async () => {
    const { b } = await staleLogin();
    const detour = await b.get('/account/password');
    expect(detour.status).toBe(303);
    expect(detour.headers.location).toBe('/account/reauth?next=%2Faccount%2Fpassword');
    const form = await b.get(detour.headers.location!);
    expect(form.status).toBe(200);
    expect(form.text).toContain('autocomplete="current-password"');
    const done = await b.post(detour.headers.location!, { _csrf: csrfOf(form.text), password: GOOD_PASSWORD });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account/password');
    expect((await b.get('/account/password')).status).toBe(200);
  });

  it('sends a form posted after the window back to its page, which exists, not to the POST path', async () => {
    const { b } = await staleLogin();
    const page = await b.get('/account/phone');
    const csrf = csrfOf(page.text);
    for (const [url, back] of [
      ['/account/phone/remove', '/account/phone'],
      ['/account/email/verify/resend', '/account/email'],
      ['/account/mfa/enrol', '/account/mfa'],
      ['/account/sessions/end-others', '/account/sessions'],
      ['/account/profile/username', '/account/profile'],
    ]) {
      const res = await b.post(url!, { _csrf: csrf });
      expect(res.status, url).toBe(303);
      expect(res.headers.location, url).toBe(`/account/reauth?next=${encodeURIComponent(back!)}`);
    }
    const done = await b.submit('/account/reauth?next=%2Faccount%2Fphone', { password: GOOD_PASSWORD });
    expect(done.headers.location).toBe('/account/phone');
    expect((await b.get('/account/phone')).status).toBe(200);
  });

  it('gives the browser a new session id when it confirms, and the old id stops working (ASVS 7.2.4)', async () => {
    const { b, cookie } = await staleLogin();
    const form = await b.get('/account/reauth?next=%2Faccount%2Fpassword');
    const done = await b.post('/account/reauth?next=%2Faccount%2Fpassword', { _csrf: csrfOf(form.text), password: GOOD_PASSWORD });
    const renewed = sessionCookieOf(done);
    expect(renewed).not.toBeNull();
    expect(renewed).not.toBe(cookie);
    // Whoever held the old cookie is a stranger now; the browser that confirmed is still signed in.
    const old = await request(gh.app).get('/account').set('Host', 'alpha.test').set('Cookie', cookie);
    expect(old.status).toBe(303);
    expect(old.headers.location).toBe('/login');
    expect((await b.get('/account')).status).toBe(200);
  });

  it('refuses a wrong password with a translated message and records it, then limits the tries (ASVS 6.3.1)', async () => {
    const { b, email } = await staleLogin();
    const url = '/account/reauth?next=%2Faccount%2Femail';
    const wrong = await b.submit(url, { password: 'not-the-password-1' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That password is not right.');
    const zh = await b.submit(`${url}&lang=zh-CN`, { password: 'not-the-password-1' });
    expect(zh.text).toContain('密码不正确');
    let last = wrong;
    for (let i = 0; i < 5; i++) last = await b.submit(url, { password: 'not-the-password-1' });
    expect(last.status).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    // Limited means limited: even the right password waits.
    expect((await b.submit(url, { password: GOOD_PASSWORD })).status).toBe(429);
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const failed = (await listEvents(gh.store, 'alpha', user.id, 50)).filter((e) => e.type === 'user.reauth.failed');
    expect(failed.length).toBeGreaterThanOrEqual(5);
  });

  it('goes back only to a personal-center page: any other next lands on /account (no open redirect, ASVS 3.7.2)', async () => {
    const { b } = await staleLogin();
    for (const next of ['https://evil.example/', '//evil.example', '/\\evil.example', '/account/../../logout', '/accountx', 'javascript:alert(1)']) {
      const url = `/account/reauth?next=${encodeURIComponent(next)}`;
      const form = await b.get(url);
      expect(form.status, next).toBe(200);
      const done = await b.post(url, { _csrf: csrfOf(form.text), password: GOOD_PASSWORD });
      expect(done.status, next).toBe(303);
      expect(done.headers.location, next).toBe('/account');
    }
  });

  it('answers malformed input with a 400 form, never a 500', async () => {
    const { b } = await staleLogin();
    const form = await b.get('/account/reauth');
    const csrf = csrfOf(form.text);
    expect((await b.post('/account/reauth', { _csrf: csrf, password: ['a', 'b'] })).status).toBe(400);
    expect((await b.post('/account/reauth', { _csrf: csrf })).status).toBe(400);
    expect((await b.post('/account/reauth?next=a&next=b', { _csrf: csrf, password: 'x'.repeat(5000) })).status).toBe(400);
  });
});

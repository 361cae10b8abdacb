/**
 * Personal center → Devices, sign-in history and connected accounts, and the
 * apps' back channel GET /api/sessions/:sid. Real store, real HTTP, no mocks.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { browser, csrfOf, formPostOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { ANONYMOUS, publish } from '../../src/events/publish.ts';
import { listEvents } from '../helpers/events.ts';

const APP = 'https://app.example.com/cb';
const APP_SECRET = 'app-one-secret-0123456789-abcdefghijklmnop';
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

/** The test realms, with app1 holding a secret (read from the environment) for the back channel. */
const FILE = {
  ...TEST_CONFIG,
  realms: TEST_CONFIG.realms.map((r) => (r.id === 'alpha' ? { ...r, apps: r.apps.map((a) => (a.clientId === 'app1' ? { ...a, secretEnv: 'APP1_SECRET' } : a)) } : r)),
};

/** A browser with its own user agent and (through X-Forwarded-For, trusted here) its own IP. */
function device(gh: TestGatehouse, userAgent: string, ip: string) {
  const b = browser(gh);
  const headers = { 'User-Agent': userAgent, 'X-Forwarded-For': ip };
  const get = (url: string) => b.get(url).set(headers);
  const post = (url: string, form: Record<string, string | string[]>) => b.post(url, form).set(headers);
  const submit = async (url: string, form: Record<string, string | string[]>) => post(url, { _csrf: csrfOf((await get(url)).text), ...form });
  return { get, post, submit };
}

const sidsOnPage = (html: string) => [...html.matchAll(/action="\/account\/sessions\/([^/"]+)\/end"/g)].map((m) => m[1]!);

const redisUrl = inject('redisUrl');
partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL');

describe('personal center: devices', () => {
  let gh: TestGatehouse;
  let now = Date.now();
  beforeAll(async () => {
    gh = await testGatehouse({ file: FILE, redisUrl, env: { TRUST_PROXY: 'true', APP1_SECRET: APP_SECRET }, clock: () => new Date(now) });
  });
  afterAll(async () => {
    await gh.close();
  });

  async function userOnThreeDevices() {
    const email = uniqueEmail('devices');
    const mac = device(gh, CHROME_MAC, '198.51.100.7');
    expect((await mac.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    const phone = device(gh, SAFARI_IPHONE, '203.0.113.9');
    expect((await phone.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
    const linux = device(gh, FIREFOX_LINUX, '192.0.2.44');
    expect((await linux.submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
    return { email, mac, phone, linux };
  }

  it('lists every live session with browser, OS, IP and times, this device first and marked', async () => {
    const { mac } = await userOnThreeDevices();
    const page = await mac.get('/account/sessions');
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const text = page.text;
    expect(text).toContain('Chrome 131 · macOS');
    expect(text).toContain('Safari 17 · iOS 17');
    expect(text).toContain('Firefox 133 · Linux');
    for (const ip of ['198.51.100.7', '203.0.113.9', '192.0.2.44']) expect(text).toContain(ip);
    // This device is first, marked, and has no "sign out" button of its own: two buttons for the two others.
    expect(text.indexOf('Chrome 131')).toBeLessThan(text.indexOf('Safari 17'));
    expect(text).toMatch(/Chrome 131 · macOS\s*<span class="badge badge-ok">This device<\/span>/);
    expect(sidsOnPage(text)).toHaveLength(2);
  });

  it('ends one other session: that browser is signed out at once, the others stay (ASVS 7.5.2)', async () => {
    const { mac, phone, linux } = await userOnThreeDevices();
    const page = await mac.get('/account/sessions');
    // Each row's button follows the device's name: the phone's is the first after "Safari 17".
    const phoneSid = sidsOnPage(page.text).find((sid) => page.text.indexOf(sid) > page.text.indexOf('Safari 17'))!;
    const ended = await mac.post(`/account/sessions/${phoneSid}/end`, { _csrf: csrfOf(page.text) });
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toBe('/account/sessions');
    const after = await mac.get('/account/sessions');
    expect(after.text).toContain('That device is signed out.');
    expect(after.text).not.toContain('Safari 17');
    expect((await phone.get('/account')).status).toBe(303);
    expect((await phone.get('/account')).headers.location).toBe('/login');
    expect((await linux.get('/account')).status).toBe(200);
    expect((await mac.get('/account')).status).toBe(200);
  });

  it('signs out everywhere else in one step and records it (force offline)', async () => {
    const { email, mac, phone, linux } = await userOnThreeDevices();
    const page = await mac.get('/account/sessions');
    const res = await mac.post('/account/sessions/end-others', { _csrf: csrfOf(page.text) });
    expect(res.status).toBe(303);
    expect((await mac.get('/account/sessions')).text).toContain('Signed out of 2 other device(s).');
    expect((await phone.get('/account')).headers.location).toBe('/login');
    expect((await linux.get('/account')).headers.location).toBe('/login');
    const after = await mac.get('/account/sessions');
    expect(sidsOnPage(after.text)).toEqual([]);
    expect(after.text).toContain('You are signed in on this device only.');
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const ended = (await listEvents(gh.store, 'alpha', user.id, 50)).find((e) => e.type === 'session.deleted');
    expect(ended?.data).toMatchObject({ reason: 'ended_others_by_user', sids: expect.arrayContaining([expect.any(String)]) });
    expect((ended?.data?.sids as string[]).length).toBe(2);
  });

  it("answers another user's session id, an unknown one and a malformed one with 404, ending nothing (ASVS 8.2.2)", async () => {
    const victim = await userOnThreeDevices();
    const victimSids = sidsOnPage((await victim.mac.get('/account/sessions')).text);
    const attacker = await userOnThreeDevices();
    const page = await attacker.mac.get('/account/sessions');
    for (const sid of [victimSids[0]!, 'AAAAAAAAAAAAAAAAAAAAAA', '..%2F..%2Fx', 'a'.repeat(80)]) {
      const res = await attacker.mac.post(`/account/sessions/${sid}/end`, { _csrf: csrfOf(page.text) });
      expect(res.status, sid).toBe(404);
      expect(res.text).toContain('That session does not exist or has already ended.');
    }
    expect(sidsOnPage((await victim.mac.get('/account/sessions')).text)).toEqual(victimSids);
    expect((await victim.phone.get('/account')).status).toBe(200);
  });

  it('refuses to end this device from the list (the sign-out button does that)', async () => {
    const { email, mac } = await userOnThreeDevices();
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const sessions = await gh.store.listLoginSessions('alpha', user.id);
    const page = await mac.get('/account/sessions');
    const listed = new Set(sidsOnPage(page.text));
    const current = sessions.find((s) => !listed.has(s.id))!;
    const res = await mac.post(`/account/sessions/${current.id}/end`, { _csrf: csrfOf(page.text) });
    expect(res.status).toBe(400);
    expect((await mac.get('/account')).status).toBe(200);
  });

  it('gives every form of the first page after login one CSRF token and one cookie, so each form works (ASVS 3.5.1)', async () => {
    const { mac } = await userOnThreeDevices();
    // The first page after the login: the CSRF cookie from the anonymous form no longer fits the new session.
    const page = await mac.get('/account/sessions');
    const tokens = new Set([...page.text.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]));
    expect(tokens.size).toBe(1);
    const cookies = ([] as string[]).concat(page.headers['set-cookie'] ?? []).filter((c) => c.startsWith('gh.csrf='));
    expect(cookies.length).toBeLessThanOrEqual(1);
    // The last form of the page (the one a browser would keep the cookie for, were there several) works, and so does the first.
    const sids = sidsOnPage(page.text);
    expect((await mac.post(`/account/sessions/${sids[1]}/end`, { _csrf: [...tokens][0]! })).status).toBe(303);
  });

  it('refuses to end a session without the CSRF token (ASVS 3.5.1)', async () => {
    const { mac, phone } = await userOnThreeDevices();
    const [sid] = sidsOnPage((await mac.get('/account/sessions')).text);
    expect((await mac.post(`/account/sessions/${sid}/end`, {})).status).toBe(403);
    expect((await mac.post('/account/sessions/end-others', {})).status).toBe(403);
    expect((await phone.get('/account')).status).toBe(200);
  });

  it('asks a sign-in older than the window to confirm it’s them before ending sessions, then comes back to the list (ASVS 7.5.2)', async () => {
    const { mac, phone } = await userOnThreeDevices();
    const page = await mac.get('/account/sessions');
    now += (gh.config.realms[0]!.account.recentAuthMinutes + 1) * 60_000;
    try {
      const [sid] = sidsOnPage(page.text);
      for (const url of [`/account/sessions/${sid}/end`, '/account/sessions/end-others']) {
        const res = await mac.post(url, { _csrf: csrfOf(page.text) });
        expect(res.status, url).toBe(303);
        expect(res.headers.location, url).toBe('/account/reauth?next=%2Faccount%2Fsessions');
      }
      // Nothing was ended by the refused posts.
      expect((await phone.get('/account')).status).toBe(200);
      const confirmed = await mac.submit('/account/reauth?next=%2Faccount%2Fsessions', { password: GOOD_PASSWORD });
      expect(confirmed.headers.location).toBe('/account/sessions');
      const list = await mac.get('/account/sessions');
      expect((await mac.post('/account/sessions/end-others', { _csrf: csrfOf(list.text) })).status).toBe(303);
      expect((await phone.get('/account')).headers.location).toBe('/login');
    } finally {
      now = Date.now();
    }
  });

  it('does not list sessions that have idled out', async () => {
    const { mac } = await userOnThreeDevices();
    const idle = gh.config.realms[0]!.sessions.idleMinutes * 60_000;
    // The phone and Linux sessions are left alone for the idle lifetime; the Mac one is used just before.
    now += idle - 30_000;
    await mac.get('/account');
    now += 60_000;
    const page = await mac.get('/account/sessions');
    expect(page.status).toBe(200);
    expect(sidsOnPage(page.text)).toEqual([]);
    now = Date.now();
  });

  it('sends a signed-out visitor to the login page and back to the devices page after it', async () => {
    const res = await browser(gh).get('/account/sessions');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Faccount%2Fsessions');
  });

  describe('GET /api/sessions/:sid (the apps’ back channel)', () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const api = (sid: string, auth?: string, host = 'alpha.test') => {
      const req = request(gh.app).get(`/api/sessions/${sid}`).set('Host', host);
      return auth ? req.set('Authorization', auth) : req;
    };

    async function loggedInSid() {
      const b = browser(gh);
      const res = await b.submit(`/signup?redirect_uri=${encodeURIComponent(APP)}`, { email: uniqueEmail('api'), password: GOOD_PASSWORD });
      const token = formPostOf(res.text).token;
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string; sub: string };
      return { b, ...claims };
    }

    it('tells the app that a JWT’s session is alive, then that it ended after logout', async () => {
      const { b, sid, sub } = await loggedInSid();
      const live = await api(sid, basic('app1', APP_SECRET));
      expect(live.status).toBe(200);
      expect(live.headers['cache-control']).toBe('no-store');
      expect(live.body).toMatchObject({ active: true, sid, sub, amr: ['pwd'], aal: 1 });
      expect(typeof live.body.iat).toBe('number');
      const page = await b.get('/logout');
      await b.post('/logout', { _csrf: csrfOf(page.text) });
      expect((await api(sid, basic('app1', APP_SECRET))).body).toEqual({ active: false });
    });

    it('answers active false for an unknown, malformed or other realm’s session id', async () => {
      const { sid } = await loggedInSid();
      expect((await api('AAAAAAAAAAAAAAAAAAAAAA', basic('app1', APP_SECRET))).body).toEqual({ active: false });
      expect((await api('%00%0d%0a', basic('app1', APP_SECRET))).body).toEqual({ active: false });
      // Realm beta has no app with a secret: the same credentials do not authenticate there at all.
      expect((await api(sid, basic('app1', APP_SECRET), 'beta.test')).status).toBe(401);
    });

    it('refuses a missing, wrong or malformed client authentication with 401 and a challenge (ASVS 8.2.1)', async () => {
      const { sid } = await loggedInSid();
      for (const auth of [undefined, basic('app1', 'wrong-secret'), basic('spa', APP_SECRET), basic('app1', ''), 'Bearer abc', 'Basic !!!', basic('app1%', APP_SECRET)]) {
        const res = await api(sid, auth);
        expect(res.status, String(auth)).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="alpha"/);
        expect(res.body.error).toBe('invalid_client');
        expect(res.body.active).toBeUndefined();
      }
    });

    it('reports a session ended from the personal center as inactive at once', async () => {
      const email = uniqueEmail('api-ended');
      const mac = device(gh, CHROME_MAC, '198.51.100.8');
      await mac.submit('/signup', { email, password: GOOD_PASSWORD });
      const other = browser(gh);
      const res = await other.submit(`/login?redirect_uri=${encodeURIComponent(APP)}`, { identifier: email, password: GOOD_PASSWORD });
      const { sid } = JSON.parse(Buffer.from(formPostOf(res.text).token.split('.')[1]!, 'base64url').toString()) as { sid: string };
      expect((await api(sid, basic('app1', APP_SECRET))).body.active).toBe(true);
      const page = await mac.get('/account/sessions');
      await mac.post('/account/sessions/end-others', { _csrf: csrfOf(page.text) });
      expect((await api(sid, basic('app1', APP_SECRET))).body).toEqual({ active: false });
    });
  });
});

describe('personal center: sign-in history and connected accounts', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await testGatehouse({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await gh.close();
  });

  it('shows successful and failed sign-ins with app, method, browser and IP, newest first', async () => {
    const email = uniqueEmail('history');
    const mac = device(gh, CHROME_MAC, '198.51.100.20');
    await mac.submit('/signup', { email, password: GOOD_PASSWORD });
    const attacker = device(gh, FIREFOX_LINUX, '203.0.113.66');
    expect((await attacker.submit('/login', { identifier: email, password: 'not-the-password-9' })).status).toBe(401);
    const phone = device(gh, SAFARI_IPHONE, '192.0.2.80');
    expect((await phone.submit(`/login?redirect_uri=${encodeURIComponent(APP)}`, { identifier: email, password: GOOD_PASSWORD })).status).toBe(200);
    const page = await mac.get('/account/history');
    expect(page.status).toBe(200);
    const rows = page.text.split('<tr>').slice(2);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('Signed in');
    expect(rows[0]).toContain('App One');
    expect(rows[0]).toContain('Safari 17');
    expect(rows[0]).toContain('192.0.2.80');
    expect(rows[1]).toContain('Failed');
    expect(rows[1]).toContain('Password');
    expect(rows[1]).toContain('203.0.113.66');
    expect(rows[2]).toContain('Account portal');
    expect(rows[2]).toContain('Chrome 131');
    expect(page.text).not.toContain('rel="next"');
  });

  it('pages through a long history 20 at a time', async () => {
    const email = uniqueEmail('pages');
    const b = device(gh, CHROME_MAC, '198.51.100.21');
    await b.submit('/signup', { email, password: GOOD_PASSWORD });
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    for (let i = 0; i < 24; i++) {
      const at = new Date(Date.now() - (i + 1) * 60_000);
      await publish(gh.store.events, { realm: { id: 'alpha' }, type: 'user.login.failed', userId: user.id, actor: ANONYMOUS, origin: { ip: `192.0.2.${i}`, userAgent: null }, at, data: { method: 'pwd' } });
    }
    const first = await b.get('/account/history');
    expect(first.text.split('<tr>').slice(2)).toHaveLength(20);
    const next = /href="(\/account\/history\?after=[A-Za-z0-9_-]+)" rel="next"/.exec(first.text)?.[1];
    expect(next).toBeDefined();
    expect(first.text).not.toContain('rel="first"');
    const second = await b.get(next!);
    // The sign-up's sign-in (newest) and 24 failures before it: the 5 oldest failures are left.
    const rows = second.text.split('<tr>').slice(2);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toContain('192.0.2.19');
    expect(rows[4]).toContain('192.0.2.23');
    expect(second.text).toContain('href="/account/history" rel="first"');
    expect(second.text).not.toContain('rel="next"');
  });

  it('answers a malformed page link with a 400 page, never a 500', async () => {
    const b = browser(gh);
    await b.submit('/signup', { email: uniqueEmail('badpage'), password: GOOD_PASSWORD });
    const forged = Buffer.from(JSON.stringify([Date.now(), 'x'])).toString('base64url');
    for (const q of ['after=', 'after=abc', 'after=a&after=b', 'after=%E2%9C%93', `after=${'A'.repeat(300)}`, `after=${forged}`]) {
      const res = await b.get(`/account/history?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.text).toContain('That page link is not valid.');
    }
  });

  it('keeps other users’ sign-ins out of the history', async () => {
    const a = browser(gh);
    await a.submit('/signup', { email: uniqueEmail('mine'), password: GOOD_PASSWORD });
    const otherEmail = uniqueEmail('theirs');
    await browser(gh).submit('/signup', { email: otherEmail, password: GOOD_PASSWORD });
    await device(gh, FIREFOX_LINUX, '203.0.113.99').submit('/login', { identifier: otherEmail, password: 'wrong-password-00' });
    const page = await a.get('/account/history');
    expect(page.text.split('<tr>').slice(2)).toHaveLength(1);
    expect(page.text).not.toContain('203.0.113.99');
  });

  it('shows the empty state of connected accounts, in English and Chinese', async () => {
    const b = browser(gh);
    await b.submit('/signup', { email: uniqueEmail('connected'), password: GOOD_PASSWORD });
    const en = await b.get('/account/connected');
    expect(en.status).toBe(200);
    expect(en.text).toContain('No connected accounts');
    const zh = await b.get('/account/connected?lang=zh-CN');
    expect(zh.text).toContain('尚未关联账号');
  });
});

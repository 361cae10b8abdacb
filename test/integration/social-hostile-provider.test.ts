/**
 * A provider (or whatever answers on its endpoints: a GitHub Enterprise
 * server, a proxy) that sends answers the strategies would choke on. Each
 * ends on the "did not answer as expected" page; the process never sees an
 * uncaught exception. ASVS 5.0: 2.2.1, 16.5.x (errors handled, no crash).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, testGatehouse, TEST_CONFIG, type TestGatehouse } from '../helpers/gatehouse.ts';

let answers = { token: '', user: '', emails: '', userinfo: '' };
let gh: TestGatehouse;
let server: Server;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    res.setHeader('content-type', 'application/json');
    const body = { '/token': answers.token, '/user': answers.user, '/user/emails': answers.emails, '/userinfo': answers.userinfo }[path];
    if (body === undefined) res.statusCode = 404;
    res.end(body ?? '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const common = { clientId: 'client', secretEnv: 'HOSTILE_SECRET' };
  const realm = {
    ...TEST_CONFIG.realms[0]!,
    social: {
      providers: [
        { ...common, id: 'github', type: 'github', endpoints: { authorization: `${base}/authorize`, token: `${base}/token`, user: `${base}/user`, emails: `${base}/user/emails` } },
        { ...common, id: 'google', type: 'google', endpoints: { authorization: `${base}/authorize`, token: `${base}/token`, userinfo: `${base}/userinfo` } },
      ],
    },
  };
  gh = await testGatehouse({ file: { defaultRealm: 'alpha', realms: [realm] }, env: { HOSTILE_SECRET: 'secret' } });
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await gh?.close();
  server?.close();
});

const TOKEN = JSON.stringify({ access_token: 'tok', token_type: 'bearer' });
const USER = JSON.stringify({ id: 1, login: 'x' });
const EMAILS = JSON.stringify([{ email: 'x@example.com', primary: true, verified: true }]);

/** The callback of a round trip whose authorization step is skipped: the state is this browser's, the code made up. */
async function callback(provider: 'github' | 'google') {
  const b = browser(gh);
  const page = await b.get('/login');
  const start = await b.post(`/social/${provider}`, { _csrf: csrfOf(page.text) });
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  return b.get(`/social/${provider}/callback?code=made-up&state=${encodeURIComponent(state)}`);
}

describe('hostile provider answers', () => {
  it.each([
    ['github', 'a null token response', { token: 'null', user: USER, emails: EMAILS, userinfo: '' }],
    ['github', 'a null /user', { token: TOKEN, user: 'null', emails: EMAILS, userinfo: '' }],
    ['github', 'a JSON string as /user', { token: TOKEN, user: '"{"', emails: EMAILS, userinfo: '' }],
    ['github', 'an object as /user/emails', { token: TOKEN, user: USER, emails: '{"length":1}', userinfo: '' }],
    ['github', '[null] as /user/emails', { token: TOKEN, user: USER, emails: '[null]', userinfo: '' }],
    ['github', 'an empty /user/emails', { token: TOKEN, user: USER, emails: '[]', userinfo: '' }],
    ['github', 'a /user without an id', { token: TOKEN, user: '{"login":"x"}', emails: EMAILS, userinfo: '' }],
    ['google', 'a null userinfo', { token: TOKEN, user: '', emails: '', userinfo: 'null' }],
    ['google', 'a userinfo without sub', { token: TOKEN, user: '', emails: '', userinfo: '{"email":"x@example.com"}' }],
  ] as const)('answers %s sending %s with the provider-error page, and stays up', async (provider, _what, a) => {
    answers = { ...a };
    uncaught.length = 0;
    const res = await callback(provider);
    expect(res.status).toBe(502);
    expect(res.text).toContain('did not answer as expected');
    expect(uncaught).toEqual([]);
    expect((await browser(gh).get('/healthz')).status).toBe(200);
  });
});

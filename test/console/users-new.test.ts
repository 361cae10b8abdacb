import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

/**
 * The console's "Add human" and "Add API user" (issue 13): UsersService.create behind a form, the realm's rules
 * and refusals shown at the field, the API key shown once. Real HTTP, real SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let admin: ConsoleBrowser;

const NEW = '/admin/realms/alpha/users/new';
/** GETs the form, then posts `form` with its token (to the same URL, as the browser does). */
const submit = async (b: ConsoleBrowser, url: string, form: Record<string, string | string[]>) => {
  const page = await b.get(url);
  expect(page.status, page.text).toBe(200);
  return b.post(url, { _csrf: csrfOf(page.text), ...form });
};
/** The message shown right under a field: the one element the invalid field is described by. */
const fieldMessage = (html: string) => /<p class="field-message" id="form-error" role="alert">([^<]*)<\/p>/.exec(html)?.[1];
const inputOf = (html: string, name: string) => new RegExp(`<input id="${name}" name="${name}"[^>]*>`).exec(html)?.[0] ?? '';

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }, { realmId: 'beta', role: 'admin' }]));
});
afterAll(() => gh.close());

describe('console: add a human', () => {
  it('the form has the right autocomplete attributes; a username field only where the realm has separate usernames', async () => {
    const page = await admin.get(`${NEW}?type=human`);
    expect(page.status).toBe(200);
    expect(inputOf(page.text, 'email')).toContain('autocomplete="email"');
    expect(inputOf(page.text, 'firstName')).toContain('autocomplete="given-name"');
    expect(inputOf(page.text, 'lastName')).toContain('autocomplete="family-name"');
    expect(inputOf(page.text, 'password')).toContain('autocomplete="new-password"');
    expect(inputOf(page.text, 'passwordAgain')).toContain('autocomplete="new-password"');
    expect(inputOf(page.text, 'reference')).toContain('autocomplete="off"');
    expect(page.text).not.toContain('name="username"');
    expect(page.text).toContain('name="_csrf"');
    const beta = await admin.get('/admin/realms/beta/users/new?type=human');
    expect(inputOf(beta.text, 'username')).toContain('required');
    // No type: a human; another type: a 400 page.
    expect((await admin.get(NEW)).text).toContain('name="passwordAgain"');
    expect((await admin.get(`${NEW}?type=robot`)).status).toBe(400);
    expect((await admin.get(`${NEW}?type=api&type=human`)).status).toBe(400);
  });

  it('adds a human with every field and sends the operator to the user page; the password works at the hosted login', async () => {
    const email = uniqueEmail('ada');
    const res = await submit(admin, `${NEW}?type=human`, {
      email,
      firstName: 'Ada',
      lastName: 'Lovelace',
      password: GOOD_PASSWORD,
      passwordAgain: GOOD_PASSWORD,
      emailVerification: 'verified',
      locale: 'zh-CN',
      reference: 'crm-4711',
    });
    expect(res.status, res.text).toBe(303);
    const id = /^\/admin\/realms\/alpha\/users\/([^/?]+)$/.exec(String(res.headers.location))?.[1];
    expect(id).toBeTruthy();
    const user = (await gh.store.findUserById('alpha', decodeURIComponent(id!)))!;
    expect(user).toMatchObject({ userType: 'human', username: email, email, firstName: 'Ada', lastName: 'Lovelace', emailVerification: 'verified', locale: 'zh-CN', reference: 'crm-4711' });
    const events = (await gh.store.events.query({ realmId: 'alpha', userId: user.id, limit: 10 })).data;
    expect(events.map((e) => `${e.type} ${e.actor.type}`)).toEqual(['user.created operator']);
    const signIn = await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.location).toBe('/account');
  });

  it('a realm with separate usernames takes the username; a taken one is refused at the field, values kept', async () => {
    const url = '/admin/realms/beta/users/new?type=human';
    const first = await submit(admin, url, { username: 'grace-h', email: '', firstName: 'Grace' });
    expect(first.status, first.text).toBe(303);
    const again = await submit(admin, url, { username: 'grace-h', firstName: 'Other', password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD });
    expect(again.status).toBe(409);
    expect(fieldMessage(again.text)).toBe('That username is taken.');
    expect(again.text).toMatch(/<div class="field field-invalid">\s*<label for="username">/);
    expect(inputOf(again.text, 'firstName')).toContain('value="Other"');
    expect(again.text).not.toContain(GOOD_PASSWORD);
  });

  it('a weak password is refused with the realm’s message; the typed values stay, never the password', async () => {
    const email = uniqueEmail('weak');
    const short = await submit(admin, `${NEW}?type=human`, { email, firstName: 'Weak', password: 'abc123', passwordAgain: 'abc123', reference: 'r-1' });
    expect(short.status).toBe(422);
    expect(fieldMessage(short.text)).toBe(`Use at least ${alpha.password.minLength} characters.`);
    expect(inputOf(short.text, 'password')).toContain('aria-invalid="true"');
    expect(inputOf(short.text, 'email')).toContain(`value="${email}"`);
    expect(inputOf(short.text, 'reference')).toContain('value="r-1"');
    expect(short.text).not.toContain('abc123');
    const common = await submit(admin, `${NEW}?type=human`, { email, password: 'password123', passwordAgain: 'password123' });
    expect(common.status).toBe(422);
    expect(fieldMessage(common.text)).toBe('This password is too common and easy to guess. Choose another one.');
    expect(await gh.management!.users.count(alpha, { q: email })).toBe(0);
  });

  it('two different passwords, a taken email, a verification without email: refused at their field, nothing created', async () => {
    const email = uniqueEmail('twice');
    const differ = await submit(admin, `${NEW}?type=human`, { email, password: GOOD_PASSWORD, passwordAgain: `${GOOD_PASSWORD}!` });
    expect(differ.status).toBe(400);
    expect(fieldMessage(differ.text)).toBe('The two passwords are not the same.');
    expect(inputOf(differ.text, 'passwordAgain')).toContain('aria-invalid="true"');
    expect(await gh.management!.users.count(alpha, { q: email })).toBe(0);
    expect((await submit(admin, `${NEW}?type=human`, { email })).status).toBe(303);
    const taken = await submit(admin, `${NEW}?type=human`, { email });
    expect(taken.status).toBe(409);
    expect(fieldMessage(taken.text)).toBe('That email address is used by another user.');
    const noEmail = await submit(admin, '/admin/realms/beta/users/new?type=human', { username: 'no-mail', emailVerification: 'requested' });
    expect(noEmail.status).toBe(422);
    expect(fieldMessage(noEmail.text)).toBe('Verification needs an email address.');
    const missing = await submit(admin, `${NEW}?type=human`, { firstName: 'Nobody' });
    expect(missing.status).toBe(422);
    expect(fieldMessage(missing.text)).toBe('Fill in this field.');
  });

  it('bad bodies are a 400 with the form again: an array, CRLF, an unknown verification or language', async () => {
    const bodies: Array<Record<string, string | string[]>> = [{ email: ['a@example.com', 'b@example.com'] }, { email: 'c@example.com', firstName: 'A\r\nB' }, { email: 'd@example.com', emailVerification: 'maybe' }, { email: 'e@example.com', locale: 'xx' }];
    for (const body of bodies) {
      const res = await submit(admin, `${NEW}?type=human`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.text).toContain('id="form-error"');
    }
  });
});

describe('console: add an API user', () => {
  it('shows the generated key once (no-store), and that key authenticates through the API', async () => {
    const res = await submit(admin, `${NEW}?type=api`, { name: 'Billing sync', username: '', email: '' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const apiKey = /<p class="secret-once"[^>]*>([^<]+)<\/p>/.exec(res.text)![1]!;
    const userPage = /href="(\/admin\/realms\/alpha\/users\/[^"]+)"/.exec(res.text)![1]!;
    const userId = decodeURIComponent(userPage.split('/').pop()!);
    const api = apiClient(gh, await managementKey(gh, 'alpha', 'read'));
    const ok = await api.post('/realms/alpha/users/authenticate-key', { apiKey });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ id: userId, userType: 'api', name: 'Billing sync' });
    // A generated username; the key is not shown again, nor kept for the next page.
    expect(ok.body.username).toBeTruthy();
    const next = await admin.get('/admin/realms/alpha/users?userType=api');
    expect(next.text).toContain(ok.body.username);
    expect(next.text).not.toContain(apiKey);
    const audit = await api.get('/realms/alpha/audit?limit=50');
    expect(JSON.stringify(audit.body)).not.toContain(apiKey);
  });

  it('takes a given username and email; refuses a taken username at the field and a missing name', async () => {
    const url = '/admin/realms/beta/users/new?type=api';
    const made = await submit(admin, url, { name: 'Robot', username: 'robot-1', email: 'robot@example.com' });
    expect(made.status).toBe(200);
    const user = (await gh.management!.users.list(gh.realms.byIdOrNull('beta')!, { q: 'robot-1' }, { key: 'username', direction: 'asc' }, null, 10)).users[0]!;
    expect(user).toMatchObject({ userType: 'api', username: 'robot-1', email: 'robot@example.com', name: 'Robot' });
    const taken = await submit(admin, url, { name: 'Robot two', username: 'robot-1' });
    expect(taken.status).toBe(409);
    expect(fieldMessage(taken.text)).toBe('That username is taken.');
    expect(inputOf(taken.text, 'name')).toContain('value="Robot two"');
    expect(taken.text).not.toContain('secret-once');
    const unnamed = await submit(admin, url, { name: '  ' });
    expect(unnamed.status).toBe(400);
    expect(fieldMessage(unnamed.text)).toBe('Fill in this field.');
  });
});

describe('console: who may add users', () => {
  it('a viewer gets 403; an admin of another realm gets 404; nothing is created', async () => {
    const before = await gh.management!.users.count(alpha, {});
    const viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
    expect((await viewer.get(`${NEW}?type=human`)).status).toBe(403);
    const token = csrfOf((await viewer.get('/admin/realms/alpha/users')).text);
    expect((await viewer.post(`${NEW}?type=api`, { _csrf: token, name: 'Sneaky' })).status).toBe(403);
    const betaAdmin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'beta', role: 'admin' }]));
    expect((await betaAdmin.get(`${NEW}?type=human`)).status).toBe(404);
    const betaToken = csrfOf((await betaAdmin.get('/admin/realms/beta/users')).text);
    expect((await betaAdmin.post(`${NEW}?type=api`, { _csrf: betaToken, name: 'Sneaky' })).status).toBe(404);
    expect(await gh.management!.users.count(alpha, {})).toBe(before);
  });
});

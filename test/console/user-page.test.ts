import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formFields } from '../helpers/html-form.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

/**
 * The console's user page (issue 13, "User page"): the edit form of every field, typed custom attributes, the
 * service's rules shown at their fields, deactivation behind step-up. Real HTTP, SQLite, SMTP; the user's own
 * browser on the realm's host.
 */
let gh: TestGatehouse;
let smtp: TestSmtp;
let alpha: RealmConfig;
let beta: RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;
/** Moves the server's clock: past the console's recent-auth window, a sign-in is stale. */
let offset = 0;
const now = () => Date.now() + offset;

beforeAll(async () => {
  smtp = await startSmtp();
  gh = await testGatehouse({ smtpUrl: smtp.url, file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(now()), tuning: { outbox: { pollMs: 50 } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }, { realmId: 'beta', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
});
afterAll(async () => {
  await gh.close();
  await smtp.close();
});

const pageOf = (realm: RealmConfig, id: string) => `/admin/realms/${realm.id}/users/${id}`;

/** The edit form as the page fills it in, changed by `edits`, posted. */
async function edit(b: ConsoleBrowser, path: string, edits: Record<string, string | null>) {
  const page = await b.get(path);
  expect(page.status, page.text).toBe(200);
  const form = formFields(page.text, path);
  for (const [k, v] of Object.entries(edits)) {
    if (v === null) delete form[k];
    else form[k] = v;
  }
  return b.post(path, form);
}

/** "Confirm it's you" with the password and the next time step's code (each step is used once). */
let step = 1;
async function confirmItsYou(b: ConsoleBrowser, next: string) {
  const page = await b.get(`/admin/reauth?next=${encodeURIComponent(next)}`);
  const code = generateSync({ secret: b.secret, epoch: Math.floor(now() / 1000) + 30 * step++ });
  const ok = await b.post('/admin/reauth', { _csrf: csrfOf(page.text), password: GOOD_PASSWORD, code, next });
  expect(ok.status, ok.text).toBe(303);
  expect(ok.headers.location).toBe(next);
}

describe('console user page', () => {
  it('shows the facts and every field of the user', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('facts'), firstName: 'Ada', lastName: 'Lovelace', reference: 'crm-1', emailVerification: 'verified', password: GOOD_PASSWORD }, CLI_CONTEXT);
    expect((await browser(gh).submit('/login', { identifier: user.email!, password: GOOD_PASSWORD })).status).toBe(303);
    const page = await admin.get(pageOf(alpha, user.id));
    expect(page.status).toBe(200);
    expect(page.text).toContain(user.id);
    expect(page.text).toContain('<h1>Ada Lovelace</h1>');
    expect(page.text).toMatch(/<dt>Sign-ins<\/dt><dd>1<\/dd>/);
    expect(page.text).toMatch(/<dt>Type<\/dt><dd>Human<\/dd>/);
    const form = formFields(page.text, pageOf(alpha, user.id));
    expect(form).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', email: user.email, emailVerification: 'verified', username: user.username, reference: 'crm-1', active: 'true' });
    // A human's name is their first and last name, not a field.
    expect(form).not.toHaveProperty('name');
    // Existing attribute rows (none) and three empty ones.
    expect(Object.keys(form).filter((k) => k.startsWith('attr.') && k.endsWith('.key'))).toHaveLength(3);
  });

  it('saves every field of a human; only what changed goes to the service', async () => {
    const { user } = await gh.management!.users.create(beta, { userType: 'human', username: `u${Date.now()}`, email: uniqueEmail('edit'), emailVerification: 'verified' }, CLI_CONTEXT);
    const path = pageOf(beta, user.id);
    const email = uniqueEmail('edited');
    const saved = await edit(admin, path, { firstName: 'Grace', lastName: 'Hopper', email, emailVerification: 'verified', username: `grace-${user.id.slice(0, 6)}`, reference: 'ref-42', password: 'a-brand-new-passphrase-7', passwordAgain: 'a-brand-new-passphrase-7' });
    expect(saved.status, saved.text).toBe(303);
    expect(saved.headers.location).toBe(path);
    const stored = await gh.management!.users.get(beta, user.id);
    // The address changed and the select was left as it was: unverified, by the service's rule.
    expect(stored).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', email, username: `grace-${user.id.slice(0, 6)}`, reference: 'ref-42', state: 'active', emailVerification: 'none' });
    expect((await edit(admin, path, { emailVerification: 'verified' })).status).toBe(303);
    expect((await gh.management!.users.get(beta, user.id)).emailVerification).toBe('verified');
    // The new password lets the user in on their realm's host.
    expect((await browser(gh, 'beta.test').submit('/login', { identifier: stored.username, password: 'a-brand-new-passphrase-7' })).headers.location).toBe('/account');
    expect((await admin.get(path)).text).toContain('Saved.');
    // Clearing a field stores null; the audit entry names the operator.
    expect((await edit(admin, path, { reference: '' })).status).toBe(303);
    expect((await gh.management!.users.get(beta, user.id)).reference).toBeNull();
    // The whole form was posted; the change named only the field that differed.
    const [updated] = (await gh.store.events.query({ realmId: 'beta', userId: user.id, typePrefix: 'user.updated', limit: 1 })).data;
    expect(updated!.data).toEqual({ fields: ['reference'] });
    const [entry] = await gh.management!.audit.query({ realmId: 'beta', targetId: user.id, limit: 1 });
    expect(entry).toMatchObject({ operation: 'user.update', actor: { type: 'operator', id: admin.operatorId } });
  });

  it('an API user’s name is editable; a blank username is generated', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'api', name: 'Robot', username: `bot-${Date.now()}@example.com` }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const page = await admin.get(path);
    expect(formFields(page.text, path)).toMatchObject({ name: 'Robot' });
    expect((await edit(admin, path, { name: 'Robot Two', username: '' })).status).toBe(303);
    const stored = await gh.management!.users.get(alpha, user.id);
    expect(stored.name).toBe('Robot Two');
    expect(stored.username).toMatch(/^api-[0-9a-f]{16}$/);
  });

  it('types custom attributes: 1 a number, elephant a string, "1" a string, [1,"a"] a list — and shows them again as typed', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('attrs') }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const rows = { 'attr.0.key': 'n', 'attr.0.value': '1', 'attr.1.key': 'animal', 'attr.1.value': 'elephant', 'attr.2.key': 'quoted', 'attr.2.value': '"1"' };
    expect((await edit(admin, path, rows)).status).toBe(303);
    // The next view has three rows more: a list, and two keys that differ in case only.
    expect((await edit(admin, path, { 'attr.3.key': 'list', 'attr.3.value': '[1,"a"]', 'attr.4.key': 'Plan', 'attr.4.value': 'pro', 'attr.5.key': 'plan', 'attr.5.value': 'true' })).status).toBe(303);
    const stored = await gh.management!.users.get(alpha, user.id);
    expect(stored.customAttributes).toEqual({ n: 1, animal: 'elephant', quoted: '1', list: [1, 'a'], Plan: 'pro', plan: true });
    const form = formFields((await admin.get(path)).text, path);
    const shown = Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [form[`attr.${i}.key`], form[`attr.${i}.value`]]));
    expect(shown).toEqual({ n: '1', animal: 'elephant', quoted: '"1"', list: '[1,"a"]', Plan: 'pro', plan: 'true' });
    // Clearing a key removes its attribute; the others stay as they were.
    expect((await edit(admin, path, { 'attr.1.key': '' })).status).toBe(303);
    expect((await gh.management!.users.get(alpha, user.id)).customAttributes).toEqual({ n: 1, quoted: '1', list: [1, 'a'], Plan: 'pro', plan: true });
  });

  it('refuses duplicate keys, objects and mismatched passwords with the typed values kept (4xx, nothing saved)', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('refuse'), firstName: 'Old' }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const dup = await edit(admin, path, { firstName: 'Typed', 'attr.0.key': 'k', 'attr.0.value': '1', 'attr.1.key': 'k', 'attr.1.value': '2' });
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('is there twice');
    expect(formFields(dup.text, path)).toMatchObject({ firstName: 'Typed', 'attr.1.key': 'k', 'attr.1.value': '2' });
    expect(dup.text).toMatch(/id="attr\.1\.key"[^>]*aria-invalid="true"/);
    const nested = await edit(admin, path, { 'attr.0.key': 'deep', 'attr.0.value': '{"no":1}' });
    expect(nested.status).toBe(400);
    expect(nested.text).toMatch(/id="attr\.0\.value"[^>]*aria-invalid="true"/);
    const mismatch = await edit(admin, path, { password: 'one-long-passphrase-1', passwordAgain: 'another-passphrase-2' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('The two passwords are not the same.');
    // An array where a string belongs is a 4xx, never a 500.
    expect((await admin.post(path, { _csrf: csrfOf(mismatch.text), firstName: ['a', 'b'] })).status).toBe(400);
    const stored = await gh.management!.users.get(alpha, user.id);
    expect(stored.firstName).toBe('Old');
    expect(stored.customAttributes).toEqual({});
  });

  it('shows the service’s refusals at their field: a taken email (409), a bad address, a human’s name (422)', async () => {
    const taken = uniqueEmail('taken');
    await gh.management!.users.create(alpha, { userType: 'human', email: taken }, CLI_CONTEXT);
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('other') }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const clash = await edit(admin, path, { email: taken, lastName: 'Kept' });
    expect(clash.status).toBe(409);
    expect(clash.text).toContain('That email address is used by another user.');
    expect(clash.text).toMatch(/id="email"[^>]*aria-invalid="true"/);
    expect(formFields(clash.text, path)).toMatchObject({ email: taken, lastName: 'Kept' });
    const bad = await edit(admin, path, { email: 'not-an-address' });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/id="email"[^>]*aria-invalid="true"/);
    const named = await edit(admin, path, { name: 'Someone Else' });
    expect(named.status).toBe(422);
    expect(named.text).toContain('made from the first and last name');
    expect((await gh.management!.users.get(alpha, user.id)).lastName).toBeNull();
  });

  it('a verified user’s new address is unverified again; "Request verification" mails them', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('verified'), emailVerification: 'verified' }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const moved = uniqueEmail('moved');
    // The select still says Verified: the service's rule decides for a changed address.
    expect((await edit(admin, path, { email: moved })).status).toBe(303);
    const after = await gh.management!.users.get(alpha, user.id);
    expect(after).toMatchObject({ email: moved, username: moved, emailVerification: 'none' });
    expect(formFields((await admin.get(path)).text, path).emailVerification).toBe('none');
    expect((await edit(admin, path, { emailVerification: 'requested' })).status).toBe(303);
    expect((await gh.management!.users.get(alpha, user.id)).emailVerification).toBe('requested');
    const mail = await smtp.waitFor(moved);
    expect(mail.links.some((l) => l.startsWith('http://alpha.test/verify-email?token=')) || mail.code !== null).toBe(true);
  });

  it('deactivating asks to confirm it’s you when the sign-in is stale, then ends the user’s sessions', async () => {
    const email = uniqueEmail('deactivate');
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email, password: GOOD_PASSWORD }, CLI_CONTEXT);
    const person = browser(gh);
    expect((await person.submit('/login', { identifier: email, password: GOOD_PASSWORD })).headers.location).toBe('/account');
    const path = pageOf(alpha, user.id);
    expect((await admin.get(path)).text).toContain('every sign-in, session, API-key check and token refresh fails');
    // Other changes do not ask, however old the sign-in.
    offset += 6 * 60_000;
    expect((await edit(admin, path, { firstName: 'Still' })).status).toBe(303);
    const stale = await edit(admin, path, { active: null });
    expect(stale.status).toBe(303);
    expect(stale.headers.location).toBe(`/admin/reauth?next=${encodeURIComponent(path)}`);
    expect((await gh.management!.users.get(alpha, user.id)).state).toBe('active');
    expect((await person.get('/account')).status).toBe(200);
    await confirmItsYou(admin, path);
    const done = await edit(admin, path, { active: null });
    expect(done.status, done.text).toBe(303);
    expect((await gh.management!.users.get(alpha, user.id)).state).toBe('inactive');
    expect((await admin.get(path)).text).toContain('The user is deactivated');
    // Their browser is signed out on its next page.
    const next = await person.get('/account');
    expect(next.status).toBe(303);
    expect(next.headers.location).toContain('/login');
    // Ticking it again needs no step-up.
    expect((await edit(admin, path, { active: 'true' })).status).toBe(303);
    expect((await gh.management!.users.get(alpha, user.id)).state).toBe('active');
  });

  it('a viewer sees the page without a save button, and its POST is 403', async () => {
    const { user } = await gh.management!.users.create(alpha, { userType: 'human', email: uniqueEmail('viewed'), firstName: 'Seen' }, CLI_CONTEXT);
    const path = pageOf(alpha, user.id);
    const page = await viewer.get(path);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Save changes');
    const form = formFields(page.text, path);
    const refused = await viewer.post(path, { ...form, firstName: 'Changed' });
    expect(refused.status).toBe(403);
    expect((await gh.management!.users.get(alpha, user.id)).firstName).toBe('Seen');
    // Another realm's user, or no such user: 404.
    expect((await viewer.get(pageOf(beta, user.id))).status).toBe(404);
    expect((await viewer.get(pageOf(alpha, 'no-such-user'))).status).toBe(404);
  });
});

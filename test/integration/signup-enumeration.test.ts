/**
 * Where the realm requires a verified email, signing up with an address that
 * already has an account looks exactly like signing up with a new one; only
 * the mailbox's owner learns of it (DESIGN.md §6: no enumeration at signup).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

const FILE = {
  ...TEST_CONFIG,
  realms: TEST_CONFIG.realms.map((r) => (r.id === 'alpha' ? { ...r, emailVerification: { policy: 'required' } } : r)),
};
const SIGNUP = '/signup?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s-enum';

describe('signup where verification is required', () => {
  let gh: TestGatehouse;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    gh = await testGatehouse({ smtpUrl: smtp.url, file: FILE });
  });
  afterAll(async () => {
    await gh.close();
    await smtp.close();
  });

  /** Signs up and follows the redirect to the check-your-inbox page. */
  async function signUp(email: string) {
    const b = browser(gh);
    const res = await b.submit(SIGNUP, { email, password: GOOD_PASSWORD });
    const page = await b.get(res.headers.location ?? '/nowhere');
    return { b, res, page };
  }

  it('answers a taken address exactly as a new one, and mails only the owner (ASVS 6.3.8)', async () => {
    const taken = uniqueEmail('owner');
    await signUp(taken);
    await smtp.waitFor(taken, (m) => /Verify/.test(m.subject));

    const fresh = uniqueEmail('fresh');
    const a = await signUp(fresh);
    const b = await signUp(taken);
    expect(b.res.status).toBe(a.res.status);
    expect(a.res.status).toBe(303);
    expect(b.res.headers.location).toBe(a.res.headers.location);
    expect(b.page.status).toBe(a.page.status);
    const shape = (html: string, email: string) => html.replaceAll(csrfOf(html), 'CSRF').replaceAll(email, 'EMAIL');
    expect(shape(b.page.text, taken)).toBe(shape(a.page.text, fresh));

    const notice = await smtp.waitFor(taken, (m) => /already exists/.test(m.subject));
    expect(notice.text).toContain('http://alpha.test/login');
    expect(notice.text).toContain('http://alpha.test/forgot');
    expect(await gh.store.findUsersByEmail('alpha', taken)).toHaveLength(1);
  });

  it('accepts no code on the page of a taken address', async () => {
    const taken = uniqueEmail('owner2');
    await signUp(taken);
    const verifyMail = await smtp.waitFor(taken, (m) => /Verify/.test(m.subject));
    const { b } = await signUp(taken);
    const page = await b.get('/verify-email');
    // Even the owner's real code does nothing here: this browser has no account behind it.
    const res = await b.post('/verify-email/code', { _csrf: csrfOf(page.text), code: verifyMail.code! });
    expect(res.status).toBe(400);
    expect(res.text).toContain('That code is not right');
    const user = (await gh.store.findUsersByEmail('alpha', taken))[0]!.user;
    expect(user.emailVerification).toBe('requested');
  });
});

import { generateSync } from 'otplib';
import { expect } from 'vitest';
import { csrfOf, type browser } from './gatehouse.ts';

/**
 * The authenticator set-up a sign-in is sent to (/login/mfa, where the realm requires MFA of a user without one):
 * enrol, read the secret from the sheet, confirm with a code from otplib. Returns the secret and the recovery
 * codes page, whose "continue" form ends the sign-in.
 */
export async function enrolAtSignIn(b: ReturnType<typeof browser>) {
  const start = await b.get('/login/mfa');
  expect((await b.post('/login/mfa/enrol', { _csrf: csrfOf(start.text) })).status).toBe(303);
  const sheet = await b.get('/login/mfa');
  const secret = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(sheet.text)![1]!.replace(/ /g, '');
  const confirmed = await b.post('/login/mfa/confirm', { _csrf: csrfOf(sheet.text), code: generateSync({ secret }) });
  expect(confirmed.status, confirmed.text).toBe(303);
  return { secret, codes: await b.get('/login/mfa') };
}

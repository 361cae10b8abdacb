import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleViolation } from '../../src/domain/errors.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

/**
 * The realm dashboard's numbers (RealmDashboard.summary) on a real app and store: users signed up and signed
 * in through the hosted pages, made and deactivated through the management services, on an app clock moved
 * across UTC midnights.
 */
let gh: TestGatehouse;
let now = new Date('2025-05-08T10:00:00.000Z');
const setNow = (iso: string) => (now = new Date(iso));

/** alpha's sessions idle out after a day and end 12 hours after sign-in, whatever their use. */
const FILE = { ...TEST_CONFIG, realms: [{ ...TEST_CONFIG.realms[0]!, sessions: { idleMinutes: 24 * 60, absoluteHours: 12 } }, TEST_CONFIG.realms[1]!] };

beforeAll(async () => {
  gh = await testGatehouse({ file: FILE, clock: () => now });
});
afterAll(async () => {
  await gh.close();
});

const alpha = () => gh.realms.byIdOrNull('alpha')!;

async function signUp(email: string, host = 'alpha.test', extra: Record<string, string> = {}): Promise<void> {
  const res = await browser(gh, host).submit('/signup', { email, password: GOOD_PASSWORD, firstName: 'Dash', lastName: 'Board', ...extra });
  expect(res.status, res.text).toBe(303);
}

async function logIn(email: string, password = GOOD_PASSWORD): Promise<number> {
  return (await browser(gh).submit('/login', { identifier: email, password })).status;
}

describe('RealmDashboard.summary', () => {
  it('counts users by type and state, sign-ups and sign-ins per UTC day, and the live sessions', async () => {
    // 8 May: two sign-ups through the hosted page (each ends signed in), a wrong password, an unknown user.
    setNow('2025-05-08T10:00:00.000Z');
    await signUp('ann@example.com');
    await signUp('ben@example.com');
    expect(await logIn('ann@example.com', 'not-the-password-1')).toBe(401);
    expect(await logIn('nobody@example.com', 'not-the-password-1')).toBe(401);
    // Another realm's sign-up counts there only (beta's usernames are separate from emails).
    await signUp('ann@example.com', 'login.beta.example', { username: 'ann' });
    // A sign-in a moment before midnight and one a moment after.
    setNow('2025-05-09T23:59:59.500Z');
    expect(await logIn('ann@example.com')).toBe(303);
    setNow('2025-05-10T00:00:00.100Z');
    expect(await logIn('ann@example.com')).toBe(303);
    // 10 May: an API user made through the management service counts as a sign-up; Ben is deactivated.
    setNow('2025-05-10T09:00:00.000Z');
    const users = gh.management!.users;
    await users.create(alpha(), { userType: 'api', name: 'Reporting bot' }, CLI_CONTEXT);
    const ben = (await users.list(alpha(), { q: 'ben@' }, { key: 'createdAt', direction: 'asc' }, null, 1)).users[0]!;
    await users.update(alpha(), ben.id, { state: 'inactive' }, CLI_CONTEXT);

    setNow('2025-05-10T12:00:00.000Z');
    const summary = await gh.management!.dashboard.summary(alpha(), 4);
    expect(summary.users).toEqual({ human: { active: 1, inactive: 1 }, api: { active: 1, inactive: 0 }, total: 3 });
    expect(summary.days).toEqual([
      { day: '2025-05-07', signUps: 0, signIns: 0, failedSignIns: 0 },
      { day: '2025-05-08', signUps: 2, signIns: 2, failedSignIns: 2 },
      { day: '2025-05-09', signUps: 0, signIns: 1, failedSignIns: 0 },
      { day: '2025-05-10', signUps: 1, signIns: 1, failedSignIns: 0 },
    ]);
    expect(summary.totals).toEqual({ signUps: 3, signIns: 4, failedSignIns: 2 });
    // Live at 12:00 on 10 May: only Ann's sign-in of 00:00:00.100. Her sign-in of 23:59:59.500 is past the
    // 12-hour lifetime, the sign-ups' sessions idled out, and Ben's ended with his deactivation.
    expect(summary.liveSessions).toBe(1);
    // Each session the dashboard counts is one the user's own list shows live.
    const ann = (await users.list(alpha(), { q: 'ann@' }, { key: 'createdAt', direction: 'asc' }, null, 1)).users[0]!;
    expect(await gh.management!.access.listSessions(alpha(), ann.id)).toHaveLength(1);

    // The default window is 30 days, ending today, oldest first.
    const month = await gh.management!.dashboard.summary(alpha());
    expect(month.days).toHaveLength(30);
    expect(month.days[0]!.day).toBe('2025-04-11');
    expect(month.days[29]!.day).toBe('2025-05-10');
    expect(month.totals).toEqual(summary.totals);
    // One day: today's only.
    expect((await gh.management!.dashboard.summary(alpha(), 1)).days).toEqual([{ day: '2025-05-10', signUps: 1, signIns: 1, failedSignIns: 0 }]);
    // The other realm.
    const beta = await gh.management!.dashboard.summary(gh.realms.byIdOrNull('beta')!, 4, new Date('2025-05-08T23:00:00Z'));
    expect(beta.totals).toEqual({ signUps: 1, signIns: 1, failedSignIns: 0 });
    expect(beta.days.map((d) => d.day)).toEqual(['2025-05-05', '2025-05-06', '2025-05-07', '2025-05-08']);
  });

  it('refuses a window that is not a whole number of days from 1 to 366', async () => {
    for (const days of [0, -1, 1.5, 367, Number.NaN]) {
      await expect(gh.management!.dashboard.summary(alpha(), days)).rejects.toBeInstanceOf(RuleViolation);
    }
  });
});

/**
 * Brute-force limits under parallel attempts, on the shared Redis counters
 * that several instances would use: a burst of guesses sent at the same
 * moment gets no more tries than the rule allows (ASVS 6.3.1).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { listEvents } from '../helpers/events.ts';

const redisUrl = inject('redisUrl');
const hasRedis = partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL');

const LIMIT = 5;
const FILE = {
  ...TEST_CONFIG,
  realms: TEST_CONFIG.realms.map((r) => ({ ...r, rateLimits: { ...r.rateLimits, loginPerIdentifierAndIp: { points: LIMIT, durationSeconds: 900 } } })),
};

describe.skipIf(!hasRedis)('brute-force limits under parallel attempts (Redis)', () => {
  let gh: TestGatehouse;
  let now = Date.now();
  beforeAll(async () => {
    gh = await testGatehouse({ redisUrl, file: FILE, clock: () => new Date(now) });
  });
  afterAll(async () => {
    await gh.close();
  });

  const failedEvents = async (userId: string, type: string) => (await listEvents(gh.store, 'alpha', userId, 500)).filter((e) => e.type === type).length;

  it('checks no more passwords than the per-identifier rule allows when 25 wrong ones arrive at once', async () => {
    const email = uniqueEmail('burst');
    await browser(gh).submit('/signup', { email, password: GOOD_PASSWORD });
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    // Each attacker browser loads the form first, then all post at the same moment.
    const attackers = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const b = browser(gh);
        return { b, csrf: csrfOf((await b.get('/login')).text) };
      }),
    );
    const answers = await Promise.all(attackers.map(({ b, csrf }, i) => b.post('/login', { _csrf: csrf, identifier: email, password: `wrong-password-${i}` })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(25 - LIMIT);
    expect(await failedEvents(user.id, 'user.login.failed')).toBe(LIMIT);
    // The right password waits too, from this IP, until the window has passed.
    expect((await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(429);
  });

  it('checks no more passwords at "confirm it’s you" than the rule allows when they arrive at once', async () => {
    const email = uniqueEmail('reauth-burst');
    const b = browser(gh);
    await b.submit('/signup', { email, password: GOOD_PASSWORD });
    const user = (await gh.store.findUserByLogin('alpha', email))!.user;
    const form = await b.get('/account/reauth');
    const csrf = csrfOf(form.text);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => b.post('/account/reauth', { _csrf: csrf, password: `wrong-password-${i}` })));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(LIMIT);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(20 - LIMIT);
    expect(await failedEvents(user.id, 'user.reauth.failed')).toBe(LIMIT);
  });

  it('gives a successful login its attempt back: the per-IP rule counts failures only', async () => {
    const email = uniqueEmail('refund');
    await browser(gh).submit('/signup', { email, password: GOOD_PASSWORD });
    // More successful logins from one IP than the per-identifier rule's points: none is refused.
    for (let i = 0; i < LIMIT + 3; i++) expect((await browser(gh).submit('/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(303);
  });
});

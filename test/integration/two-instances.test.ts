/**
 * Stateless instances (issue 6): two Gatehouse processes behind one "load balancer" (the test picks the
 * instance per request) share one store (the SQLite file, WAL), one Redis (sessions, rate limits) and
 * one SMTP server. A browser may land on either: its session, its failed logins, its logout and the
 * mails it asks for are the same whichever instance answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { CookieBrowser, csrfOf, spawnGatehouse, type GatehouseProcess } from '../helpers/gatehouse-process.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freePort } from '../helpers/ports.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

const redisUrl = inject('redisUrl');
const hasRedis = partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasRedis)('two Gatehouse processes on one store and one Redis', () => {
  // Rate-limit keys carry the realm id: a realm of its own keeps this run's counters apart in the shared Redis.
  const realmId = `two-${randomBytes(4).toString('hex')}`;
  const email = uniqueEmail('two');
  const roomy = { points: 10_000, durationSeconds: 3600 };
  let dir: string;
  let smtp: TestSmtp;
  let a: GatehouseProcess | undefined;
  let b: GatehouseProcess | undefined;
  /** The signed-in browser, shared by both instances. */
  const me = new CookieBrowser();

  beforeAll(async () => {
    smtp = await startSmtp();
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-two-'));
    const [portA, portB] = [await freePort(), await freePort()];
    const configPath = path.join(dir, 'gatehouse.config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        defaultRealm: realmId,
        realms: [
          {
            id: realmId,
            name: 'Twin',
            publicUrl: `http://127.0.0.1:${portA}`,
            hosts: [`127.0.0.1:${portB}`],
            // No verification mail at signup: the only mails are the reset mails this test counts.
            emailVerification: { policy: 'off' },
            // The login limit per identifier keeps its default (5 per 15 minutes): it is what this test checks.
            rateLimits: { signupPerIp: roomy, recoveryPerIdentifier: roomy, recoveryPerIp: roomy },
          },
        ],
      }),
    );
    const env = { REDIS_URL: redisUrl, SMTP_URL: smtp.url, SESSION_SECRET: randomBytes(32).toString('base64url'), LOG_LEVEL: 'warn' };
    const dataDir = path.join(dir, 'data');
    // One after the other: the first creates and migrates the shared store, the second finds it ready.
    a = await spawnGatehouse({ port: portA, configPath, dataDir, env });
    b = await spawnGatehouse({ port: portB, configPath, dataDir, env });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await smtp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets a browser signed in on one instance into the personal center on the other', async () => {
    const signup = await me.submit(a!.url, '/signup', { email, password: GOOD_PASSWORD });
    expect(signup.status).toBe(303);
    expect(signup.headers.get('location')).toBe('/account');
    const onB = await me.get(b!.url, '/account');
    expect(onB.status).toBe(200);
    expect(onB.text).toContain(email);
    expect((await me.get(a!.url, '/account')).status).toBe(200);
  });

  it('counts wrong passwords on both instances against the same limit', async () => {
    const attacker = new CookieBrowser();
    const wrong = (on: GatehouseProcess) => attacker.submit(on.url, '/login', { identifier: email, password: 'not-the-password-1' });
    for (const on of [a!, a!, a!, b!, b!]) expect((await wrong(on)).status).toBe(401);
    const sixthOnA = await wrong(a!);
    expect(sixthOnA.status).toBe(429);
    expect(Number(sixthOnA.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await wrong(b!)).status).toBe(429);
    // Even the right password waits now, on either instance: the counter is shared, not per process.
    expect((await attacker.submit(b!.url, '/login', { identifier: email, password: GOOD_PASSWORD })).status).toBe(429);
  });

  it('ends the session on both instances when the browser logs out on one', async () => {
    const account = await me.get(a!.url, '/account');
    expect(account.status).toBe(200);
    const logout = await me.post(b!.url, '/logout', { _csrf: csrfOf(account.text) });
    expect(logout.status).toBe(200);
    for (const on of [a!, b!]) {
      const res = await me.get(on.url, '/account');
      expect(res.status, on.url).toBe(303);
      expect(res.headers.get('location')).toBe('/login');
    }
  });

  it('sends each queued mail exactly once with both outbox workers running', async () => {
    // Ten browsers ask at once, alternating instances: both workers are woken and race for the same outbox.
    const asks = Array.from({ length: 10 }, (_, i) => new CookieBrowser().submit((i % 2 === 0 ? a : b)!.url, '/forgot', { identifier: email }));
    for (const res of await Promise.all(asks)) expect(res.status).toBe(200);

    const deadline = Date.now() + 15_000;
    while (smtp.to(email).length < 10 && Date.now() < deadline) await sleep(50);
    expect(smtp.to(email)).toHaveLength(10);
    // Longer than a poll interval (1 s) of both workers: a second copy of any mail would have arrived by now.
    await sleep(2500);
    const received = smtp.to(email);
    expect(received).toHaveLength(10);
    for (const mail of received) expect(mail.subject).toBe('Reset your Twin password');
    expect(new Set(received.map((m) => m.messageId)).size).toBe(10);
    for (const mail of received) expect(mail.messageId).toMatch(/^<[^@]+@gatehouse>$/);
  });

  it('keeps both processes running without errors in their logs', () => {
    for (const on of [a!, b!]) {
      expect(on.child.exitCode).toBeNull();
      expect(on.log().filter((l) => l.level >= 50)).toEqual([]);
    }
  });
});

/**
 * Redis goes away under traffic and comes back (issue 6): pages that need the session or a rate limit
 * answer 503 with a translated page and Retry-After, the health check stays green while the readiness
 * check names Redis, the process neither crashes nor needs a restart, and service resumes on its own
 * once Redis answers again on the same port. Its own redis-server, killed and restarted by the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { browser, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freePort } from '../helpers/ports.ts';

const hasRedisServer = partAvailable('Redis', spawnSync('redis-server', ['--version']).status === 0, 'install redis-server (this test starts and kills its own)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a Redis answers PING on `port` (asynchronous: the Gatehouse under test shares this event loop). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function eventually<T>(what: string, check: () => Promise<T | false | null | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

/** A redis-server of this test's own, without persistence: a restart loses every key, like a crash of a cache. */
class OwnRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    await eventually(`redis-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return pong(this.port);
    });
  }

  /** Kills it as a crash would (SIGKILL) and waits until the port is closed. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

type Sample = { at: number; what: string; status: number };

/**
 * Requests in a loop until stopped, each answer recorded: a signed-in browser loading /account, and an
 * anonymous one loading the login form and posting a wrong password (each time another identifier).
 */
function traffic(gh: TestGatehouse, signedIn: ReturnType<typeof browser>) {
  const samples: Sample[] = [];
  const failures: unknown[] = [];
  let running = true;
  const record = (what: string, status: number) => samples.push({ at: Date.now(), what, status });
  const loop = async (step: () => Promise<void>) => {
    while (running) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
      await sleep(20);
    }
  };
  const anonymous = browser(gh);
  const loops = [
    loop(async () => {
      record('GET /account', (await signedIn.get('/account')).status);
    }),
    loop(async () => {
      const page = await anonymous.get('/login');
      record('GET /login', page.status);
      const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
      if (!token) return;
      record('POST /login', (await anonymous.post('/login', { _csrf: token, identifier: uniqueEmail('nobody'), password: 'wrong-password-123' })).status);
    }),
  ];
  return {
    samples,
    failures,
    /** The statuses `what` was answered with since `since`. */
    statuses: (what: string, since = 0) => new Set(samples.filter((s) => s.what === what && s.at >= since).map((s) => s.status)),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe.skipIf(!hasRedisServer)('Redis going away and coming back under traffic', () => {
  let redis: OwnRedis;
  let gh: TestGatehouse | undefined;
  const email = uniqueEmail('fault');
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    redis = new OwnRedis(await freePort());
    await redis.start();
    const realm = TEST_CONFIG.realms[0]!;
    const roomy = { points: 100_000, durationSeconds: 3600 };
    // The traffic posts many wrong passwords from 127.0.0.1: the per-IP login limit must not be what answers.
    gh = await testGatehouse({ redisUrl: redis.url, file: { defaultRealm: realm.id, realms: [{ ...realm, rateLimits: { ...realm.rateLimits, loginPerIp: roomy } }] } });
  });

  const liveGatehouse = () => {
    if (!gh) throw new Error('Gatehouse is closed');
    return gh;
  };

  afterAll(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await gh?.close();
    await redis?.kill();
  });

  it('answers 503 while Redis is down and resumes by itself when it is back', async () => {
    const gh = liveGatehouse();
    const me = browser(gh);
    expect((await me.submit('/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);
    expect((await me.get('/account')).status).toBe(200);

    const load = traffic(gh, me);
    try {
      await eventually('traffic answered normally', async () => load.statuses('GET /account').has(200) && load.statuses('POST /login').has(401));

      const killedAt = Date.now();
      await redis.kill();

      // The session store and the rate limiter are out of reach: a page, not a hang or a crash.
      const down = await eventually('a 503 for the signed-in browser', async () => {
        const res = await me.get('/account');
        return res.status === 503 && res;
      });
      const detectedMs = Date.now() - killedAt;
      expect(down.headers['retry-after']).toBe('5');
      expect(down.headers['cache-control']).toBe('no-store');
      expect(down.text).toContain('Temporarily unavailable');
      expect(down.text).toContain('Gatehouse cannot reach its session store right now. Try again in a moment.');
      const zh = await me.get('/account?lang=zh-CN');
      expect(zh.status).toBe(503);
      expect(zh.text).toContain('暂时无法使用');
      expect(zh.text).toContain('Gatehouse 暂时无法连接会话存储，请稍后再试。');

      // The login form needs neither (no session cookie, no counter); posting it counts an attempt, which needs Redis.
      const anonymous = browser(gh);
      const form = await anonymous.get('/login');
      expect(form.status).toBe(200);
      const posted = await anonymous.post('/login', { _csrf: /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!, identifier: email, password: GOOD_PASSWORD });
      expect(posted.status).toBe(503);
      expect(posted.headers['retry-after']).toBe('5');
      expect(posted.text).toContain('Temporarily unavailable');

      expect((await request(gh.app).get('/healthz')).status).toBe(200);
      const ready = await request(gh.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.store).toBe('ok');
      expect(ready.body.checks.redis).toMatch(/^down: /);

      // Down for a while under traffic: every request keeps being answered.
      await sleep(1500);
      const downSince = Date.now();
      await sleep(500);
      expect(load.statuses('GET /account', downSince)).toEqual(new Set([503]));
      expect(load.statuses('POST /login', downSince)).toEqual(new Set([503]));
      expect(load.statuses('GET /login', downSince)).toEqual(new Set([200]));

      const restartedAt = Date.now();
      await redis.start();
      await eventually('/readyz is 200 again', async () => (await request(gh.app).get('/readyz')).status === 200);
      const readyMs = Date.now() - restartedAt;
      expect(readyMs).toBeLessThan(5000);

      // The restarted Redis kept nothing: the old session is gone, so the browser is asked to sign in again, and can.
      const after = await me.get('/account');
      expect(after.status).toBe(303);
      expect(after.headers.location).toBe('/login');
      const login = await me.submit('/login', { identifier: email, password: GOOD_PASSWORD });
      expect(login.status).toBe(303);
      expect(login.headers.location).toBe('/account');
      expect((await me.get('/account')).status).toBe(200);
      const resumedMs = Date.now() - restartedAt;

      const backSince = Date.now();
      await eventually('anonymous traffic answered normally again', async () => load.statuses('POST /login', backSince).has(401));
      console.info(`Redis fault: 503 after ${detectedMs} ms, ready ${readyMs} ms after the restart, fresh login done after ${resumedMs} ms`);
    } finally {
      await load.stop();
    }

    // Nothing but the expected answers, no request that failed outright, nothing unhandled in the process.
    expect(load.failures).toEqual([]);
    // 303: between the restart and the fresh login, the lost session sends the browser to the login page.
    for (const status of load.statuses('GET /account')) expect([200, 503, 303]).toContain(status);
    for (const status of load.statuses('POST /login')) expect([401, 503]).toContain(status);
    expect(load.statuses('GET /login')).toEqual(new Set([200]));
    expect(crashes).toEqual([]);
  });

  it('shuts down cleanly while Redis is down', async () => {
    const closing = liveGatehouse();
    await redis.kill();
    expect((await request(closing.app).get('/readyz')).status).toBe(503);
    // QUIT is refused without a connection: closing must still go on to close the store.
    gh = undefined;
    await closing.close();
    expect((closing.store as SqliteStore).db.open).toBe(false);
    expect(crashes).toEqual([]);
  });
});

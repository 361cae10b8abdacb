/**
 * Graceful shutdown (issue 6): on SIGTERM a Gatehouse process finishes the requests it is answering,
 * takes no new connection, lets go of keep-alive connections instead of waiting out their timeout,
 * closes its store (and Redis), and exits 0 within moments, saying so in its log.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/gatehouse.ts';
import { CookieBrowser, csrfOf, spawnGatehouse, type GatehouseProcess } from '../helpers/gatehouse-process.ts';
import { partAvailable } from '../helpers/parts.ts';
import { freePort } from '../helpers/ports.ts';

const redisUrl = inject('redisUrl');
const backends = [
  { name: 'embedded store', redisUrl: undefined },
  ...(partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL') ? [{ name: 'Redis', redisUrl }] : []),
];

/**
 * What a new connection to `port` asking for /healthz ends in: 'served' when an HTTP answer comes back,
 * else the error code ('closed' when the server hung up without a word).
 */
function tryRequest(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.once('close', () => resolve(received.startsWith('HTTP/1.1') ? 'served' : 'closed'));
  });
}

/**
 * A login posted by hand on a raw socket, its body held back: the request is in the server's hands
 * (headers read, waiting for the body) for as long as the test likes.
 */
function heldLogin(port: number, cookie: string, form: Record<string, string>) {
  const body = new URLSearchParams(form).toString();
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  const answer = new Promise<{ status: number; headers: Record<string, string> }>((resolve, reject) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const [head = ''] = received.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status, headers });
    });
  });
  // Settled by hand only when the test gets that far: a socket cut by afterAll's kill is no unhandled rejection.
  answer.catch(() => undefined);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const half = Math.floor(body.length / 2);
  return {
    async start() {
      await connected;
      socket.write(
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, half)}`,
      );
    },
    finish() {
      socket.write(body.slice(half));
    },
    answer,
    destroy: () => socket.destroy(),
  };
}

describe.each(backends)('graceful shutdown on the $name', ({ redisUrl }) => {
  let dir: string;
  let port: number;
  let gh: GatehouseProcess | undefined;
  const email = uniqueEmail('shutdown');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-shutdown-'));
    port = await freePort();
    const configPath = path.join(dir, 'gatehouse.config.json');
    // A realm of its own: its rate-limit keys in the shared Redis are this run's alone.
    const realmId = `shutdown-${randomBytes(4).toString('hex')}`;
    writeFileSync(configPath, JSON.stringify({ defaultRealm: realmId, realms: [{ id: realmId, name: 'Down', publicUrl: `http://127.0.0.1:${port}` }] }));
    gh = await spawnGatehouse({
      port,
      configPath,
      dataDir: path.join(dir, 'data'),
      env: { LOG_LEVEL: 'info', ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
    });
  }, 60_000);

  afterAll(async () => {
    await gh?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers the requests in flight, refuses new connections and exits 0 on SIGTERM', async () => {
    const base = gh!.url;
    expect((await new CookieBrowser().submit(base, '/signup', { email, password: GOOD_PASSWORD })).status).toBe(303);

    // Browsers with the login form loaded (its CSRF cookie and token), ready to post.
    const browsers = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const b = new CookieBrowser();
        const page = await b.get(base, '/login');
        return { b, token: csrfOf(page.text) };
      }),
    );
    const [held, ...posting] = browsers;
    const cookie = [...held!.b.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const slow = heldLogin(port, cookie, { _csrf: held!.token, identifier: email, password: GOOD_PASSWORD });
    await slow.start();

    // Four logins at once (argon2 verifies each, ~50-100 ms apiece on two cores): when the first is
    // answered the others are still being worked on, and the held one waits for the rest of its body.
    const logins = posting.map(({ b, token }) => b.post(base, '/login', { _csrf: token, identifier: email, password: GOOD_PASSWORD }).then((res) => ({ res, at: Date.now() })));
    await Promise.race(logins);
    const signalledAt = Date.now();
    gh!.child.kill('SIGTERM');
    const said = await gh!.waitForLog('shutting down');
    expect(said.signal).toBe('SIGTERM');

    // The listening socket is closed: no new connection is served. One that raced the close may be reset
    // (it reached the kernel's backlog as the socket went), and from then on every one is refused.
    const first = await tryRequest(port);
    expect(['ECONNREFUSED', 'ECONNRESET', 'closed']).toContain(first);
    let refused = first;
    for (let i = 0; i < 20 && refused !== 'ECONNREFUSED'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      refused = await tryRequest(port);
      expect(refused).not.toBe('served');
    }
    expect(refused).toBe('ECONNREFUSED');

    // The held request still gets its normal answer, and is told the connection ends with it.
    slow.finish();
    const heldAnswer = await slow.answer;
    const heldAt = Date.now();
    expect(heldAnswer.status).toBe(303);
    expect(heldAnswer.headers.location).toBe('/account');
    expect(heldAnswer.headers.connection).toBe('close');
    expect(heldAnswer.headers['set-cookie']).toMatch(/gh\.sid=/);

    const answered = await Promise.all(logins);
    for (const { res } of answered) {
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/account');
    }
    const lastAnswerAt = Math.max(heldAt, ...answered.map((a) => a.at));

    const exit = await gh!.exited;
    const exitedAt = Date.now();
    expect(exit).toEqual({ code: 0, signal: null });
    // Keep-alive connections (fetch keeps them) would hold server.close() for their 5 s timeout.
    expect(exitedAt - lastAnswerAt).toBeLessThan(2500);
    expect(exitedAt - signalledAt).toBeLessThan(5000);
    expect(gh!.log().filter((l) => l.level >= 50)).toEqual([]);
    expect(gh!.stderr()).toBe('');
    console.info(`shutdown (${redisUrl ? 'Redis' : 'embedded'}): exited ${exitedAt - signalledAt} ms after SIGTERM, ${exitedAt - lastAnswerAt} ms after the last answer`);
    slow.destroy();
  });
});

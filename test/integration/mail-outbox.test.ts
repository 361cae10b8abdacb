/**
 * The mail outbox: every mail is stored before it is sent, and the worker
 * delivers it once the SMTP server takes it — after an outage, across a
 * restart of Gatehouse, never twice; a mail the server refuses for good is
 * marked failed and left alone. Real SMTP servers (smtp-server) throughout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMail } from '../../src/store/port.ts';
import { browser, GOOD_PASSWORD, TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { freePort } from '../helpers/ports.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

const APP = 'https://app.example.com/cb';
/**
 * Fast retries: an outage of a few seconds is many attempts. With the default
 * ten attempts a mail would be given up after ~7 s of outage, which a loaded
 * CI machine can spend on the twenty sign-ups alone; the give-up rule has its
 * own test below (550), so here attempts are not the limit.
 */
const FAST = { outbox: { baseDelayMs: 200, maxDelayMs: 1000, pollMs: 100, maxAttempts: 1000 } };
/** Twenty sign-ups (argon2 each), an outage and a recovery: more than the default 30 s on a busy 2-CPU runner. */
const SLOW_TEST_MS = 90_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy (or throws after `timeoutMs`). */
async function eventually<T>(what: string, check: () => Promise<T | false | null | undefined> | T | false | null | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

async function signUp(gh: TestGatehouse, email: string) {
  const res = await browser(gh).submit(`/signup?redirect_uri=${encodeURIComponent(APP)}`, { email, password: GOOD_PASSWORD });
  expect(res.status).toBe(200);
  return res;
}

async function mailsTo(gh: TestGatehouse, addresses: string[]): Promise<OutboxMail[]> {
  const wanted = new Set(addresses.map((a) => a.toLowerCase()));
  return (await gh.store.listMail(1000)).filter((m) => wanted.has(m.to.address.toLowerCase()));
}

/** Every address got exactly one mail, each with its own Message-ID. */
function expectExactlyOnce(smtp: TestSmtp, addresses: string[]) {
  const received = smtp.mails.filter((m) => addresses.some((a) => m.envelopeTo.includes(a)));
  expect(received).toHaveLength(addresses.length);
  for (const a of addresses) expect(smtp.to(a), a).toHaveLength(1);
  expect(new Set(received.map((m) => m.messageId)).size).toBe(addresses.length);
  for (const m of received) expect(m.messageId).toMatch(/@gatehouse>?$/);
}

describe('mail outbox with a real SMTP server', () => {
  let smtp: TestSmtp;
  /** Whether `smtp` listens: starting it twice would lose track of the running server. */
  let up = false;
  const smtpUp = async () => {
    if (!up) await smtp.start();
    up = true;
  };
  const smtpDown = async () => {
    await smtp.stop();
    up = false;
  };
  beforeAll(async () => {
    smtp = await startSmtp();
    up = true;
  });
  afterAll(async () => {
    await smtp.close();
  });

  it('delivers all 20 mails written during an SMTP outage exactly once when the server is back', async () => {
    await smtpDown();
    const gh = await testGatehouse({ smtpUrl: smtp.url, tuning: FAST });
    try {
      const emails = Array.from({ length: 20 }, () => uniqueEmail('outage'));
      await Promise.all(emails.map((e) => signUp(gh, e)));

      // Stored, tried at least twice (so the worker really retries), not lost, not sent.
      await eventually('every mail retried during the outage', async () => {
        const queued = await mailsTo(gh, emails);
        return queued.length === 20 && queued.every((m) => m.status === 'queued' && m.attempts >= 2 && m.lastError);
      });
      expect(smtp.mails.filter((m) => emails.includes(m.envelopeTo[0]!))).toEqual([]);

      await smtpUp();
      await Promise.all(emails.map((e) => smtp.waitFor(e)));
      // Longer than the largest retry delay: a second copy would have come by now.
      await sleep(1200);
      expectExactlyOnce(smtp, emails);
      const stored = await mailsTo(gh, emails);
      expect(stored.map((m) => m.status)).toEqual(Array(20).fill('sent'));
      for (const e of emails) expect(smtp.to(e)[0]!.links.some((l) => l.startsWith('http://alpha.test/verify-email?token='))).toBe(true);
    } finally {
      await gh.close();
      await smtpUp();
    }
  }, SLOW_TEST_MS);

  it('delivers mails queued before a restart exactly once from the next instance, and their links still work', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-restart-'));
    await smtpDown();
    let b: TestGatehouse | undefined;
    try {
      const a = await testGatehouse({ smtpUrl: smtp.url, tuning: FAST, dataDir, file: TEST_CONFIG });
      const emails = Array.from({ length: 5 }, () => uniqueEmail('restart'));
      for (const e of emails) await signUp(a, e);
      await eventually('every mail tried by instance A', async () => {
        const queued = await mailsTo(a, emails);
        return queued.length === 5 && queued.every((m) => m.status === 'queued' && m.attempts >= 1);
      });
      await a.close();

      b = await testGatehouse({ smtpUrl: smtp.url, tuning: FAST, dataDir, file: TEST_CONFIG });
      expect((await mailsTo(b, emails)).map((m) => m.status)).toEqual(Array(5).fill('queued'));
      await smtpUp();
      await Promise.all(emails.map((e) => smtp.waitFor(e)));
      await sleep(1200);
      expectExactlyOnce(smtp, emails);
      expect((await mailsTo(b, emails)).every((m) => m.status === 'sent')).toBe(true);

      // The tokens were stored with the mails: instance B honours A's link.
      const link = new URL(smtp.to(emails[0]!)[0]!.links.find((l) => l.includes('/verify-email?token='))!);
      const verified = await browser(b).get(`${link.pathname}${link.search}`);
      expect(verified.status).toBe(200);
      expect(verified.text).toContain('Your email is verified');
    } finally {
      await b?.close();
      await smtpUp();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, SLOW_TEST_MS);
});

describe('mail outbox against a server that refuses mail', () => {
  /** Addresses starting "gone-" are refused for good (550); "busy-" once for now (451), then taken. */
  let server: SMTPServer;
  let url: string;
  const rcptAttempts = new Map<string, number>();
  const delivered: string[] = [];
  let gh: TestGatehouse;

  beforeAll(async () => {
    const port = await freePort();
    server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        const n = (rcptAttempts.get(address.address) ?? 0) + 1;
        rcptAttempts.set(address.address, n);
        const refuse = (code: number, message: string) => callback(Object.assign(new Error(message), { responseCode: code }));
        if (address.address.startsWith('gone-')) return refuse(550, 'No such user here');
        if (address.address.startsWith('busy-') && n === 1) return refuse(451, 'Mailbox busy, try again later');
        callback();
      },
      onData(stream, session, callback) {
        stream.on('data', () => {});
        stream.on('end', () => {
          delivered.push(...session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    url = `smtp://127.0.0.1:${port}`;
    gh = await testGatehouse({ smtpUrl: url, tuning: FAST });
  });
  afterAll(async () => {
    await gh?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('marks a permanently refused mail (550) failed and never retries it', async () => {
    const email = uniqueEmail('gone');
    await signUp(gh, email);
    const [failed] = await eventually('the mail marked failed', async () => {
      const mails = await mailsTo(gh, [email]);
      return mails.length === 1 && mails[0]!.status === 'failed' ? mails : null;
    });
    expect(failed!.attempts).toBe(1);
    expect(failed!.lastError).toContain('550');
    expect(failed!.sentAt).toBeNull();
    // Several poll intervals and retry delays later: still one attempt.
    await sleep(1200);
    expect(rcptAttempts.get(email)).toBe(1);
    expect(delivered).not.toContain(email);
    const [after] = await mailsTo(gh, [email]);
    expect(after).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('retries a temporarily refused mail (451) and delivers it once', async () => {
    const email = uniqueEmail('busy');
    await signUp(gh, email);
    const [sent] = await eventually('the mail sent after a retry', async () => {
      const mails = await mailsTo(gh, [email]);
      return mails.length === 1 && mails[0]!.status === 'sent' ? mails : null;
    });
    expect(sent!.attempts).toBe(2);
    expect(rcptAttempts.get(email)).toBe(2);
    await sleep(1200);
    expect(delivered.filter((a) => a === email)).toHaveLength(1);
  });
});

describe('the development outbox at /dev/mail', () => {
  it('lists every mail with its link in development, and the link verifies', async () => {
    const gh = await testGatehouse({ env: { NODE_ENV: 'development' } });
    try {
      const email = uniqueEmail('dev');
      await signUp(gh, email);
      const [mail] = await eventually('the mail in the development outbox', async () => {
        const mails = await mailsTo(gh, [email]);
        return mails.length === 1 && mails[0]!.status === 'sent' ? mails : null;
      });
      expect(mail!.link).toMatch(/^http:\/\/alpha\.test\/verify-email\?token=[\w-]+$/);

      const list = await browser(gh).get('/dev/mail');
      expect(list.status).toBe(200);
      expect(list.text).toContain(email);
      expect(list.text).toContain(`href="${mail!.link}"`);
      expect(list.text).toContain(mail!.subject);

      const one = await browser(gh).get(`/dev/mail/${mail!.id}`);
      expect(one.status).toBe(200);
      expect(one.headers['content-security-policy']).toContain('sandbox');
      expect(one.text).toContain(mail!.link!);

      const link = new URL(mail!.link!);
      const verified = await browser(gh).get(`${link.pathname}${link.search}`);
      expect(verified.status).toBe(200);
      expect(verified.text).toContain('Your email is verified');
    } finally {
      await gh.close();
    }
  });

  it.each(['test', 'production'])('is absent (404) with NODE_ENV %s', async (nodeEnv) => {
    const gh = await testGatehouse({ env: { NODE_ENV: nodeEnv } });
    try {
      const email = uniqueEmail('nodev');
      await signUp(gh, email);
      const [mail] = await eventually('the mail stored', async () => {
        const mails = await mailsTo(gh, [email]);
        return mails.length === 1 ? mails : null;
      });
      const list = await browser(gh).get('/dev/mail');
      expect(list.status).toBe(404);
      expect(list.text).not.toContain(email);
      const one = await browser(gh).get(`/dev/mail/${mail!.id}`);
      expect(one.status).toBe(404);
      expect(one.text).not.toContain('verify-email?token=');
    } finally {
      await gh.close();
    }
  });
});

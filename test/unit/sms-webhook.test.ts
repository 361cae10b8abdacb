import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseFileConfig, type RealmConfig } from '../../src/config/index.ts';
import { signWebhook, webhookSms } from '../../src/infra/sms/webhook.ts';
import { SmsDeliveryError } from '../../src/sms/sms.ts';

const SECRET = 'k3y-with-at-least-32-characters-0000';
const [REALM] = parseFileConfig({ defaultRealm: 'alpha', realms: [{ id: 'alpha', name: 'Alpha', publicUrl: 'https://login.alpha.example' }] }).realms as [RealmConfig];
const message = { realm: REALM, to: '+14155550100', text: '123456 is your Alpha code.', kind: 'bind-phone' as const, userId: 'user-1' };

describe('signWebhook', () => {
  it('is HMAC-SHA256 over "timestamp.body" in hex, as openssl computes it', () => {
    // printf '%s' '1700000000.{…}' | openssl dgst -sha256 -hmac '<secret>'
    expect(signWebhook(SECRET, 1700000000, '{"to":"+14155550100","text":"123456 is your code"}')).toBe(
      'sha256=941cf65baa381e882f11470875ed240670aa614554e8d11abc427d34aa9b2c8f',
    );
  });

  it('changes with the timestamp, the body and the secret', () => {
    const base = signWebhook(SECRET, 1700000000, '{}');
    expect(signWebhook(SECRET, 1700000001, '{}')).not.toBe(base);
    expect(signWebhook(SECRET, 1700000000, '{ }')).not.toBe(base);
    expect(signWebhook(`${SECRET}x`, 1700000000, '{}')).not.toBe(base);
  });
});

describe('webhookSms', () => {
  let server: Server;
  let url: string;
  let received: Array<{ method?: string; headers: IncomingHttpHeaders; body: string }>;
  let answer: (res: import('node:http').ServerResponse) => void;

  beforeEach(async () => {
    received = [];
    answer = (res) => res.writeHead(204).end();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body });
        answer(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/sms`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('POSTs { to, text, realm, kind, id } as JSON, signed over the exact body with the timestamp', async () => {
    const at = new Date('2025-03-01T12:00:00.000Z');
    const { id } = await webhookSms({ url, secret: SECRET, clock: () => at }).send(message);
    expect(received).toHaveLength(1);
    const [req] = received as [(typeof received)[0]];
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ to: '+14155550100', text: '123456 is your Alpha code.', realm: 'alpha', kind: 'bind-phone', id });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(req.headers['x-gatehouse-timestamp']).toBe(String(at.getTime() / 1000));
    const expected = createHmac('sha256', SECRET).update(`${req.headers['x-gatehouse-timestamp']}.${req.body}`).digest('hex');
    expect(req.headers['x-gatehouse-signature']).toBe(`sha256=${expected}`);
  });

  it('gives each message its own id', async () => {
    const sms = webhookSms({ url, secret: SECRET });
    const a = await sms.send(message);
    const b = await sms.send(message);
    expect(a.id).not.toBe(b.id);
  });

  it('fails with SmsDeliveryError on an answer that is not 2xx, naming the status but not the query (it may hold a token)', async () => {
    answer = (res) => res.writeHead(500).end('down');
    const err = await webhookSms({ url: `${url}?token=hunter2`, secret: SECRET }).send(message).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsDeliveryError);
    expect((err as Error).message).toContain('answered 500');
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('does not follow a redirect (the signed message goes only where it was configured to)', async () => {
    answer = (res) => res.writeHead(307, { Location: 'http://127.0.0.1:9/elsewhere' }).end();
    await expect(webhookSms({ url, secret: SECRET }).send(message)).rejects.toBeInstanceOf(SmsDeliveryError);
    expect(received).toHaveLength(1);
  });

  it('gives up after the timeout with SmsDeliveryError', async () => {
    answer = () => {}; // never answers
    const started = Date.now();
    const err = await webhookSms({ url, secret: SECRET, timeoutMs: 150 }).send(message).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsDeliveryError);
    expect((err as Error).message).toContain('no answer within 150 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with SmsDeliveryError when nothing listens', async () => {
    const closed = url;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    await expect(webhookSms({ url: closed, secret: SECRET }).send(message)).rejects.toBeInstanceOf(SmsDeliveryError);
  });
});

describe('SMS configuration', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-sms-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (account: Record<string, unknown> = {}) => {
    const p = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify({ defaultRealm: 'alpha', realms: [{ id: 'alpha', name: 'Alpha', publicUrl: 'https://login.alpha.example', account }] }));
    return p;
  };
  const errorOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('uses the webhook only with both the URL and the secret', () => {
    const config = loadConfig({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'https://sms.example.com/send', SMS_WEBHOOK_SECRET: SECRET });
    expect(config.smsWebhook).toEqual({ url: 'https://sms.example.com/send', secret: SECRET });
    expect(loadConfig({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: '' }).smsWebhook).toBeUndefined();
  });

  it('refuses a URL without its secret, a short secret, and a URL that is not http(s), each with a clear message', () => {
    expect(errorOf({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'https://sms.example.com/send' })).toMatch(/SMS_WEBHOOK_SECRET: is required when SMS_WEBHOOK_URL is set/);
    expect(errorOf({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'https://sms.example.com/send', SMS_WEBHOOK_SECRET: 'short' })).toMatch(/SMS_WEBHOOK_SECRET: must be at least 32 characters/);
    expect(errorOf({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'ftp://sms.example.com/', SMS_WEBHOOK_SECRET: SECRET })).toMatch(/SMS_WEBHOOK_URL: must be an absolute http:\/\/ or https:\/\/ URL/);
    expect(errorOf({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'sms.example.com', SMS_WEBHOOK_SECRET: SECRET })).toMatch(/SMS_WEBHOOK_URL: must be an absolute/);
    expect(errorOf({ GATEHOUSE_CONFIG: file(), SMS_WEBHOOK_URL: 'https://u:p@sms.example.com/', SMS_WEBHOOK_SECRET: SECRET })).toMatch(/SMS_WEBHOOK_URL: must not contain user:password/);
  });

  it('takes a default phone country as an ISO 3166-1 alpha-2 code, in any case, and refuses others', () => {
    expect(loadConfig({ GATEHOUSE_CONFIG: file({ defaultPhoneCountry: 'cn' }) }).realms[0]!.account.defaultPhoneCountry).toBe('CN');
    expect(loadConfig({ GATEHOUSE_CONFIG: file() }).realms[0]!.account.defaultPhoneCountry).toBeUndefined();
    for (const bad of ['XX', 'USA', 'u', '']) {
      expect(errorOf({ GATEHOUSE_CONFIG: file({ defaultPhoneCountry: bad }) })).toMatch(/account\.defaultPhoneCountry: must be an ISO 3166-1 alpha-2 country code/);
    }
  });
});

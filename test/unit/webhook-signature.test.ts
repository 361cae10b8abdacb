import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateWebhookSecret, webhookHeaders, webhookSignature, type WebhookMessage } from '../../src/domain/webhook-signature.ts';

// Every check of a signature here is the reference verifier's (the `standardwebhooks` package), not code of ours.

const NOW = new Date('2026-12-08T01:00:00Z');
const body = JSON.stringify({ id: '42', type: 'user.login.succeeded', at: '2026-12-08T00:59:59.000Z', data: { method: 'password' } });
const message: WebhookMessage = { id: 'msg_2bq7Xo1fQ3WnTgHc8u4KdA', at: NOW, body };

describe('webhook signatures (Standard Webhooks)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes secrets of whsec_ and base64 of 32 random bytes, each different', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('signs the example of the specification as its reference library does', () => {
    // The example of the Standard Webhooks specification (and Svix's documentation).
    const example = { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', at: new Date(1614265330 * 1000), body: '{"test": 2432232314}' };
    expect(webhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', example)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('sends webhook-id, the timestamp in whole seconds and a v1 signature the reference verifier accepts', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders([secret], { ...message, at: new Date(NOW.getTime() + 999) });
    expect(headers['webhook-id']).toBe(message.id);
    expect(headers['webhook-timestamp']).toBe(String(NOW.getTime() / 1000));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('during a rotation carries two signatures, each verifying with its own secret', () => {
    const previous = generateWebhookSecret();
    const current = generateWebhookSecret();
    const headers = webhookHeaders([current, previous], message);
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    expect(new Webhook(current).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // Each signature alone is the one of its secret.
    expect(new Webhook(current).verify(body, { ...headers, 'webhook-signature': signatures[0]! })).toBeTruthy();
    expect(new Webhook(previous).verify(body, { ...headers, 'webhook-signature': signatures[1]! })).toBeTruthy();
    expect(() => new Webhook(current).verify(body, { ...headers, 'webhook-signature': signatures[1]! })).toThrow('No matching signature found');
  });

  it('does not verify under a secret that did not sign', () => {
    const headers = webhookHeaders([generateWebhookSecret()], message);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('fails verification when the body is altered', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders([secret], message);
    const altered = body.replace('password', 'passkey');
    expect(() => new Webhook(secret).verify(altered, { ...headers })).toThrow('No matching signature found');
    expect(() => new Webhook(secret).verify(`${body} `, { ...headers })).toThrow('No matching signature found');
  });

  it('fails verification when the timestamp or the id is altered', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders([secret], message);
    const oneSecondLater = String(Number(headers['webhook-timestamp']) + 1);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': oneSecondLater })).toThrow('No matching signature found');
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_other' })).toThrow('No matching signature found');
  });

  it('is refused by the verifier once older than its 5-minute tolerance, and accepted just inside it (replay window)', () => {
    const secret = generateWebhookSecret();
    const sentAt = (secondsAgo: number) => webhookHeaders([secret], { ...message, at: new Date(NOW.getTime() - secondsAgo * 1000) });
    expect(new Webhook(secret).verify(body, { ...sentAt(300) })).toBeTruthy();
    expect(() => new Webhook(secret).verify(body, { ...sentAt(301) })).toThrow('Message timestamp too old');
    expect(() => new Webhook(secret).verify(body, { ...sentAt(-301) })).toThrow('Message timestamp too new');
  });

  it('signs each retry anew: a later attempt of one delivery keeps its id and verifies at its own time', () => {
    const secret = generateWebhookSecret();
    const first = webhookHeaders([secret], { ...message, at: new Date(NOW.getTime() - 3600_000) });
    const retry = webhookHeaders([secret], message);
    expect(retry['webhook-id']).toBe(first['webhook-id']);
    expect(() => new Webhook(secret).verify(body, { ...first })).toThrow('Message timestamp too old');
    expect(new Webhook(secret).verify(body, { ...retry })).toBeTruthy();
  });

  it('refuses to sign with no secret, a secret that is not one, or an id that would blur the signed content', () => {
    expect(() => webhookHeaders([], message)).toThrow(TypeError);
    expect(() => webhookSignature('whsec_c2hvcnQ=', message)).toThrow(TypeError);
    expect(() => webhookSignature(`sk_${Buffer.alloc(32).toString('base64')}`, message)).toThrow(TypeError);
    expect(() => webhookSignature('whsec_not base64 at all!!!!!!!!!!!!!!!!!!', message)).toThrow(TypeError);
    expect(() => webhookSignature(generateWebhookSecret(), { ...message, id: 'msg.1' })).toThrow(TypeError);
    expect(() => webhookSignature(generateWebhookSecret(), { ...message, id: 'msg_1 v1,forged' })).toThrow(TypeError);
  });
});

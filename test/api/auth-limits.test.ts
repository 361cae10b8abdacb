import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import request from 'supertest';
import { AUTH_FAILURE_RULE } from '../../src/api/v1/auth.ts';
import { testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { managementKey } from '../helpers/management.ts';
import { partAvailable } from '../helpers/parts.ts';

/**
 * Failed authentications to the management API are counted per IP by the
 * limiter the deployment uses (SQLite embedded, Redis when configured).
 */
const redisUrl = inject('redisUrl');
const setups = [
  { name: 'embedded store', redisUrl: undefined },
  ...(partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL') ? [{ name: 'Redis', redisUrl }] : []),
];

describe.each(setups)('management API: failed authentications per IP ($name)', ({ redisUrl }) => {
  let gh: TestGatehouse;
  let key: string;
  beforeAll(async () => {
    gh = await testGatehouse({ redisUrl, env: { TRUST_PROXY: 'true' } });
    key = await managementKey(gh, 'alpha', 'read');
  });
  afterAll(() => gh.close());

  const from = (ip: string, authorization?: string) => {
    const r = request(gh.app).get('/api/v1/realms/alpha/users').set('X-Forwarded-For', ip);
    return authorization ? r.set('Authorization', authorization) : r;
  };

  it(`answers 401 to ${AUTH_FAILURE_RULE.points} wrong or missing keys from one address, then 429 with Retry-After (ASVS 6.3.1)`, async () => {
    const ip = redisUrl ? '198.51.100.7' : '198.51.100.8';
    const answers: number[] = [];
    for (let i = 0; i < AUTH_FAILURE_RULE.points; i++) answers.push((await from(ip, i % 2 ? `Bearer ghmk_wrong${i}` : undefined)).status);
    expect(answers).toEqual(Array(AUTH_FAILURE_RULE.points).fill(401));
    const limited = await from(ip, 'Bearer ghmk_one-more');
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(AUTH_FAILURE_RULE.durationSeconds);
    // Another address is not held back, and a valid key is never refused for its address's failures.
    expect((await from('203.0.113.9', 'Bearer ghmk_wrong')).status).toBe(401);
    expect((await from(ip, `Bearer ${key}`)).status).toBe(200);
  });

  it('counts parallel wrong keys atomically: never more than the rule lets through', async () => {
    const ip = redisUrl ? '198.51.100.17' : '198.51.100.18';
    const answers = await Promise.all(Array.from({ length: AUTH_FAILURE_RULE.points + 20 }, (_, i) => from(ip, `Bearer ghmk_parallel${i}`).then((r) => r.status)));
    expect(answers.filter((s) => s === 401)).toHaveLength(AUTH_FAILURE_RULE.points);
    expect(answers.filter((s) => s === 429)).toHaveLength(20);
  });
});

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { browser, csrfOf, GOOD_PASSWORD, testGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';
import { partAvailable } from '../helpers/parts.ts';

/**
 * The management API under concurrent writes, on the embedded store and on a
 * real Redis for sessions and limits: no lost update, no key that works after
 * its replacement, no session left to a deleted user.
 */
const redisUrl = inject('redisUrl');
const setups = [
  { name: 'embedded store', redisUrl: undefined },
  ...(partAvailable('Redis', Boolean(redisUrl), 'install redis-server or set REDIS_URL') ? [{ name: 'Redis', redisUrl }] : []),
];

describe.each(setups)('management API races ($name)', ({ redisUrl }) => {
  let gh: TestGatehouse;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    gh = await testGatehouse({ redisUrl });
    api = apiClient(gh, await managementKey(gh, null));
  });
  afterAll(() => gh.close());

  it('two PATCHes of one user’s different fields both land, and the derived name follows both', async () => {
    const made = await api.post('/realms/alpha/users', { email: 'both@example.com' });
    const id = made.body.user.id as string;
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([api.patch(`/realms/alpha/users/${id}`, { firstName: `Ada${round}` }), api.patch(`/realms/alpha/users/${id}`, { lastName: `King${round}` })]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const now = await api.get(`/realms/alpha/users/${id}`);
      expect(now.body).toMatchObject({ firstName: `Ada${round}`, lastName: `King${round}`, name: `Ada${round} King${round}` });
    }
  });

  it('two PATCHes that give two users one username: one wins, the other is 409, never both (beta: separate usernames)', async () => {
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.all([api.post('/realms/beta/users', { username: `x-${round}` }), api.post('/realms/beta/users', { username: `y-${round}` })]);
      const wanted = `taken-${round}`;
      const answers = await Promise.all([x, y].map((u) => api.patch(`/realms/beta/users/${u.body.user.id}`, { username: wanted })));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      const holders = await api.get(`/realms/beta/users?q=${wanted}`);
      expect(holders.body.data.map((u: { username: string }) => u.username)).toEqual([wanted]);
      const loser = answers.find((r) => r.status === 409)!;
      expect(loser.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('10 concurrent POSTs of one membership: one 201, nine 409 membership_exists, one membership and one event', async () => {
    const userId = (await api.post('/realms/alpha/users', { email: 'joiner@example.com' })).body.user.id as string;
    for (const orgId of [(await api.post('/realms/alpha/orgs', { name: 'Racing org' })).body.id as string, null]) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post('/realms/alpha/memberships', { userId, orgId, permissions: [`p${i}`] })));
      expect(answers.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
      for (const r of answers.filter((a) => a.status === 409)) expect(r.body.code).toBe('membership_exists');
      const listed = await api.get(`/realms/alpha/memberships?userId=${userId}&orgId=${orgId ?? 'none'}`);
      expect(listed.body.data.map((m: { id: string }) => m.id)).toEqual([answers.find((a) => a.status === 201)!.body.id]);
    }
    const events = (await api.get(`/realms/alpha/events?userId=${userId}&type=membership.created`)).body.data;
    expect(events).toHaveLength(2);
  });

  it('10 concurrent POSTs of one group member: one 200, nine 409 group_member_exists, one member and one event', async () => {
    const userId = (await api.post('/realms/alpha/users', { email: 'grouper@example.com' })).body.user.id as string;
    const groupId = (await api.post('/realms/alpha/groups', { name: 'Racing group' })).body.id as string;
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.post(`/realms/alpha/groups/${groupId}/members`, { userIds: [userId] })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(409)]);
    for (const r of answers.filter((a) => a.status === 409)) expect(r.body.code).toBe('group_member_exists');
    expect(answers.find((a) => a.status === 200)!.body).toEqual({ added: [userId], already: [], missing: [] });
    expect((await api.get(`/realms/alpha/groups/${groupId}/members`)).body.data.map((m: { userId: string }) => m.userId)).toEqual([userId]);
    expect((await api.get(`/realms/alpha/events?userId=${userId}&type=group.member.added`)).body.data).toHaveLength(1);
  });

  it('an API key regenerated during authenticate-key calls: the old key fails from the moment the new one is returned (ASVS 2.3.3)', async () => {
    const made = await api.post('/realms/alpha/users', { userType: 'api', name: 'Rotating robot' });
    const id = made.body.user.id as string;
    let current = made.body.apiKey as string;
    const retired: string[] = [];
    let stop = false;
    const lateSuccesses: string[] = [];
    // A storm of checks with every key seen so far, running through all the rotations.
    const storm = (async () => {
      let checks = 0;
      while (!stop) {
        const keys = [current, ...retired.slice(-2)];
        const retiredBefore = new Set(retired);
        const answers = await Promise.all(keys.map((k) => api.post('/realms/alpha/users/authenticate-key', { apiKey: k })));
        answers.forEach((r, i) => {
          expect([200, 401]).toContain(r.status);
          // A key already replaced before this check was sent must not open.
          if (retiredBefore.has(keys[i]!) && r.status === 200) lateSuccesses.push(keys[i]!);
        });
        checks += keys.length;
      }
      return checks;
    })();
    for (let round = 0; round < 15; round++) {
      const next = await api.post(`/realms/alpha/users/${id}/api-key`);
      expect(next.status).toBe(200);
      retired.push(current);
      current = next.body.apiKey as string;
      const [old, fresh] = await Promise.all([api.post('/realms/alpha/users/authenticate-key', { apiKey: retired.at(-1) }), api.post('/realms/alpha/users/authenticate-key', { apiKey: current })]);
      expect(old.status).toBe(401);
      expect(fresh.status).toBe(200);
      expect(fresh.body.id).toBe(id);
    }
    stop = true;
    expect(await storm).toBeGreaterThan(15);
    expect(lateSuccesses).toEqual([]);
    expect(new Set([...retired, current]).size).toBe(16);
  });

  it.each([0, 40, 90])('bulk delete %i ms into logins of the same users: every user gone whole, no session of theirs left working (ASVS 7.4.2, 2.3.3)', async (delay) => {
    const emails = Array.from({ length: 8 }, (_, i) => `racer${delay}-${i}@example.com`);
    const ids: string[] = [];
    for (const email of emails) ids.push((await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified' })).body.user.id);
    const browsers = emails.map(() => browser(gh));
    // Each browser holds its sign-in form (and CSRF token) first; the posts and the delete then start together.
    const tokens = await Promise.all(browsers.map(async (b) => csrfOf((await b.get('/login')).text)));
    const logins = emails.map(async (email, i) => (await browsers[i]!.post('/login', { _csrf: tokens[i]!, identifier: email, password: GOOD_PASSWORD })).status);
    const deletion = (async () => {
      await new Promise((r) => setTimeout(r, delay));
      return api.post('/realms/alpha/users/bulk-delete', { ids });
    })();
    const [statuses, deleted] = await Promise.all([Promise.all(logins), deletion]);
    expect(deleted.status).toBe(200);
    expect(deleted.body.deleted).toHaveLength(ids.length);
    for (const s of statuses) expect([303, 401]).toContain(s);

    // Whatever order things happened in: no user left, no session of theirs alive, every browser signed out.
    expect((await api.get(`/realms/alpha/users/count?q=racer${delay}-`)).body.count).toBe(0);
    for (const id of ids) {
      expect(await gh.store.findUserById('alpha', id)).toBeNull();
      expect((await gh.store.listLoginSessions('alpha', id)).filter((s) => !s.endedAt)).toEqual([]);
    }
    for (const b of browsers) {
      const account = await b.get('/account');
      expect(account.status).toBe(303);
      expect(account.headers.location).toMatch(/^\/login/);
    }
    // Deleted users sign in no more.
    expect((await browser(gh).submit('/login', { identifier: emails[0]!, password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('deactivation during a user’s logins: no session of theirs is left live (ASVS 7.4.2)', async () => {
    const email = 'deactivated-racer@example.com';
    const id = (await api.post('/realms/alpha/users', { email, password: GOOD_PASSWORD, emailVerification: 'verified' })).body.user.id as string;
    const browsers = Array.from({ length: 4 }, () => browser(gh));
    const tokens = await Promise.all(browsers.map(async (b) => csrfOf((await b.get('/login')).text)));
    const logins = browsers.map(async (b, i) => (await b.post('/login', { _csrf: tokens[i]!, identifier: email, password: GOOD_PASSWORD })).status);
    const off = (async () => {
      await new Promise((r) => setTimeout(r, 40));
      return api.patch(`/realms/alpha/users/${id}`, { state: 'inactive' });
    })();
    const [statuses, patched] = await Promise.all([Promise.all(logins), off]);
    expect(patched.status).toBe(200);
    for (const s of statuses) expect([303, 401]).toContain(s);
    expect((await gh.store.listLoginSessions('alpha', id)).filter((s) => !s.endedAt)).toEqual([]);
    for (const b of browsers) expect((await b.get('/account')).status).toBe(303);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdentitiesPort } from '../../src/ports/identities.ts';
import type { UserRecordsPort } from '../../src/ports/user-records.ts';
import type { UsersPort } from '../../src/ports/users.ts';
import { T0, at, newUser, uniqueViolationOf, type Opened } from './store-fixtures.ts';

/**
 * The contract of the user records port (src/ports/user-records.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function userRecordsContract(name: string, open: () => Promise<Opened<UserRecordsPort & IdentitiesPort & UsersPort>>): void {
  describe(`User records contract: ${name}`, () => {
    let store: Opened<UserRecordsPort & IdentitiesPort & UsersPort>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('export and import (listUsers, putUser)', () => {
      it('pages a realm\'s users in id order with their hash and identities, and counts them', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) ids.push((await store.createUser(newUser({ username: `u${i}`, email: `u${i}@example.com` }), at(i))).id);
        await store.createUser(newUser({ realmId: 'beta', username: 'other', email: 'other@example.com' }), T0);
        await store.linkExternalIdentity({ realmId: 'alpha', provider: 'github', subject: '9', userId: ids[2]!, displayName: 'nine', email: null, createdAt: at(9) });
        const sorted = [...ids].sort();
        const first = await store.listUsers('alpha', null, 3);
        const rest = await store.listUsers('alpha', first.at(-1)!.user.id, 3);
        expect([...first, ...rest].map((r) => r.user.id)).toEqual(sorted);
        expect(await store.listUsers('alpha', sorted.at(-1)!, 3)).toEqual([]);
        const withIdentity = [...first, ...rest].find((r) => r.user.id === ids[2])!;
        expect(withIdentity.identities.map((i) => i.subject)).toEqual(['9']);
        expect(withIdentity.passwordHash).toBe(newUser().passwordHash);
        expect(await store.countUsers('alpha')).toBe(5);
        expect(await store.countUsers('beta')).toBe(1);
      });

      it('writes a user with its own id and every field, and writing it again updates it in place', async () => {
        const source = await store.createUser(newUser(), T0);
        const record = {
          user: { ...source, id: 'imported-1', phone: '+14155550100', phoneVerified: true, nickname: 'Al', reference: 'crm-7', state: 'inactive' as const, loginsCount: 4, lastLoginAt: at(50), lastLoginIp: '203.0.113.9', customAttributes: { plan: 'pro', tags: ['a', 'b'] }, updatedAt: at(60) },
          passwordHash: '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
          identities: [{ realmId: 'alpha', provider: 'google', subject: 'g-1', userId: 'imported-1', displayName: null, email: 'al@example.com', createdAt: at(5) }],
        };
        // Another username and address: the first user keeps its own.
        record.user.username = 'Imported';
        record.user.email = 'imported@example.com';
        expect(await store.putUser(record, true)).toBe('created');
        const [read] = await store.listUsers('alpha', 'imported-0', 1);
        expect(read).toEqual(record);
        expect(await store.putUser(record, true)).toBe('updated');
        expect(await store.countUsers('alpha')).toBe(2);
        const changed = { ...record, identities: [], user: { ...record.user, firstName: 'Changed' } };
        expect(await store.putUser(changed, true)).toBe('updated');
        expect((await store.findUserById('alpha', 'imported-1'))?.firstName).toBe('Changed');
        expect(await store.findExternalIdentity('alpha', 'google', 'g-1')).toBeNull();
      });

      it('refuses a record whose username, email or id belongs to another user, writing nothing', async () => {
        const existing = await store.createUser(newUser(), T0);
        const base = { ...existing, id: 'imported-2', username: 'fresh', email: 'fresh@example.com' };
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, username: 'ALICE' }, passwordHash: null, identities: [] }, true))).field).toBe('username');
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, email: 'alice@example.COM' }, passwordHash: null, identities: [] }, true))).field).toBe('email');
        expect((await uniqueViolationOf(() => store.putUser({ user: { ...base, id: existing.id, realmId: 'beta' }, passwordHash: null, identities: [] }, true))).field).toBe('id');
        expect(await store.countUsers('alpha')).toBe(1);
        expect(await store.countUsers('beta')).toBe(0);
      });
    });
  });
}

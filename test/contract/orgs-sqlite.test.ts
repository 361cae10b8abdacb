import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UniqueViolation } from '../../src/store/port.ts';
import { SqliteDirectory } from '../../src/store/sqlite/directory.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { SqliteUsersAdmin } from '../../src/store/sqlite/users-admin.ts';
import { groupsContract } from './groups.contract.ts';
import { invitationsContract } from './invitations.contract.ts';
import { invitationLinksContract } from './invitation-links.contract.ts';
import { membershipsContract } from './memberships.contract.ts';
import { created, orgsContract } from './orgs.contract.ts';
import { at, newEvent, newUser, T0 } from './store-fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-orgs-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => path.join(dir, `orgs-${++files}`, 'gatehouse.sqlite');

function rig(file: string) {
  const store = new SqliteStore(file);
  return { store, admin: new SqliteUsersAdmin(store.db, store.events), directory: new SqliteDirectory(store.db), close: () => store.close() };
}

orgsContract('SQLite file', async () => rig(freshFile()));
membershipsContract('SQLite file', async () => rig(freshFile()));
groupsContract('SQLite file', async () => rig(freshFile()));
invitationsContract('SQLite file', async () => rig(freshFile()));
invitationLinksContract('SQLite file', async () => rig(freshFile()));

describe('SQLite: orgs, memberships and groups written with their events in one transaction', () => {
  /** A store whose every append to the events table fails, as a full disk or a crash mid-write would. */
  function failingLog(): SqliteStore {
    const store = new SqliteStore(':memory:');
    store.db.exec("CREATE TEMP TRIGGER events_fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'boom'); END");
    return store;
  }
  const ev = () => [newEvent(null, 'user.updated')];
  const count = (store: SqliteStore, table: 'orgs' | 'memberships' | 'groups' | 'group_members') => Number(store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());

  it('leaves nothing of a write whose event cannot be written', async () => {
    const store = failingLog();
    try {
      await expect(store.orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0, ev())).rejects.toThrow('boom');
      expect(count(store, 'orgs')).toBe(0);
      const acme = await store.orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      const alice = await store.createUser(newUser(), T0);
      await expect(store.orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id }, T0, ev())).rejects.toThrow('boom');
      await expect(store.orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: null }, T0, ev())).rejects.toThrow('boom');
      expect(count(store, 'memberships')).toBe(0);
      const m = created(await store.orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id, permissions: ['a'] }, T0));
      await expect(store.orgs.patchOrg('alpha', acme.id, { name: 'Other', state: 'closed' }, at(1), ev())).rejects.toThrow('boom');
      expect(await store.orgs.findOrg('alpha', acme.id)).toEqual(acme);
      await expect(store.orgs.patchMembership('alpha', m.id, { permissions: ['b'] }, at(1), ev())).rejects.toThrow('boom');
      await expect(store.orgs.deleteMembership('alpha', m.id, ev())).rejects.toThrow('boom');
      expect(await store.orgs.findMembership('alpha', m.id)).toEqual(m);
      await expect(store.orgs.deleteOrg('alpha', acme.id, ev())).rejects.toThrow('boom');
      expect(await store.orgs.findOrg('alpha', acme.id)).toEqual(acme);
      expect(await store.orgs.findMembership('alpha', m.id)).toEqual(m);
      // A user delete with its events fails whole: the memberships stay with the user.
      await expect(new SqliteUsersAdmin(store.db, store.events).deleteUsers('alpha', [alice.id], ev())).rejects.toThrow('boom');
      expect(await store.orgs.findMembership('alpha', m.id)).toEqual(m);
    } finally {
      await store.close();
    }
  });

  it('leaves nothing of a group write whose event cannot be written', async () => {
    const store = failingLog();
    try {
      await expect(store.orgs.createGroup({ realmId: 'alpha', name: 'Ops' }, T0, ev())).rejects.toThrow('boom');
      expect(count(store, 'groups')).toBe(0);
      const ops = await store.orgs.createGroup({ realmId: 'alpha', name: 'Ops', permissions: ['a'] }, T0);
      const alice = await store.createUser(newUser(), T0);
      await expect(store.orgs.addGroupMembers('alpha', ops.id, [alice.id], T0, ev())).rejects.toThrow('boom');
      expect(count(store, 'group_members')).toBe(0);
      await store.orgs.addGroupMembers('alpha', ops.id, [alice.id], T0);
      await expect(store.orgs.patchGroup('alpha', ops.id, { name: 'Other', permissions: ['b'] }, at(1), ev())).rejects.toThrow('boom');
      expect(await store.orgs.findGroup('alpha', ops.id)).toEqual(ops);
      await expect(store.orgs.removeGroupMember('alpha', ops.id, alice.id, ev())).rejects.toThrow('boom');
      await expect(store.orgs.deleteGroup('alpha', ops.id, ev())).rejects.toThrow('boom');
      expect(await store.orgs.findGroup('alpha', ops.id)).toEqual(ops);
      expect(count(store, 'group_members')).toBe(1);
      // A user delete with its events fails whole: the group memberships stay with the user.
      await expect(new SqliteUsersAdmin(store.db, store.events).deleteUsers('alpha', [alice.id], ev())).rejects.toThrow('boom');
      expect(count(store, 'group_members')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('adds a user to a group exactly once when two instances on one file race', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const alice = await a.createUser(newUser(), T0);
      const ops = await a.orgs.createGroup({ realmId: 'alpha', name: 'Ops' }, T0);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).orgs.addGroupMembers('alpha', ops.id, [alice.id], at(i))));
      expect(results.filter((r) => r!.added.length === 1)).toHaveLength(1);
      expect(results.filter((r) => r!.already.length === 1)).toHaveLength(9);
      expect(count(b, 'group_members')).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('creates exactly one membership of one (user, org) when two instances on one file race', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const alice = await a.createUser(newUser(), T0);
      const acme = await a.orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).orgs.createMembership({ realmId: 'alpha', userId: alice.id, orgId: acme.id }, at(i))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as UniqueViolation).field).toBe('membership');
      expect(count(b, 'memberships')).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('accepts an invitation exactly once when two instances on one file race', async () => {
    const file = freshFile();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const alice = await a.createUser(newUser(), T0);
      const acme = await a.orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      await a.invitations.createInvitation({ realmId: 'alpha', orgId: acme.id, email: alice.email!, createdBy: { type: 'system', id: null }, expiresAt: at(9999), tokenHash: 'h' }, T0);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).invitations.acceptInvitation('alpha', 'h', alice.id, at(i + 1), 20)));
      expect(results.filter((r) => 'membership' in r)).toHaveLength(1);
      expect(count(b, 'memberships')).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('leaves nothing of an accept whose event cannot be written', async () => {
    const store = failingLog();
    try {
      const alice = await store.createUser(newUser(), T0);
      const acme = await store.orgs.createOrg({ realmId: 'alpha', name: 'Acme' }, T0);
      await store.invitations.createInvitation({ realmId: 'alpha', orgId: acme.id, email: alice.email!, createdBy: { type: 'system', id: null }, expiresAt: at(9999), tokenHash: 'h' }, T0);
      await expect(store.invitations.acceptInvitation('alpha', 'h', alice.id, at(1), 20, ev())).rejects.toThrow('boom');
      expect(count(store, 'memberships')).toBe(0);
      expect((await store.invitations.findInvitationByToken('alpha', 'h', at(2)))?.status).toBe('pending');
    } finally {
      await store.close();
    }
  });

  it('reads the hand-off’s memberships newest first from the memberships_user index', () => {
    const store = new SqliteStore(':memory:');
    try {
      const plan = store.db
        .prepare(`EXPLAIN QUERY PLAN SELECT m.id FROM memberships m JOIN orgs o ON o.realm_id = m.realm_id AND o.id = m.org_id
          WHERE m.realm_id = 'alpha' AND m.user_id = 'u' AND o.state = 'active' AND m.org_id IS NOT NULL ORDER BY m.created_at DESC, m.id DESC LIMIT 51`)
        .all() as Array<{ detail: string }>;
      const details = plan.map((p) => p.detail).join('\n');
      expect(details).toMatch(/memberships_user\b/);
      expect(details).not.toMatch(/TEMP B-TREE/);
    } finally {
      void store.close();
    }
  });
});

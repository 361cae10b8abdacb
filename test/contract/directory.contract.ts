import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appSchema, realmSchema, type RealmConfig } from '../../src/config/schema.ts';
import { NO_REQUEST } from '../../src/domain/events.ts';
import { DirectoryClash, type Directory, type RealmSettings } from '../../src/ports/directory.ts';
import type { Store } from '../../src/store/port.ts';

export interface DirectoryRig {
  directory: Directory;
  /** The store on the same database: users of a realm make its deletion need `force`. */
  store: Store;
  close(): Promise<void>;
}

/** A realm as the schema makes it (every default filled in). */
export function realm(id: string, more: Record<string, unknown> = {}): RealmConfig {
  return realmSchema.parse({ id, name: id.toUpperCase(), publicUrl: `https://${id}.example`, ...more });
}

export const settingsOf = ({ apps: _apps, ...settings }: RealmConfig): RealmSettings => settings;

export const app = (clientId: string, more: Record<string, unknown> = {}) =>
  appSchema.parse({ clientId, name: clientId, redirectUris: [`https://${clientId}.example/cb`], ...more });

/** Runs `fn` expecting a DirectoryClash and returns it. */
async function clashOf(fn: () => Promise<unknown>): Promise<DirectoryClash> {
  const err = await fn().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DirectoryClash);
  return err as DirectoryClash;
}

/**
 * The directory port's contract (src/ports/directory.ts): every store adapter runs this suite.
 * `makeRig` returns a fresh, empty, migrated store and its directory each time.
 */
export function directoryContract(name: string, makeRig: () => Promise<DirectoryRig>): void {
  describe(`Directory contract: ${name}`, () => {
    let rig: DirectoryRig;
    let dir: Directory;
    beforeEach(async () => {
      rig = await makeRig();
      dir = rig.directory;
    });
    afterEach(async () => {
      await rig.close();
    });

    const T0 = new Date('2025-03-01T12:00:00.000Z');
    const T1 = new Date('2025-03-02T12:00:00.000Z');

    describe('provisioning from the file', () => {
      it('stores the file realms and apps as source "file", settings without apps, no secret hash', async () => {
        const alpha = realm('alpha', { apps: [app('app1')], hosts: ['login.alpha.example'] });
        const result = await dir.provision([alpha, realm('beta')], T0);
        expect(result).toEqual({ retired: [], changed: true });
        const snap = await dir.snapshot();
        expect(snap.realms.map((r) => [r.id, r.source, r.retired])).toEqual([
          ['alpha', 'file', false],
          ['beta', 'file', false],
        ]);
        expect(snap.realms[0]!.settings).toEqual(settingsOf(alpha));
        expect(snap.realms[0]!.createdAt).toEqual(T0);
        expect(snap.apps).toEqual([
          { realmId: 'alpha', clientId: 'app1', settings: app('app1'), secretHash: null, source: 'file', createdAt: T0, updatedAt: T0 },
        ]);
      });

      it('moves the version only when something changed', async () => {
        const before = await dir.version();
        await dir.provision([realm('alpha', { apps: [app('app1')] })], T0);
        const after = await dir.version();
        expect(after).toBeGreaterThan(before);
        expect(await dir.provision([realm('alpha', { apps: [app('app1')] })], T1)).toEqual({ retired: [], changed: false });
        expect(await dir.version()).toBe(after);
        await dir.provision([realm('alpha', { name: 'Renamed', apps: [app('app1')] })], T1);
        expect(await dir.version()).toBeGreaterThan(after);
        expect((await dir.getRealm('alpha'))!.settings.name).toBe('Renamed');
        expect((await dir.getRealm('alpha'))!.updatedAt).toEqual(T1);
      });

      it('retires a file realm the file no longer declares, keeps its users, and brings it back when declared again', async () => {
        await dir.provision([realm('alpha'), realm('gone')], T0);
        await rig.store.createUser(
          { realmId: 'gone', userType: 'human', username: 'kept', email: null, emailUnique: true, emailVerification: 'none', firstName: null, lastName: null, locale: 'en', passwordHash: null },
          T0,
        );
        expect(await dir.provision([realm('alpha')], T1)).toEqual({ retired: ['gone'], changed: true });
        expect(await dir.getRealm('gone')).toMatchObject({ source: 'file', retired: true });
        expect(await rig.store.countUsers('gone')).toBe(1);
        // Its id stays reserved, its host is free.
        expect((await clashOf(() => dir.createRealm(settingsOf(realm('gone', { publicUrl: 'https://other.example' })), T1))).kind).toBe('realm');
        await dir.createRealm(settingsOf(realm('taker', { hosts: ['gone.example'] })), T1);
        await dir.deleteRealm('taker');
        await dir.provision([realm('alpha'), realm('gone')], T1);
        expect(await dir.getRealm('gone')).toMatchObject({ retired: false });
      });

      it('refuses a realm id the API holds, and writes nothing', async () => {
        await dir.createRealm(settingsOf(realm('mine')), T0);
        const version = await dir.version();
        const clash = await clashOf(() => dir.provision([realm('alpha'), realm('mine')], T1));
        expect(clash).toMatchObject({ kind: 'realm', value: 'mine', owner: { realmId: 'mine', source: 'api' } });
        expect(await dir.getRealm('alpha')).toBeNull();
        expect(await dir.version()).toBe(version);
      });

      it('refuses a host an API realm serves', async () => {
        await dir.createRealm(settingsOf(realm('mine', { hosts: ['shared.example'] })), T0);
        const clash = await clashOf(() => dir.provision([realm('alpha', { hosts: ['shared.example'] })], T1));
        expect(clash).toMatchObject({ kind: 'host', value: 'shared.example', owner: { realmId: 'mine' } });
      });

      it('lets a host move from one file realm to another in one edit', async () => {
        await dir.provision([realm('alpha', { hosts: ['moving.example'] }), realm('beta')], T0);
        await dir.provision([realm('alpha'), realm('beta', { hosts: ['moving.example'] })], T1);
        expect((await dir.getRealm('beta'))!.settings.hosts).toEqual(['moving.example']);
      });

      it('deletes file apps the file drops and keeps the API apps of a file realm; refuses a clientId an API app holds', async () => {
        await dir.provision([realm('alpha', { apps: [app('one'), app('two')] })], T0);
        await dir.createApp({ realmId: 'alpha', settings: app('api-app'), secretHash: 'a'.repeat(64) }, T0);
        await dir.provision([realm('alpha', { apps: [app('one')] })], T1);
        expect((await dir.snapshot()).apps.map((a) => [a.clientId, a.source])).toEqual([
          ['api-app', 'api'],
          ['one', 'file'],
        ]);
        const clash = await clashOf(() => dir.provision([realm('alpha', { apps: [app('one'), app('api-app')] })], T1));
        expect(clash).toMatchObject({ kind: 'app', value: 'api-app', owner: { realmId: 'alpha', source: 'api' } });
      });
    });

    describe('realms of the API', () => {
      it('creates a realm with source "api" and moves the version', async () => {
        const before = await dir.version();
        const created = await dir.createRealm(settingsOf(realm('mine')), T0);
        expect(created).toEqual({ id: 'mine', settings: settingsOf(realm('mine')), source: 'api', retired: false, createdAt: T0, updatedAt: T0 });
        expect(await dir.version()).toBeGreaterThan(before);
        expect(await dir.getRealm('mine')).toEqual(created);
        expect(await dir.getRealm('nobody')).toBeNull();
      });

      it('refuses a taken id and a host another realm serves (also its publicUrl host)', async () => {
        await dir.provision([realm('alpha', { hosts: ['login.alpha.example'] })], T0);
        expect((await clashOf(() => dir.createRealm(settingsOf(realm('alpha')), T1))).kind).toBe('realm');
        const byHost = await clashOf(() => dir.createRealm(settingsOf(realm('mine', { hosts: ['login.alpha.example'] })), T1));
        expect(byHost).toMatchObject({ kind: 'host', value: 'login.alpha.example', owner: { realmId: 'alpha', source: 'file' } });
        const byUrl = await clashOf(() => dir.createRealm(settingsOf(realm('mine', { publicUrl: 'https://alpha.example' })), T1));
        expect(byUrl).toMatchObject({ kind: 'host', value: 'alpha.example' });
        expect(await dir.getRealm('mine')).toBeNull();
      });

      it('replaces the settings and the hosts on update', async () => {
        await dir.createRealm(settingsOf(realm('mine', { hosts: ['old.example'] })), T0);
        const updated = await dir.updateRealm('mine', settingsOf(realm('mine', { name: 'New', hosts: ['new.example'] })), T1);
        expect(updated).toMatchObject({ settings: { name: 'New', hosts: ['new.example'] }, createdAt: T0, updatedAt: T1 });
        // The old host is free again.
        await dir.createRealm(settingsOf(realm('other', { hosts: ['old.example'] })), T1);
        expect((await clashOf(() => dir.updateRealm('other', settingsOf(realm('other', { hosts: ['new.example'] })), T1))).kind).toBe('host');
        expect(await dir.updateRealm('nobody', settingsOf(realm('nobody')), T1)).toBeNull();
      });

      it('refuses to delete a realm with users unless forced, then deletes all its data', async () => {
        await dir.createRealm(settingsOf(realm('mine')), T0);
        await dir.createRealm(settingsOf(realm('other')), T0);
        await dir.createApp({ realmId: 'mine', settings: app('app1'), secretHash: 'b'.repeat(64) }, T0);
        const newUser = (realmId: string) => ({
          realmId, userType: 'human' as const, username: 'alice', email: 'alice@example.com', emailUnique: true,
          emailVerification: 'none' as const, firstName: null, lastName: null, locale: 'en', passwordHash: null,
        });
        const alice = await rig.store.createUser(newUser('mine'), T0);
        await rig.store.createUser(newUser('other'), T0);
        await rig.store.createLoginSession({ id: 'sid-of-alice-1', realmId: 'mine', userId: alice.id, createdAt: T0, lastSeenAt: T0, ip: null, userAgent: null, amr: ['pwd'], aal: 1, endedAt: null, act: null, selectedOrgId: null });
        await rig.store.setRealmState('mine', 'fields.emails', 'duplicates');
        const signedUp = (realmId: string, userId: string) =>
          rig.store.events.append({ realmId, type: 'user.created', userId, actor: { type: 'system', id: null }, request: NO_REQUEST, at: T0, data: { method: 'pwd' } });
        await signedUp('mine', alice.id);
        await signedUp('other', 'someone');

        expect(await dir.deleteRealm('mine')).toBe('has_users');
        expect(await dir.getRealm('mine')).not.toBeNull();
        const before = await dir.version();
        expect(await dir.deleteRealm('mine', { force: true })).toBe('deleted');
        expect(await dir.version()).toBeGreaterThan(before);
        expect(await dir.getRealm('mine')).toBeNull();
        expect(await dir.getApp('mine', 'app1')).toBeNull();
        expect(await rig.store.countUsers('mine')).toBe(0);
        expect(await rig.store.findLoginSession('mine', 'sid-of-alice-1')).toBeNull();
        expect(await rig.store.getRealmState('mine', 'fields.emails')).toBeNull();
        // Its events go, and with them their counts per day (the dashboard's).
        expect((await rig.store.events.query({ realmId: 'mine', limit: 10 })).data).toEqual([]);
        expect(await rig.store.events.dailyCounts('mine', ['user.created'], T0)).toEqual([]);
        // Another realm's data is untouched.
        expect(await rig.store.countUsers('other')).toBe(1);
        expect(await rig.store.events.dailyCounts('other', ['user.created'], T0)).toEqual([{ day: T0.toISOString().slice(0, 10), type: 'user.created', n: 1 }]);
        expect(await dir.deleteRealm('mine')).toBe('not_found');
      });

      it('deletes an empty realm without force', async () => {
        await dir.createRealm(settingsOf(realm('mine')), T0);
        expect(await dir.deleteRealm('mine')).toBe('deleted');
      });
    });

    describe('apps of the API', () => {
      beforeEach(async () => {
        await dir.createRealm(settingsOf(realm('mine')), T0);
      });

      it('creates an app with its secret hash and refuses a taken clientId or a missing realm', async () => {
        const created = await dir.createApp({ realmId: 'mine', settings: app('app1'), secretHash: 'c'.repeat(64) }, T0);
        expect(created).toEqual({ realmId: 'mine', clientId: 'app1', settings: app('app1'), secretHash: 'c'.repeat(64), source: 'api', createdAt: T0, updatedAt: T0 });
        expect(await dir.getApp('mine', 'app1')).toEqual(created);
        expect((await clashOf(() => dir.createApp({ realmId: 'mine', settings: app('app1'), secretHash: 'd'.repeat(64) }, T1))).kind).toBe('app');
        expect((await clashOf(() => dir.createApp({ realmId: 'nobody', settings: app('app1'), secretHash: 'd'.repeat(64) }, T1))).kind).toBe('realm');
        // The same clientId in another realm is another app.
        await dir.createRealm(settingsOf(realm('other')), T0);
        await dir.createApp({ realmId: 'other', settings: app('app1'), secretHash: 'e'.repeat(64) }, T0);
      });

      it('updates the settings, keeps the secret hash unless a new one is given, and deletes', async () => {
        await dir.createApp({ realmId: 'mine', settings: app('app1'), secretHash: 'c'.repeat(64) }, T0);
        const v0 = await dir.version();
        const renamed = await dir.updateApp('mine', 'app1', { settings: app('app1', { name: 'Renamed' }) }, T1);
        expect(renamed).toMatchObject({ settings: { name: 'Renamed' }, secretHash: 'c'.repeat(64), createdAt: T0, updatedAt: T1 });
        expect(await dir.version()).toBeGreaterThan(v0);
        expect((await dir.updateApp('mine', 'app1', { settings: app('app1'), secretHash: 'f'.repeat(64) }, T1))!.secretHash).toBe('f'.repeat(64));
        expect(await dir.updateApp('mine', 'nobody', { settings: app('nobody') }, T1)).toBeNull();
        expect(await dir.deleteApp('mine', 'app1')).toBe(true);
        expect(await dir.deleteApp('mine', 'app1')).toBe(false);
        expect(await dir.getApp('mine', 'app1')).toBeNull();
      });
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialsPort } from '../../src/ports/credentials.ts';
import { T0, at, eventTypes, newEvent, type Opened, type WithEvents } from './store-fixtures.ts';

/**
 * The contract of the credentials port (src/ports/credentials.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function credentialsContract(name: string, open: () => Promise<Opened<CredentialsPort & WithEvents>>): void {
  describe(`Credentials contract: ${name}`, () => {
    let store: Opened<CredentialsPort & WithEvents>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('TOTP and recovery codes', () => {
      it('enrols, confirms and then refuses to replace a confirmed authenticator', async () => {
        expect(await store.getTotp('alpha', 'u1')).toBeNull();
        expect(await store.beginTotp('alpha', 'u1', 'enc-1', T0)).toBe(true);
        expect(await store.beginTotp('alpha', 'u1', 'enc-2', at(1))).toBe(true);
        expect(await store.getTotp('alpha', 'u1')).toMatchObject({ secret: 'enc-2', confirmedAt: null, lastStep: 0 });
        expect(await store.confirmTotp('alpha', 'u1', 100, at(2))).toBe(true);
        expect(await store.confirmTotp('alpha', 'u1', 101, at(3))).toBe(false);
        expect(await store.beginTotp('alpha', 'u1', 'enc-3', at(4))).toBe(false);
        expect(await store.getTotp('alpha', 'u1')).toMatchObject({ secret: 'enc-2', confirmedAt: at(2), lastStep: 100 });
        expect(await store.getTotp('beta', 'u1')).toBeNull();
      });

      it('accepts each time step once and never an older one, also when racing', async () => {
        await store.beginTotp('alpha', 'u1', 'enc', T0);
        expect(await store.useTotpStep('alpha', 'u1', 5)).toBe(false); // not confirmed yet
        await store.confirmTotp('alpha', 'u1', 10, T0);
        expect(await store.useTotpStep('alpha', 'u1', 10)).toBe(false);
        const race = await Promise.all(Array.from({ length: 10 }, () => store.useTotpStep('alpha', 'u1', 11)));
        expect(race.filter(Boolean)).toHaveLength(1);
        expect(await store.useTotpStep('alpha', 'u1', 9)).toBe(false);
        expect(await store.useTotpStep('alpha', 'u1', 12)).toBe(true);
      });

      it('spends each recovery code once, replaces them all, and removes them with the authenticator', async () => {
        await store.beginTotp('alpha', 'u1', 'enc', T0);
        await store.confirmTotp('alpha', 'u1', 1, T0);
        await store.replaceRecoveryCodes('alpha', 'u1', ['h1', 'h2', 'h3'], T0);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(3);
        const race = await Promise.all(Array.from({ length: 5 }, () => store.useRecoveryCode('alpha', 'u1', 'h1', at(1))));
        expect(race.filter(Boolean)).toHaveLength(1);
        expect(await store.useRecoveryCode('alpha', 'u2', 'h2', at(1))).toBe(false);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(2);
        await store.replaceRecoveryCodes('alpha', 'u1', ['h4'], at(2));
        expect(await store.useRecoveryCode('alpha', 'u1', 'h2', at(3))).toBe(false);
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(1);
        expect(await store.deleteTotp('alpha', 'u1')).toBe(true);
        expect(await store.deleteTotp('alpha', 'u1')).toBe(false);
        expect(await store.getTotp('alpha', 'u1')).toBeNull();
        expect(await store.countRecoveryCodes('alpha', 'u1')).toBe(0);
      });
    });

    describe('events with the change', () => {
      it('appends the events of an enrolment, new recovery codes and a removal with each, none when nothing changed', async () => {
        await store.beginTotp('alpha', 'u1', 'enc', T0);
        const when = (type: 'user.mfa.enrolled' | 'user.mfa.removed') => (changed: boolean) => (changed ? [newEvent('u1', type)] : []);
        expect(await store.confirmTotp('alpha', 'u1', 1, at(1), when('user.mfa.enrolled'))).toBe(true);
        expect(await store.confirmTotp('alpha', 'u1', 2, at(2), when('user.mfa.enrolled'))).toBe(false);
        await store.replaceRecoveryCodes('alpha', 'u1', ['h1', 'h2'], at(3), [newEvent('u1', 'user.mfa.recovery_codes_regenerated')]);
        expect(await store.deleteTotp('alpha', 'u1', when('user.mfa.removed'))).toBe(true);
        expect(await store.deleteTotp('alpha', 'u1', when('user.mfa.removed'))).toBe(false);
        expect(await eventTypes(store, 'alpha', 'u1')).toEqual(['user.mfa.enrolled', 'user.mfa.recovery_codes_regenerated', 'user.mfa.removed']);
      });
    });
  });
}

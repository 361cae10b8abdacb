import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OneTimeTokensPort } from '../../src/ports/one-time-tokens.ts';
import { T0, at, eventTypes, newEvent, type Opened, type WithEvents } from './store-fixtures.ts';

/**
 * The contract of the one-time tokens port (src/ports/one-time-tokens.ts): every Store adapter runs it (store.contract.ts).
 * `open` returns a fresh, empty, migrated store each time.
 */
export function oneTimeTokensContract(name: string, open: () => Promise<Opened<OneTimeTokensPort & WithEvents>>): void {
  describe(`One-time tokens contract: ${name}`, () => {
    let store: Opened<OneTimeTokensPort & WithEvents>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('one-time tokens', () => {
      const token = (overrides: Partial<{ realmId: string; purpose: string; tokenHash: string; userId: string; expiresAt: Date; createdAt: Date }> = {}) => ({
        realmId: 'alpha',
        purpose: 'reset-password',
        tokenHash: randomBytes(32).toString('base64url'),
        userId: 'user-1',
        expiresAt: at(900),
        createdAt: T0,
        ...overrides,
      });

      it('returns the token once when consumed, then null (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        const consumed = await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(consumed).toMatchObject({ realmId: 'alpha', purpose: 'reset-password', tokenHash: t.tokenHash, userId: 'user-1' });
        expect(consumed?.expiresAt.getTime()).toBe(t.expiresAt.getTime());
        expect(consumed?.createdAt.getTime()).toBe(T0.getTime());
        expect(consumed?.consumedAt?.getTime()).toBe(at(60).getTime());
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).toBeNull();
      });

      it('lets exactly one of 20 concurrent consumes have the token (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60))));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('returns null for an expired token, also at the exact expiry (ASVS 6.5.5)', async () => {
        const t = token({ expiresAt: at(600) });
        await store.createOneTimeToken(t);
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(600))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(601))).toBeNull();
      });

      it('returns null for the wrong purpose, realm or hash, and the token stays usable', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect(await store.consumeOneTimeToken('alpha', 'verify-email', t.tokenHash, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('beta', 'reset-password', t.tokenHash, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', `${t.tokenHash}x`, at(60))).toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60))).not.toBeNull();
      });

      it('keeps the data a token was created with, and starts with no wrong attempts', async () => {
        const t = { ...token(), data: { ret: { clientId: 'app1', redirectUri: 'https://app.example.com/cb?x=1&y=2' }, email: 'a@example.com' } };
        await store.createOneTimeToken(t);
        const consumed = await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(consumed?.data).toEqual(t.data);
        expect(consumed?.attempts).toBe(0);
      });

      it('has null data when created without any', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect((await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60)))?.data).toBeNull();
        const u = { ...token(), data: null };
        await store.createOneTimeToken(u);
        expect((await store.findOneTimeToken('alpha', 'reset-password', u.tokenHash, at(60)))?.data).toBeNull();
      });

      it('finds a live token without consuming it', async () => {
        const t = { ...token(), data: { step: 2 } };
        await store.createOneTimeToken(t);
        const found = await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(found).toMatchObject({ realmId: 'alpha', purpose: 'reset-password', tokenHash: t.tokenHash, userId: 'user-1', consumedAt: null, attempts: 0, data: { step: 2 } });
        expect(found?.expiresAt.getTime()).toBe(t.expiresAt.getTime());
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).not.toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(62))).not.toBeNull();
      });

      it('finds no consumed token (ASVS 6.5.1)', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        await store.consumeOneTimeToken('alpha', 'reset-password', t.tokenHash, at(60));
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(61))).toBeNull();
      });

      it('finds no expired token, also at the exact expiry (ASVS 6.5.5)', async () => {
        const t = token({ expiresAt: at(600) });
        await store.createOneTimeToken(t);
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(599))).not.toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(600))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', t.tokenHash, at(601))).toBeNull();
      });

      it('finds no token under the wrong purpose, realm or hash', async () => {
        const t = token();
        await store.createOneTimeToken(t);
        expect(await store.findOneTimeToken('alpha', 'verify-email', t.tokenHash, at(60))).toBeNull();
        expect(await store.findOneTimeToken('beta', 'reset-password', t.tokenHash, at(60))).toBeNull();
        expect(await store.findOneTimeToken('alpha', 'reset-password', `${t.tokenHash}x`, at(60))).toBeNull();
      });

      describe('short codes', () => {
        const PURPOSE = 'verify-email-code';
        const code = (codeHash: string, overrides: Partial<{ realmId: string; userId: string; expiresAt: Date; createdAt: Date; data: Record<string, unknown> | null }> = {}) =>
          token({ purpose: PURPOSE, tokenHash: codeHash, ...overrides });
        const check = (codeHash: string, when = at(60), maxAttempts = 5, userId = 'user-1', realmId = 'alpha') =>
          store.checkOneTimeCode(realmId, PURPOSE, userId, codeHash, when, maxAttempts);

        it('accepts the right code once, consuming it, with its data (ASVS 6.5.1)', async () => {
          await store.createOneTimeToken({ ...code('right'), data: { email: 'a@example.com' } });
          const first = await check('right');
          expect(first.result).toBe('ok');
          if (first.result !== 'ok') return;
          expect(first.token).toMatchObject({ realmId: 'alpha', purpose: PURPOSE, userId: 'user-1', data: { email: 'a@example.com' } });
          expect(first.token.consumedAt?.getTime()).toBe(at(60).getTime());
          expect(await check('right', at(61))).toEqual({ result: 'none' });
          expect(await store.findOneTimeToken('alpha', PURPOSE, 'right', at(61))).toBeNull();
        });

        it('spends one try on a wrong code, and the right code still works after', async () => {
          await store.createOneTimeToken(code('right'));
          expect(await check('wrong')).toEqual({ result: 'wrong' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(60)))?.attempts).toBe(1);
          expect(await check('wrong-again')).toEqual({ result: 'wrong' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(60)))?.attempts).toBe(2);
          const ok = await check('right');
          expect(ok.result).toBe('ok');
          if (ok.result === 'ok') expect(ok.token.attempts).toBe(2);
        });

        it('refuses even the right code once maxAttempts wrong guesses are spent (ASVS 6.3.1)', async () => {
          await store.createOneTimeToken(code('right'));
          expect(await check('guess-1', at(60), 3)).toEqual({ result: 'wrong' });
          expect(await check('guess-2', at(61), 3)).toEqual({ result: 'wrong' });
          // The last try spent: no tries left.
          expect(await check('guess-3', at(62), 3)).toEqual({ result: 'exhausted' });
          expect(await check('right', at(63), 3)).toEqual({ result: 'exhausted' });
          expect(await check('guess-4', at(64), 3)).toEqual({ result: 'exhausted' });
          expect((await store.findOneTimeToken('alpha', PURPOSE, 'right', at(65)))?.attempts).toBe(3);
        });

        it('spends exactly maxAttempts tries under 20 concurrent wrong guesses (ASVS 6.3.1)', async () => {
          await store.createOneTimeToken(code('right'));
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => check(`guess-${i}`, at(60), 5)));
          expect(results.filter((r) => r.result === 'wrong')).toHaveLength(4);
          expect(results.filter((r) => r.result === 'exhausted')).toHaveLength(16);
          expect(await check('right', at(61), 5)).toEqual({ result: 'exhausted' });
        });

        it("answers 'none' when the user has no live code", async () => {
          expect(await check('right')).toEqual({ result: 'none' });
          await store.createOneTimeToken(code('expiring', { expiresAt: at(60) }));
          expect(await check('expiring', at(60))).toEqual({ result: 'none' }); // at the exact expiry (ASVS 6.5.5)
          await store.createOneTimeToken(code('other-user', { userId: 'user-2' }));
          expect(await check('other-user')).toEqual({ result: 'none' });
          await store.createOneTimeToken(code('other-realm', { realmId: 'beta' }));
          expect(await check('other-realm')).toEqual({ result: 'none' });
          await store.createOneTimeToken(token({ purpose: 'reset-password-code', tokenHash: 'other-purpose' }));
          expect(await check('other-purpose')).toEqual({ result: 'none' });
        });

        it("does not spend another user's tries", async () => {
          await store.createOneTimeToken(code('mine'));
          await store.createOneTimeToken(code('theirs', { userId: 'user-2' }));
          for (let i = 0; i < 5; i++) await check(`guess-${i}`, at(60), 5, 'user-2');
          expect((await check('mine', at(61), 5)).result).toBe('ok');
        });

        it("checks against the user's newest live code only", async () => {
          await store.createOneTimeToken(code('older', { createdAt: T0 }));
          await store.createOneTimeToken(code('newer', { createdAt: at(1) }));
          expect(await check('older', at(60))).toEqual({ result: 'wrong' });
          expect((await check('newer', at(61))).result).toBe('ok');
        });

        it('lets exactly one of 20 concurrent checks of the right code succeed (ASVS 6.5.1)', async () => {
          await store.createOneTimeToken(code('right'));
          const results = await Promise.all(Array.from({ length: 20 }, () => check('right')));
          expect(results.filter((r) => r.result === 'ok')).toHaveLength(1);
          expect(results.filter((r) => r.result === 'none')).toHaveLength(19);
        });
      });

      describe('revoking', () => {
        it('ends the live tokens of the listed purposes of that user, returning how many', async () => {
          const link = token({ purpose: 'reset-password' });
          const linkCode = token({ purpose: 'reset-password-code' });
          const verify = token({ purpose: 'verify-email' });
          const otherUser = token({ purpose: 'reset-password', userId: 'user-2' });
          const otherRealm = token({ purpose: 'reset-password', realmId: 'beta' });
          for (const t of [link, linkCode, verify, otherUser, otherRealm]) await store.createOneTimeToken(t);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password', 'reset-password-code'], at(60))).toBe(2);
          expect(await store.findOneTimeToken('alpha', 'reset-password', link.tokenHash, at(61))).toBeNull();
          expect(await store.findOneTimeToken('alpha', 'reset-password-code', linkCode.tokenHash, at(61))).toBeNull();
          expect(await store.consumeOneTimeToken('alpha', 'reset-password', link.tokenHash, at(61))).toBeNull();
          expect(await store.findOneTimeToken('alpha', 'verify-email', verify.tokenHash, at(61))).not.toBeNull();
          expect(await store.findOneTimeToken('alpha', 'reset-password', otherUser.tokenHash, at(61))).not.toBeNull();
          expect(await store.findOneTimeToken('beta', 'reset-password', otherRealm.tokenHash, at(61))).not.toBeNull();
        });

        it('counts only tokens still live: consumed and expired ones are not revoked again', async () => {
          const used = token();
          const expired = token({ expiresAt: at(30) });
          const live = token();
          for (const t of [used, expired, live]) await store.createOneTimeToken(t);
          await store.consumeOneTimeToken('alpha', 'reset-password', used.tokenHash, at(10));
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password'], at(60))).toBe(1);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', ['reset-password'], at(61))).toBe(0);
          expect(await store.revokeOneTimeTokens('alpha', 'user-1', [], at(62))).toBe(0);
        });

        it('leaves a revoked code unusable', async () => {
          await store.createOneTimeToken(token({ purpose: 'verify-email-code', tokenHash: 'right' }));
          await store.revokeOneTimeTokens('alpha', 'user-1', ['verify-email-code'], at(60));
          expect(await store.checkOneTimeCode('alpha', 'verify-email-code', 'user-1', 'right', at(61), 5)).toEqual({ result: 'none' });
        });
      });
    });

    describe('events with the change', () => {
      it('appends the event of a token made or consumed with it, none when nothing was consumed', async () => {
        const t = { realmId: 'alpha', purpose: 'reset-password', tokenHash: 'ev-hash', userId: 'u1', expiresAt: at(900), createdAt: T0 };
        await store.createOneTimeToken(t, [newEvent('u1', 'user.password_token.created')]);
        const consumed = (token: unknown) => (token ? [newEvent('u1', 'user.password_token.consumed')] : []);
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', 'ev-hash', at(1), consumed)).not.toBeNull();
        expect(await store.consumeOneTimeToken('alpha', 'reset-password', 'ev-hash', at(2), consumed)).toBeNull();
        expect(await eventTypes(store, 'alpha', 'u1')).toEqual(['user.password_token.created', 'user.password_token.consumed']);
      });
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OneTimeSecrets } from '../../src/identity/one-time.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';

const T0 = new Date('2025-03-01T12:00:00.000Z');
const KEY = 'test-server-side-key';
const TTL = { linkMs: 24 * 3600_000, codeMs: 10 * 60_000 };

type TokenRow = { realm_id: string; purpose: string; token_hash: string; user_id: string; consumed_at: number | null; expires_at: number; attempts: number; data: string | null };

describe('OneTimeSecrets', () => {
  let store: SqliteStore;
  let now: Date;
  let secrets: OneTimeSecrets;
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const rows = () => store.db.prepare('SELECT * FROM one_time_tokens ORDER BY purpose').all() as TokenRow[];

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    now = T0;
    secrets = new OneTimeSecrets(store, KEY, () => now);
  });
  afterEach(async () => {
    await store.close();
  });

  describe('issue', () => {
    it('hands out a token of 32 random bytes in base64url (43 characters) and a 6-digit code (ASVS 6.5.3, 6.5.4)', async () => {
      const tokens = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const { token, code } = await secrets.issue('alpha', `user-${i}`, 'verify-email', TTL, null);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(token, 'base64url')).toHaveLength(32);
        expect(code).toMatch(/^\d{6}$/);
        tokens.add(token);
      }
      expect(tokens.size).toBe(20);
    });

    it('stores neither the token nor the code, only keyed hashes of them (ASVS 6.5.2)', async () => {
      const { token, code } = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, { ret: null });
      const stored = rows();
      expect(stored.map((r) => r.purpose)).toEqual(['reset-password', 'reset-password-code']);
      const dump = JSON.stringify(store.db.prepare('SELECT * FROM one_time_tokens').all());
      expect(dump).not.toContain(token);
      for (const r of stored) {
        expect(r.token_hash).not.toBe(token);
        expect(r.token_hash).not.toBe(code);
        expect(r.token_hash).not.toContain(code);
        expect(r.token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/); // an HMAC-SHA256, base64url
      }
      // A different server key gives different hashes: the table alone does not test guesses.
      const other = new OneTimeSecrets(store, 'another-key', () => now);
      expect(await other.peek('alpha', 'reset-password', token)).toBeNull();
      expect(await secrets.peek('alpha', 'reset-password', token)).not.toBeNull();
    });

    it('stores the link and code with their own lifetimes and the flow data', async () => {
      await secrets.issue('alpha', 'user-1', 'verify-email', TTL, { email: 'a@example.com' });
      const [link, code] = rows();
      expect(link).toMatchObject({ realm_id: 'alpha', purpose: 'verify-email', user_id: 'user-1', consumed_at: null, expires_at: T0.getTime() + TTL.linkMs });
      expect(code).toMatchObject({ purpose: 'verify-email-code', expires_at: T0.getTime() + TTL.codeMs });
      expect(JSON.parse(link!.data!)).toEqual({ email: 'a@example.com' });
      expect(JSON.parse(code!.data!)).toEqual({ email: 'a@example.com' });
    });

    it('revokes the previous link and code of the same purpose when issuing a new pair', async () => {
      const first = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      advance(1000);
      const second = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      expect(await secrets.peek('alpha', 'reset-password', first.token)).toBeNull();
      expect(await secrets.consume('alpha', 'reset-password', first.token)).toBeNull();
      if (first.code !== second.code) expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', first.code, 5)).toEqual({ result: 'wrong' });
      expect((await secrets.checkCode('alpha', 'reset-password', 'user-1', second.code, 5)).result).toBe('ok');
      expect(await secrets.consume('alpha', 'reset-password', second.token)).not.toBeNull();
    });

    it("leaves other purposes' and other users' secrets alone when issuing", async () => {
      const verify = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      const otherUser = await secrets.issue('alpha', 'user-2', 'reset-password', TTL, null);
      await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      expect(await secrets.peek('alpha', 'verify-email', verify.token)).not.toBeNull();
      expect(await secrets.peek('alpha', 'reset-password', otherUser.token)).not.toBeNull();
    });
  });

  describe('links', () => {
    it('consumes a token once (ASVS 6.5.1)', async () => {
      const { token } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, { email: 'a@example.com' });
      const consumed = await secrets.consume('alpha', 'verify-email', token);
      expect(consumed).toMatchObject({ userId: 'user-1', purpose: 'verify-email', data: { email: 'a@example.com' } });
      expect(await secrets.consume('alpha', 'verify-email', token)).toBeNull();
      expect(await secrets.peek('alpha', 'verify-email', token)).toBeNull();
    });

    it('peeks without consuming', async () => {
      const { token } = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, { ret: { clientId: 'app1' } });
      expect((await secrets.peek('alpha', 'reset-password', token))?.data).toEqual({ ret: { clientId: 'app1' } });
      expect(await secrets.peek('alpha', 'reset-password', token)).not.toBeNull();
      expect(rows().every((r) => r.consumed_at === null)).toBe(true);
      expect(await secrets.consume('alpha', 'reset-password', token)).not.toBeNull();
    });

    it('does not accept a token for another purpose or realm, or a token that was never issued', async () => {
      const { token } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      expect(await secrets.consume('alpha', 'reset-password', token)).toBeNull();
      expect(await secrets.consume('beta', 'verify-email', token)).toBeNull();
      expect(await secrets.consume('alpha', 'verify-email', `${token.startsWith('A') ? 'B' : 'A'}${token.slice(1)}`)).toBeNull();
      expect(await secrets.consume('alpha', 'verify-email', token)).not.toBeNull();
    });

    it('expires the link by the clock (ASVS 6.5.5)', async () => {
      const { token } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      advance(TTL.linkMs - 1);
      expect(await secrets.peek('alpha', 'verify-email', token)).not.toBeNull();
      advance(1);
      expect(await secrets.peek('alpha', 'verify-email', token)).toBeNull();
      expect(await secrets.consume('alpha', 'verify-email', token)).toBeNull();
    });

    it('revoke ends the link and the code of that purpose', async () => {
      const { token, code } = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      await secrets.revoke('alpha', 'user-1', 'reset-password');
      expect(await secrets.consume('alpha', 'reset-password', token)).toBeNull();
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', code, 5)).toEqual({ result: 'none' });
    });
  });

  describe('issueLink', () => {
    it('adds a link token next to the live pair, without ending it', async () => {
      const pair = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      const extra = await secrets.issueLink('alpha', 'user-1', 'reset-password', 60_000, { grant: true });
      expect(extra).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(extra).not.toBe(pair.token);
      expect(JSON.stringify(store.db.prepare('SELECT * FROM one_time_tokens').all())).not.toContain(extra);
      expect(await secrets.peek('alpha', 'reset-password', pair.token)).not.toBeNull();
      expect((await secrets.consume('alpha', 'reset-password', extra))?.data).toEqual({ grant: true });
      expect(await secrets.consume('alpha', 'reset-password', extra)).toBeNull();
    });

    it('ends with its own lifetime, or when the purpose is revoked or reissued', async () => {
      const short = await secrets.issueLink('alpha', 'user-1', 'reset-password', 60_000, null);
      const revoked = await secrets.issueLink('alpha', 'user-1', 'reset-password', TTL.linkMs, null);
      advance(60_000);
      expect(await secrets.peek('alpha', 'reset-password', short)).toBeNull();
      expect(await secrets.peek('alpha', 'reset-password', revoked)).not.toBeNull();
      await secrets.revoke('alpha', 'user-1', 'reset-password');
      expect(await secrets.peek('alpha', 'reset-password', revoked)).toBeNull();
      const reissued = await secrets.issueLink('alpha', 'user-1', 'reset-password', TTL.linkMs, null);
      await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      expect(await secrets.peek('alpha', 'reset-password', reissued)).toBeNull();
    });
  });

  describe('codes', () => {
    const wrongCodeFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    it('accepts the right code once (ASVS 6.5.1)', async () => {
      const { code } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, { email: 'a@example.com' });
      const check = await secrets.checkCode('alpha', 'verify-email', 'user-1', code, 5);
      expect(check.result).toBe('ok');
      if (check.result === 'ok') expect(check.token).toMatchObject({ userId: 'user-1', data: { email: 'a@example.com' } });
      expect(await secrets.checkCode('alpha', 'verify-email', 'user-1', code, 5)).toEqual({ result: 'none' });
    });

    it("does not accept the code for another user or purpose", async () => {
      const { code } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      // user-2 has a live code of their own, a different one.
      while ((await secrets.issue('alpha', 'user-2', 'verify-email', TTL, null)).code === code);
      expect(await secrets.checkCode('alpha', 'verify-email', 'user-2', code, 5)).toEqual({ result: 'wrong' });
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', code, 5)).toEqual({ result: 'none' });
      expect((await secrets.checkCode('alpha', 'verify-email', 'user-1', code, 5)).result).toBe('ok');
    });

    it('spends a try on a wrong code and refuses the right one after maxAttempts (ASVS 6.3.1)', async () => {
      const { code } = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      const wrong = wrongCodeFor(code);
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', wrong, 3)).toEqual({ result: 'wrong' });
      expect(rows().find((r) => r.purpose === 'reset-password-code')?.attempts).toBe(1);
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', wrong, 3)).toEqual({ result: 'wrong' });
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', wrong, 3)).toEqual({ result: 'exhausted' });
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', code, 3)).toEqual({ result: 'exhausted' });
    });

    it('accepts the right code after fewer wrong guesses than maxAttempts', async () => {
      const { code } = await secrets.issue('alpha', 'user-1', 'reset-password', TTL, null);
      expect(await secrets.checkCode('alpha', 'reset-password', 'user-1', wrongCodeFor(code), 3)).toEqual({ result: 'wrong' });
      expect((await secrets.checkCode('alpha', 'reset-password', 'user-1', code, 3)).result).toBe('ok');
    });

    it('expires the code by the clock, before the link (ASVS 6.5.5)', async () => {
      const { token, code } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      advance(TTL.codeMs);
      expect(await secrets.checkCode('alpha', 'verify-email', 'user-1', code, 5)).toEqual({ result: 'none' });
      expect(await secrets.peek('alpha', 'verify-email', token)).not.toBeNull();
    });

    it('accepts the code just before it expires', async () => {
      const { code } = await secrets.issue('alpha', 'user-1', 'verify-email', TTL, null);
      advance(TTL.codeMs - 1);
      expect((await secrets.checkCode('alpha', 'verify-email', 'user-1', code, 5)).result).toBe('ok');
    });
  });

  describe('issueCode (a code alone, bound to a value)', () => {
    it('matches only when checked for the value it was bound to; another value is a wrong guess (ASVS 6.6.2)', async () => {
      const code = await secrets.issueCode('alpha', 'user-1', 'bind-phone', 10 * 60_000, { phone: '+14155550100' }, '+14155550100');
      expect(code).toMatch(/^\d{6}$/);
      expect(await secrets.checkCode('alpha', 'bind-phone', 'user-1', code, 5, '+14155550101')).toEqual({ result: 'wrong' });
      expect(await secrets.checkCode('alpha', 'bind-phone', 'user-1', code, 5)).toEqual({ result: 'wrong' });
      const ok = await secrets.checkCode('alpha', 'bind-phone', 'user-1', code, 5, '+14155550100');
      expect(ok.result).toBe('ok');
      expect(ok.result === 'ok' && ok.token.data).toEqual({ phone: '+14155550100' });
    });

    it('stores no link, only the code, and ends the older code of the purpose', async () => {
      const first = await secrets.issueCode('alpha', 'user-1', 'bind-phone', 60_000, null, '+14155550100');
      const second = await secrets.issueCode('alpha', 'user-1', 'bind-phone', 60_000, null, '+14155550100');
      expect(rows().map((r) => r.purpose)).toEqual(['bind-phone-code', 'bind-phone-code']);
      expect(rows().filter((r) => r.consumed_at === null)).toHaveLength(1);
      if (first !== second) expect(await secrets.checkCode('alpha', 'bind-phone', 'user-1', first, 5, '+14155550100')).toEqual({ result: 'wrong' });
      expect((await secrets.checkCode('alpha', 'bind-phone', 'user-1', second, 5, '+14155550100')).result).toBe('ok');
    });
  });
});

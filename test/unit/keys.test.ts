import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyRing, type SigningAlgorithm } from '../../src/identity/keys.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';

const REALM = 'alpha';
const ISSUER = 'https://login.alpha.example';

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

/** A clock the test moves by hand. */
function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

async function verify(ring: KeyRing, token: string, graceSeconds = 600, currentDate?: Date) {
  return jwtVerify(token, createLocalJWKSet(await ring.jwks(REALM, graceSeconds)), { issuer: ISSUER, audience: 'app1', ...(currentDate ? { currentDate } : {}) });
}

describe('KeyRing', () => {
  it('creates and persists a key on first sign; another KeyRing on the same store signs with the same kid', async () => {
    expect(await store.listSigningKeys(REALM)).toEqual([]);
    const first = new KeyRing(store, () => new Date());
    const a = await first.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1', sub: 'u1' }, 600);
    const stored = await store.listSigningKeys(REALM);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.alg).toBe('ES256');

    const second = new KeyRing(store, () => new Date());
    const b = await second.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1', sub: 'u2' }, 600);
    expect(decodeProtectedHeader(b).kid).toBe(decodeProtectedHeader(a).kid);
    expect(decodeProtectedHeader(a).kid).toBe(stored[0]!.kid);
    expect(await store.listSigningKeys(REALM)).toHaveLength(1);
    // Tokens of one ring verify against the other's JWKS.
    await expect(verify(first, b)).resolves.toBeTruthy();
  });

  it('ensure() creates the key up front, and signing then reuses it', async () => {
    const ring = new KeyRing(store, () => new Date());
    await ring.ensure(REALM, 'ES256');
    const [key] = await store.listSigningKeys(REALM);
    const token = await ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 60);
    expect(decodeProtectedHeader(token).kid).toBe(key!.kid);
  });

  it('creates one key even when many signs race on a fresh ring', async () => {
    const ring = new KeyRing(store, () => new Date());
    const tokens = await Promise.all(Array.from({ length: 10 }, () => ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 60)));
    expect(new Set(tokens.map((t) => decodeProtectedHeader(t).kid)).size).toBe(1);
    expect(await store.listSigningKeys(REALM)).toHaveLength(1);
  });

  for (const alg of ['ES256', 'RS256', 'EdDSA'] as SigningAlgorithm[]) {
    it(`signs ${alg} tokens that verify against the realm's JWKS, with kid in the header (ASVS 9.1.1)`, async () => {
      const ring = new KeyRing(store, () => new Date());
      const token = await ring.sign(REALM, alg, { iss: ISSUER, aud: 'app1', sub: 'u1', rid: REALM }, 600);
      const header = decodeProtectedHeader(token);
      expect(header.alg).toBe(alg);
      expect(header.typ).toBe('JWT');
      expect(typeof header.kid).toBe('string');
      const { payload, protectedHeader } = await verify(ring, token);
      expect(protectedHeader.kid).toBe(header.kid);
      expect(payload.sub).toBe('u1');
      expect(payload.exp! - payload.iat!).toBe(600);
      const jwk = (await ring.jwks(REALM, 600)).keys.find((k) => k.kid === header.kid);
      expect(jwk).toMatchObject({ alg, use: 'sig' });
    });
  }

  it('rejects a tampered token (ASVS 9.1.1)', async () => {
    const ring = new KeyRing(store, () => new Date());
    const token = await ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1', sub: 'u1' }, 600);
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' })).toString('base64url');
    await expect(verify(ring, `${h}.${forged}.${s}`)).rejects.toThrow();
  });

  it('publishes only public key material (ASVS 9.1.3)', async () => {
    const ring = new KeyRing(store, () => new Date());
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as SigningAlgorithm[]) await ring.ensure(REALM, alg);
    const { keys } = await ring.jwks(REALM, 600);
    expect(keys).toHaveLength(3);
    for (const key of keys as JWK[]) {
      for (const privateParam of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key, `${key.alg}.${privateParam}`).not.toHaveProperty(privateParam);
    }
  });

  it("keeps realms apart: one realm's JWKS does not verify another realm's tokens (ASVS 9.1.3)", async () => {
    const ring = new KeyRing(store, () => new Date());
    const token = await ring.sign('beta', 'ES256', { iss: ISSUER, aud: 'app1' }, 600);
    await ring.ensure(REALM, 'ES256');
    await expect(verify(ring, token)).rejects.toThrow();
    expect((await ring.jwks('beta', 600)).keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(token).kid]);
  });

  it('rotate() signs with a new kid and keeps the old public key published within the grace period only', async () => {
    const clock = manualClock();
    const ring = new KeyRing(store, clock.now);
    const grace = 900;
    const oldToken = await ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 600);
    const oldKid = decodeProtectedHeader(oldToken).kid;

    clock.advance(10);
    await ring.rotate(REALM, 'ES256');
    const newToken = await ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 600);
    const newKid = decodeProtectedHeader(newToken).kid;
    expect(newKid).not.toBe(oldKid);

    // A ring started after the rotation also signs with the new key.
    const restarted = new KeyRing(store, clock.now);
    expect(decodeProtectedHeader(await restarted.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 600)).kid).toBe(newKid);

    // Within the grace period both keys are published and the old token still verifies.
    clock.advance(grace - 1);
    expect((await ring.jwks(REALM, grace)).keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    await expect(verify(ring, oldToken, grace, new Date(clock.now().getTime() - (grace - 1) * 1000))).resolves.toBeTruthy();

    // After it, only the new key is left; the old token no longer verifies.
    clock.advance(2);
    expect((await ring.jwks(REALM, grace)).keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(verify(ring, oldToken, grace, new Date(clock.now().getTime() - grace * 1000))).rejects.toThrow();
    await expect(verify(ring, newToken, grace, new Date(clock.now().getTime() - grace * 1000))).resolves.toBeTruthy();
  });

  // Instances share the store: one that rotates must not leave the others signing with a retired key.
  it('a second instance stops signing with a key another instance retired', async () => {
    const clock = manualClock();
    const a = new KeyRing(store, clock.now);
    const b = new KeyRing(store, clock.now);
    await a.ensure(REALM, 'ES256');
    await b.ensure(REALM, 'ES256');
    await a.rotate(REALM, 'ES256');
    clock.advance(3600);
    const token = await b.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 600);
    await expect(verify(a, token, 900, clock.now())).resolves.toBeTruthy();
  });

  it('stamps iat and exp from the injected clock', async () => {
    const clock = manualClock(Date.UTC(2030, 0, 1));
    const ring = new KeyRing(store, clock.now);
    const token = await ring.sign(REALM, 'ES256', { iss: ISSUER, aud: 'app1' }, 120);
    const { payload } = await verify(ring, token, 600, new Date(Date.UTC(2030, 0, 1, 0, 1)));
    expect(payload.iat).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect(payload.exp).toBe(Date.UTC(2030, 0, 1) / 1000 + 120);
    // …and jose refuses it once expired (ASVS 9.2.1).
    await expect(verify(ring, token, 600, new Date(Date.UTC(2030, 0, 1, 0, 3)))).rejects.toThrow(/exp/);
  });
});

import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { SigningKeyRecord, SigningKeysPort } from '../ports/signing-keys.ts';

const ENCODER = new TextEncoder();

/** How long a served JWKS document is reused before the store is read again. */
const JWKS_REFRESH_MS = 5_000;

export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

interface LoadedKey {
  record: SigningKeyRecord;
  privateKey: CryptoKey;
}

/**
 * Each realm's signing keys. Keys are made on first use and kept in the store,
 * so every instance signs with the same key and a restart changes nothing.
 * Rotation adds a newer key; older public keys stay in the JWKS until the
 * tokens they signed have expired.
 */
export class KeyRing {
  private readonly loaded = new Map<string, { key: Promise<LoadedKey>; loadedAt: number }>();
  private readonly documents = new Map<string, { document: Promise<{ json: string; etag: string }>; loadedAt: number }>();

  constructor(
    private readonly store: SigningKeysPort,
    private readonly clock: () => Date,
    /** How long a loaded key is trusted before the store is asked again (another instance may have rotated). */
    private readonly refreshMs = 60_000,
  ) {}

  /** The key new tokens of `realmId` are signed with, created when the realm has none for `alg`. */
  private current(realmId: string, alg: SigningAlgorithm): Promise<LoadedKey> {
    const cacheKey = `${realmId}\u0000${alg}`;
    const now = this.clock().getTime();
    let entry = this.loaded.get(cacheKey);
    if (!entry || now - entry.loadedAt > this.refreshMs) {
      const key = this.loadOrCreate(realmId, alg);
      key.catch(() => this.loaded.delete(cacheKey));
      entry = { key, loadedAt: now };
      this.loaded.set(cacheKey, entry);
    }
    return entry.key;
  }

  private async loadOrCreate(realmId: string, alg: SigningAlgorithm): Promise<LoadedKey> {
    const existing = (await this.store.listSigningKeys(realmId)).find((k) => k.alg === alg && !k.retiredAt);
    const record = existing ?? (await this.create(realmId, alg));
    const privateKey = (await importJWK(JSON.parse(record.privateJwk) as JWK, alg)) as CryptoKey;
    return { record, privateKey };
  }

  private async create(realmId: string, alg: SigningAlgorithm): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const record: SigningKeyRecord = {
      kid,
      realmId,
      alg,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
      privateJwk: JSON.stringify(await exportJWK(privateKey)),
      createdAt: this.clock(),
      retiredAt: null,
    };
    // Two instances starting together may both create a key; both are valid and published.
    await this.store.addSigningKey(record);
    return record;
  }

  /** Makes sure the realm has a key for `alg` (done at start so the first login is not slower). */
  async ensure(realmId: string, alg: SigningAlgorithm): Promise<void> {
    await this.current(realmId, alg);
  }

  async sign(realmId: string, alg: SigningAlgorithm, payload: JWTPayload, ttlSeconds: number): Promise<string> {
    const { record, privateKey } = await this.current(realmId, alg);
    const now = Math.floor(this.clock().getTime() / 1000);
    // The JWS layer directly: SignJWT would structuredClone the claims first, which for a token with 50 `orgs`
    // entries cost as much as the signature (bench "hand-off, 50 memberships"). Same bytes: claims, then iat, exp.
    const claims = JSON.stringify({ ...payload, iat: now, exp: now + ttlSeconds });
    return new CompactSign(ENCODER.encode(claims)).setProtectedHeader({ alg, kid: record.kid, typ: 'JWT' }).sign(privateKey);
  }

  /** Retires the current key for `alg` and makes a new one; the old public key stays published for `graceSeconds`. */
  async rotate(realmId: string, alg: SigningAlgorithm): Promise<void> {
    const { record } = await this.current(realmId, alg);
    await this.store.retireSigningKey(realmId, record.kid, this.clock());
    this.loaded.delete(`${realmId}\u0000${alg}`);
    this.documents.delete(realmId);
    await this.current(realmId, alg);
  }

  /** The realm's JWKS: every key that is current or retired less than `graceSeconds` ago. */
  async jwks(realmId: string, graceSeconds: number): Promise<{ keys: JWK[] }> {
    const cutoff = this.clock().getTime() - graceSeconds * 1000;
    const keys = (await this.store.listSigningKeys(realmId))
      .filter((k) => !k.retiredAt || k.retiredAt.getTime() > cutoff)
      .map((k) => JSON.parse(k.publicJwk) as JWK);
    return { keys };
  }

  /**
   * The JWKS as served: JSON and its ETag, read from the store at most every
   * JWKS_REFRESH_MS (a key rotated on another instance shows up within that),
   * and at once after a rotation on this one.
   */
  jwksDocument(realmId: string, graceSeconds: number): Promise<{ json: string; etag: string }> {
    const now = this.clock().getTime();
    const cached = this.documents.get(realmId);
    if (cached && now - cached.loadedAt < JWKS_REFRESH_MS) return cached.document;
    const document = this.jwks(realmId, graceSeconds).then((jwks) => {
      const json = JSON.stringify(jwks);
      return { json, etag: `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"` };
    });
    document.catch(() => this.documents.delete(realmId));
    this.documents.set(realmId, { document, loadedAt: now });
    return document;
  }
}

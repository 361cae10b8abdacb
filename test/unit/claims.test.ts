import { describe, expect, it } from 'vitest';
import { buildClaims, type ClaimsContext } from '../../src/identity/claims.ts';
import type { User } from '../../src/identity/user.ts';

const CTX: ClaimsContext = {
  issuer: 'https://login.example.com',
  audience: 'app1',
  realmId: 'alpha',
  sessionId: 'sid-123',
  jwtId: 'jti-456',
  amr: ['pwd'],
};

const AT = new Date('2025-01-02T03:04:05Z');

function user(overrides: Partial<User> = {}): User {
  return {
    id: 'user-1',
    realmId: 'alpha',
    userType: 'human',
    username: 'alice',
    email: null,
    emailVerification: 'none',
    phone: null,
    phoneVerified: false,
    firstName: null,
    lastName: null,
    name: null,
    nickname: null,
    photo: null,
    locale: null,
    state: 'active',
    reference: null,
    customAttributes: {},
    loginsCount: 0,
    lastLoginAt: null,
    lastLoginIp: null,
    createdAt: AT,
    updatedAt: AT,
    ...overrides,
  };
}

const FULL = user({
  email: 'Alice@Example.com',
  emailVerification: 'verified',
  phone: '+14155550123',
  phoneVerified: true,
  firstName: 'Alice',
  lastName: 'Liddell',
  reference: 'crm-42',
  customAttributes: { plan: 'pro', seats: 5, beta: true, tags: ['a', 'b'] },
});

describe('buildClaims', () => {
  it('leaves out empty strings as well as nulls', () => {
    const claims = buildClaims(user({ firstName: '', lastName: '', reference: '', phone: '' }), CTX);
    for (const key of ['given_name', 'family_name', 'ref', 'phone_number', 'phone_number_verified']) expect(claims).not.toHaveProperty(key);
  });

  it('carries every claim for a full user', () => {
    expect(buildClaims(FULL, CTX)).toEqual({
      iss: 'https://login.example.com',
      aud: 'app1',
      sub: 'user-1',
      rid: 'alpha',
      sid: 'sid-123',
      jti: 'jti-456',
      amr: ['pwd'],
      preferred_username: 'alice',
      name: 'Alice Liddell',
      given_name: 'Alice',
      family_name: 'Liddell',
      email: 'Alice@Example.com',
      email_verified: true,
      phone_number: '+14155550123',
      phone_number_verified: true,
      ref: 'crm-42',
      cs: { plan: 'pro', seats: 5, beta: true, tags: ['a', 'b'] },
    });
  });

  it('carries the nickname and the photo as OIDC nickname and picture, only when set', () => {
    const claims = buildClaims(user({ nickname: 'Ally', photo: 'https://cdn.example.com/alice.png' }), CTX);
    expect(claims).toMatchObject({ nickname: 'Ally', picture: 'https://cdn.example.com/alice.png' });
    const bare = buildClaims(user({ nickname: '', photo: null }), CTX);
    expect('nickname' in bare).toBe(false);
    expect('picture' in bare).toBe(false);
  });

  it('writes a Chinese, Japanese or Korean name family name first without a space', () => {
    expect(buildClaims(user({ firstName: '晓明', lastName: '李' }), CTX)).toMatchObject({ name: '李晓明', given_name: '晓明', family_name: '李' });
    expect(buildClaims(user({ firstName: 'ゆき', lastName: '佐藤' }), CTX).name).toBe('佐藤ゆき');
    expect(buildClaims(user({ firstName: '민준', lastName: '김' }), CTX).name).toBe('김민준');
    // Mixed scripts keep the Western order.
    expect(buildClaims(user({ firstName: 'Ming', lastName: '李' }), CTX).name).toBe('Ming 李');
  });

  it('restricts the token to the app it is issued for (ASVS 9.2.4)', () => {
    const a = buildClaims(FULL, CTX);
    const b = buildClaims(FULL, { ...CTX, audience: 'app2' });
    expect(a.aud).toBe('app1');
    expect(b.aud).toBe('app2');
    expect(a.iss).toBe(CTX.issuer);
  });

  it('omits empty fields instead of sending null or undefined', () => {
    const claims = buildClaims(user(), CTX);
    expect(Object.keys(claims).sort()).toEqual(['amr', 'aud', 'iss', 'jti', 'name', 'preferred_username', 'rid', 'sid', 'sub'].sort());
    for (const [key, value] of Object.entries(claims)) {
      expect(value, key).not.toBeNull();
      expect(value, key).not.toBeUndefined();
    }
  });

  it('never emits null or undefined values for any mix of present and absent fields', () => {
    const variants: Array<Partial<User>> = [
      { email: 'a@example.com' },
      { phone: '+14155550123' },
      { firstName: 'Alice' },
      { lastName: 'Liddell' },
      { reference: 'r' },
      { userType: 'api' },
    ];
    for (const v of variants) {
      const json = JSON.parse(JSON.stringify(buildClaims(user(v), CTX))) as Record<string, unknown>;
      expect(Object.values(json).includes(null), JSON.stringify(v)).toBe(false);
      expect(Object.keys(json)).toEqual(Object.keys(buildClaims(user(v), CTX)));
    }
  });

  it('sends email_verified as a boolean only with an email', () => {
    expect(buildClaims(user({ email: 'a@example.com', emailVerification: 'verified' }), CTX).email_verified).toBe(true);
    expect(buildClaims(user({ email: 'a@example.com', emailVerification: 'requested' }), CTX).email_verified).toBe(false);
    expect(buildClaims(user({ email: 'a@example.com', emailVerification: 'none' }), CTX).email_verified).toBe(false);
    expect('email_verified' in buildClaims(user({ emailVerification: 'verified' }), CTX)).toBe(false);
  });

  it('sends phone_number_verified as a boolean only with a phone number', () => {
    expect(buildClaims(user({ phone: '+14155550123', phoneVerified: false }), CTX).phone_number_verified).toBe(false);
    expect('phone_number_verified' in buildClaims(user({ phoneVerified: true }), CTX)).toBe(false);
  });

  it("derives name from first and last name, either alone, or falls back to the username", () => {
    expect(buildClaims(user({ firstName: 'Alice', lastName: 'Liddell' }), CTX).name).toBe('Alice Liddell');
    expect(buildClaims(user({ firstName: 'Alice' }), CTX).name).toBe('Alice');
    expect(buildClaims(user({ lastName: 'Liddell' }), CTX).name).toBe('Liddell');
    expect(buildClaims(user(), CTX).name).toBe('alice');
  });

  it('gives api users no derived name', () => {
    const claims = buildClaims(user({ userType: 'api', firstName: 'Bot' }), CTX);
    expect('name' in claims).toBe(false);
    expect(claims.preferred_username).toBe('alice');
  });

  it('includes cs only when the user has custom attributes, keeping key case', () => {
    expect('cs' in buildClaims(user(), CTX)).toBe(false);
    expect(buildClaims(user({ customAttributes: { Plan: 'pro', plan: 'free' } }), CTX).cs).toEqual({ Plan: 'pro', plan: 'free' });
  });

  it('leaves cs out when the realm’s tokens.fields has no `custom`', () => {
    const u = user({ customAttributes: { plan: 'pro' } });
    expect('cs' in buildClaims(u, { ...CTX, includeCustom: false })).toBe(false);
    expect(buildClaims(u, { ...CTX, includeCustom: true }).cs).toEqual({ plan: 'pro' });
  });

  it('merges the org claims after cs, keeping orgs: [] and sending no org key without them', () => {
    const u = user({ customAttributes: { plan: 'pro' } });
    const claims = buildClaims(u, { ...CTX, orgs: { perm: ['billing:*'], orgs: [{ oid: 'org_a', mid: 'mb_a', selected: true }], orgs_truncated: true } });
    expect(claims.perm).toEqual(['billing:*']);
    expect(claims.orgs).toEqual([{ oid: 'org_a', mid: 'mb_a', selected: true }]);
    expect(claims.orgs_truncated).toBe(true);
    const keys = Object.keys(claims);
    expect(keys.indexOf('perm')).toBe(keys.indexOf('cs') + 1);
    expect(buildClaims(u, { ...CTX, orgs: { orgs: [] } }).orgs).toEqual([]);
    for (const ctx of [CTX, { ...CTX, orgs: {} }]) for (const key of ['perm', 'orgs', 'orgs_truncated']) expect(buildClaims(u, ctx)).not.toHaveProperty(key);
  });

  it('carries the session and authentication methods it was issued for', () => {
    const claims = buildClaims(user(), { ...CTX, sessionId: 'other-sid', amr: ['pwd', 'otp'] });
    expect(claims.sid).toBe('other-sid');
    expect(claims.amr).toEqual(['pwd', 'otp']);
  });

  it('names the operator as act (RFC 8693 §4.1) only for an impersonated session, sub staying the user', () => {
    const act = { sub: 'operator-7', iss: 'https://console.example.com' };
    const claims = buildClaims(FULL, { ...CTX, act, amr: ['pwd', 'otp'] });
    expect(claims.act).toEqual(act);
    expect(claims.sub).toBe('user-1');
    expect(claims.iss).toBe(CTX.issuer);
    expect('act' in buildClaims(FULL, CTX)).toBe(false);
    expect('act' in buildClaims(FULL, { ...CTX, act: undefined })).toBe(false);
  });

  it('leaves iat and exp to the signer', () => {
    const claims = buildClaims(FULL, CTX);
    expect('iat' in claims).toBe(false);
    expect('exp' in claims).toBe(false);
  });
});

/**
 * The org claims in the JWT (issue 14, docs/design/orgs.md §4.1, §4.4): through the real hosted login, for each
 * `tokens.fields` setting — what `perm` (groups' permissions too), `orgs` and `orgs_truncated` carry, that
 * expired memberships and closed orgs never appear, the `tokens.maxOrgs` cap, and a default realm's token unchanged (and read without orgs).
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { browser, formPostOf, GOOD_PASSWORD, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';

const APP = 'https://app.example.com/cb';
const ROOMY = { loginPerIp: { points: 100_000, durationSeconds: 60 }, signupPerIp: { points: 100_000, durationSeconds: 60 } };
const ATTRIBUTES = [{ key: 'plan', type: 'string', labels: { en: 'Plan' } }];

function realm(id: string, tokens?: Record<string, unknown>) {
  return {
    id,
    name: id,
    publicUrl: `http://${id}.test`,
    rateLimits: ROOMY,
    account: { attributes: ATTRIBUTES },
    apps: [{ clientId: 'app1', name: 'App', redirectUris: [APP] }],
    ...(tokens ? { tokens } : {}),
  };
}

const CONFIG = {
  defaultRealm: 'alpha',
  realms: [
    realm('alpha'),
    realm('tnone', { fields: [] }),
    realm('tcustom', { fields: ['custom'] }),
    realm('tmem', { fields: ['memberships'] }),
    realm('torgs', { fields: ['orgs'] }),
    realm('tboth', { fields: ['custom', 'orgs'] }),
  ],
};

/** The default realm's token before org claims existed, for a user with names, an email and custom attributes. */
const DEFAULT_KEYS = ['amr', 'aud', 'cs', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'iat', 'iss', 'jti', 'name', 'preferred_username', 'rid', 'sid', 'sub'];

describe('org claims in the JWT', () => {
  let gh: TestGatehouse;
  /** The injected clock runs `offset` ahead of real time; it only ever moves forward. */
  let offset = 0;
  const realmOf = (id: string): RealmConfig => gh.realms.byIdOrNull(id)!;

  beforeAll(async () => {
    gh = await testGatehouse({ file: CONFIG, clock: () => new Date(Date.now() + offset) });
  });
  afterAll(async () => {
    await gh?.close();
  });

  async function user(realmId: string) {
    const email = uniqueEmail('oc');
    const made = await gh.management!.users.create(
      realmOf(realmId),
      { userType: 'human', email, password: GOOD_PASSWORD, firstName: 'Ann', lastName: 'Lee', custom: { plan: 'pro' } },
      CLI_CONTEXT,
    );
    return { id: made.user.id, email };
  }

  /** Signs the user in through the hosted login and returns the JWT's verified claims. */
  async function tokenOf(realmId: string, email: string): Promise<JWTPayload> {
    const host = `${realmId}.test`;
    const res = await browser(gh, host).submit(`/login?redirect_uri=${encodeURIComponent(APP)}&state=s`, { identifier: email, password: GOOD_PASSWORD });
    expect(res.status, res.text).toBe(200);
    const jwks = (await request(gh.app).get('/.well-known/jwks.json').set('Host', host).expect(200)).body as JSONWebKeySet;
    return (await jwtVerify(formPostOf(res.text).token, createLocalJWKSet(jwks), { issuer: `http://${host}`, audience: 'app1' })).payload;
  }

  /** Two orgs (one with a reference and custom attributes), the user in both, with user-only permissions. */
  async function withOrgs(realmId: string) {
    const r = realmOf(realmId);
    const u = await user(realmId);
    const acme = await gh.management!.orgs.create(r, { name: 'Acme', reference: 'crm-1', customAttributes: { tier: 'gold' } }, CLI_CONTEXT);
    const beta = await gh.management!.orgs.create(r, { name: 'Beta' }, CLI_CONTEXT);
    offset += 10;
    const ma = await gh.management!.memberships.create(r, { userId: u.id, orgId: acme.id, permissions: ['admin'] }, CLI_CONTEXT);
    offset += 10;
    const mb = await gh.management!.memberships.create(r, { userId: u.id, orgId: beta.id }, CLI_CONTEXT);
    await gh.management!.memberships.create(r, { userId: u.id, orgId: null, permissions: ['billing:*', 'reports:read'] }, CLI_CONTEXT);
    return { ...u, acme, beta, ma, mb };
  }

  it('[]: no cs, perm or orgs', async () => {
    const u = await withOrgs('tnone');
    const claims = await tokenOf('tnone', u.email);
    for (const key of ['cs', 'perm', 'orgs', 'orgs_truncated']) expect(claims).not.toHaveProperty(key);
    expect(claims.sub).toBe(u.id);
  });

  it("['custom']: the user's cs only", async () => {
    const u = await withOrgs('tcustom');
    const claims = await tokenOf('tcustom', u.email);
    expect(claims.cs).toEqual({ plan: 'pro' });
    for (const key of ['perm', 'orgs', 'orgs_truncated']) expect(claims).not.toHaveProperty(key);
  });

  it("['memberships']: perm and { oid, mid, perm } entries, newest first, no cs", async () => {
    const u = await withOrgs('tmem');
    const claims = await tokenOf('tmem', u.email);
    expect(claims).not.toHaveProperty('cs');
    expect(claims.perm).toEqual(['billing:*', 'reports:read']);
    expect(claims.orgs).toEqual([
      { oid: u.beta.id, mid: u.mb.id },
      { oid: u.acme.id, mid: u.ma.id, perm: ['admin'] },
    ]);
    expect(claims).not.toHaveProperty('orgs_truncated');
  });

  it("['orgs']: adds each org's name, ref and cs; no user cs", async () => {
    const u = await withOrgs('torgs');
    const claims = await tokenOf('torgs', u.email);
    expect(claims).not.toHaveProperty('cs');
    expect(claims.perm).toEqual(['billing:*', 'reports:read']);
    expect(claims.orgs).toEqual([
      { oid: u.beta.id, mid: u.mb.id, name: 'Beta' },
      { oid: u.acme.id, mid: u.ma.id, name: 'Acme', ref: 'crm-1', cs: { tier: 'gold' }, perm: ['admin'] },
    ]);
  });

  it("['custom','orgs']: the user's cs and the orgs; orgs: [] and no perm for a user without any", async () => {
    const u = await withOrgs('tboth');
    const claims = await tokenOf('tboth', u.email);
    expect(claims.cs).toEqual({ plan: 'pro' });
    expect(claims.perm).toEqual(['billing:*', 'reports:read']);
    expect((claims.orgs as unknown[]).length).toBe(2);

    const alone = await user('tboth');
    const bare = await tokenOf('tboth', alone.email);
    expect(bare.orgs).toEqual([]);
    expect(bare).not.toHaveProperty('perm');
    expect(bare).not.toHaveProperty('orgs_truncated');
  });

  it('leaves out an expired membership, a closed org and an expired user-only membership', async () => {
    const r = realmOf('torgs');
    const u = await user('torgs');
    const soon = new Date(Date.now() + offset + 60_000);
    const live = await gh.management!.orgs.create(r, { name: 'Live' }, CLI_CONTEXT);
    const lapsing = await gh.management!.orgs.create(r, { name: 'Lapsing' }, CLI_CONTEXT);
    const closing = await gh.management!.orgs.create(r, { name: 'Closing' }, CLI_CONTEXT);
    const m = await gh.management!.memberships.create(r, { userId: u.id, orgId: live.id }, CLI_CONTEXT);
    await gh.management!.memberships.create(r, { userId: u.id, orgId: lapsing.id, permissions: ['x'], expiresAt: soon }, CLI_CONTEXT);
    await gh.management!.memberships.create(r, { userId: u.id, orgId: closing.id, permissions: ['y'] }, CLI_CONTEXT);
    await gh.management!.memberships.create(r, { userId: u.id, orgId: null, permissions: ['z'], expiresAt: soon }, CLI_CONTEXT);

    expect(((await tokenOf('torgs', u.email)).orgs as unknown[]).length).toBe(3);
    await gh.management!.orgs.close(r, closing.id, CLI_CONTEXT);
    offset += 120_000;
    const claims = await tokenOf('torgs', u.email);
    expect(claims.orgs).toEqual([{ oid: live.id, mid: m.id, name: 'Live' }]);
    expect(claims).not.toHaveProperty('perm');
  });

  it('a group’s permissions join perm (after the user-only ones, each once), and leave it on the next sign-in after the user leaves the group', async () => {
    const r = realmOf('tmem');
    const u = await user('tmem');
    const readers = await gh.management!.groups.create(r, { name: 'Readers', permissions: ['reports:read'] }, CLI_CONTEXT);
    await gh.management!.groups.addMembers(r, readers.id, [u.id], CLI_CONTEXT);
    expect(await tokenOf('tmem', u.email)).toMatchObject({ perm: ['reports:read'], orgs: [] });
    await gh.management!.memberships.create(r, { userId: u.id, orgId: null, permissions: ['billing:*', 'reports:read'] }, CLI_CONTEXT);
    const ops = await gh.management!.groups.create(r, { name: 'Ops', permissions: ['deploy', 'billing:*'] }, CLI_CONTEXT);
    await gh.management!.groups.addMembers(r, ops.id, [u.id], CLI_CONTEXT);
    expect((await tokenOf('tmem', u.email)).perm).toEqual(['billing:*', 'reports:read', 'deploy']);
    await gh.management!.groups.removeMember(r, readers.id, u.id, CLI_CONTEXT);
    await gh.management!.groups.delete(r, ops.id, CLI_CONTEXT);
    await gh.management!.memberships.update(r, (await gh.store.orgs.findMembershipOf('tmem', u.id, null))!.id, { permissions: ['billing:*'] }, CLI_CONTEXT);
    expect((await tokenOf('tmem', u.email)).perm).toEqual(['billing:*']);
    // A realm whose JWT carries no memberships sends no group permission either.
    const plain = await user('tcustom');
    const g = await gh.management!.groups.create(realmOf('tcustom'), { name: 'Readers', permissions: ['reports:read'] }, CLI_CONTEXT);
    await gh.management!.groups.addMembers(realmOf('tcustom'), g.id, [plain.id], CLI_CONTEXT);
    expect(await tokenOf('tcustom', plain.email)).not.toHaveProperty('perm');
  });

  it('caps the entries at tokens.maxOrgs (50), newest first, with orgs_truncated: true', async () => {
    const r = realmOf('tmem');
    const u = await user('tmem');
    const made: Array<{ oid: string; mid: string }> = [];
    for (let i = 0; i < 60; i++) {
      const org = await gh.management!.orgs.create(r, { name: `Org ${i}` }, CLI_CONTEXT);
      offset += 5;
      const m = await gh.management!.memberships.create(r, { userId: u.id, orgId: org.id }, CLI_CONTEXT);
      made.push({ oid: org.id, mid: m.id });
    }
    const claims = await tokenOf('tmem', u.email);
    expect(claims.orgs).toEqual(made.slice(10).reverse());
    expect(claims.orgs_truncated).toBe(true);
  });

  it("gives the default realm's token the same claim keys as before, without reading memberships", async () => {
    const u = await withOrgs('alpha');
    const accessOf = vi.spyOn(gh.store.orgs, 'accessOf');
    try {
      const claims = await tokenOf('alpha', u.email);
      expect(Object.keys(claims).sort()).toEqual(DEFAULT_KEYS);
      expect(claims.cs).toEqual({ plan: 'pro' });
      expect(accessOf).not.toHaveBeenCalled();
      await tokenOf('tmem', (await user('tmem')).email);
      expect(accessOf).toHaveBeenCalledTimes(1);
    } finally {
      accessOf.mockRestore();
    }
  });
});

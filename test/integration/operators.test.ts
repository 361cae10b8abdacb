import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, RuleViolation } from '../../src/domain/errors.ts';
import { CLI_CONTEXT, type RequestContext } from '../../src/services/context.ts';
import type { OperatorsService } from '../../src/services/operators.ts';
import { TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { apiClient, managementKey } from '../helpers/management.ts';

/** OperatorsService (docs/design/console.md §1.3) on a real Gatehouse with a console: SQLite, the users service, the audit log. */
let gh: TestGatehouse;
let operators: OperatorsService;
const CONSOLE = 'https://console.test';

beforeAll(async () => {
  gh = await testGatehouse({ file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE } } });
  operators = gh.management!.operators;
});
afterAll(() => gh.close());

const asOperator = (id: string): RequestContext => ({ actor: { type: 'operator', id }, requestId: 'req-1', ip: '203.0.113.9', userAgent: 'test' });

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('OperatorsService', () => {
  let root: string;

  it('create: a verified console user without a password, its grants, and an hour-long setup link to the console', async () => {
    const email = uniqueEmail('root');
    const made = await operators.create({ email, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
    root = made.operator.id;
    expect(made.operator).toMatchObject({ realmId: 'console', email, username: email, emailVerification: 'verified' });
    expect(await gh.store.passwordHashOf('console', root)).toBeNull();
    expect(made.setupLink).toMatch(/^https:\/\/console\.test\/reset-password\?token=/);
    expect(Math.round((made.expiresAt.getTime() - Date.now()) / 60_000)).toBe(60);
    expect(await operators.grantsOf(root)).toEqual([expect.objectContaining({ operatorId: root, realmId: '*', role: 'owner', grantedBy: null })]);
  });

  it('create refuses bad grants before making anyone, and a taken email', async () => {
    const email = uniqueEmail('bad');
    for (const grants of [[], [{ realmId: 'nosuch', role: 'admin' as const }], [{ realmId: 'alpha', role: 'root' as never }], [{ realmId: 'console', role: 'owner' as const }], [{ realmId: 'alpha', role: 'admin' as const }, { realmId: 'alpha', role: 'viewer' as const }]]) {
      expect(await errorOf(operators.create({ email, grants }, CLI_CONTEXT))).toBeInstanceOf(RuleViolation);
    }
    expect(await gh.store.findUsersByEmail('console', email)).toEqual([]);
    expect(await errorOf(operators.create({ email: 'not-an-email', grants: [{ realmId: 'alpha', role: 'viewer' }] }, CLI_CONTEXT))).toBeInstanceOf(RuleViolation);
    const taken = await errorOf(operators.create({ email: (await gh.store.findUserById('console', root))!.email!, grants: [{ realmId: 'alpha', role: 'viewer' }] }, CLI_CONTEXT));
    expect(taken).toMatchObject({ reason: 'email.taken' });
  });

  it('grant and revoke are audited with the caller as actor, on the realm granted', async () => {
    const { operator } = await operators.create({ email: uniqueEmail('alpha-admin'), grants: [{ realmId: 'alpha', role: 'viewer' }] }, asOperator(root));
    await operators.grant(operator.id, 'alpha', 'admin', asOperator(root));
    await operators.grant(operator.id, 'beta', 'viewer', asOperator(root));
    expect((await operators.grantsOf(operator.id)).map((g) => `${g.realmId}:${g.role}:${g.grantedBy}`)).toEqual([`alpha:admin:${root}`, `beta:viewer:${root}`]);
    await operators.revoke(operator.id, 'beta', asOperator(root));
    expect(await errorOf(operators.revoke(operator.id, 'beta', asOperator(root)))).toBeInstanceOf(NotFoundError);
    const audit = (await gh.management!.audit.query({ realmId: 'alpha', targetId: operator.id, limit: 10 })).map((e) => [e.operation, e.actor, e.before, e.after]);
    expect(audit).toEqual([
      ['operator.grant', { type: 'operator', id: root }, { realmId: 'alpha', role: 'viewer' }, { realmId: 'alpha', role: 'admin' }],
      ['operator.grant', { type: 'operator', id: root }, null, { realmId: 'alpha', role: 'viewer' }],
    ]);
    expect((await gh.management!.audit.query({ realmId: 'beta', targetId: operator.id, limit: 10 })).map((e) => e.operation)).toEqual(['operator.revoke', 'operator.grant']);
    expect(await errorOf(operators.grant('nobody', 'alpha', 'admin', CLI_CONTEXT))).toBeInstanceOf(NotFoundError);
    expect(await errorOf(operators.grant(operator.id, 'nosuch', 'admin', CLI_CONTEXT))).toBeInstanceOf(RuleViolation);
  });

  it('never removes the last owner of every realm; with a second owner, the first may go', async () => {
    const last = await errorOf(operators.revoke(root, '*', CLI_CONTEXT));
    expect(last).toBeInstanceOf(ConflictError);
    expect(last).toMatchObject({ reason: 'last_owner' });
    expect(await errorOf(operators.grant(root, '*', 'admin', CLI_CONTEXT))).toMatchObject({ reason: 'last_owner' });
    expect(await operators.grantsOf(root)).toEqual([expect.objectContaining({ realmId: '*', role: 'owner' })]);
    const { operator: second } = await operators.create({ email: uniqueEmail('second'), grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
    await operators.grant(root, '*', 'admin', CLI_CONTEXT);
    expect(await errorOf(operators.revoke(second.id, '*', CLI_CONTEXT))).toMatchObject({ reason: 'last_owner' });
    await operators.grant(root, '*', 'owner', CLI_CONTEXT);
    await operators.revoke(second.id, '*', CLI_CONTEXT);
    expect(await operators.grantsOf(second.id)).toEqual([]);
  });

  it('an operator may not revoke or lower their own grant (self_lockout); raising it, another owner or the CLI may', async () => {
    const { operator: me } = await operators.create({ email: uniqueEmail('self'), grants: [{ realmId: 'alpha', role: 'admin' }] }, CLI_CONTEXT);
    expect(await errorOf(operators.revoke(me.id, 'alpha', asOperator(me.id)))).toMatchObject({ reason: 'self_lockout' });
    expect(await errorOf(operators.grant(me.id, 'alpha', 'viewer', asOperator(me.id)))).toMatchObject({ reason: 'self_lockout' });
    expect((await operators.grantsOf(me.id)).map((g) => `${g.realmId}:${g.role}`)).toEqual(['alpha:admin']);
    await operators.grant(me.id, 'alpha', 'owner', asOperator(me.id));
    await operators.grant(me.id, 'alpha', 'viewer', asOperator(root));
    await operators.revoke(me.id, 'alpha', CLI_CONTEXT);
    expect(await operators.grantsOf(me.id)).toEqual([]);
    expect(await operators.hasPassword(me.id)).toBe(false);
  });

  it('list: everyone with all grants, or those who reach one realm with those grants', async () => {
    const all = await operators.list();
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.find((o) => o.operator.id === root)?.grants.map((g) => g.realmId)).toEqual(['*']);
    const onBeta = await operators.list('beta');
    expect(onBeta.map((o) => o.operator.id)).toEqual([root]);
    const onAlpha = await operators.list('alpha');
    expect(onAlpha.some((o) => o.grants.some((g) => g.realmId === 'alpha' && g.role === 'admin'))).toBe(true);
  });

  it('setupLink re-issues by email; an unknown email is not found', async () => {
    const email = (await gh.store.findUserById('console', root))!.email!;
    const { setupLink } = await operators.setupLink(email.toUpperCase(), CLI_CONTEXT);
    expect(setupLink).toMatch(/^https:\/\/console\.test\/reset-password\?token=/);
    expect(await errorOf(operators.setupLink('nobody@example.com', CLI_CONTEXT))).toBeInstanceOf(NotFoundError);
  });

  it('deleting an operator through the management API takes their grants along', async () => {
    const { operator } = await operators.create({ email: uniqueEmail('leaver'), grants: [{ realmId: 'alpha', role: 'viewer' }] }, CLI_CONTEXT);
    const api = apiClient(gh, await managementKey(gh, null));
    expect((await api.delete(`/realms/console/users/${operator.id}`)).status).toBe(204);
    expect(await operators.grantsOf(operator.id)).toEqual([]);
  });

  it('ensureDemo: made owner of * once, a link until a password is set, then none', async () => {
    const first = await operators.ensureDemo('demo-operator@example.com');
    expect(first.setupLink).toMatch(/^https:\/\/console\.test\/reset-password\?token=/);
    const again = await operators.ensureDemo('demo-operator@example.com');
    expect(again.setupLink).toMatch(/^https:\/\/console\.test\//);
    const [demo] = await gh.store.findUsersByEmail('console', 'demo-operator@example.com');
    expect(await operators.grantsOf(demo!.user.id)).toEqual([expect.objectContaining({ realmId: '*', role: 'owner' })]);
    await gh.management!.users.update(gh.realms.byIdOrNull('console')!, demo!.user.id, { password: 'violet-harbor-lantern-42' }, CLI_CONTEXT);
    expect(await operators.ensureDemo('demo-operator@example.com')).toEqual({ setupLink: null, consoleUrl: 'https://console.test/admin' });
  });
});

describe('OperatorsService without a console', () => {
  it('lists nobody and refuses writes with console.disabled', async () => {
    const plain = await testGatehouse();
    try {
      const ops = plain.management!.operators;
      expect(await ops.list()).toEqual([]);
      expect(await ops.ensureDemo('operator@example.com')).toEqual({ setupLink: null, consoleUrl: null });
      expect(await errorOf(ops.create({ email: 'a@example.com', grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT))).toMatchObject({ reason: 'console.disabled' });
      expect(plain.realms.byIdOrNull('console')).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

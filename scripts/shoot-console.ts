/**
 * `npx tsx scripts/shoot-console.ts`: starts Gatehouse with the operator console, seeds users, signs an
 * operator in through Chromium (setup link, password, authenticator) and screenshots the console's main
 * pages — users list, user page, field settings, the orgs & tokens settings, dashboard, the realm's operators, the new realm form, apps, keys,
 * orgs, an org's members, a group, an org's invitations, a user's Apps panel — at
 * desktop (1280 wide) and phone (390 wide) sizes, in English and Chinese, to
 * docs/screenshots/console-<page>-<lang>-<device>.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_CONTEXT } from '../src/services/context.ts';
import { operatorFirstSignIn } from '../test/helpers/console-login.ts';
import { launchChromium, startStack } from '../test/helpers/stack.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
mkdirSync(OUT, { recursive: true });
const DEVICES = { desktop: { viewport: { width: 1280, height: 860 }, isMobile: false }, phone: { viewport: { width: 390, height: 844 }, isMobile: true } } as const;
const PEOPLE = [
  ['Ada', 'Lovelace'], ['Grace', 'Hopper'], ['晓明', '李'], ['Alan', 'Turing'], ['Katherine', 'Johnson'], ['芳', '王'],
  ['Edsger', 'Dijkstra'], ['Barbara', 'Liskov'], ['Donald', 'Knuth'], ['Margaret', 'Hamilton'], ['Tim', 'Berners-Lee'], ['Radia', 'Perlman'],
];

// Apps opened by a permission beside the demo app (open to everyone): the user page's Apps panel says who gets in and why.
const APPS = [
  ['billing', 'Billing portal', 'billing:read'],
  ['admin-tools', 'Admin tools', 'admin:settings'],
  ['support-desk', 'Support desk', 'tickets:read'],
  ['reports', 'Reports export', 'reports:export'],
] as const;
const stack = await startStack({
  console: true,
  realmName: 'Acme',
  apps: APPS.map(([clientId, name, permission]) => ({ clientId, name, redirectUris: [`https://${clientId}.example.com/callback`], access: { type: 'permission', permission } })),
});
const browser = await launchChromium();
try {
  const gh = stack.gatehouse.gatehouse;
  const main = gh.realms.byIdOrNull('main')!;
  const ids: string[] = [];
  for (const [i, [first, last]] of PEOPLE.entries()) {
    const { user } = await gh.management!.users.create(
      main,
      { userType: 'human', email: `${first!.toLowerCase().replace(/[^a-z]/g, '') || 'user' + i}.${i}@example.com`, firstName: first, lastName: last, state: i % 5 === 4 ? 'inactive' : 'active', emailVerification: i % 3 === 0 ? 'none' : 'verified', reference: `crm-${1000 + i}`, custom: i === 0 ? { plan: 'pro', seats: 12, tags: ['beta', 'eu'] } : {} },
      CLI_CONTEXT,
    );
    ids.push(user.id);
  }
  await gh.management!.users.create(main, { userType: 'api', name: 'Billing service' }, CLI_CONTEXT);
  // Operators of the main realm beside the owners of '*' the shots sign in as: one who has chosen a password, one invited.
  const consoleRealm = gh.realms.all().find((r) => r.publicUrl === stack.consoleUrl)!;
  const { user: admin } = await gh.management!.users.create(consoleRealm, { userType: 'human', email: 'mei.chen@example.com', emailVerification: 'verified', password: 'Operator password 7' }, CLI_CONTEXT);
  await gh.management!.operators.grant(admin.id, 'main', 'admin', CLI_CONTEXT);
  await gh.management!.operators.create({ email: 'new.support.lead@example.com', grants: [{ realmId: 'main', role: 'viewer' }] }, CLI_CONTEXT);

  await gh.management!.keys.create({ realmId: 'main', access: 'read', name: 'Reporting dashboard (read only)' }, CLI_CONTEXT);

  // Orgs (one with a long name, one closed), members with permissions and ends, a group with members.
  const orgNames = ['Acme Corporation', 'Globex', '北京星辰科技有限公司', 'Initech', 'Umbrella Research and Development Laboratories International', 'Wayne Enterprises', 'Stark Industries'];
  const orgIds: string[] = [];
  for (const [i, name] of orgNames.entries()) {
    const org = await gh.management!.orgs.create(main, { name, reference: `crm-org-${100 + i}`, customAttributes: i === 0 ? { plan: 'enterprise', seats: 250 } : {}, ...(i === 3 ? { state: 'closed' as const } : {}) }, CLI_CONTEXT);
    orgIds.push(org.id);
  }
  const perms = [['billing:*', 'reports:read'], ['reports:read'], ['admin:*'], [], ['projects:write', 'projects:read', 'invoices:approve', 'members:invite']];
  for (const [i, userId] of ids.slice(0, 8).entries()) {
    await gh.management!.memberships.create(main, { userId, orgId: orgIds[0]!, permissions: perms[i % perms.length]!, ...(i === 5 ? { expiresAt: new Date(Date.now() + 30 * 86_400_000) } : {}) }, CLI_CONTEXT);
  }
  await gh.management!.memberships.create(main, { userId: ids[0]!, orgId: orgIds[2]!, permissions: ['admin:*'] }, CLI_CONTEXT);
  const group = await gh.management!.groups.create(main, { name: 'Support team', description: 'First-line support: reads tickets and users, answers customers.', permissions: ['tickets:*', 'users:read'] }, CLI_CONTEXT);
  await gh.management!.groups.create(main, { name: 'Finance', permissions: ['billing:*'] }, CLI_CONTEXT);
  await gh.management!.groups.addMembers(main, group.id, ids.slice(2, 7), CLI_CONTEXT);
  await gh.management!.memberships.create(main, { userId: ids[0]!, orgId: null, permissions: ['reports:export'] }, CLI_CONTEXT);
  // Invitations to the first org: mailed, resent, one not mailed, one revoked, one accepted-looking name.
  const invitees = [['li.wei@example.com', '李伟', ['reports:read']], ['hedy.lamarr@example.com', 'Hedy Lamarr', ['billing:*', 'reports:read']], ['contractor@example.net', null, []], ['joan.clarke@example.com', 'Joan Clarke', ['projects:read']]] as const;
  const invitationIds: string[] = [];
  for (const [email, name, permissions] of invitees) {
    invitationIds.push((await gh.management!.invitations.invite(main, { orgId: orgIds[0]!, email, name, permissions: [...permissions], send: email !== 'contractor@example.net' }, CLI_CONTEXT)).invitation.id);
  }
  await gh.management!.invitations.resend(main, invitationIds[1]!, CLI_CONTEXT);
  await gh.management!.invitations.revoke(main, invitationIds[3]!, CLI_CONTEXT);

  // SHOOT_DEVICES=desktop and SHOOT_LANGS=en narrow the sizes and languages (all by default).
  const devices = process.env.SHOOT_DEVICES ? process.env.SHOOT_DEVICES.split(',') : Object.keys(DEVICES);
  const langs = process.env.SHOOT_LANGS ? process.env.SHOOT_LANGS.split(',') : ['en', 'zh-CN'];
  for (const [device, d] of Object.entries(DEVICES).filter(([k]) => devices.includes(k))) {
    for (const lang of langs) {
      const context = await browser.newContext({ viewport: d.viewport, isMobile: d.isMobile, hasTouch: d.isMobile, locale: lang === 'en' ? 'en-US' : 'zh-CN' });
      const page = await context.newPage();
      const email = `operator.${device}.${lang.toLowerCase()}@example.com`;
      const { setupLink } = await gh.management!.operators.create({ email, grants: [{ realmId: '*', role: 'owner' }] }, CLI_CONTEXT);
      await operatorFirstSignIn(page, setupLink, email, lang, stack.consoleUrl!);
      const shots: Array<[string, string]> = [
        ['users', '/admin/realms/main/users?state=active&sort=email&direction=asc'],
        ['user', `/admin/realms/main/users/${encodeURIComponent(ids[0]!)}`],
        ['settings', '/admin/realms/main/settings/fields'],
        ['settings-orgs', '/admin/realms/main/settings/orgs'],
        ['dashboard', '/admin/realms/main'],
        ['operators', '/admin/realms/main/operators'],
        ['new-realm', '/admin/realms/new'],
        ['apps', '/admin/realms/main/apps'],
        ['keys', '/admin/realms/main/keys'],
        ['orgs', '/admin/realms/main/orgs'],
        ['org', `/admin/realms/main/orgs/${orgIds[0]}/members`],
        ['group', `/admin/realms/main/groups/${group.id}`],
        ['org-invitations', `/admin/realms/main/orgs/${orgIds[0]}/invitations`],
        ['user-apps', `/admin/realms/main/users/${encodeURIComponent(ids[0]!)}#apps-heading`],
      ];
      // SHOOT_ONLY=apps,keys shoots only those pages (every page by default).
      const only = process.env.SHOOT_ONLY ? process.env.SHOOT_ONLY.split(',') : null;
      for (const [name, p] of shots.filter(([n]) => !only || only.includes(n))) {
        const [where, hash] = p.split('#');
        await page.goto(`${stack.consoleUrl}${where}${where!.includes('?') ? '&' : '?'}lang=${lang}${hash ? `#${hash}` : ''}`);
        if (name === 'users') await page.locator('summary.button').click();
        const file = path.join(OUT, `console-${name}-${lang}-${device}.png`);
        // The Apps panel is near the end of a long user page: that panel alone.
        if (name === 'user-apps') {
          // From the top (the sticky bar then stays there): the box is in page coordinates.
          await page.evaluate('window.scrollTo(0, 0)');
          const box = (await page.locator('section[aria-labelledby="apps-heading"]').boundingBox())!;
          await page.screenshot({ path: file, fullPage: true, clip: { x: box.x - 24, y: box.y - 24, width: box.width + 48, height: box.height + 48 } });
        }
        else await page.screenshot({ path: file, fullPage: true });
        console.log(path.relative(ROOT, file));
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await stack.stop();
}

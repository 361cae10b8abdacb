import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealmConfig } from '../../src/config/index.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';
import { consoleSignIn, CONSOLE_URL, makeOperator, postConsoleForm, type ConsoleBrowser } from '../helpers/console-login.ts';
import { TEST_CONFIG, testGatehouse, uniqueEmail, type TestGatehouse } from '../helpers/gatehouse.ts';
import { tr } from '../helpers/locale-strings.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';

/**
 * The console's org invitations (docs/design/orgs.md §8): an org's Invitations tab (list, paging, invite with and
 * without the mail), the realm's Invitations page (status and prefix filter), resend (the old link dies; at most
 * rateLimits.invitationResend) and revoke behind a confirmation. Real HTTP, services, SQLite and a real SMTP server.
 */
let smtp: TestSmtp;
let gh: TestGatehouse;
let alpha: RealmConfig;
let beta: RealmConfig;
let admin: ConsoleBrowser;
let viewer: ConsoleBrowser;
let acme: string;

const ORGS = '/admin/realms/alpha/orgs';
const INVITATIONS = '/admin/realms/alpha/invitations';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
/** The addresses of an invitations table's rows, top to bottom. */
const emailsOf = (html: string) => [...html.matchAll(/class="cell-name"><div><span translate="no">([^<]+)<\/span>/g)].map((m) => m[1]!);
const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
const invitationOf = async (email: string) => (await gh.management!.invitations.list(alpha, { q: email }, null, 10)).invitations.find((i) => i.email === email)!;
const mailsTo = async (address: string) => (await gh.store.listMail(1000)).filter((m) => m.to.address === address);

beforeAll(async () => {
  smtp = await startSmtp();
  gh = await testGatehouse({ smtpUrl: smtp.url, file: { ...TEST_CONFIG, console: { publicUrl: CONSOLE_URL } }, tuning: { outbox: { pollMs: 50 } } });
  alpha = gh.realms.byIdOrNull('alpha')!;
  beta = gh.realms.byIdOrNull('beta')!;
  admin = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'admin' }]));
  viewer = await consoleSignIn(gh, await makeOperator(gh, [{ realmId: 'alpha', role: 'viewer' }]));
  acme = (await gh.management!.orgs.create(alpha, { name: 'Acme' }, CLI_CONTEXT)).id;
});
afterAll(async () => {
  await gh?.close();
  await smtp?.close();
});

describe('console org invitations', () => {
  it('invites by mail from the org’s tab: the mail arrives over SMTP with a working link; the tab lists it (address, name, permissions, status, expiry, sends, inviter)', async () => {
    const tab = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(tab.status).toBe(200);
    expect(tab.text).toContain(tr('en', 'console.invitations.empty'));
    expect(tab.text).toMatch(/<input[^>]*id="email"[^>]*autocomplete="off"/);
    expect(tab.text).toMatch(/<label for="send">/);
    const email = uniqueEmail('ada');
    const res = await admin.submit(`${ORGS}/${acme}/invitations`, { email: `  ${email} `, name: 'Ada Lovelace', permissions: 'Billing:read\n\nreports:view\n', send: 'yes' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(`${ORGS}/${acme}/invitations`);
    const mail = await smtp.waitFor(email, (m) => m.links.some((l) => l.startsWith('http://alpha.test/invitation?token=')));
    const link = mail.links.find((l) => l.startsWith('http://alpha.test/invitation?token='))!;
    const view = await gh.management!.invitations.peek(alpha, tokenOf(link));
    expect(view?.invitation).toMatchObject({ email, name: 'Ada Lovelace', orgId: acme, permissions: ['billing:read', 'reports:view'], status: 'pending', sentCount: 1, createdBy: { type: 'operator', id: admin.operatorId } });
    const after = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(after.text).toContain(esc(tr('en', 'console.invitations.sent', { email })));
    expect(emailsOf(after.text)).toEqual([email]);
    expect(after.text).toContain('Ada Lovelace');
    expect(after.text).toContain('<code translate="no">billing:read</code>');
    expect(after.text).toContain(tr('en', 'console.invitations.status.pending'));
    expect(after.text).toContain(tr('en', 'console.invitations.sentTimes', { count: 1 }));
    expect(after.text).toContain(admin.email);
    // The page never carries the token.
    expect(after.text).not.toContain(tokenOf(link));
    const audit = (await gh.management!.audit.query({ realmId: 'alpha', limit: 50 })).filter((e) => e.operation === 'invitation.create' && e.target.id === view!.invitation.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toMatchObject({ type: 'operator', id: admin.operatorId });
  });

  it('without “send the mail”: no mail goes, the link is shown once on the answer (no-store) and works; the tab never shows it again', async () => {
    const email = uniqueEmail('quiet');
    const res = await admin.submit(`${ORGS}/${acme}/invitations`, { email, name: '', permissions: '' });
    expect(res.status, res.text).toBe(201);
    expect(res.headers['cache-control']).toContain('no-store');
    expect(res.text).toContain(tr('en', 'console.invitations.linkHeading'));
    const link = /<input id="invitation-link"[^>]*value="([^"]+)"/.exec(res.text)![1]!.replace(/&amp;/g, '&');
    expect(link).toMatch(/^http:\/\/alpha\.test\/invitation\?token=[A-Za-z0-9_-]{43}$/);
    expect(res.text).toMatch(/<label for="invitation-link"/);
    expect((await gh.management!.invitations.peek(alpha, tokenOf(link)))?.invitation.email).toBe(email);
    expect(await mailsTo(email)).toEqual([]);
    const later = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(emailsOf(later.text)).toContain(email);
    expect(later.text).not.toContain(tokenOf(link));
    expect(later.text).not.toContain('id="invitation-link"');
  });

  it('mails in the language picked (the page’s by default)', async () => {
    const tab = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(tab.text).toMatch(/<label for="locale">/);
    expect(tab.text).toMatch(/<option value="en" lang="en" selected>/);
    const email = uniqueEmail('zh');
    expect((await admin.submit(`${ORGS}/${acme}/invitations`, { email, locale: 'zh-CN', send: 'yes' })).status).toBe(303);
    const mail = await smtp.waitFor(email);
    expect(mail.subject).toContain('邀请你加入');
    expect(mail.subject).toContain('Acme');
  });

  it('resend mails a new link and kills the old one; from the realm’s list it comes back there', async () => {
    const email = uniqueEmail('resend');
    const { invitation, link: first } = await gh.management!.invitations.invite(alpha, { orgId: acme, email, send: false }, CLI_CONTEXT);
    const res = await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/resend`, { from: 'realm' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(INVITATIONS);
    expect((await admin.get(INVITATIONS)).text).toContain(esc(tr('en', 'console.invitations.resent', { email })));
    const mail = await smtp.waitFor(email);
    const second = mail.links.find((l) => l.startsWith('http://alpha.test/invitation?token='))!;
    expect(second).not.toBe(first);
    expect(await gh.management!.invitations.peek(alpha, tokenOf(first))).toBeNull();
    expect((await gh.management!.invitations.peek(alpha, tokenOf(second)))?.invitation.sentCount).toBe(2);
    // From the org's tab it comes back to the tab.
    const again = await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/resend`);
    expect(again.headers.location).toBe(`${ORGS}/${acme}/invitations`);
  });

  it('a sixth resend within the hour is refused with a translated 429 page (rateLimits.invitationResend); nothing is mailed', async () => {
    const email = uniqueEmail('limit');
    const { invitation } = await gh.management!.invitations.invite(alpha, { orgId: acme, email, send: false }, CLI_CONTEXT);
    for (let i = 0; i < 5; i++) expect((await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/resend`)).status).toBe(303);
    const refused = await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/resend`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).toContain(esc(tr('en', 'console.invitations.resendLimited', { email, minutes: 60 })));
    expect(refused.text).toContain(`href="${ORGS}/${acme}/invitations"`);
    expect((await gh.management!.invitations.get(alpha, invitation.id)).sentCount).toBe(6);
    expect(await mailsTo(email)).toHaveLength(5);
  });

  it('revoke asks first, then kills the link; a second revoke or resend says it is gone (409, translated)', async () => {
    const email = uniqueEmail('revoke');
    const { invitation, link } = await gh.management!.invitations.invite(alpha, { orgId: acme, email, send: false }, CLI_CONTEXT);
    const tab = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(tab.text).toContain(`href="${INVITATIONS}/${invitation.id}/revoke"`);
    const confirm = await admin.get(`${INVITATIONS}/${invitation.id}/revoke`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain(esc(tr('en', 'console.invitations.revokeConfirm', { email })));
    expect((await gh.management!.invitations.get(alpha, invitation.id)).status).toBe('pending');
    const res = await admin.submit(`${INVITATIONS}/${invitation.id}/revoke`, { from: 'org' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe(`${ORGS}/${acme}/invitations`);
    expect((await gh.management!.invitations.get(alpha, invitation.id)).status).toBe('revoked');
    expect(await gh.management!.invitations.peek(alpha, tokenOf(link))).toBeNull();
    const listed = await admin.get(`${ORGS}/${acme}/invitations`);
    expect(listed.text).toContain(esc(tr('en', 'console.invitations.revoked', { email })));
    expect(listed.text).not.toContain(`href="${INVITATIONS}/${invitation.id}/revoke"`);
    for (const action of ['revoke', 'resend']) {
      const gone = await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/${action}`);
      expect(gone.status, action).toBe(409);
      expect(gone.text, action).toContain(esc(tr('en', 'console.conflict.invitation_gone')));
    }
    expect((await admin.get(`${INVITATIONS}/${invitation.id}/revoke`)).text).toContain(esc(tr('en', 'console.conflict.invitation_gone')));
  });

  it('the realm’s Invitations page (in the nav) filters by status and by a prefix of the address or name, across orgs', async () => {
    const other = (await gh.management!.orgs.create(alpha, { name: 'Globex' }, CLI_CONTEXT)).id;
    const tag = `qq${Date.now().toString(36)}`;
    const a = await gh.management!.invitations.invite(alpha, { orgId: acme, email: `${tag}-a@example.com`, send: false }, CLI_CONTEXT);
    // Newest first: b must be made in a later millisecond than a (within one, the order is the ids').
    const madeAt = a.invitation.createdAt.getTime();
    while (Date.now() <= madeAt) await new Promise((r) => setTimeout(r, 1));
    const b = await gh.management!.invitations.invite(alpha, { orgId: other, email: `${tag}-b@example.com`, name: 'Grace Hopper', send: false }, CLI_CONTEXT);
    await gh.management!.invitations.revoke(alpha, a.invitation.id, CLI_CONTEXT);
    const home = await admin.get('/admin/realms/alpha');
    expect(home.text).toContain(`href="${INVITATIONS}"`);
    const all = await admin.get(`${INVITATIONS}?q=${tag}`);
    expect(all.status).toBe(200);
    expect(all.text).toMatch(/<a href="\/admin\/realms\/alpha\/invitations" aria-current="page">/);
    expect(emailsOf(all.text)).toEqual([b.invitation.email, a.invitation.email]);
    expect(all.text).toContain(`href="${ORGS}/${other}/invitations">Globex</a>`);
    expect(emailsOf((await admin.get(`${INVITATIONS}?q=${tag}&status=revoked`)).text)).toEqual([a.invitation.email]);
    expect(emailsOf((await admin.get(`${INVITATIONS}?q=${tag}&status=pending`)).text)).toEqual([b.invitation.email]);
    expect(emailsOf((await admin.get(`${INVITATIONS}?q=GRACE`)).text)).toEqual([b.invitation.email]);
    const none = await admin.get(`${INVITATIONS}?q=nobody-${tag}`);
    expect(none.text).toContain(tr('en', 'console.invitations.emptyRealm'));
    for (const bad of ['status=expired', 'status=pending&status=revoked', `q=${'x'.repeat(201)}`]) {
      const res = await admin.get(`${INVITATIONS}?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.text, bad).toContain(tr('en', 'console.invitations.badFilter'));
    }
    const zh = await admin.get(`${INVITATIONS}?q=${tag}&lang=zh-CN`);
    expect(zh.text).toContain(tr('zh-CN', 'console.invitations.status.revoked'));
    // The language sticks (a cookie): back to English for the other tests.
    expect((await admin.get(`${INVITATIONS}?lang=en`)).text).toContain('<html lang="en">');
  });

  it('pages an org’s invitations 50 at a time, every one once', async () => {
    const org = (await gh.management!.orgs.create(alpha, { name: 'Paged' }, CLI_CONTEXT)).id;
    for (let i = 0; i < 53; i++) await gh.management!.invitations.invite(alpha, { orgId: org, email: `paged-${i}@example.com`, send: false }, CLI_CONTEXT);
    const first = await admin.get(`${ORGS}/${org}/invitations`);
    const one = emailsOf(first.text);
    expect(one).toHaveLength(50);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await admin.get(next);
    const two = emailsOf(second.text);
    expect(two).toHaveLength(3);
    expect(new Set([...one, ...two]).size).toBe(53);
    expect(second.text).not.toContain('rel="next"');
  });

  it('refuses bad input with a translated 4xx page, keeping what was typed; never a 500, nothing written', async () => {
    const count = async () => (await gh.management!.invitations.list(alpha, { orgId: acme }, null, 500)).invitations.length;
    const before = await count();
    const cases: Array<[Record<string, string | string[]>, number, string, Record<string, string | number>?]> = [
      [{ email: 'not-an-address', name: 'Kept name' }, 400, 'validation.email'],
      [{ email: '' }, 400, 'validation.required'],
      [{ email: 'a@example.com\r\nBcc: x@evil.example' }, 400, 'validation.invalidChars'],
      [{ email: ['a@example.com', 'b@example.com'] }, 400, 'validation.invalid'],
      [{ email: 'perm@example.com', permissions: 'has space' }, 422, 'console.members.permissionInvalid'],
      [{ email: 'perm@example.com', send: 'maybe' }, 400, 'validation.invalid'],
      [{ email: 'perm@example.com', locale: 'fr' }, 400, 'validation.invalid'],
    ];
    for (const [form, status, key, params] of cases) {
      const res = await admin.submit(`${ORGS}/${acme}/invitations`, form);
      expect(res.status, JSON.stringify(form)).toBe(status);
      expect(res.text, JSON.stringify(form)).toContain(esc(tr('en', key, params ?? {})));
    }
    const kept = await admin.submit(`${ORGS}/${acme}/invitations`, { email: 'not-an-address', name: 'Kept name' });
    expect(kept.text).toMatch(/<input id="email" name="email"[^>]*aria-invalid="true"/);
    expect(kept.text).toContain('value="Kept name"');
    const closed = (await gh.management!.orgs.create(alpha, { name: 'Shut', state: 'closed' }, CLI_CONTEXT)).id;
    const shut = await admin.submit(`${ORGS}/${closed}/invitations`, { email: 'shut@example.com', send: 'yes' });
    expect(shut.status).toBe(409);
    expect(shut.text).toContain(esc(tr('en', 'console.conflict.org_closed')));
    expect(await count()).toBe(before);
    expect(await mailsTo('shut@example.com')).toEqual([]);
  });

  it('a viewer sees the tab and the realm list without forms, and is refused every write (403)', async () => {
    const { invitation } = await gh.management!.invitations.invite(alpha, { orgId: acme, email: uniqueEmail('viewed'), send: false }, CLI_CONTEXT);
    const tab = await viewer.get(`${ORGS}/${acme}/invitations`);
    expect(tab.status).toBe(200);
    expect(emailsOf(tab.text)).toContain(invitation.email);
    expect(tab.text).not.toContain('id="email"');
    expect(tab.text).not.toContain('/resend"');
    expect((await viewer.get(INVITATIONS)).status).toBe(200);
    expect((await postConsoleForm(viewer, `${ORGS}/${acme}/invitations`, { email: 'v@example.com', send: 'yes' })).status).toBe(403);
    expect((await postConsoleForm(viewer, `${INVITATIONS}/${invitation.id}/resend`)).status).toBe(403);
    expect((await viewer.get(`${INVITATIONS}/${invitation.id}/revoke`)).status).toBe(403);
    expect((await postConsoleForm(viewer, `${INVITATIONS}/${invitation.id}/revoke`)).status).toBe(403);
    expect((await gh.management!.invitations.get(alpha, invitation.id))).toMatchObject({ status: 'pending', sentCount: 1 });
  });

  it('another realm’s org and invitation ids are 404 under this realm (and malformed ids are too); nothing changes', async () => {
    const betaOrg = (await gh.management!.orgs.create(beta, { name: 'Beta org' }, CLI_CONTEXT)).id;
    const { invitation } = await gh.management!.invitations.invite(beta, { orgId: betaOrg, email: 'beta-invitee@example.com', send: false }, CLI_CONTEXT);
    expect((await admin.get(`${ORGS}/${betaOrg}/invitations`)).status).toBe(404);
    expect((await admin.submit(`${ORGS}/${acme}/invitations`, { email: 'x@example.com' })).status).toBe(201);
    expect((await postConsoleForm(admin, `${ORGS}/${betaOrg}/invitations`, { email: 'x2@example.com', send: 'yes' })).status).toBe(404);
    expect((await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/resend`)).status).toBe(404);
    expect((await admin.get(`${INVITATIONS}/${invitation.id}/revoke`)).status).toBe(404);
    expect((await postConsoleForm(admin, `${INVITATIONS}/${invitation.id}/revoke`)).status).toBe(404);
    expect((await postConsoleForm(admin, `${INVITATIONS}/not-an-id/revoke`)).status).toBe(404);
    expect((await admin.get('/admin/realms/beta/invitations')).status).toBe(404);
    expect(await gh.management!.invitations.get(beta, invitation.id)).toMatchObject({ status: 'pending', sentCount: 1 });
    expect(await invitationOf('x@example.com')).toBeDefined();
  });
});

/**
 * Changing a user's email address (the personal center and administrators
 * will call this): the verification state starts again, an administrator's
 * "verified" is kept, old links stop verifying, and with emails as usernames
 * the username follows. Real store, real templates, real SMTP.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileConfig } from '../../src/config/index.ts';
import { VerificationService } from '../../src/flows/verification/verification.service.ts';
import { createI18n } from '../../src/http/i18n.ts';
import { LoginSessions } from '../../src/identity/login-sessions.ts';
import { OneTimeSecrets } from '../../src/identity/one-time.ts';
import { ejsMailRenderer } from '../../src/infra/mail/templates.ts';
import { smtpTransport } from '../../src/infra/mail/transports.ts';
import { OutboxWorker } from '../../src/infra/mail/outbox-worker.ts';
import { sqliteLimiters } from '../../src/infra/rate-limit.ts';
import { Mailer } from '../../src/mail/mailer.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { pino } from 'pino';
import { startSmtp, type TestSmtp } from '../helpers/smtp.ts';
import { uniqueEmail } from '../helpers/gatehouse.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { realms } = parseFileConfig({
  defaultRealm: 'mail',
  realms: [
    { id: 'mail', name: 'Mail Realm', publicUrl: 'https://login.mail.example' },
    { id: 'sep', name: 'Separate', publicUrl: 'https://login.sep.example', fields: { usernames: 'separate' } },
  ],
});
const [emailRealm, separateRealm] = realms as [(typeof realms)[0], (typeof realms)[0]];

describe('changing the email address', () => {
  let smtp: TestSmtp;
  let store: SqliteStore;
  let worker: OutboxWorker;
  let service: VerificationService;
  let secrets: OneTimeSecrets;

  beforeAll(async () => {
    smtp = await startSmtp();
    store = new SqliteStore(':memory:');
    const clock = () => new Date();
    const i18n = createI18n(path.join(ROOT, 'locales'), false);
    const transport = smtpTransport(smtp.url);
    worker = new OutboxWorker(store, transport, pino({ level: 'silent' }), { pollMs: 50 });
    worker.start();
    const mailer = new Mailer(store, ejsMailRenderer(path.join(ROOT, 'views'), i18n.t, true), 'Test <no-reply@test.example>', clock, () => worker.wake());
    secrets = new OneTimeSecrets(store, 'test-key', clock);
    service = new VerificationService(store, secrets, mailer, sqliteLimiters(store.db), new LoginSessions(store, clock), clock);
  });
  afterAll(async () => {
    await worker.stop();
    await store.close();
    await smtp.close();
  });

  async function newUser(realm = emailRealm, email = uniqueEmail(), username = email) {
    return store.createUser(
      { realmId: realm.id, userType: 'human', username, email, emailUnique: true, emailVerification: 'verified', firstName: null, lastName: null, locale: 'en', passwordHash: null },
      new Date(),
    );
  }

  it('starts verification again at the new address, and the username follows where emails are usernames', async () => {
    const user = await newUser();
    const next = uniqueEmail('Moved');
    const changed = await service.changeEmail(emailRealm, user.id, next, { locale: 'en' });
    expect(changed).toMatchObject({ email: next, username: next, emailVerification: 'requested' });
    const mail = await smtp.waitFor(next);
    expect(mail.envelopeTo).toEqual([next]);
    expect(mail.links[0]).toMatch(/^https:\/\/login\.mail\.example\/verify-email\?token=/);
  });

  it('keeps the username in a realm with separate usernames', async () => {
    const user = await newUser(separateRealm, uniqueEmail(), `u${Date.now()}`);
    const changed = await service.changeEmail(separateRealm, user.id, uniqueEmail(), { locale: 'en' });
    expect(changed.username).toBe(user.username);
  });

  it('respects an administrator who marks the new address verified: no mail is sent', async () => {
    const user = await newUser();
    const next = uniqueEmail('admin');
    const changed = await service.changeEmail(emailRealm, user.id, next, { locale: 'en', verifiedByAdmin: true });
    expect(changed.emailVerification).toBe('verified');
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to(next)).toHaveLength(0);
  });

  it('makes a link sent to the old address useless (ASVS 6.5.5)', async () => {
    const first = uniqueEmail('first');
    const user = await newUser(emailRealm, first);
    await service.send(emailRealm, user, 'en', null);
    const oldMail = await smtp.waitFor(first);
    const oldToken = new URL(oldMail.links[0]!).searchParams.get('token')!;
    await service.changeEmail(emailRealm, user.id, uniqueEmail('second'), { locale: 'en' });
    await expect(service.verifyLink(emailRealm, oldToken)).rejects.toMatchObject({ status: 400, messageKey: 'verify.invalidLink' });
    expect((await store.findUserById(emailRealm.id, user.id))!.emailVerification).toBe('requested');
  });

  it('refuses an address another account has, case-insensitively', async () => {
    const taken = uniqueEmail('taken');
    await newUser(emailRealm, taken);
    const user = await newUser();
    await expect(service.changeEmail(emailRealm, user.id, taken.toUpperCase(), { locale: 'en' })).rejects.toMatchObject({ status: 409, field: 'email' });
  });
});

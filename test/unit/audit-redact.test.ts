import { describe, expect, it } from 'vitest';
import { redact } from '../../src/services/audit-log.ts';

describe('redact (the audit log, ASVS 5.0 16.2.5)', () => {
  it('hides every field named like a secret, however deep, keeping the key', () => {
    expect(
      redact({ passwordHash: 'h', clientSecret: 's', token: 't', accessToken: 'a', tokenHash: 'x', apiKey: 'k', key: 'raw', nested: [{ sealedSecret: 'z' }] }),
    ).toEqual({ passwordHash: '[redacted]', clientSecret: '[redacted]', token: '[redacted]', accessToken: '[redacted]', tokenHash: '[redacted]', apiKey: '[redacted]', key: '[redacted]', nested: [{ sealedSecret: '[redacted]' }] });
    expect(redact({ token: null })).toEqual({ token: null });
  });

  it('audits a realm’s `tokens` settings section (what the JWT carries) like any other', () => {
    const settings = { tokens: { ttlSeconds: 300, algorithm: 'RS256', fields: ['orgs'], maxOrgs: 12 } };
    expect(redact({ settings })).toEqual({ settings });
  });
});

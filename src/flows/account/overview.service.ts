import type { RealmConfig } from '../../config/index.ts';
import type { LoginSessions } from '../../identity/login-sessions.ts';
import { activeTotp } from '../../identity/totp.ts';
import type { User } from '../../identity/user.ts';
import type { Store } from '../../store/port.ts';

/** What the personal center's landing page summarises: how well the account is protected, at a glance. */
export interface AccountSummary {
  emailState: 'none' | 'unverified' | 'verified';
  phoneState: 'none' | 'unverified' | 'verified';
  mfaOn: boolean;
  recoveryCodesLeft: number;
  liveSessions: number;
  hasPassword: boolean;
}

export class OverviewService {
  constructor(
    private readonly store: Store,
    private readonly sessions: LoginSessions,
  ) {}

  async summary(realm: RealmConfig, user: User): Promise<AccountSummary> {
    const [totp, codes, live, passwordHash] = await Promise.all([
      activeTotp(this.store, realm.id, user.id),
      this.store.countRecoveryCodes(realm.id, user.id),
      this.sessions.listLive(realm, user.id),
      this.store.passwordHashOf(realm.id, user.id),
    ]);
    return {
      emailState: !user.email ? 'none' : user.emailVerification === 'verified' ? 'verified' : 'unverified',
      phoneState: !user.phone ? 'none' : user.phoneVerified ? 'verified' : 'unverified',
      mfaOn: totp !== null,
      recoveryCodesLeft: codes,
      liveSessions: live.length,
      hasPassword: passwordHash !== null,
    };
  }
}

import type { RealmConfig } from '../../config/index.ts';
import { describeUserAgent, type DeviceDescription } from '../../identity/user-agent.ts';
import type { Store } from '../../store/port.ts';

/** The events that are sign-in attempts (the personal center's history shows these). */
const SIGN_IN_EVENTS = ['login.succeeded', 'login.failed', 'login.unverified'];

const HISTORY_PAGE_SIZE = 20;

export interface SignInView {
  at: Date;
  ok: boolean;
  /** How the user signed in or tried to: pwd, otp, recovery_code, a provider's name. */
  method: string | null;
  appName: string | null;
  ip: string | null;
  device: DeviceDescription;
}

/** The user's recent sign-ins, newest first, a page at a time. */
export class HistoryService {
  constructor(private readonly store: Store) {}

  async page(realm: RealmConfig, userId: string, page: number): Promise<{ entries: SignInView[]; hasNext: boolean }> {
    const rows = await this.store.queryEvents(realm.id, userId, {
      types: SIGN_IN_EVENTS,
      limit: HISTORY_PAGE_SIZE + 1,
      offset: (page - 1) * HISTORY_PAGE_SIZE,
    });
    const entries = rows.slice(0, HISTORY_PAGE_SIZE).map((e) => ({
      at: e.at,
      ok: e.type === 'login.succeeded',
      method: typeof e.data?.method === 'string' ? e.data.method : null,
      appName: e.clientId ? (realm.apps.find((a) => a.clientId === e.clientId)?.name ?? e.clientId) : null,
      ip: e.ip,
      device: describeUserAgent(e.userAgent),
    }));
    return { entries, hasNext: rows.length > HISTORY_PAGE_SIZE };
  }
}

import type { RealmConfig } from '../config/index.ts';
import { SIGN_IN_EVENT_TYPES } from '../domain/events.ts';
import { describeUserAgent, type DeviceDescription } from '../identity/user-agent.ts';
import type { EventsPort } from '../ports/events.ts';

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

/**
 * A user's recent sign-ins (the sign-in events of the realm's log), newest
 * first, a page at a time: the personal center's history page, and the
 * console's for any user.
 */
export class SignInHistory {
  constructor(private readonly events: EventsPort) {}

  /** `after`: the `next` of the page before (InvalidEventCursor when it is not one). */
  async page(realm: RealmConfig, userId: string, after?: string): Promise<{ entries: SignInView[]; next: string | null }> {
    const { data, next } = await this.events.query({ realmId: realm.id, userId, types: SIGN_IN_EVENT_TYPES, after, limit: HISTORY_PAGE_SIZE });
    const entries = data.map((e) => ({
      at: e.at,
      ok: e.type === 'user.login.succeeded',
      method: typeof e.data?.method === 'string' ? e.data.method : null,
      appName: e.request.clientId ? (realm.apps.find((a) => a.clientId === e.request.clientId)?.name ?? e.request.clientId) : null,
      ip: e.request.ip,
      device: describeUserAgent(e.request.userAgent),
    }));
    return { entries, next };
  }
}

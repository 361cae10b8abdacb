import type { RealmConfig } from '../config/index.ts';
import { RuleViolation } from '../domain/errors.ts';
import type { EventType } from '../domain/events.ts';
import type { LoginSessions } from '../identity/login-sessions.ts';
import { startOfUtcDay, utcDay, type EventsPort } from '../ports/events.ts';
import type { UsersService } from './users.ts';

/** One UTC day of the dashboard's chart and table. */
export interface DashboardDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  signUps: number;
  signIns: number;
  failedSignIns: number;
}

export interface RealmSummary {
  users: {
    human: { active: number; inactive: number };
    api: { active: number; inactive: number };
    total: number;
  };
  /** Exactly `days` entries, oldest first, the last one today (UTC); a day without events has zeros. */
  days: DashboardDay[];
  /** The sums of `days`. */
  totals: { signUps: number; signIns: number; failedSignIns: number };
  /** Sessions live now: not ended, within the realm's idle and absolute timeouts. */
  liveSessions: number;
}

/** The longest window the dashboard counts (a year and a day: a leap year's days fit). */
export const DASHBOARD_MAX_DAYS = 366;

/**
 * What each column counts. A sign-up is every `user.created`, whoever made the user (the hosted sign-up, a
 * social first sign-in, an operator, the API); an import writes no event, so imported users are not counted.
 * A sign-in is every `user.login.succeeded` (also the one a hosted sign-up or a verification link ends with);
 * a failed one is every `user.login.failed` (a wrong password, or a wrong second-factor code).
 */
const COLUMNS = { 'user.created': 'signUps', 'user.login.succeeded': 'signIns', 'user.login.failed': 'failedSignIns' } as const satisfies Partial<Record<EventType, keyof Omit<DashboardDay, 'day'>>>;
const COUNTED = Object.keys(COLUMNS) as Array<keyof typeof COLUMNS>;

const DAY_MS = 86_400_000;

export interface RealmDashboardDeps {
  users: UsersService;
  events: EventsPort;
  sessions: LoginSessions;
  clock: () => Date;
}

/**
 * The console's realm dashboard (docs/design/console.md §2.3): users by type and state, sign-ups and sign-ins
 * per UTC day, live sessions. Every number comes from a counter or an index, never a scan: users from
 * UsersService.count with type and state only (countableByCounters), days from EventsPort.dailyCounts,
 * sessions from LoginSessions.countLive.
 */
export class RealmDashboard {
  constructor(private readonly d: RealmDashboardDeps) {}

  /** The realm's summary over the last `days` UTC days up to `now`'s (an integer from 1 to DASHBOARD_MAX_DAYS). */
  async summary(realm: RealmConfig, days = 30, now: Date = this.d.clock()): Promise<RealmSummary> {
    if (!Number.isInteger(days) || days < 1 || days > DASHBOARD_MAX_DAYS) {
      throw new RuleViolation([{ field: 'days', code: 'out_of_range', message: `a whole number of days from 1 to ${DASHBOARD_MAX_DAYS}` }]);
    }
    const first = new Date(startOfUtcDay(now).getTime() - (days - 1) * DAY_MS);
    const count = (userType: 'human' | 'api', state: 'active' | 'inactive') => this.d.users.count(realm, { userType, state });
    const [humanActive, humanInactive, apiActive, apiInactive, counts, liveSessions] = await Promise.all([
      count('human', 'active'),
      count('human', 'inactive'),
      count('api', 'active'),
      count('api', 'inactive'),
      this.d.events.dailyCounts(realm.id, COUNTED, first),
      this.d.sessions.countLive(realm, now),
    ]);

    const byDay = new Map<string, DashboardDay>();
    const series: DashboardDay[] = [];
    for (let i = 0; i < days; i++) {
      const day: DashboardDay = { day: utcDay(new Date(first.getTime() + i * DAY_MS)), signUps: 0, signIns: 0, failedSignIns: 0 };
      series.push(day);
      byDay.set(day.day, day);
    }
    const totals = { signUps: 0, signIns: 0, failedSignIns: 0 };
    for (const { day, type, n } of counts) {
      const column = COLUMNS[type as keyof typeof COLUMNS];
      const entry = byDay.get(day);
      // A day after now's (an event stamped ahead of this clock) is outside the window.
      if (!column || !entry) continue;
      entry[column] += n;
      totals[column] += n;
    }
    return {
      users: {
        human: { active: humanActive, inactive: humanInactive },
        api: { active: apiActive, inactive: apiInactive },
        total: humanActive + humanInactive + apiActive + apiInactive,
      },
      days: series,
      totals,
      liveSessions,
    };
  }
}

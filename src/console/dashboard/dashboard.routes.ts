import type { RealmDashboard } from '../../services/realm-dashboard.ts';
import { renderConsolePage } from '../render.ts';
import { consoleRoute, type ConsoleRouteSpec } from '../route.ts';
import { barChart, CHART_SERIES, type ChartBar } from './chart.ts';

/** The days the dashboard shows: the last 30 UTC days, today included. */
export const DASHBOARD_DAYS = 30;

/** GET /admin/realms/:realmId — the realm's dashboard: users by type and state, sign-ups and sign-ins per day, live sessions. */
export function dashboardRoutes(dashboard: Pick<RealmDashboard, 'summary'>): ConsoleRouteSpec[] {
  return [
    consoleRoute({
      method: 'get',
      path: '/realms/:realmId',
      capability: 'read',
      async handler(_req, res, c) {
        const realm = c.realm!;
        const t = res.locals.t as (k: string, p?: Record<string, unknown>) => string;
        const summary = await dashboard.summary(realm, DASHBOARD_DAYS);
        const chart = barChart(summary.days);
        // The view draws one group per day, its bars in CHART_SERIES order (barChart lists them so).
        const byDay = new Map<string, ChartBar[]>();
        for (const bar of chart.bars) byDay.set(bar.day, [...(byDay.get(bar.day) ?? []), bar]);
        renderConsolePage(res, 'dashboard/index', {
          title: t('console.dashboard.title', { realm: realm.name }),
          section: 'dashboard',
          realmName: realm.name,
          summary,
          chart: { ...chart, groups: summary.days.map((d) => ({ day: d.day, bars: byDay.get(d.day) ?? [] })), series: CHART_SERIES },
        });
      },
    }),
  ];
}

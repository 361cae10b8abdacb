/**
 * The realm dashboard's bar chart as geometry (docs/design/console.md §2.3): sign-ups and sign-ins per day,
 * grouped, in SVG user units. Pure: the view draws the rects and lines with classes (no inline styles, for
 * the CSP) and puts the same numbers in a table under it for screen readers.
 */

/** What the chart draws of a day (RealmDashboard's DashboardDay fits). */
export interface ChartDay {
  day: string;
  signUps: number;
  signIns: number;
}

export type ChartSeries = 'signUps' | 'signIns';

/** The series of each day's group, left to right. */
export const CHART_SERIES: readonly ChartSeries[] = ['signUps', 'signIns'];

export interface ChartBar {
  x: number;
  y: number;
  w: number;
  h: number;
  day: string;
  value: number;
  series: ChartSeries;
}

export interface ChartTick {
  /** Where the gridline runs. */
  y: number;
  label: string;
  value: number;
}

export interface ChartLabel {
  /** The centre of the day's group. */
  x: number;
  day: string;
  /** MM-DD. */
  label: string;
}

export interface BarChart {
  width: number;
  height: number;
  /** The area inside the axes: bars stand on y + h = plot.y + plot.h. */
  plot: { x: number; y: number; w: number; h: number };
  /** Day by day, CHART_SERIES order within a day. */
  bars: ChartBar[];
  /** From 0 at the baseline up to maxValue at the top of the plot. */
  yTicks: ChartTick[];
  /** The days to name under the axis: all of them when they fit, else every k-th ending on the last. */
  xLabels: ChartLabel[];
  /** The round number at the top of the y-axis (0 when every value is 0: a flat chart). */
  maxValue: number;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Room for the y labels (left) and the day labels (bottom). */
  margin?: { top: number; right: number; bottom: number; left: number };
  /** How many steps the y-axis is cut into, at most (the step is rounded to 1, 2 or 5 × 10ⁿ). */
  ticks?: number;
  /** The least room a day label needs, in user units. */
  labelWidth?: number;
}

const DEFAULTS = { width: 640, height: 240, margin: { top: 8, right: 8, bottom: 24, left: 44 }, ticks: 4, labelWidth: 44 };

/** Of a group's width, the share the bars take (the rest is the gap between days). */
const GROUP_FILL = 0.8;

/** The smallest step of 1, 2 or 5 × 10ⁿ (at least 1: counts are whole) that is at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 1)) return 1;
  let power = 1;
  while (power * 10 <= raw) power *= 10;
  for (const f of [1, 2, 5]) if (f * power >= raw) return f * power;
  return 10 * power;
}

/** The top of the axis and its step for a largest value of `max`: a multiple of a nice step, at least max. */
export function niceScale(max: number, ticks = DEFAULTS.ticks): { maxValue: number; step: number } {
  if (!(max > 0)) return { maxValue: 0, step: 1 };
  const step = niceStep(max / Math.max(1, Math.floor(ticks)));
  return { maxValue: Math.ceil(max / step) * step, step };
}

/** A tick's label: the number, shortened from ten thousand on (12k, 1.5M). */
export function tickLabel(value: number): string {
  const short = (n: number, unit: string) => `${Number.parseFloat(n.toFixed(1))}${unit}`;
  if (value >= 1_000_000) return short(value / 1_000_000, 'M');
  if (value >= 10_000) return short(value / 1_000, 'k');
  return String(value);
}

const round = (n: number) => Math.round(n * 100) / 100;
/** A count as drawn: a whole number, 0 for anything else. */
const countOf = (v: number) => (Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** The grouped bars of sign-ups and sign-ins of `days` (oldest first, as RealmDashboard gives them). */
export function barChart(days: readonly ChartDay[], options: ChartOptions = {}): BarChart {
  const width = options.width ?? DEFAULTS.width;
  const height = options.height ?? DEFAULTS.height;
  const margin = options.margin ?? DEFAULTS.margin;
  const plot = { x: margin.left, y: margin.top, w: Math.max(0, width - margin.left - margin.right), h: Math.max(0, height - margin.top - margin.bottom) };
  const baseline = plot.y + plot.h;

  const largest = days.reduce((m, d) => Math.max(m, ...CHART_SERIES.map((s) => countOf(d[s]))), 0);
  const { maxValue, step } = niceScale(largest, options.ticks ?? DEFAULTS.ticks);

  const group = days.length > 0 ? plot.w / days.length : 0;
  const barWidth = (group * GROUP_FILL) / CHART_SERIES.length;
  const inset = (group * (1 - GROUP_FILL)) / 2;
  const bars: ChartBar[] = [];
  days.forEach((d, i) => {
    CHART_SERIES.forEach((series, j) => {
      const value = countOf(d[series]);
      // A day with any event shows at least a sliver: one in a thousand is not lost to rounding (value > 0: maxValue > 0).
      const h = value === 0 ? 0 : Math.max(1, (value / maxValue) * plot.h);
      bars.push({ x: round(plot.x + i * group + inset + j * barWidth), y: round(baseline - h), w: round(barWidth), h: round(h), day: d.day, value, series });
    });
  });

  const yTicks: ChartTick[] = [];
  for (let value = 0; value <= maxValue; value += step) {
    yTicks.push({ y: round(maxValue === 0 ? baseline : baseline - (value / maxValue) * plot.h), label: tickLabel(value), value });
  }

  // Every k-th day, counted back from the last so that today is always named.
  const fit = Math.max(1, Math.floor(plot.w / (options.labelWidth ?? DEFAULTS.labelWidth)));
  const every = Math.ceil(days.length / fit);
  const xLabels: ChartLabel[] = [];
  days.forEach((d, i) => {
    if ((days.length - 1 - i) % every === 0) xLabels.push({ x: round(plot.x + (i + 0.5) * group), day: d.day, label: d.day.slice(5) });
  });

  return { width, height, plot, bars, yTicks, xLabels, maxValue };
}

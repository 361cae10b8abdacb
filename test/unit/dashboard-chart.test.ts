import { describe, expect, it } from 'vitest';
import { barChart, niceScale, niceStep, tickLabel, type ChartDay } from '../../src/console/dashboard/chart.ts';

const days = (values: Array<[number, number]>): ChartDay[] =>
  values.map(([signUps, signIns], i) => ({ day: `2025-05-${String(i + 1).padStart(2, '0')}`, signUps, signIns }));

/** Every number of the chart, to check none is NaN or infinite. */
const numbersOf = (chart: ReturnType<typeof barChart>) => [
  chart.width,
  chart.height,
  chart.maxValue,
  ...Object.values(chart.plot),
  ...chart.bars.flatMap((b) => [b.x, b.y, b.w, b.h, b.value]),
  ...chart.yTicks.flatMap((t) => [t.y, t.value]),
  ...chart.xLabels.map((l) => l.x),
];

describe('the dashboard chart’s y-axis', () => {
  it('steps by 1, 2 or 5 × 10ⁿ, never below 1', () => {
    expect([0, 0.3, 1, 1.2, 2, 2.5, 4.9, 5.1, 10, 11, 30, 49, 250, 999, 1001].map(niceStep)).toEqual([1, 1, 1, 2, 2, 5, 5, 10, 10, 20, 50, 50, 500, 1000, 2000]);
  });

  it('tops out at the first multiple of the step at or above the largest value', () => {
    expect(niceScale(0)).toEqual({ maxValue: 0, step: 1 });
    expect(niceScale(1)).toEqual({ maxValue: 1, step: 1 });
    expect(niceScale(3)).toEqual({ maxValue: 3, step: 1 });
    expect(niceScale(7)).toEqual({ maxValue: 8, step: 2 });
    expect(niceScale(10)).toEqual({ maxValue: 10, step: 5 });
    expect(niceScale(11)).toEqual({ maxValue: 15, step: 5 });
    expect(niceScale(99)).toEqual({ maxValue: 100, step: 50 });
    expect(niceScale(1234)).toEqual({ maxValue: 1500, step: 500 });
    expect(niceScale(40, 10)).toEqual({ maxValue: 40, step: 5 });
  });

  it('labels ticks short from ten thousand on', () => {
    expect([0, 5, 1500, 9999, 10_000, 12_500, 1_500_000, 2_000_000].map(tickLabel)).toEqual(['0', '5', '1500', '9999', '10k', '12.5k', '1.5M', '2M']);
  });
});

describe('barChart', () => {
  it('draws two bars a day, sign-ups then sign-ins, standing on the baseline, the largest reaching the top', () => {
    const chart = barChart(days([[2, 5], [0, 8], [1, 3]]), { width: 340, height: 140, margin: { top: 10, right: 10, bottom: 30, left: 30 } });
    expect(chart.plot).toEqual({ x: 30, y: 10, w: 300, h: 100 });
    expect(chart.maxValue).toBe(8);
    expect(chart.bars.map((b) => [b.day, b.series, b.value])).toEqual([
      ['2025-05-01', 'signUps', 2],
      ['2025-05-01', 'signIns', 5],
      ['2025-05-02', 'signUps', 0],
      ['2025-05-02', 'signIns', 8],
      ['2025-05-03', 'signUps', 1],
      ['2025-05-03', 'signIns', 3],
    ]);
    // Each day is 100 wide: 10 of gap either side, two bars of 40.
    expect(chart.bars.map((b) => [b.x, b.w])).toEqual([[40, 40], [80, 40], [140, 40], [180, 40], [240, 40], [280, 40]]);
    for (const b of chart.bars) expect(b.y + b.h).toBe(110);
    expect(chart.bars.map((b) => b.h)).toEqual([25, 62.5, 0, 100, 12.5, 37.5]);
    expect(chart.bars[3]!.y).toBe(chart.plot.y);
    expect(chart.yTicks).toEqual([
      { y: 110, label: '0', value: 0 },
      { y: 85, label: '2', value: 2 },
      { y: 60, label: '4', value: 4 },
      { y: 35, label: '6', value: 6 },
      { y: 10, label: '8', value: 8 },
    ]);
    expect(chart.xLabels).toEqual([
      { x: 80, day: '2025-05-01', label: '05-01' },
      { x: 180, day: '2025-05-02', label: '05-02' },
      { x: 280, day: '2025-05-03', label: '05-03' },
    ]);
  });

  it('keeps every bar inside the plot and the groups in day order', () => {
    const chart = barChart(days(Array.from({ length: 30 }, (_, i) => [i * 7, 1000 - i * 13] as [number, number])));
    expect(chart.bars).toHaveLength(60);
    expect(chart.maxValue).toBe(1000);
    for (const b of chart.bars) {
      expect(b.x).toBeGreaterThanOrEqual(chart.plot.x);
      expect(b.x + b.w).toBeLessThanOrEqual(chart.plot.x + chart.plot.w + 0.01);
      expect(b.y).toBeGreaterThanOrEqual(chart.plot.y);
    }
    const xs = chart.bars.map((b) => b.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(60);
  });

  it('draws a flat chart for no events at all: no bar height, one tick at 0, nothing divided by zero', () => {
    const chart = barChart(days([[0, 0], [0, 0]]));
    expect(chart.maxValue).toBe(0);
    expect(chart.bars).toHaveLength(4);
    for (const b of chart.bars) expect(b).toMatchObject({ h: 0, y: chart.plot.y + chart.plot.h });
    expect(chart.yTicks).toEqual([{ y: chart.plot.y + chart.plot.h, label: '0', value: 0 }]);
    expect(numbersOf(chart).every(Number.isFinite)).toBe(true);
  });

  it('draws nothing for no days, and treats what is not a count as 0', () => {
    const empty = barChart([]);
    expect(empty.bars).toEqual([]);
    expect(empty.xLabels).toEqual([]);
    expect(empty.maxValue).toBe(0);
    expect(numbersOf(empty).every(Number.isFinite)).toBe(true);
    const odd = barChart(days([[Number.NaN, -3], [Number.POSITIVE_INFINITY, 2]]));
    expect(odd.bars.map((b) => b.value)).toEqual([0, 0, 0, 2]);
    expect(numbersOf(odd).every(Number.isFinite)).toBe(true);
  });

  it('shows one event among thousands as at least a sliver', () => {
    const chart = barChart(days([[1, 5000]]));
    expect(chart.bars[0]!.h).toBe(1);
    expect(chart.bars[0]!.y + chart.bars[0]!.h).toBe(chart.plot.y + chart.plot.h);
  });

  it('names every k-th day when they do not all fit, always today', () => {
    const chart = barChart(days(Array.from({ length: 30 }, () => [1, 1] as [number, number])), { width: 300, margin: { top: 0, right: 0, bottom: 20, left: 0 }, labelWidth: 40 });
    // 300 wide fits 7 labels: every 5th day, counted back from the 30th.
    expect(chart.xLabels.map((l) => l.label)).toEqual(['05-05', '05-10', '05-15', '05-20', '05-25', '05-30']);
  });
});

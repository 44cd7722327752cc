// Time-series charts on uPlot: one canvas per chart, drawn in the task that creates it (uPlot
// draws in a microtask, not an animation frame), so the page's first frame holds the line.
// uPlot sets styles through the CSSOM only (element.style), which the CSP allows.
// Its stylesheet is imported by main.ts, so that it comes with the page's first stylesheet.
import uPlot from "uplot";

export type Point = { time: string; value: number };

export interface Line {
  label: string;
  values: (number | null)[];
  color?: string;
  area?: boolean; // filled down to the top (drawdown)
}

const GRID = "#f1f5f9";
const LEGEND_HEIGHT = 28; // the legend's row under the plot, inside the container's height
const COLORS = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];

export function color(i: number): string {
  return COLORS[i % COLORS.length];
}

/** A day (YYYY-MM-DD) as the Unix second of its local midnight: uPlot labels its axis in the
 * browser's time zone, so the day shown is the day given whatever that zone is. */
export function daySeconds(day: string): number {
  return new Date(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)).getTime() / 1000;
}

function seriesOptions(line: Line, i: number): uPlot.Series {
  const stroke = line.color ?? color(i);
  return {
    label: line.label,
    stroke,
    width: line.area ? 1 : 2,
    fill: line.area ? "rgba(220,38,38,0.2)" : undefined,
    spanGaps: true,
    points: { show: false },
  };
}

export interface ChartOptions {
  format?: (v: number) => string; // the y axis' labels and the legend's values
  sync?: string; // charts with the same key share the cursor
}

/** A chart of `lines` over the times `x` (Unix seconds), sized by its container now and
 * following the container's later sizes. */
export function timeChart(el: HTMLElement, x: number[], lines: Line[], options: ChartOptions = {}): uPlot {
  const { format, sync } = options;
  const value = format && ((_: uPlot, v: number | null) => (v === null || v === undefined ? "–" : format(v)));
  const chart = new uPlot(
    {
      width: el.clientWidth,
      height: Math.max(el.clientHeight - LEGEND_HEIGHT, 80),
      series: [{}, ...lines.map((line, i) => ({ ...seriesOptions(line, i), ...(value ? { value } : {}) }))],
      axes: [
        { grid: { stroke: GRID }, ticks: { show: false } },
        { grid: { stroke: GRID }, ticks: { show: false }, size: 64, ...(format ? { values: (_: uPlot, ticks: number[]) => ticks.map(format) } : {}) },
      ],
      cursor: { points: { show: false }, drag: { x: true, y: false }, ...(sync ? { sync: { key: sync } } : {}) },
      scales: { x: { time: true } },
    },
    [x, ...lines.map((line) => line.values)],
    el,
  );
  followSize(el, chart);
  return chart;
}

function followSize(el: HTMLElement, chart: uPlot): void {
  let width = el.clientWidth;
  const observer = new ResizeObserver(() => {
    if (el.clientWidth === width) return;
    width = el.clientWidth;
    chart.setSize({ width, height: chart.height });
  });
  observer.observe(el);
  chart.hooks.destroy = [...(chart.hooks.destroy ?? []), () => observer.disconnect()];
}

/** Adds `lines` on the chart's x, coloured from the `from`th colour on, in one redraw;
 * returns their series indexes (for show/hide). */
export function addLines(chart: uPlot, lines: Line[], from: number): number[] {
  const first = chart.series.length;
  lines.forEach((line, i) => chart.addSeries(seriesOptions(line, from + i)));
  chart.setData([...chart.data, ...lines.map((line) => line.values)] as uPlot.AlignedData);
  return lines.map((_, i) => first + i);
}

/** `rows` placed on the sessions `days` (null where a row has no session there). */
export function alignTo(days: string[], rows: { date: string; level: number }[]): (number | null)[] {
  const at = new Map(rows.map((r) => [r.date, r.level]));
  return days.map((d) => at.get(d) ?? null);
}

/** Drawdown from the running peak: level / max(level so far) - 1. */
export function drawdown(values: number[]): number[] {
  let peak = -Infinity;
  return values.map((v) => {
    peak = Math.max(peak, v);
    return v / peak - 1;
  });
}

/** The largest fall from a running peak (a negative fraction, 0 when none). */
export function maxDrawdown(values: number[]): number {
  return drawdown(values).reduce((low, d) => Math.min(low, d), 0);
}

/** The index of the point nearest a click on the chart, or null outside the plot. */
export function onPointClick(chart: uPlot, handle: (idx: number) => void): void {
  chart.over.addEventListener("click", (e) => {
    const left = e.clientX - chart.over.getBoundingClientRect().left;
    const idx = chart.posToIdx(left);
    if (idx >= 0 && idx < chart.data[0].length) handle(idx);
  });
}

/** Zooming one chart zooms the other to the same x range. */
export function linkTimeScales(a: uPlot, b: uPlot): void {
  const follow = (from: uPlot, to: uPlot) => {
    from.hooks.setScale = [...(from.hooks.setScale ?? []), (u: uPlot, key: string) => {
      const { min, max } = u.scales.x;
      if (key === "x" && min !== undefined && max !== undefined && (to.scales.x.min !== min || to.scales.x.max !== max)) {
        to.setScale("x", { min, max });
      }
    }];
  };
  follow(a, b);
  follow(b, a);
}

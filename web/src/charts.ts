import {
  AreaSeries,
  createChart,
  LineSeries,
  type IChartApi,
  type ISeriesApi,
  type Time,
} from "lightweight-charts";

export type Point = { time: string; value: number };

const COLORS = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];

export function color(i: number): string {
  return COLORS[i % COLORS.length];
}

/** A chart sized by its container: its first frame is drawn at the container's size now (no
 * wait for a resize observation), later sizes follow the container. The attribution logo
 * injects an inline <style>, which the CSP refuses: the page footer carries the attribution. */
export function lineChart(el: HTMLElement): IChartApi {
  const chart = createChart(el, {
    width: el.clientWidth,
    height: el.clientHeight,
    layout: { background: { color: "#ffffff" }, textColor: "#1f2937", attributionLogo: false },
    grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false },
  });
  requestAnimationFrame(() => setTimeout(() => chart.applyOptions({ autoSize: true }), 0));
  return chart;
}

export function addLine(chart: IChartApi, i: number, data: Point[], title: string): ISeriesApi<"Line"> {
  const series = chart.addSeries(LineSeries, { color: color(i), lineWidth: 2, title });
  series.setData(data.map((p) => ({ time: p.time as Time, value: p.value })));
  return series;
}

export function addArea(chart: IChartApi, data: Point[], title: string): ISeriesApi<"Area"> {
  const series = chart.addSeries(AreaSeries, {
    lineColor: "#dc2626",
    topColor: "rgba(220,38,38,0.05)",
    bottomColor: "rgba(220,38,38,0.35)",
    lineWidth: 1,
    title,
    invertFilledArea: true,
  });
  series.setData(data.map((p) => ({ time: p.time as Time, value: p.value })));
  return series;
}

/** Drawdown from the running peak: level / max(level so far) - 1. */
export function drawdown(points: Point[]): Point[] {
  let peak = -Infinity;
  return points.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: p.value / peak - 1 };
  });
}

/** Keep the second chart's visible range in step with the first's. */
export function linkTimeScales(a: IChartApi, b: IChartApi): void {
  a.timeScale().subscribeVisibleLogicalRangeChange((range) => {
    if (range) b.timeScale().setVisibleLogicalRange(range);
  });
}

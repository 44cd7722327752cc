// The Index page's first reads, shared with main.ts so that they start while the page's code
// and the chart library are still loading.
import { prefetch, query } from "./api";

export const BENCHMARKS = ["RSP", "EQWL", "SPY", "OEF"];

export interface Range {
  start?: string;
  end?: string;
}

/** The range in the page's hash (#/index?start=…&end=…). */
export function hashRange(): Range {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  return { start: params.get("start") || undefined, end: params.get("end") || undefined };
}

/** The index levels alone (a cached read), or with the benchmarks rebased onto them. */
export function performanceUrl(range: Range, benchmarks: boolean): string {
  const dates = { start_date: range.start, end_date: range.end };
  return `/index-performance${query(benchmarks ? { ...dates, benchmarks: BENCHMARKS.join(",") } : dates)}`;
}

/** Both reads at once: the chart draws from the first, the overlays from the second. */
export function prefetchIndex(range: Range): void {
  prefetch(performanceUrl(range, false));
  if (range.start && range.end) prefetch(performanceUrl(range, true));
}

import type { IChartApi, MouseEventParams } from "lightweight-charts";
import { ApiError, get, query, send } from "../api";
import { addArea, addLine, color, drawdown, lineChart, linkTimeScales, type Point } from "../charts";
import { $, h, num, pct, replace, table } from "../dom";
import { exportWorkbook, save } from "../export-job";
import { performanceUrl, type Range } from "../index-reads";
import {
  renderChanges, renderComposition, renderNearMisses, renderQuality, renderReturns, setComposition,
  type Change, type Constituent, type NearMiss, type PerfRow,
} from "./index-tables";

interface Stats {
  sessions: number;
  correlation: number | null;
  beta: number | null;
  tracking_error_annualized: number | null;
  index_return: number;
  benchmark_return: number;
  return_difference: number;
}
interface Benchmark {
  symbol: string;
  rows: { date: string; level: number }[];
  statistics: Stats | null;
}
interface Performance {
  start_date: string;
  end_date: string;
  rows: PerfRow[];
  benchmarks?: Benchmark[];
}

const state = {
  shown: 0, // which show() is current: a late answer for an older range is dropped
  level: null as IChartApi | null,
  dd: null as IChartApi | null,
};

const byId = (id: string) => document.getElementById(id)!;

export function mount(root: HTMLElement): void {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  root.append(
    h(
      "form",
      { id: "range", class: "toolbar" },
      h("label", {}, "From ", h("input", { type: "date", name: "start", value: params.get("start") ?? "" })),
      h("label", {}, "To ", h("input", { type: "date", name: "end", value: params.get("end") ?? "" })),
      h("button", { type: "submit", id: "build" }, "Build"),
      h("button", { type: "button", id: "export" }, "Download .xlsx"),
      h("progress", { id: "export-progress", max: "1", hidden: true }),
      h("span", { id: "status", class: "status", role: "status" }),
    ),
    h("section", { class: "card" },
      h("h2", {}, "Level ", h("small", { id: "last-level" })),
      h("div", { id: "overlays", class: "toggles" }),
      h("div", { id: "level-chart", class: "chart" }),
      h("h3", {}, "Drawdown"),
      h("div", { id: "drawdown-chart", class: "chart small" }),
      h("div", { id: "tracking" }),
    ),
    h("div", { class: "grid" },
      h("section", { class: "card" },
        h("h2", {}, "Composition ", h("small", { id: "composition-date" }, "click a day on the chart")),
        h("label", {}, "Sector ", h("select", { id: "sector" }, h("option", { value: "" }, "all"))),
        h("div", { id: "composition", class: "scroll" }),
      ),
      h("section", { class: "card" },
        h("h2", {}, "Composition changes"),
        h("div", { id: "changes", class: "scroll" }),
        h("h2", {}, "Near misses"),
        h("div", { id: "near-misses", class: "scroll short" }),
      ),
    ),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Daily and cumulative returns"), h("div", { id: "returns", class: "scroll" })),
      h("section", { class: "card" }, h("h2", {}, "Data quality"), h("div", { id: "quality" })),
    ),
  );
  const form = $(root, "#range") as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void build(form);
  });
  $(root, "#export").addEventListener("click", () => void exportRange(form));
  $(root, "#sector").addEventListener("change", renderComposition);
  void show(form, false);
}

function range(form: HTMLFormElement): Range {
  const data = new FormData(form);
  return { start: (data.get("start") as string) || undefined, end: (data.get("end") as string) || undefined };
}

function status(text: string, error = false): void {
  const el = byId("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

async function build(form: HTMLFormElement): Promise<void> {
  const { start, end } = range(form);
  if (!start) return status("choose a start date", true);
  status("building…");
  try {
    await send("POST", "/build-index", { start_date: start, ...(end ? { end_date: end } : {}) }, false);
    await show(form, true);
  } catch (e) {
    status((e as Error).message, true);
  }
}

/** The benchmarks rebased onto the index; none when they were never ingested. */
async function benchmarks(r: Range): Promise<Benchmark[]> {
  try {
    return (await get<Performance>(performanceUrl(r, true))).benchmarks ?? [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && /benchmark/.test(e.message)) return [];
    throw e;
  }
}

/** The level chart first, from the plain (cached) read; everything else once it is painted. */
async function show(form: HTMLFormElement, built: boolean): Promise<void> {
  const shown = ++state.shown;
  const r = range(form);
  status("loading…");
  const plain = get<Performance>(performanceUrl(r, false));
  const early = r.start && r.end ? benchmarks(r) : null; // both requests at once
  early?.catch(() => undefined); // reported below, once the levels are shown
  let perf: Performance;
  try {
    perf = await plain;
  } catch (e) {
    return status((e as Error).message, true);
  }
  if (shown !== state.shown) return;
  (form.elements.namedItem("start") as HTMLInputElement).value = perf.start_date;
  (form.elements.namedItem("end") as HTMLInputElement).value = perf.end_date;
  history.replaceState(null, "", `#/index?start=${perf.start_date}&end=${perf.end_date}`);
  const points: Point[] = perf.rows.map((row) => ({ time: row.date, value: row.level }));
  const level = drawLevel(perf, points);
  status(`${perf.rows.length} sessions ${perf.start_date} … ${perf.end_date}${built ? " (built)" : ""}`);
  await painted();
  // The rest, each in its own task once the chart is on screen.
  const later = (work: () => void) => setTimeout(() => shown === state.shown && work(), 0);
  later(() => drawDrawdown(level, points));
  later(() => void loadComposition(perf.end_date));
  later(() => void loadSide(perf));
  later(() => renderReturns(perf.rows));
  try {
    const overlays = await (early ?? benchmarks({ start: perf.start_date, end: perf.end_date }));
    if (shown === state.shown) later(() => drawOverlays(level, overlays));
  } catch (e) {
    status((e as Error).message, true);
  }
}

/** Resolves in the next animation frame, after the chart's own frame callback has drawn. */
function painted(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => done()));
}

function drawLevel(perf: Performance, points: Point[]): IChartApi {
  state.level?.remove();
  state.dd?.remove();
  state.dd = null;
  const level = lineChart(byId("level-chart"));
  addLine(level, 0, points, "Index");
  level.timeScale().fitContent();
  level.subscribeClick((p: MouseEventParams) => {
    if (p.time) void loadComposition(String(p.time));
  });
  state.level = level;
  const last = perf.rows[perf.rows.length - 1];
  const lastEl = byId("last-level");
  lastEl.textContent = last ? num(last.level) : "";
  // Marked once the chart has drawn its frame (its own animation-frame callback runs first).
  void painted().then(() => {
    lastEl.dataset.level = last ? String(last.level) : "";
    lastEl.dataset.points = String(points.length);
    performance.mark("index:first-render");
  });
  return level;
}

function drawDrawdown(level: IChartApi, points: Point[]): void {
  const dd = lineChart(byId("drawdown-chart"));
  addArea(dd, drawdown(points), "Drawdown");
  dd.timeScale().fitContent();
  linkTimeScales(level, dd);
  state.dd = dd;
}

function drawOverlays(level: IChartApi, overlays: Benchmark[]): void {
  const toggles = byId("overlays");
  replace(toggles);
  overlays.forEach((b, i) => {
    const series = addLine(level, i + 1, b.rows.map((r) => ({ time: r.date, value: r.level })), b.symbol);
    const box = h("input", { type: "checkbox", checked: true, "data-benchmark": b.symbol });
    box.addEventListener("change", () => series.applyOptions({ visible: box.checked }));
    const label = h("label", {}, box, ` ${b.symbol}`);
    label.style.color = color(i + 1); // CSSOM, not a style attribute: allowed by the CSP
    toggles.append(label);
  });
  renderTracking(overlays);
}

function renderTracking(overlays: Benchmark[]): void {
  const rows = overlays.map((b) => {
    const s = b.statistics;
    return [b.symbol, s?.correlation?.toFixed(4) ?? "–", s?.beta?.toFixed(3) ?? "–", pct(s?.tracking_error_annualized),
      pct(s?.benchmark_return), pct(s?.return_difference)];
  });
  replace(byId("tracking"), rows.length
    ? table(["Benchmark", "Correlation", "Beta", "Tracking error (ann.)", "Benchmark return", "Index − benchmark"], rows, { id: "tracking-table" })
    : h("p", { class: "muted" }, "No benchmarks ingested (market-data ingest --provider file --benchmarks …)."));
}

async function loadSide(perf: Performance): Promise<void> {
  const dates = query({ start_date: perf.start_date, end_date: perf.end_date });
  try {
    const [changes, turnover, quality] = await Promise.all([
      get<{ changes: Change[] }>(`/composition-changes${dates}`),
      get<{ rows: { date: string; turnover: number }[] }>(`/index-turnover${dates}`),
      get<Record<string, unknown>>(`/data-quality${dates}`),
    ]);
    renderChanges(changes.changes, turnover.rows);
    renderQuality(quality);
  } catch (e) {
    status((e as Error).message, true);
  }
}

async function loadComposition(day: string): Promise<void> {
  try {
    const [comp, near] = await Promise.all([
      get<{ selection_date: string; constituents: Constituent[] }>(`/index-composition?date=${day}`),
      get<{ securities: NearMiss[] }>(`/index-near-misses?date=${day}`),
    ]);
    setComposition(comp.selection_date, comp.constituents);
    renderNearMisses(near.securities);
  } catch (e) {
    status((e as Error).message, true);
  }
}

async function exportRange(form: HTMLFormElement): Promise<void> {
  const { start, end } = range(form);
  const bar = byId("export-progress") as HTMLProgressElement;
  const button = byId("export") as HTMLButtonElement;
  button.disabled = true;
  bar.hidden = false;
  bar.removeAttribute("value"); // indeterminate until the job reports
  status("exporting…");
  try {
    const workbook = await exportWorkbook({ start_date: start, end_date: end }, (stage, progress) => {
      bar.value = progress;
      status(`exporting: ${stage} (${pct(progress, 0)})`);
    });
    save(workbook);
    status(`exported ${workbook.filename}`);
  } catch (e) {
    status((e as Error).message, true);
  } finally {
    bar.hidden = true;
    button.disabled = false;
  }
}

import type uPlot from "uplot";
import { ApiError, call, get, query, send } from "../api";
import { addLines, alignTo, color, daySeconds, drawdown, linkTimeScales, maxDrawdown, onPointClick, timeChart } from "../charts";
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
  level: null as uPlot | null,
  dd: null as uPlot | null,
};

/** One range's sessions as the charts take them. */
interface Sessions {
  days: string[];
  x: number[]; // Unix seconds of each day
  levels: number[];
}

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
      h("h2", {}, "Level"),
      h("dl", { id: "headline", class: "headline" },
        figure("Last level", "last-level"), figure("Total return", "total-return"),
        figure("Annualized", "annualized-return"), figure("Max drawdown", "max-drawdown"),
        figure("Sessions", "sessions")),
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

function figure(label: string, id: string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", { id, "data-figure": true }, "–"));
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

/** The benchmarks' read, asked for now; its body is parsed only when awaited (after the
 * first frame), so a large answer arriving early does not hold the level chart back. */
function benchmarksRead(r: Range): Promise<Response> {
  const response = call("GET", performanceUrl(r, true), undefined, false);
  response.catch(() => undefined); // reported by overlays(), once the levels are shown
  return response;
}

/** The benchmarks rebased onto the index; none when they were never ingested. */
async function overlays(read: Promise<Response>): Promise<Benchmark[]> {
  try {
    return ((await (await read).json()) as Performance).benchmarks ?? [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && /benchmark/.test(e.message)) return [];
    throw e;
  }
}

/** The level chart and the headline figures first, from the plain (cached) read; everything
 * else once they are painted. */
async function show(form: HTMLFormElement, built: boolean): Promise<void> {
  const shown = ++state.shown;
  const r = range(form);
  status("loading…");
  const plain = get<Performance>(performanceUrl(r, false));
  const early = r.start && r.end ? benchmarksRead(r) : null; // both requests at once
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
  const days = perf.rows.map((row) => row.date);
  const sessions: Sessions = { days, x: days.map(daySeconds), levels: perf.rows.map((row) => row.level) };
  const level = drawLevel(sessions);
  renderHeadline(perf, sessions.levels);
  status(`${perf.rows.length} sessions ${perf.start_date} … ${perf.end_date}${built ? " (built)" : ""}`);
  await painted();
  markFirstRender(perf, sessions);
  // The rest, each in its own task once the chart and the figures are on screen.
  const later = (work: () => void) => setTimeout(() => shown === state.shown && work(), 0);
  later(() => drawDrawdown(level, sessions));
  later(() => void loadComposition(perf.end_date));
  later(() => void loadSide(perf));
  later(() => renderReturns(perf.rows));
  try {
    const read = early ?? benchmarksRead({ start: perf.start_date, end: perf.end_date });
    const benchmarks = await overlays(read);
    if (shown === state.shown) later(() => drawOverlays(level, sessions, benchmarks));
  } catch (e) {
    status((e as Error).message, true);
  }
}

/** Resolves in the next animation frame: the chart (drawn in the task that made it) and the
 * figures are in the frame before it. */
function painted(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => done()));
}

function drawLevel(sessions: Sessions): uPlot {
  state.level?.destroy();
  state.dd?.destroy();
  state.dd = null;
  const level = timeChart(byId("level-chart"), sessions.x, [{ label: "Index", values: sessions.levels }], { sync: "index" });
  onPointClick(level, (idx) => void loadComposition(sessions.days[idx]));
  state.level = level;
  return level;
}

function renderHeadline(perf: Performance, levels: number[]): void {
  const first = levels[0];
  const last = levels[levels.length - 1];
  const total = first && last !== undefined ? last / first - 1 : null;
  const years = (daySeconds(perf.end_date) - daySeconds(perf.start_date)) / (365.25 * 86400);
  const annualized = total !== null && years > 0 ? (1 + total) ** (1 / years) - 1 : null;
  byId("last-level").textContent = last === undefined ? "–" : num(last);
  byId("total-return").textContent = pct(total);
  byId("annualized-return").textContent = pct(annualized);
  byId("max-drawdown").textContent = pct(levels.length ? maxDrawdown(levels) : null);
  byId("sessions").textContent = `${levels.length.toLocaleString("en-US")} (${perf.start_date} … ${perf.end_date})`;
}

/** The level chart holds every session and the figures are painted: what the bench and the
 * browser test wait for. */
function markFirstRender(perf: Performance, sessions: Sessions): void {
  const el = byId("last-level");
  const last = perf.rows[perf.rows.length - 1];
  el.dataset.level = last ? String(last.level) : "";
  el.dataset.points = String(sessions.days.length);
  performance.mark("index:first-render");
}

function drawDrawdown(level: uPlot, sessions: Sessions): void {
  const values = drawdown(sessions.levels);
  const dd = timeChart(byId("drawdown-chart"), sessions.x, [{ label: "Drawdown", values, color: "#dc2626", area: true }],
    { format: (v) => pct(v, 0), sync: "index" });
  linkTimeScales(level, dd);
  state.dd = dd;
}

function drawOverlays(level: uPlot, sessions: Sessions, overlays: Benchmark[]): void {
  const toggles = byId("overlays");
  replace(toggles);
  const lines = addLines(level, overlays.map((b) => ({ label: b.symbol, values: alignTo(sessions.days, b.rows) })), 1);
  overlays.forEach((b, i) => {
    const series = lines[i];
    const box = h("input", { type: "checkbox", checked: true, "data-benchmark": b.symbol });
    box.addEventListener("change", () => level.setSeries(series, { show: box.checked }));
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

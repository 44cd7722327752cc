// The Index page's tables: returns, composition (sortable, sector filter), changes, near
// misses and data-quality flags. Each renders one API answer into its container.
import { h, num, pct, replace, slicedTable, table } from "../dom";

export interface PerfRow {
  date: string;
  level: number;
  daily_return: number;
  cumulative_return: number;
}
export interface Constituent {
  rank: number;
  ticker: string;
  name: string | null;
  sector: string | null;
  market_cap: string;
  price: string;
  weight: number;
}
export interface Change {
  date: string;
  entered: { ticker: string; rank: number | null }[];
  exited: { ticker: string; rank: number | null }[];
}
export interface NearMiss {
  rank: number;
  ticker: string;
  market_cap: string;
  in_index: boolean;
}

const UNKNOWN = "–";
const byId = (id: string) => document.getElementById(id)!;

export function renderReturns(rows: PerfRow[]): void {
  const recent = rows.slice(-250).reverse();
  replace(byId("returns"), slicedTable(["Date", "Level", "Daily", "Cumulative"], recent,
    (r) => [r.date, num(r.level), pct(r.daily_return), pct(r.cumulative_return)]));
}

export function renderChanges(changes: Change[], turnover: { date: string; turnover: number }[]): void {
  const byDay = new Map(turnover.map((r) => [r.date, r.turnover]));
  replace(byId("changes"), changes.length
    ? slicedTable(["Date", "Entered", "Exited", "Turnover"], changes.slice().reverse(), (c) => [
        c.date, c.entered.map((x) => x.ticker).join(", "), c.exited.map((x) => x.ticker).join(", "), pct(byDay.get(c.date) ?? null)])
    : h("p", { class: "muted" }, "No changes in the range."));
}

export function renderQuality(quality: Record<string, unknown>): void {
  const count = (k: string) => (quality[k] as unknown[]).length;
  replace(byId("quality"), h("ul", { id: "quality-flags" },
    h("li", {}, `carried prices: ${count("carried_prices")}`),
    h("li", {}, `days with fewer than ${String(quality.index_size)} eligible: ${count("short_days")}`),
    h("li", {}, `sessions without data: ${count("missing_sessions")}`),
    h("li", {}, `non-session rows dropped: ${String(quality.non_session_rows_dropped)}`)));
}

export function renderNearMisses(securities: NearMiss[]): void {
  replace(byId("near-misses"), table(["Rank", "Ticker", "Cap", "In index"],
    securities.map((s) => [s.rank, s.ticker, num(Number(s.market_cap) / 1e9, 1) + " bn", s.in_index ? "yes" : "no"])));
}

const composition = {
  rows: [] as Constituent[],
  sort: { key: "rank" as keyof Constituent, dir: 1 },
};

/** A new day's constituents: the sector list follows them (kept when still present). */
export function setComposition(day: string, constituents: Constituent[]): void {
  byId("composition-date").textContent = day;
  composition.rows = constituents;
  const sectors = [...new Set(constituents.map((c) => c.sector ?? UNKNOWN))].sort();
  const select = byId("sector") as HTMLSelectElement;
  const chosen = select.value;
  replace(select, h("option", { value: "" }, "all"), ...sectors.map((s) => h("option", { value: s, selected: s === chosen }, s)));
  // Data without sectors (a file with no sector column): nothing to filter by.
  select.disabled = sectors.length === 1 && sectors[0] === UNKNOWN;
  select.title = select.disabled ? "the data has no sectors" : "";
  renderComposition();
}

export function renderComposition(): void {
  const sector = (byId("sector") as HTMLSelectElement).value;
  const { key, dir } = composition.sort;
  const numeric = key === "rank" || key === "weight" || key === "market_cap" || key === "price";
  const rows = composition.rows
    .filter((c) => !sector || (c.sector ?? UNKNOWN) === sector)
    .sort((a, b) => {
      const x = a[key], y = b[key];
      const cmp = numeric ? Number(x) - Number(y) : String(x ?? "").localeCompare(String(y ?? ""));
      return cmp * dir;
    });
  const columns: [keyof Constituent, string][] = [["rank", "Rank"], ["ticker", "Ticker"], ["name", "Name"],
    ["sector", "Sector"], ["market_cap", "Market cap"], ["weight", "Weight"]];
  const t = table(columns.map(([, label]) => label), rows.map((c) => [c.rank, c.ticker, c.name ?? "", c.sector ?? UNKNOWN,
    num(Number(c.market_cap) / 1e9, 1) + " bn", pct(c.weight)]), { id: "composition-table" });
  t.querySelectorAll("th").forEach((th, i) => {
    const column = columns[i][0];
    th.classList.add("sortable");
    if (column === key) th.dataset.sort = dir > 0 ? "asc" : "desc";
    th.addEventListener("click", () => {
      composition.sort = { key: column, dir: column === key ? -dir : 1 };
      renderComposition();
    });
  });
  replace(byId("composition"), t);
}

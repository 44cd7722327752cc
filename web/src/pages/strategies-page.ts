import { drawdown, timeChart } from "../charts";
import { get, send, storedKey } from "../api";
import { $, h, num, pct, replace, table } from "../dom";

interface Strategy {
  id: string;
  name: string;
  status: string;
  symbols: string[];
  parameters: Record<string, unknown>;
}
interface Job {
  job_id: string;
  status: string;
  progress: number;
  error: string;
  result: {
    final_equity: string;
    metrics: Record<string, number | null>;
    trades: Record<string, string | null>[];
    equity_curve: { t: string; equity: string }[];
  } | null;
}

export function mount(root: HTMLElement): void {
  if (!storedKey()) {
    root.append(h("p", { class: "card" }, "Enter an API key on the ", h("a", { href: "#/trading" }, "Trading"), " page first."));
    return;
  }
  const form = h("form", { id: "strategy-form", class: "ticket" },
    h("label", {}, "Name ", h("input", { name: "name", value: "golden cross", required: true })),
    h("label", {}, "Indicator ", h("select", { name: "kind" }, ...["sma_crossover", "ema_crossover", "rsi", "macd", "bollinger"].map((k) => h("option", {}, k)))),
    h("label", {}, "Fast ", h("input", { name: "fast", value: "3" })),
    h("label", {}, "Slow ", h("input", { name: "slow", value: "8" })),
    h("label", {}, "Symbols ", h("input", { name: "symbols", value: "AAPL,MSFT" })),
    h("label", {}, "Qty ", h("input", { name: "qty", value: "10" })),
    h("label", {}, "Take profit % ", h("input", { name: "tp", value: "8" })),
    h("label", {}, "Stop loss % ", h("input", { name: "sl", value: "4" })),
    h("button", { type: "submit" }, "Create"),
    h("p", { id: "strategy-result", role: "status" }));
  root.append(
    h("section", { class: "card" }, h("h2", {}, "New strategy"), form),
    h("section", { class: "card" }, h("h2", {}, "Strategies"), h("div", { id: "strategies" })),
    h("section", { class: "card" }, h("h2", {}, "Detail ", h("small", { id: "detail-name" })), h("div", { id: "detail" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = new FormData(form);
    const v = (k: string) => String(d.get(k) ?? "").trim();
    try {
      await send("POST", "/strategies", {
        name: v("name"), parameters: { kind: v("kind"), fast: Number(v("fast")), slow: Number(v("slow")) },
        symbols: v("symbols").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean), timeframe: "1Day",
        sizing: { mode: "qty", value: v("qty") }, take_profit_pct: v("tp") || undefined, stop_loss_pct: v("sl") || undefined,
      });
      $(form, "#strategy-result").textContent = "created";
      await list();
    } catch (err) {
      $(form, "#strategy-result").textContent = (err as Error).message;
    }
  });
  void list();
}

async function list(): Promise<void> {
  const strategies = await get<Strategy[]>("/strategies", true);
  replace(document.getElementById("strategies")!, table(["Name", "Indicator", "Symbols", "Status", ""],
    strategies.map((s) => [s.name, String(s.parameters.kind ?? ""), s.symbols.join(", "), s.status, actions(s)]), { id: "strategies-table" }));
}

function button(label: string, action: () => Promise<void>): HTMLElement {
  const b = h("button", { type: "button" }, label);
  b.addEventListener("click", () => void action().catch((e: Error) => (document.getElementById("strategy-result")!.textContent = e.message)));
  return b;
}

function actions(s: Strategy): HTMLElement {
  const toggle = s.status === "active"
    ? button("Deactivate", async () => { await send("POST", `/strategies/${s.id}/deactivate`, { cancel_open_orders: true }); await list(); })
    : button("Activate", async () => { await send("POST", `/strategies/${s.id}/activate`); await list(); });
  return h("span", {}, toggle, " ", button("Details", () => detail(s)), " ", button("Backtest", () => backtest(s)));
}

async function detail(s: Strategy): Promise<void> {
  const [signals, orders] = await Promise.all([
    get<Record<string, string>[]>(`/strategies/${s.id}/signals`, true),
    get<Record<string, string>[]>(`/strategies/${s.id}/orders`, true),
  ]);
  document.getElementById("detail-name")!.textContent = s.name;
  replace(document.getElementById("detail")!,
    h("h3", {}, `Signals (${signals.length})`), table(["Time", "Symbol", "Signal"], signals.slice(0, 50).map((x) => [x.ts ?? x.created_at, x.symbol, x.action ?? x.side ?? x.kind])),
    h("h3", {}, `Orders (${orders.length})`), table(["Order", "Symbol", "Side", "Status"], orders.slice(0, 50).map((x) => [x.order_id ?? x.id, x.symbol, x.side, x.status])));
}

async function backtest(s: Strategy): Promise<void> {
  const el = document.getElementById("detail")!;
  document.getElementById("detail-name")!.textContent = `${s.name}: backtest`;
  replace(el, "running…");
  let job = await send<Job>("POST", `/strategies/${s.id}/backtest`, { start: "2020-01-01", end: new Date().toISOString().slice(0, 10), initial_cash: "100000" });
  while (job.status === "queued" || job.status === "running") {
    await new Promise((r) => setTimeout(r, 500));
    job = await get<Job>(`/strategies/${s.id}/backtests/${job.job_id}`, true);
  }
  if (!job.result) return replace(el, `backtest ${job.status}: ${job.error}`);
  const r = job.result;
  const m = r.metrics;
  const curve = h("div", { class: "chart small" });
  const dd = h("div", { class: "chart small" });
  replace(el, h("p", {}, `final equity ${num(r.final_equity)} · return ${pct(m.total_return)} · max drawdown ${pct(m.max_drawdown)} · Sharpe ${m.sharpe?.toFixed(2) ?? "–"}`),
    curve, dd, table(["Time", "Symbol", "Side", "Qty", "Price", "Reason", "Realized P&L"], r.trades.map((t) => [t.t, t.symbol, t.side, t.qty, num(t.price), t.reason, num(t.realized_pnl)])));
  const x = r.equity_curve.map((p) => Date.parse(p.t) / 1000);
  const values = r.equity_curve.map((p) => Number(p.equity));
  timeChart(curve, x, [{ label: "Equity", values }], { sync: "backtest" });
  timeChart(dd, x, [{ label: "Drawdown", values: drawdown(values), color: "#dc2626", area: true }],
    { format: (v) => pct(v, 0), sync: "backtest" });
}

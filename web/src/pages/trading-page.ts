import { timeChart } from "../charts";
import { get, send, storedKey, storeKey } from "../api";
import { $, h, num, replace, table } from "../dom";
import { LiveFeed, type LiveMessage } from "../live";
import { openReplaceDialog, type OpenOrder } from "./replace-dialog";

interface Position {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  current_price: string;
  market_value: string;
  unrealized_pl: string;
}
interface Order extends OpenOrder {
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: string;
  submitted_at: string;
}

let feed: LiveFeed | null = null;
const prices = new Map<string, string>();
let positions: Position[] = [];
const FOLLOW_UP_MS = 1000;
const watchlist: string[] = []; // the five largest securities, filled on mount

export function mount(root: HTMLElement): void {
  feed?.close();
  feed = null;
  const key = storedKey();
  if (!key) return keyForm(root);
  root.append(
    h("div", { class: "toolbar" }, h("span", {}, `Key ${key.keyId}`), h("span", { id: "live", class: "status" }, "connecting…"),
      h("button", { type: "button", id: "forget" }, "Forget key")),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Account"), h("div", { id: "account" })),
      h("section", { class: "card" }, h("h2", {}, "Order ticket"), ticket(), h("p", { id: "ticket-result", role: "status" })),
    ),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Positions"), h("div", { id: "positions" })),
      h("section", { class: "card" }, h("h2", {}, "Watchlist"), h("div", { id: "watchlist" })),
    ),
    h("section", { class: "card" }, h("h2", {}, "Orders"), h("div", { id: "orders", class: "scroll" })),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Fills"), h("div", { id: "fills", class: "scroll short" })),
      h("section", { class: "card" }, h("h2", {}, "Alerts"), h("div", { id: "alerts", class: "scroll short" })),
    ),
    h("section", { class: "card" }, h("h2", {}, "Equity"), h("div", { id: "equity", class: "chart small" })),
  );
  $(root, "#forget").addEventListener("click", () => {
    storeKey(null);
    feed?.close();
    root.replaceChildren();
    mount(root);
  });
  void get<{ securities: { symbol: string }[] }>("/securities?limit=5").then((found) => {
    watchlist.splice(0, watchlist.length, ...found.securities.map((s) => s.symbol));
    renderWatchlist();
    feed?.subscribe();
  });
  feed = new LiveFeed(key, () => [...new Set([...watchlist, ...positions.map((p) => p.symbol)])], onLive,
    (s) => (document.getElementById("live")!.textContent = s));
  feed.open();
  void refresh();
  void equity();
}

function keyForm(root: HTMLElement): void {
  const form = h("form", { id: "key-form", class: "card narrow" },
    h("h2", {}, "API key"),
    h("p", { class: "muted" }, "Kept in this tab's session storage only; sent as APCA-API-KEY-ID / APCA-API-SECRET-KEY."),
    h("label", {}, "Key id ", h("input", { name: "key_id", required: true, autocomplete: "off" })),
    h("label", {}, "Secret ", h("input", { name: "secret", type: "password", required: true, autocomplete: "off" })),
    h("button", { type: "submit" }, "Use key"),
    h("p", { id: "key-error", class: "error" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    storeKey({ keyId: String(data.get("key_id")), secret: String(data.get("secret")) });
    try {
      await get("/v2/account", true);
      root.replaceChildren();
      mount(root);
    } catch (err) {
      storeKey(null);
      $(form, "#key-error").textContent = (err as Error).message;
    }
  });
  root.append(form);
}

function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", {}, `${label} `, input);
}

function ticket(): HTMLFormElement {
  const types = ["market", "limit", "stop", "stop_limit", "trailing_stop"];
  const form = h("form", { id: "ticket", class: "ticket" },
    field("Symbol", h("input", { name: "symbol", value: "AAPL", required: true })),
    field("Side", h("select", { name: "side" }, h("option", {}, "buy"), h("option", {}, "sell"))),
    field("Qty", h("input", { name: "qty", value: "1", inputmode: "decimal" })),
    field("Type", h("select", { name: "type" }, ...types.map((t) => h("option", {}, t)))),
    field("Time in force", h("select", { name: "time_in_force" }, ...["day", "gtc", "ioc", "fok"].map((t) => h("option", {}, t)))),
    field("Limit", h("input", { name: "limit_price", inputmode: "decimal" })),
    field("Stop", h("input", { name: "stop_price", inputmode: "decimal" })),
    field("Trail %", h("input", { name: "trail_percent", inputmode: "decimal" })),
    field("Class", h("select", { name: "order_class" }, ...["simple", "bracket"].map((t) => h("option", {}, t)))),
    field("Take profit", h("input", { name: "take_profit", inputmode: "decimal" })),
    field("Stop loss", h("input", { name: "stop_loss", inputmode: "decimal" })),
    h("button", { type: "submit", id: "submit-order" }, "Submit order"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void submit(form);
  });
  return form;
}

function orderBody(form: HTMLFormElement): Record<string, unknown> {
  const d = new FormData(form);
  const v = (k: string) => String(d.get(k) ?? "").trim();
  const body: Record<string, unknown> = { symbol: v("symbol").toUpperCase(), side: v("side"), type: v("type"),
    time_in_force: v("time_in_force"), qty: v("qty") };
  for (const k of ["limit_price", "stop_price", "trail_percent"]) if (v(k)) body[k] = v(k);
  if (v("order_class") === "bracket") {
    body.order_class = "bracket";
    if (v("take_profit")) body.take_profit = { limit_price: v("take_profit") };
    if (v("stop_loss")) body.stop_loss = { stop_price: v("stop_loss") };
  }
  return body;
}

async function submit(form: HTMLFormElement): Promise<void> {
  const out = document.getElementById("ticket-result")!;
  out.className = "";
  try {
    const order = await send<Order>("POST", "/v2/orders", orderBody(form));
    out.textContent = `accepted: ${order.side} ${order.qty ?? ""} ${order.symbol} (${order.status})`;
    await refresh();
  } catch (e) {
    out.className = "error";
    out.textContent = (e as Error).message;
  }
}

async function refresh(): Promise<void> {
  const [account, pos, orders, fills, alerts] = await Promise.all([
    get<Record<string, string>>("/v2/account", true),
    get<Position[]>("/v2/positions", true),
    get<Order[]>("/v2/orders?status=all&limit=100", true),
    get<Record<string, string>[]>("/v2/account/activities/FILL", true),
    get<Record<string, string | null>[]>("/alerts", true),
  ]);
  positions = pos;
  feed?.subscribe();
  if ((account as Record<string, unknown>).stale === true) scheduleRefresh(); // fills not applied yet
  replace(document.getElementById("account")!, h("dl", { id: "account-figures" },
    ...(["cash", "equity", "buying_power", "portfolio_value"] as const).flatMap((k) => [h("dt", {}, k.replace("_", " ")), h("dd", { "data-field": k }, num(account[k]))]),
    h("dt", {}, "day P&L"), h("dd", { "data-field": "day_pl" }, num(Number(account.equity) - Number(account.last_equity)))));
  renderPositions();
  renderOrders(orders);
  replace(document.getElementById("fills")!, table(["Time", "Symbol", "Side", "Qty", "Price"],
    fills.map((f) => [f.transaction_time, f.symbol, f.side, f.qty, num(f.price)]), { id: "fills-table" }));
  replace(document.getElementById("alerts")!, table(["Raised", "Rule", "Message", ""], alerts.map((a) => [a.raised_at ?? a.created_at, a.rule_type ?? a.kind, a.message,
    a.acknowledged_at ? "acknowledged" : ackButton(String(a.id))])));
}

function ackButton(id: string): HTMLElement {
  const b = h("button", { type: "button" }, "Acknowledge");
  b.addEventListener("click", async () => {
    await send("POST", `/alerts/${id}/ack`);
    await refresh();
  });
  return b;
}

function renderPositions(): void {
  replace(document.getElementById("positions")!, table(["Symbol", "Qty", "Avg entry", "Price", "Unrealized P&L"],
    positions.map((p) => {
      const price = prices.get(p.symbol) ?? p.current_price;
      const pl = (Number(price) - Number(p.avg_entry_price)) * Number(p.qty);
      return [p.symbol, p.qty, num(p.avg_entry_price), num(price), num(pl)];
    }), { id: "positions-table" }));
}

function renderOrders(orders: Order[]): void {
  const open = new Set(["new", "accepted", "pending_new", "partially_filled", "held", "pending_replace"]);
  replace(document.getElementById("orders")!, table(["Submitted", "Symbol", "Side", "Type", "Qty", "Limit", "Stop", "Status", "Filled", ""],
    orders.map((o) => [o.submitted_at, o.symbol, o.side, o.type, o.qty ?? "", o.limit_price ?? "", o.stop_price ?? "",
      h("span", { class: `order-status ${o.status}`, "data-order-id": o.id }, o.status),
      o.filled_avg_price ? `${o.filled_qty} @ ${num(o.filled_avg_price)}` : "",
      open.has(o.status) ? orderActions(o) : ""]), { id: "orders-table" }));
}

function orderActions(o: Order): HTMLElement {
  const cancel = h("button", { type: "button" }, "Cancel");
  cancel.addEventListener("click", async () => {
    try {
      await send("DELETE", `/v2/orders/${o.id}`);
    } catch (e) {
      const out = document.getElementById("ticket-result")!;
      out.className = "error";
      out.textContent = (e as Error).message;
    }
    await refresh();
  });
  const replaceButton = h("button", { type: "button", "data-replace": o.id }, "Replace");
  replaceButton.addEventListener("click", () => openReplaceDialog(o, (order) => {
    const out = document.getElementById("ticket-result")!;
    out.className = "";
    out.textContent = `replaced: ${order.side} ${order.qty ?? ""} ${order.symbol} (${order.status})`;
    void refresh();
  }));
  return h("span", {}, cancel, " ", replaceButton);
}

function renderWatchlist(): void {
  replace(document.getElementById("watchlist")!, table(["Symbol", "Last"], watchlist.map((s) => [s,
    h("span", { "data-symbol": s }, prices.has(s) ? num(prices.get(s)) : "–")]), { id: "watchlist-table" }));
}

function onLive(m: LiveMessage): void {
  if (m.type === "trade") {
    prices.set(m.symbol, m.price);
    const cell = document.querySelector(`#watchlist [data-symbol="${CSS.escape(m.symbol)}"]`);
    if (cell) cell.textContent = num(m.price);
    if (positions.some((p) => p.symbol === m.symbol)) renderPositions();
  } else {
    // An order or alert event for this account: reload what it changed, now and once more a
    // moment later, because the portfolio applies a fill shortly after trading announces it
    // (and two reads can straddle its commit).
    void refresh();
    scheduleRefresh();
  }
}

let refreshTimer: number | undefined;

function scheduleRefresh(): void {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => void refresh(), FOLLOW_UP_MS);
}

async function equity(): Promise<void> {
  const history = await get<{ timestamp: number[]; equity: (number | null)[] }>("/v2/account/portfolio/history?period=1M&timeframe=1D", true);
  const seen = new Set<number>();
  const points = history.timestamp.map((t, i) => ({ t, equity: Number(history.equity[i] ?? 0) }))
    .filter((p) => !seen.has(p.t) && seen.add(p.t))
    .sort((a, b) => a.t - b.t); // uPlot takes ascending times
  timeChart(document.getElementById("equity")!, points.map((p) => p.t), [{ label: "Equity", values: points.map((p) => p.equity) }]);
}

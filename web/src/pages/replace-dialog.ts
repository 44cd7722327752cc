// Replace an open order: PATCH /v2/orders/{id} with the fields the user changed (the API
// answers with the new order; the old one becomes "replaced"). A refusal keeps the dialog open
// with the API's own message.
import { send } from "../api";
import { h } from "../dom";

export interface OpenOrder {
  id: string;
  symbol: string;
  side: string;
  type: string;
  qty: string | null;
  limit_price: string | null;
  stop_price: string | null;
  trail_price: string | null;
  trail_percent: string | null;
  time_in_force: string;
  status: string;
}

/** The fields an order of this type can change, with their current values. */
function editable(o: OpenOrder): [string, string, string][] {
  const fields: [string, string, string][] = [["qty", "Qty", o.qty ?? ""]];
  if (o.type === "limit" || o.type === "stop_limit") fields.push(["limit_price", "Limit", o.limit_price ?? ""]);
  if (o.type === "stop" || o.type === "stop_limit") fields.push(["stop_price", "Stop", o.stop_price ?? ""]);
  if (o.type === "trailing_stop") fields.push(["trail", o.trail_percent ? "Trail %" : "Trail $", o.trail_percent ?? o.trail_price ?? ""]);
  return fields;
}

export function openReplaceDialog(o: OpenOrder, replaced: (order: OpenOrder) => void): void {
  document.getElementById("replace-dialog")?.remove();
  const fields = editable(o);
  const error = h("p", { id: "replace-error", class: "error", role: "alert" });
  const form = h("form", { method: "dialog", class: "ticket" },
    ...fields.map(([name, label, value]) =>
      h("label", {}, `${label} `, h("input", { name, value, inputmode: "decimal", autocomplete: "off" }))),
    h("label", {}, "Time in force ", h("select", { name: "time_in_force" },
      ...["day", "gtc", "ioc", "fok", "opg", "cls"].map((t) => h("option", { selected: t === o.time_in_force }, t)))),
    h("button", { type: "submit", id: "replace-submit" }, "Replace"),
    h("button", { type: "button", id: "replace-cancel" }, "Close"));
  const dialog = h("dialog", { id: "replace-dialog", "data-order-id": o.id },
    h("h2", {}, `Replace ${o.side} ${o.qty ?? ""} ${o.symbol} (${o.type})`), form, error);
  form.querySelector("#replace-cancel")!.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body: Record<string, string> = {};
    for (const [name, , before] of [...fields, ["time_in_force", "", o.time_in_force] as [string, string, string]]) {
      const now = String(data.get(name) ?? "").trim();
      if (now !== before) body[name] = now; // only what changed
    }
    error.textContent = "";
    try {
      const order = await send<OpenOrder>("PATCH", `/v2/orders/${encodeURIComponent(o.id)}`, body);
      dialog.close();
      replaced(order);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
}

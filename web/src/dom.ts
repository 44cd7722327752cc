// A few DOM helpers: the pages build their markup with these (text nodes, never innerHTML
// with data, so nothing the API returns can inject markup).

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

export function $(root: ParentNode, selector: string): HTMLElement {
  const el = root.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`no element ${selector}`);
  return el;
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
}

export function pct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`;
}

export function num(x: number | string | null | undefined, digits = 2): string {
  if (x === null || x === undefined || x === "") return "–";
  const n = typeof x === "string" ? Number(x) : x;
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function row(cells: Child[]): HTMLTableRowElement {
  return h("tr", {}, ...cells.map((c) => h("td", {}, c)));
}

export function table(
  columns: string[],
  rows: Child[][],
  attrs: Record<string, string> = {},
): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map(row)),
  );
}

const SLICE = 200;

/** A long table in slices: the rows a scroll box shows first now, the rest `SLICE` at a time
 * in later tasks (`cells` builds a row's cells only when its slice is due), so no one task
 * holds the page for the whole table. */
export function slicedTable<T>(columns: string[], items: T[], cells: (item: T) => Child[], first = 40): HTMLTableElement {
  const t = table(columns, items.slice(0, first).map(cells));
  const body = t.tBodies[0];
  const append = (from: number) => {
    if (from >= items.length || !t.isConnected) return;
    body.append(...items.slice(from, from + SLICE).map((item) => row(cells(item))));
    setTimeout(() => append(from + SLICE), 0);
  };
  setTimeout(() => append(first), 0);
  return t;
}

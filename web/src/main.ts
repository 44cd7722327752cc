import "uplot/dist/uPlot.min.css";
import "./style.css";
import { hashRange, prefetchIndex } from "./index-reads";

// Hash routes; each page is its own chunk, loaded when first shown.
const pages: Record<string, () => Promise<{ mount(root: HTMLElement): void }>> = {
  index: () => import("./pages/index-page"),
  trading: () => import("./pages/trading-page"),
  strategies: () => import("./pages/strategies-page"),
};

let shown: string | null = null;

function pageName(): string {
  const name = location.hash.replace(/^#\/?/, "").split("?")[0] || "index";
  return pages[name] ? name : "index";
}

async function route(): Promise<void> {
  const page = pageName();
  if (page === shown) return;
  shown = page;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a[data-page]")) {
    a.classList.toggle("active", a.dataset.page === page);
  }
  const root = document.getElementById("app")!;
  root.replaceChildren();
  root.dataset.page = page;
  (await pages[page]()).mount(root);
}

// The Index page's data is asked for before its code arrives: both load at once.
if (pageName() === "index") prefetchIndex(hashRange());
window.addEventListener("hashchange", () => void route());
void route();

"""Time to first render of the dashboard's Index page, and the JavaScript it transfers.

Starts a whole private stack (tests.stack), ingests the 5.5-year file and the benchmarks,
builds the index over all of it, then opens the Index page in Debian's headless Chromium
(cold profile each round) and times navigation start -> first render: the animation frame in
which the level chart holds every session and the headline figures (last level, total and
annualized return, max drawdown, sessions) are shown; each round then checks that the chart's
canvas has the line drawn. Baseline in the same run: the same page over June 2025 only (22
sessions).
JavaScript transferred is the sum of the scripts' transferSize (gzip as nginx sends it).

    uv run python bench/dashboard_first_render.py [--rounds 3] [--data ../shared/data]
        [--baseline-dist DIR]
Target: under 1 s and under 300 KB of gzipped JavaScript.

With --baseline-dist (another build of web/, e.g. main's `web/dist` copied aside), nginx
serves a private copy of the dashboard whose contents the bench swaps between the two builds,
round by round, so both are measured against the same stack, data and machine load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import Stack, private_var_dir, running_stack  # noqa: E402
from tests.test_dashboard_browser import CHROMIUM, FLAGS  # noqa: E402

# In the page from its first script on (an init script, so the same for every build): the
# time from navigation start to the animation frame after #last-level gets data-points (the
# page sets it in the frame after the level chart holds every session) with every headline
# figure filled in (a build without #headline, such as an older baseline, is timed on the
# chart alone). Playwright's own wait is reported too ("seen by the driver"): it includes the
# driver's latency on a loaded machine.
RENDERED = """
const shown = () => {
  const el = document.getElementById('last-level');
  const figures = [...document.querySelectorAll('#headline [data-figure]')];
  const filled = figures.every((f) => !!f.textContent && f.textContent !== '\u2013');
  return !!el && !!el.dataset.points && filled;
};
new MutationObserver((_, observer) => {
  if (!shown()) return;
  observer.disconnect();
  requestAnimationFrame(() => { window.__firstRender = performance.now(); });
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-points'] });
"""
# Pixels of the level chart's canvases that are not background: the line is drawn.
DRAWN = """() => [...document.querySelectorAll('#level-chart canvas')].reduce((n, c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i + 2] > data[i] + 60) n++;
  return n;
}, 0)"""
SCRIPT_BYTES = (
    "performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script'"
    " || e.name.endsWith('.js')).reduce((n, e) => n + e.transferSize, 0)"
)


def first_render(url: str, sessions_wanted: int | None) -> tuple[float, float, int, int]:
    """(in-page first render s, seen by the driver s, points, JavaScript bytes)."""
    with sync_playwright() as driver, tempfile.TemporaryDirectory() as profile:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        context.add_init_script(RENDERED)
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("#last-level[data-points]", timeout=60_000)
        elapsed = time.perf_counter() - started
        points = int(page.locator("#last-level").get_attribute("data-points") or 0)
        if sessions_wanted is not None:
            assert points == sessions_wanted, (points, sessions_wanted)
        js = int(page.evaluate(SCRIPT_BYTES))
        in_page = frame_after(page)
        assert int(page.evaluate(DRAWN)) > 200, "the level chart's canvas holds no line"
        context.close()
    return in_page, elapsed, points, js


def frame_after(page: Page) -> float:
    """The in-page first render (s), once the frame after the page's mark has run."""
    for _ in range(600):
        at = page.evaluate("window.__firstRender")
        if at is not None:
            return float(at) / 1000
        page.wait_for_timeout(50)
    raise AssertionError("no frame after the first render in 30 s")


def serve(build: Path, served: Path) -> None:
    """Make nginx's dashboard directory hold `build` (it reads files per request)."""
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(build, served)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--baseline-dist", type=Path, default=None)
    args = parser.parse_args()
    builds = {"this build": ROOT / "web" / "dist"}
    if args.baseline_dist is not None:
        builds = {"baseline": args.baseline_dist.resolve(), **builds}
    with tempfile.TemporaryDirectory() as served_root, private_var_dir() as var_dir:
        served = Path(served_root) / "dist"
        Path(served_root).chmod(0o755)
        serve(builds["this build"], served)
        os.environ["DASHBOARD_DIR"] = str(served)
        with running_stack(var_dir) as stack:
            measure(stack, args, builds, served)


def measure(stack: Stack, args: argparse.Namespace, builds: dict[str, Path], served: Path) -> None:
    for argv in (
        ["--provider", "file", "--path", str(args.data / "us_top_caps.csv.gz")],
        ["--provider", "file", "--benchmarks", str(args.data / "benchmarks")],
    ):
        stack.run("market-data", "ingest", *argv)
    with stack.client() as client:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            built = client.post("/build-index", json={"start_date": "2000-01-01"}, timeout=600)
            if built.status_code == 200 and built.json()["sessions"] > 1000:
                break
            time.sleep(2)
        full = built.json()
    cases = {
        "June 2025": (f"{stack.url}/#/index?start=2025-06-01&end=2025-07-02", None),
        f"all {full['sessions']} sessions": (
            f"{stack.url}/#/index?start={full['start_date']}&end={full['end_date']}",
            full["sessions"],
        ),
    }
    for name, (url, wanted) in cases.items():
        runs: dict[str, list[tuple[float, float, int, int]]] = {b: [] for b in builds}
        for _ in range(args.rounds):  # interleaved: both builds see the same load
            for build, folder in builds.items():
                serve(folder, served)
                runs[build].append(first_render(url, wanted))
        for build, measured in runs.items():
            shown, seen = [r[0] for r in measured], [r[1] for r in measured]
            print(
                f"{name:<18} {build:<10} first render median {ms(statistics.median(shown))}"
                f" (min {ms(min(shown))}, max {ms(max(shown))}), seen by the driver"
                f" {ms(statistics.median(seen))}; {measured[0][2]} points,"
                f" JavaScript {measured[0][3] / 1024:.1f} KB transferred",
                flush=True,
            )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


if __name__ == "__main__":
    main()

"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a whole
stack with the June 2025 data: nothing mocked. Screenshots go to var/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright

from tests.conftest import JUNE, june_with_names, wait_for_index_data
from tests.stack import ROOT, Stack, private_var_dir, running_stack

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = ROOT / "var" / "screenshots"
INDEX_URL = f"/#/index?start={JUNE['start_date']}&end={JUNE['end_date']}"


@pytest.fixture(scope="module")
def dashboard(june_loaded: Stack, shared_data_dir: Path) -> Stack:
    folder = shared_data_dir / "benchmarks"
    june_loaded.run("market-data", "ingest", "--provider", "file", "--benchmarks", str(folder))
    return june_loaded


@pytest.fixture(scope="module")
def export_jobs_stack(
    shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A second stack whose export service answers a job (202) above 10 sessions, so that June
    (22 sessions) goes through /exports/{id} as a long range does."""
    june = june_with_names(shared_data_dir, tmp_path_factory.mktemp("jobs") / "june.csv.gz")
    settings = {"EXPORT_JOB_THRESHOLD_SESSIONS": "10"}
    with private_var_dir() as var_dir, running_stack(var_dir, settings) as started:
        started.run("market-data", "ingest", "--provider", "file", "--path", str(june))
        wait_for_index_data(started, "2025-06-02")
        yield started


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run scripts/bootstrap.sh")
    with sync_playwright() as driver:
        yield driver


def open_context(playwright: Playwright, profile: Path, stack: Stack) -> BrowserContext:
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=FLAGS,
        base_url=stack.url,
        accept_downloads=True,
        viewport={"width": 1400, "height": 1000},
    )


@pytest.fixture
def context(playwright: Playwright, dashboard: Stack, tmp_path: Path) -> Iterator[BrowserContext]:
    browser = open_context(playwright, tmp_path / "profile", dashboard)
    yield browser
    browser.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security" in m.text else None,
    )
    yield opened
    assert violations == [], violations


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_index(page: Page) -> None:
    page.goto(INDEX_URL)
    page.wait_for_selector("#last-level[data-points]")
    page.wait_for_selector("#composition-table tbody tr")


def test_the_index_page_shows_the_june_levels_the_api_returns(page: Page, dashboard: Stack) -> None:
    with dashboard.client() as client:
        api = client.get("/index-performance", params=JUNE).json()["rows"]

    open_index(page)

    last = page.locator("#last-level")
    assert last.get_attribute("data-points") == "22" == str(len(api))
    assert float(last.get_attribute("data-level") or "nan") == pytest.approx(api[-1]["level"])
    assert page.locator("#returns tbody tr").count() == 22
    total = api[-1]["level"] / api[0]["level"] - 1
    assert page.locator("#total-return").inner_text() == f"{total * 100:.2f}%"
    assert page.locator("#sessions").inner_text().startswith("22 (")


def test_the_rsp_overlay_appears_with_its_tracking_figures_and_can_be_hidden(page: Page) -> None:
    open_index(page)

    toggle = page.locator('input[data-benchmark="RSP"]')
    assert toggle.is_checked()
    assert "RSP" in page.locator("#tracking-table").inner_text()
    toggle.uncheck()
    assert not toggle.is_checked()
    toggle.check()
    screenshot(page, "index")


def test_clicking_2025_06_18_on_the_chart_lists_its_100_constituents(page: Page) -> None:
    open_index(page)
    box = page.locator("#level-chart canvas").first.bounding_box()
    assert box is not None
    sessions = 22
    step = box["width"] / sessions
    x = box["x"] + step * 12.5  # the 13th session of the range
    for _ in range(8):
        with page.expect_request(lambda r: "/index-composition?" in r.url) as asked:
            page.mouse.click(x, box["y"] + box["height"] / 2)
        day = parse_qs(urlparse(asked.value.url).query)["date"][0]  # the session clicked
        expect(page.locator("#composition-date")).to_have_text(day)
        if day == "2025-06-18":
            break
        x += step / 2 if day < "2025-06-18" else -step / 2

    assert page.locator("#composition-date").inner_text() == "2025-06-18"
    rows = page.locator("#composition-table tbody tr")
    assert rows.count() == 100
    page.locator("#composition-table th", has_text="Ticker").click()
    tickers = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    assert tickers == sorted(tickers)
    sector = page.locator("#sector option").nth(1).get_attribute("value") or ""
    assert sector not in ("", "\u2013")  # the June data carries sectors (tests/conftest.py)
    page.select_option("#sector", sector)
    expect(rows).not_to_have_count(100)
    filtered = rows.count()
    assert 0 < filtered < 100
    cells = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(filtered)]
    assert cells == [sector] * filtered


def test_the_export_button_downloads_a_workbook_that_opens(page: Page, tmp_path: Path) -> None:
    open_index(page)

    with page.expect_download() as download:
        page.click("#export")
    target = tmp_path / "index.xlsx"
    download.value.save_as(target)

    workbook = load_workbook(target, read_only=True)
    assert {"Summary", "Performance", "Benchmarks"} <= set(workbook.sheetnames)
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert -1 <= summary["RSP: correlation of daily returns"] <= 1
    assert workbook["Benchmarks"]["B1"].value == "RSP"
    assert workbook["Benchmarks"]["B2"].value == pytest.approx(1000)


def test_the_export_button_follows_a_long_ranges_job_and_downloads_its_workbook(
    playwright: Playwright, export_jobs_stack: Stack, tmp_path: Path
) -> None:
    with export_jobs_stack.client() as client:
        job = client.post("/export-data", json=JUNE)
    assert job.status_code == 202  # the page meets the same job

    browser = open_context(playwright, tmp_path / "profile", export_jobs_stack)
    try:
        page = browser.new_page()
        export_calls: list[str] = []
        page.on("request", lambda r: export_calls.append(r.url) if "/exports/" in r.url else None)
        open_index(page)
        with page.expect_download(timeout=120_000) as download:
            page.click("#export")
        target = tmp_path / "job.xlsx"
        download.value.save_as(target)
        name = download.value.suggested_filename
        expect(page.locator("#status")).to_have_text(f"exported {name}")
    finally:
        browser.close()

    assert name == "index_2025-06-02_2025-07-02.xlsx"  # the range as the page shows it
    assert any(url.endswith("/file") for url in export_calls), export_calls
    workbook = load_workbook(target, read_only=True)
    assert {"Summary", "Performance", "Compositions"} <= set(workbook.sheetnames)
    assert len(list(workbook["Performance"].iter_rows(values_only=True))) - 1 == 22
    assert len(list(workbook["Compositions"].iter_rows(values_only=True))) - 1 == 2200


def sign_in(page: Page, stack: Stack, user: str) -> None:
    key = stack.keys[user]
    page.goto("/#/trading")
    page.fill("#key-form input[name=key_id]", key["key_id"])
    page.fill("#key-form input[name=secret]", key["secret"])
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#account-figures")
    expect(page.locator("#live")).to_have_text("live")


def cash(page: Page) -> Decimal:
    text = page.locator('#account-figures [data-field="cash"]').inner_text()
    return Decimal(text.replace(",", ""))


def largest_symbol(stack: Stack) -> str:
    with stack.client() as client:
        return str(client.get("/securities", params={"limit": 1}).json()["securities"][0]["symbol"])


def test_a_market_order_from_the_ticket_fills_on_screen_without_a_reload(
    page: Page, dashboard: Stack
) -> None:
    sign_in(page, dashboard, "dana")
    symbol = largest_symbol(dashboard)
    before = cash(page)
    cash_text = page.locator('#account-figures [data-field="cash"]').inner_text()
    page.evaluate("window.__sameDocument = true")

    page.fill("#ticket input[name=symbol]", symbol)
    page.fill("#ticket input[name=qty]", "1")
    page.select_option("#ticket select[name=type]", "market")
    page.click("#submit-order")

    page.wait_for_selector("#orders-table .order-status.filled", timeout=30_000)
    # Locator assertions poll without compiling a string in the page, which the dashboard's
    # Content-Security-Policy (no 'unsafe-eval') forbids.
    expect(page.locator('#account-figures [data-field="cash"]')).not_to_have_text(
        cash_text, timeout=30_000
    )
    expect(page.locator("#positions-table")).to_contain_text(symbol, timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert cash(page) < before
    screenshot(page, "trading")


def test_a_refused_order_shows_the_apis_message(page: Page, dashboard: Stack) -> None:
    sign_in(page, dashboard, "dana")
    symbol = largest_symbol(dashboard)
    order = {"symbol": symbol, "qty": "100000000", "side": "buy", "type": "market",
             "time_in_force": "day"}  # fmt: skip
    with dashboard.client("dana") as client:
        refused = client.post("/v2/orders", json=order)
    assert refused.status_code in (403, 422)

    page.fill("#ticket input[name=symbol]", symbol)
    page.fill("#ticket input[name=qty]", "100000000")
    page.click("#submit-order")

    result = page.locator("#ticket-result.error")
    result.wait_for()
    assert result.inner_text() == refused.json()["message"]


def test_an_open_order_is_replaced_from_its_dialog_and_a_refusal_shows_the_apis_message(
    page: Page, dashboard: Stack
) -> None:
    sign_in(page, dashboard, "fay")
    symbol = largest_symbol(dashboard)
    page.fill("#ticket input[name=symbol]", symbol)
    page.fill("#ticket input[name=qty]", "1")
    page.select_option("#ticket select[name=type]", "limit")
    page.select_option("#ticket select[name=time_in_force]", "gtc")
    page.fill("#ticket input[name=limit_price]", "1")  # far below the market: stays open
    page.click("#submit-order")
    replace = page.locator("#orders-table button[data-replace]").first
    expect(replace).to_be_visible(timeout=30_000)
    old_id = replace.get_attribute("data-replace") or ""

    replace.click()
    dialog = page.locator("#replace-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=qty]").fill("2")
    dialog.locator("input[name=limit_price]").fill("1.5")
    dialog.locator("#replace-submit").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(f'#orders-table [data-order-id="{old_id}"]')).to_have_text(
        "replaced", timeout=30_000
    )
    with dashboard.client("fay") as client:
        old = client.get(f"/v2/orders/{old_id}").json()
        new = client.get(f"/v2/orders/{old['replaced_by']}").json()
    assert (Decimal(new["qty"]), Decimal(new["limit_price"])) == (Decimal(2), Decimal("1.5"))
    new_button = page.locator(f'#orders-table button[data-replace="{new["id"]}"]')
    expect(new_button).to_be_visible()

    # The same change through the API first: refused (buying power), so nothing changes.
    with dashboard.client("fay") as client:
        refused = client.patch(f"/v2/orders/{new['id']}", json={"qty": "100000000"})
    assert refused.status_code in (403, 422), refused.text
    new_button.click()
    dialog.locator("input[name=qty]").fill("100000000")
    dialog.locator("#replace-submit").click()
    expect(dialog.locator("#replace-error")).to_have_text(refused.json()["message"])
    expect(dialog).to_be_visible()  # still open, for another try
    screenshot(page, "trading-replace")


def test_a_second_user_never_sees_the_first_users_orders(page: Page, dashboard: Stack) -> None:
    with dashboard.client("dana") as client:
        dana_orders = {o["id"] for o in client.get("/v2/orders", params={"status": "all"}).json()}
    sign_in(page, dashboard, "evan")

    shown = {
        page.locator("#orders-table [data-order-id]").nth(i).get_attribute("data-order-id")
        for i in range(page.locator("#orders-table [data-order-id]").count())
    }
    assert not shown & dana_orders
    assert page.locator("#positions-table tbody tr").count() == 0


def test_the_strategies_page_creates_and_lists_a_strategy(page: Page, dashboard: Stack) -> None:
    sign_in(page, dashboard, "evan")
    page.goto("/#/strategies")
    page.fill("#strategy-form input[name=name]", f"cross {time.time_ns()}")
    page.click("#strategy-form button[type=submit]")
    page.wait_for_selector("#strategies-table tbody tr")
    assert page.locator("#strategy-result").inner_text() == "created"
    screenshot(page, "strategies")


def test_docs_renders_the_merged_routes_from_the_platforms_own_swagger_ui(page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock", timeout=30_000)

    text = page.locator("#swagger-ui").inner_text()
    assert "/index-performance" in text
    assert "/v2/orders" in text
    assert all(url.startswith(page.url.split("/docs")[0]) for url in requested)
    screenshot(page, "docs")


def test_the_page_is_served_with_a_strict_csp_and_hashed_assets_cached_long(
    dashboard: Stack,
) -> None:
    with dashboard.client() as client:
        page = client.get("/")
        asset = next(part.split('"')[0] for part in page.text.split('src="')[1:])
        script = client.get(asset)
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    assert script.status_code == 200
    assert "immutable" in script.headers["cache-control"]


def test_index_performance_rebases_benchmarks_and_refuses_bad_symbols(dashboard: Stack) -> None:
    with dashboard.client() as client:
        plain = client.get("/index-performance", params=JUNE).json()
        both = client.get("/index-performance", params={**JUNE, "benchmarks": "rsp,SPY"})
        unknown = client.get("/index-performance", params={**JUNE, "benchmarks": "NOPE"})
        malformed = client.get("/index-performance", params={**JUNE, "benchmarks": "RSP;1"})

    body = both.json()
    assert body["rows"] == plain["rows"]
    assert [b["symbol"] for b in body["benchmarks"]] == ["RSP", "SPY"]
    rsp = body["benchmarks"][0]
    assert rsp["rows"][0] == {"date": "2025-06-02", "level": pytest.approx(1000)}
    assert rsp["statistics"]["sessions"] == len(rsp["rows"])
    assert -1 <= rsp["statistics"]["correlation"] <= 1
    assert unknown.status_code == 404
    assert "NOPE" in unknown.json()["message"]
    assert malformed.status_code == 422

from decimal import Decimal

import numpy as np
import pandas as pd
from market_data.domain.bars import day_iso, iso_day, normalize_bars
from market_data.domain.price_walk import PriceWalk
from market_data.domain.quality import QualityMonitor
from market_data.domain.scaled import market_cap_e2, to_scaled


def test_market_cap_is_the_exact_half_even_product_of_close_and_shares() -> None:
    rng = np.random.default_rng(3)
    close = rng.integers(1, 5 * 10**12, 2000)
    shares = rng.integers(1, 10**14, 2000)
    caps = market_cap_e2(close, shares)
    for c, s, cap in zip(close.tolist(), shares.tolist(), caps.tolist(), strict=True):
        exact = (Decimal(c) * Decimal(s) / Decimal(10**10)).quantize(Decimal(1))
        assert cap == int(exact)


def test_float_inputs_round_once_to_the_stored_scale() -> None:
    scaled, valid = to_scaled(np.array([111.91999816894531, np.nan, 0.1 + 0.2]), 8)
    assert scaled.tolist()[0] == 11191999817
    assert scaled.tolist()[2] == 30000000
    assert valid.tolist() == [True, False, True]


def test_rows_on_weekends_and_holidays_are_dropped_and_counted() -> None:
    sessions = pd.DatetimeIndex(["2025-06-18", "2025-06-20"])
    raw = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-06-18", "2025-06-19", "2025-06-21", "2025-06-20"]),
            "symbol": ["aapl", "AAPL", "AAPL", "AAPL"],
            "open": np.nan, "high": np.nan, "low": np.nan,
            "close": [200.0, 200.0, 200.0, 201.5],
            "adj_close": np.nan, "volume": np.nan,
            "shares_outstanding": [1e9, 1e9, 1e9, 1e9],
            "market_cap": np.nan,
        }
    )  # fmt: skip
    result = normalize_bars(raw, sessions)
    assert result.dropped.non_session == 2
    assert [day_iso(d) for d in result.rows["day"]] == ["2025-06-18", "2025-06-20"]
    assert result.rows["symbol"].tolist() == ["AAPL", "AAPL"]
    assert result.rows["market_cap_e2"].tolist() == [200_000_000_000_00, 201_500_000_000_00]
    assert result.rows["adj_close_e8"].tolist() == result.rows["close_e8"].tolist()


def _rows(dates: list[str], closes: list[int], caps: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"day": [iso_day(d) for d in dates], "symbol": "X", "close_e8": closes,
         "market_cap_e2": pd.array(caps, dtype="Int64")}
    )  # fmt: skip


def test_quality_finds_stale_prices_across_chunks_and_cap_jumps_without_price_moves() -> None:
    monitor = QualityMonitor(min_eligible=2)
    days = [f"2025-06-0{d}" for d in range(2, 8)]
    monitor.observe(_rows(days[:3], [100, 100, 100], [10, 10, 10]))
    monitor.observe(_rows(days[3:], [100, 100, 101], [10, 20, 20]))
    report = monitor.report()
    assert report["stale_prices"]["count"] == 1
    assert report["stale_prices"]["examples"][0]["date"] == days[4]
    assert report["cap_jumps_without_price_move"]["examples"][0]["date"] == days[4]
    assert report["thin_sessions"]["count"] == 6


def test_price_walk_is_deterministic_for_a_seed() -> None:
    def run() -> list[tuple[str, Decimal]]:
        walk = PriceWalk(["A", "B"], [10.0, 20.0], [0.02, 0.03], seed=5, rate=10)
        return [(t.symbol, t.price) for t in walk.next(50)]

    assert run() == run()
    assert all(p > 0 for _, p in run())

"""Every index variant against an independent plain-Python implementation (loops over days
and securities, written from METHODOLOGY.md's "Variants", not from the engine's SQL), on a
small hand-made market with the edge cases: ties, rebalances on holiday-shifted first sessions,
a name leaving between rebalances, a missing day, cap redistribution over several rounds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from index_service.adapters import queries
from index_service.adapters.calendar import xnys_sessions
from index_service.adapters.store import DuckStore
from index_service.domain.model import IndexParams

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# 2024-12-23 .. 2025-01-14: Christmas and New Year's Day are holidays (the month's and the
# quarter's first session is Jan 2, a Thursday), and 2025-01-09 (a national day of mourning).
SESSIONS = xnys_sessions(date(2024, 12, 23), date(2025, 1, 14))
SECTORS = {"A": "Tech", "B": "Tech", "C": "Energy", "D": "Energy", "E": "Health"}
SECTORS |= {"F": "Health", "G": "Tech", "H": "Energy"}
SHARES = {"A": 50, "B": 25, "C": 10, "D": 10, "E": 5, "F": 4, "G": 6, "H": 3}


def _price(symbol: str, step: int) -> Decimal:
    """A deterministic walk: each name its own drift and wobble, so ranks cross now and then."""
    seed = ord(symbol) - ord("A")
    wobble = ((step * (seed + 3) * 7) % 11 - 5) / 100
    drift = (seed - 3.5) / 200 * step
    return Decimal(f"{10 * (1 + drift + wobble):.4f}")


def market() -> pd.DataFrame:
    rows = []
    for step, day in enumerate(SESSIONS):
        for symbol, shares in SHARES.items():
            if symbol == "G" and day > date(2024, 12, 27):
                continue  # delisted between rebalances
            if symbol == "E" and day == date(2025, 1, 6):
                continue  # one missing day: carried at its last price
            close = _price(symbol, step)
            if symbol == "D":
                close = _price("C", step)  # C and D tie on cap every day: C first by ticker
            rows.append((day, symbol, close, shares))
    return pd.DataFrame(
        {
            "date": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "name": [f"{r[1]} Inc." for r in rows],
            "sector": [SECTORS[r[1]] for r in rows],
            "close": [float(r[2]) for r in rows],
            "adj_close": [float(r[2]) for r in rows],
            "shares_outstanding": [float(r[3]) for r in rows],
            "market_cap": [float(r[2] * r[3]) for r in rows],
        }
    )


# --- the independent implementation -----------------------------------------------------


def period_of(day: date, rebalance: str) -> tuple[int, ...]:
    return {
        "daily": (day.toordinal(),),
        "weekly": tuple(day.isocalendar()[:2]),
        "monthly": (day.year, day.month),
        "quarterly": (day.year, (day.month - 1) // 3),
    }[rebalance]


def capped_weights(caps: list[float], cap: float) -> list[float]:
    """Cap, hand the excess to the uncapped names in proportion to their caps, repeat."""
    if len(caps) * cap < 1:
        return [1 / len(caps)] * len(caps)
    fixed: set[int] = set()
    weights = [c / sum(caps) for c in caps]
    while True:
        over = {i for i, w in enumerate(weights) if i not in fixed and w > cap * (1 + 1e-12)}
        if not over:
            return weights
        fixed |= over
        free = [i for i in range(len(caps)) if i not in fixed]
        rest = sum(caps[i] for i in free)
        weights = [
            cap if i in fixed else (1 - cap * len(fixed)) * caps[i] / rest for i in range(len(caps))
        ]


def targets(caps: list[float], params: IndexParams) -> list[float]:
    if params.weighting == "equal":
        return [1 / len(caps)] * len(caps)
    if params.weighting == "cap":
        return [c / sum(caps) for c in caps]
    assert params.cap is not None
    return capped_weights(caps, params.cap)


@dataclass
class Expected:
    levels: dict[date, float] = field(default_factory=dict)
    returns: dict[date, float] = field(default_factory=dict)
    members: dict[date, list[tuple[str, int, float]]] = field(default_factory=dict)
    changes: dict[date, tuple[list[tuple[str, int]], list[tuple[str, int | None]]]] = field(
        default_factory=dict
    )


def reference(frame: pd.DataFrame, params: IndexParams, start: date, end: date) -> Expected:
    """Simulate from the first data session on; the build's levels are rebased at start."""
    rows = {(r.date, r.symbol): r for r in frame.itertuples(index=False)}
    days = sorted(set(frame["date"]))
    first_of_period: dict[tuple[int, ...], date] = {}
    for day in days:
        first_of_period.setdefault(period_of(day, params.rebalance), day)
    out = Expected()
    held: dict[str, list[float]] = {}  # symbol -> [value, rank at selection]
    level, previous = params.base_level, None
    for day in days:
        if day > end:
            break
        grown = {}
        for symbol, (value, rank) in held.items():
            old, new = rows.get((previous, symbol)), rows.get((day, symbol))
            move = new.adj_close / old.adj_close - 1 if old and new and new.adj_close > 0 else 0
            grown[symbol] = [value * (1 + move), rank]
        daily = 0.0
        if held:
            daily = sum(v for v, _ in grown.values()) / sum(v for v, _ in held.values()) - 1
        if day > start:
            level *= 1 + daily
        universe = sorted(
            (s for (d, s), r in rows.items() if d == day and r.close * r.shares_outstanding > 0),
            key=lambda s: (-rows[(day, s)].close * rows[(day, s)].shares_outstanding, s),
        )
        universe = [s for s in universe if not params.sectors or SECTORS[s] in params.sectors]
        if first_of_period[period_of(day, params.rebalance)] == day:
            chosen = universe[: params.index_size]
            caps = [rows[(day, s)].close * rows[(day, s)].shares_outstanding for s in chosen]
            weights = targets(caps, params)
            new_held = {s: [w, i + 1] for i, (s, w) in enumerate(zip(chosen, weights, strict=True))}
        else:
            new_held = grown
        if start <= day:
            total = sum(v for v, _ in new_held.values())
            out.levels[day], out.returns[day] = level, daily if day > start else 0.0
            out.members[day] = sorted(
                ((s, int(r), v / total) for s, (v, r) in new_held.items()), key=lambda m: m[1]
            )
            if previous is not None:
                entered = [(s, int(r)) for s, (_, r) in new_held.items() if s not in held]
                exited = [
                    (s, universe.index(s) + 1 if s in universe else None)
                    for s in held
                    if s not in new_held
                ]
                if entered or exited:
                    out.changes[day] = (sorted(entered), sorted(exited, key=str))
        held, previous = new_held, day
    return out


# --- the engine against it ----------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckStore, pd.DataFrame]]:
    frame = market()
    store = DuckStore(Path(tmp_path_factory.mktemp("variants")) / "index.duckdb")
    store.ingest(frame)
    yield store, frame
    store.close()


DEFINITIONS = [
    IndexParams(5),
    IndexParams(5, rebalance="weekly"),
    IndexParams(5, rebalance="monthly"),
    IndexParams(5, rebalance="quarterly"),
    IndexParams(5, weighting="cap"),
    IndexParams(5, weighting="capped_cap", cap=0.3),
    IndexParams(5, rebalance="monthly", weighting="capped_cap", cap=0.25),
    IndexParams(4, weighting="capped_cap", cap=0.25),  # cap x size = 1: every weight at the cap
    IndexParams(3, sectors=("Tech", "Health")),
    IndexParams(3, rebalance="weekly", weighting="cap", sectors=("Energy", "Tech")),
    IndexParams(8, rebalance="quarterly", weighting="capped_cap", cap=0.2, sectors=("Tech",)),
]
RANGES = [
    (SESSIONS[0], SESSIONS[-1]),
    (date(2024, 12, 31), date(2025, 1, 8)),  # starts inside a period, crosses its rebalance
    (date(2025, 1, 3), date(2025, 1, 3)),
]


@pytest.mark.parametrize("params", DEFINITIONS, ids=lambda p: str(p.definition()))
@pytest.mark.parametrize("span", RANGES, ids=lambda s: f"{s[0]}..{s[1]}")
def test_every_variant_agrees_with_a_plain_python_simulation(
    loaded: tuple[DuckStore, pd.DataFrame], params: IndexParams, span: tuple[date, date]
) -> None:
    store, frame = loaded
    start, end = span
    expected = reference(frame, params, start, end)

    build, _ = store.create_build(start, end, params, clock_now=NOW)

    perf = store.read(lambda cur: queries.performance(cur, build.build_id, start, end))
    assert [row["date"] for row in perf] == [d.isoformat() for d in expected.levels]
    for row in perf:
        day = date.fromisoformat(row["date"])
        assert row["level"] == pytest.approx(expected.levels[day], rel=1e-12)
        assert row["daily_return"] == pytest.approx(expected.returns[day], abs=1e-12)
    for day, members in expected.members.items():
        got = store.read(lambda cur, d=day: queries.composition(cur, build.build_id, d))
        assert [(r["ticker"], r["rank"]) for r in got] == [(s, k) for s, k, _ in members], day
        assert [r["weight"] for r in got] == pytest.approx([w for *_, w in members], rel=1e-12)
        for r in got:
            assert r["notional"] == pytest.approx(expected.levels[day] * r["weight"], rel=1e-12)
    stored = store.read(lambda cur: queries.changes(cur, build.build_id, start, end))
    got_changes = {
        date.fromisoformat(c["date"]): (
            sorted((e["ticker"], e["rank"]) for e in c["entered"]),
            sorted(((e["ticker"], e["rank"]) for e in c["exited"]), key=str),
        )
        for c in stored
    }
    assert got_changes == expected.changes


def test_the_market_exercises_the_edge_cases_it_claims() -> None:
    frame = market()
    assert date(2025, 1, 1) not in SESSIONS
    assert date(2025, 1, 9) not in SESSIONS
    on = frame[frame["date"] == date(2025, 1, 2)].set_index("symbol")
    assert on.loc["C", "market_cap"] == on.loc["D", "market_cap"]
    assert frame[frame["symbol"] == "G"]["date"].max() == date(2024, 12, 27)
    caps = sorted(on["market_cap"], reverse=True)[:5]
    plain = [c / sum(caps) for c in caps]
    assert plain[0] > 0.3
    assert capped_weights(caps, 0.3)[1] == pytest.approx(0.3)


def test_capped_weights_redistribute_until_no_weight_exceeds_the_cap() -> None:
    weights = capped_weights([50.0, 25.0, 10.0, 10.0, 5.0], 0.3)
    assert weights == pytest.approx([0.3, 0.3, 0.16, 0.16, 0.08])


def test_a_name_leaving_between_rebalances_is_held_at_its_last_price_until_the_next(
    loaded: tuple[DuckStore, pd.DataFrame],
) -> None:
    store, _ = loaded
    params = IndexParams(8, rebalance="monthly")
    build, _ = store.create_build(SESSIONS[0], SESSIONS[-1], params, clock_now=NOW)
    on_31 = store.read(lambda cur: queries.composition(cur, build.build_id, date(2024, 12, 31)))
    on_2 = store.read(lambda cur: queries.composition(cur, build.build_id, date(2025, 1, 2)))
    assert "G" in {r["ticker"] for r in on_31}
    assert "G" not in {r["ticker"] for r in on_2}
    g = next(r for r in on_31 if r["ticker"] == "G")
    assert Decimal(g["price"]) == _price("G", SESSIONS.index(date(2024, 12, 27)))

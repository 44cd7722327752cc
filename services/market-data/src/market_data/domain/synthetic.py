"""A synthetic US equity market: deterministic for a seed, vectorized, streamed by sessions.

Every draw of session ``t`` comes from a generator seeded by ``(seed, t)``, so a session's
values never depend on the requested range. Log prices follow a one-factor model with
per-security drift, beta and volatility; caps are lognormal; a few securities list late,
delist, split or skip sessions; share counts drift quarterly (buybacks and issuance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

SECTORS = (
    "Technology", "Health Care", "Financials", "Consumer Discretionary", "Industrials",
    "Communication Services", "Consumer Staples", "Energy", "Utilities", "Real Estate",
    "Materials",
)  # fmt: skip
SECTOR_WEIGHTS = np.array([0.2, 0.12, 0.13, 0.1, 0.12, 0.07, 0.07, 0.05, 0.05, 0.04, 0.05])
WORDS = (
    "Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iron", "Juniper",
    "Keystone", "Lumen", "Meridian", "North", "Orion", "Pioneer", "Quantum", "River", "Summit",
    "Titan", "Union", "Vertex", "Willow", "Xeno", "Yellowstone", "Zenith",
)  # fmt: skip
SUFFIXES = ("Corp", "Inc", "Holdings", "Group", "Systems", "Industries", "Labs", "Partners")
HORIZON = 4000  # sessions over which listings, delistings and splits are spread
QUARTER = 63
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Universe:
    symbols: npt.NDArray[np.str_]
    names: list[str]
    sectors: list[str]
    exchanges: list[str]
    log_price0: Floats
    shares0: Floats
    drift: Floats
    beta: Floats
    vol: Floats
    listed_at: npt.NDArray[np.int64]
    delisted_at: npt.NDArray[np.int64]
    split_at: npt.NDArray[np.int64]
    split_ratio: Floats
    turnover: Floats

    @property
    def size(self) -> int:
        return len(self.symbols)


def make_universe(seed: int, count: int) -> Universe:
    rng = np.random.default_rng([seed, 0xC0FFEE])
    symbols = _tickers(rng, count)
    caps = np.exp(rng.normal(np.log(4e9), 1.25, count))
    price0 = np.clip(np.exp(rng.normal(np.log(60.0), 0.8, count)), 3.0, 2000.0)
    never = np.iinfo(np.int64).max
    late = rng.random(count) < 0.12
    gone = rng.random(count) < 0.08
    splits = rng.random(count) < 0.04
    return Universe(
        symbols=symbols,
        names=[
            f"{WORDS[i % 26]} {WORDS[(i * 7 + 3) % 26]} {SUFFIXES[i % 8]}" for i in range(count)
        ],
        sectors=list(rng.choice(SECTORS, count, p=SECTOR_WEIGHTS / SECTOR_WEIGHTS.sum())),
        exchanges=list(rng.choice(["NYSE", "NASDAQ"], count, p=[0.45, 0.55])),
        log_price0=np.log(price0),
        shares0=np.round(caps / price0, -3),
        drift=rng.normal(0.00005, 0.0002, count),
        beta=np.clip(rng.normal(1.0, 0.3, count), 0.2, 2.0),
        vol=np.clip(np.exp(rng.normal(np.log(0.016), 0.3, count)), 0.006, 0.045),
        listed_at=np.where(late, rng.integers(1, HORIZON, count), 0),
        delisted_at=np.where(gone, rng.integers(60, HORIZON, count), never),
        split_at=np.where(splits, rng.integers(1, HORIZON, count), never),
        split_ratio=rng.choice([2.0, 3.0, 4.0], count),
        turnover=np.exp(rng.normal(np.log(0.006), 0.5, count)),
    )


def _tickers(rng: np.random.Generator, count: int) -> npt.NDArray[np.str_]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    seen: dict[str, None] = {}
    while len(seen) < count:
        length = rng.integers(2, 5)
        seen.setdefault("".join(rng.choice(letters, length)), None)
    return np.array(list(seen))


class SyntheticWalk:
    """Streams bars session by session from the anchor; state is one row per security."""

    def __init__(self, universe: Universe, seed: int) -> None:
        self.u = universe
        self.seed = seed
        self.ordinal = 0
        self.log_adj = universe.log_price0.copy()
        self.share_factor = np.ones(universe.size)
        self.symbol_dtype = pd.CategoricalDtype(universe.symbols.tolist())

    def advance(self, ordinals: int) -> pd.DataFrame:
        """Bars for the next ``ordinals`` sessions as raw columns (``date`` left to the caller)."""
        u, n = self.u, self.u.size
        steps = np.arange(self.ordinal, self.ordinal + ordinals)
        draws = [
            np.random.default_rng([self.seed, int(t)]).standard_normal(4 * n + 1) for t in steps
        ]
        block = np.stack(draws)  # (sessions, 4n + 1)
        market = block[:, 0:1] * 0.01 + 0.0001
        z, gap, wick = (
            block[:, 1 : n + 1],
            block[:, n + 1 : 2 * n + 1],
            block[:, 2 * n + 1 : 3 * n + 1],
        )
        missing = np.abs(block[:, 3 * n + 1 :]) > 3.0  # ~0.27% of security-sessions
        returns = u.drift + u.beta * market + u.vol * z
        returns[steps == 0] = 0.0
        log_adj = self.log_adj + np.cumsum(returns, axis=0)
        prev_log_adj = np.vstack([self.log_adj, log_adj[:-1]])
        self.log_adj = log_adj[-1].copy()
        split_mult = np.where(steps[:, None] >= u.split_at, u.split_ratio, 1.0)
        quarter = (steps[:, None] // QUARTER) + 1
        drift_shares = np.exp(-0.002 * quarter + 0.01 * np.sin(quarter * (u.vol * 1000)))
        adj = np.exp(log_adj)
        close = np.round(adj / split_mult, 2)
        open_ = np.round(np.exp(prev_log_adj + 0.3 * u.vol * gap) / split_mult, 2)
        spread = np.exp(np.abs(wick) * 0.5 * u.vol)
        shares = np.round(u.shares0 * split_mult * drift_shares, -3)
        live = (steps[:, None] >= u.listed_at) & (steps[:, None] < u.delisted_at) & ~missing
        self.ordinal += ordinals
        rows, cols = np.nonzero(live)
        return pd.DataFrame(
            {
                "ordinal": steps[rows],
                "symbol": pd.Categorical.from_codes(cols, dtype=self.symbol_dtype),
                "open": open_[rows, cols],
                "high": np.round(np.maximum(open_, close) * spread, 2)[rows, cols],
                "low": np.round(np.minimum(open_, close) / spread, 2)[rows, cols],
                "close": close[rows, cols],
                "adj_close": np.round(adj, 8)[rows, cols],
                "volume": np.round(shares * u.turnover * np.exp(0.3 * wick))[rows, cols],
                "shares_outstanding": shares[rows, cols],
                "market_cap": np.nan,
            }
        )

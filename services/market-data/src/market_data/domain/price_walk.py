"""A deterministic intraday price walk: each symbol moves from its last close with its own
daily volatility, scaled to the time between its ticks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

SESSION_SECONDS = 6.5 * 3600
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Tick:
    symbol: str
    price: Decimal
    size: int


class PriceWalk:
    def __init__(
        self,
        symbols: list[str],
        closes: list[float],
        daily_vols: list[float],
        *,
        seed: int,
        rate: float,
    ) -> None:
        if not symbols:
            raise ValueError("no symbols to walk: ingest some bars first")
        self.symbols = symbols
        self.prices = np.array(closes, dtype="float64")
        # A symbol ticks every len(symbols)/rate seconds on average: scale the daily volatility.
        per_tick = math.sqrt(len(symbols) / max(rate, 1e-9) / SESSION_SECONDS)
        self.step_vol = np.array(daily_vols, dtype="float64") * per_tick
        self.rng = np.random.default_rng(seed)

    def keep_prices(self, previous: PriceWalk) -> None:
        """Carry over the current prices of the symbols ``previous`` already walks."""
        index = {symbol: i for i, symbol in enumerate(self.symbols)}
        for old, symbol in enumerate(previous.symbols):
            if symbol in index:
                self.prices[index[symbol]] = previous.prices[old]

    def next(self, count: int) -> list[Tick]:
        chosen = self.rng.integers(0, len(self.symbols), count)
        shocks = self.rng.standard_normal(count)
        sizes = self.rng.integers(1, 500, count)
        ticks = []
        for index, shock, size in zip(chosen, shocks, sizes, strict=True):
            self.prices[index] *= math.exp(self.step_vol[index] * shock)
            price = max(Decimal(repr(float(self.prices[index]))).quantize(CENT), CENT)
            ticks.append(Tick(self.symbols[index], price, int(size)))
        return ticks

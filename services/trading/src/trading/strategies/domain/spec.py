"""What a strategy is: a signal kind with validated parameters, symbols, sizing and limits.

These are frozen pydantic models rather than dataclasses because their invariants (fast < slow,
thresholds in range) are domain rules that the API must report verbatim as 422 reasons; the
discriminated union on ``kind`` is the one definition both the API and the engines use.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from shared.money import Percent, Qty, Real, Size, Whole
from shared.symbols import canonical_symbol

SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
MAX_SYMBOLS = 100
# A ticker as sent: any case (stored upper-case), as OpenAPI documents it.
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$")]


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Crossover(_Params):
    fast: Whole = Field(gt=1, le=1000, description="periods of the fast average (> 1)")
    slow: Whole = Field(gt=1, le=1000, description="periods of the slow average (> fast)")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class SmaCrossover(_Crossover):
    """Buy when the fast SMA crosses above the slow one; sell when it crosses below."""

    kind: Literal["sma_crossover"] = "sma_crossover"


class EmaCrossover(_Crossover):
    """Buy when the fast EMA crosses above the slow one; sell when it crosses below."""

    kind: Literal["ema_crossover"] = "ema_crossover"


class RsiThresholds(_Params):
    """Buy when RSI climbs back above ``oversold``; sell when it falls back below ``overbought``."""

    kind: Literal["rsi"] = "rsi"
    period: Whole = Field(default=14, gt=1, le=1000)
    oversold: Real = Field(default=30.0, gt=0, lt=100)
    overbought: Real = Field(default=70.0, gt=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold ({self.oversold}) must be below overbought ({self.overbought})"
            )
        return self


class MacdCross(_Params):
    """Buy when the MACD line crosses above its signal line; sell when it crosses below."""

    kind: Literal["macd"] = "macd"
    fast: Whole = Field(default=12, gt=1, le=1000)
    slow: Whole = Field(default=26, gt=1, le=1000)
    signal: Whole = Field(default=9, gt=1, le=1000)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class Bollinger(_Params):
    """Breakout: buy above the upper band, sell below the lower one. Mean reversion: the
    opposite (buy below the lower band, sell above the upper one)."""

    kind: Literal["bollinger"] = "bollinger"
    period: Whole = Field(default=20, gt=1, le=1000)
    deviations: Real = Field(default=2.0, gt=0, le=10)
    mode: Literal["breakout", "mean_reversion"] = "breakout"


SignalParams = Annotated[
    SmaCrossover | EmaCrossover | RsiThresholds | MacdCross | Bollinger,
    Field(discriminator="kind"),
]
Timeframe = Literal["1Min", "1Day"]


class Sizing(_Params):
    """How much a buy signal buys: a fixed quantity, a notional amount, or a percent of equity."""

    mode: Literal["qty", "notional", "percent_equity"] = "qty"
    value: Size = Field(description="shares, dollars, or percent (0-100]")

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.value <= 0:
            raise ValueError("sizing value must be positive")
        if self.mode == "percent_equity" and self.value > 100:
            raise ValueError("percent_equity must be at most 100")
        return self


class StrategySpec(_Params):
    """Everything that decides what a strategy trades; a PATCH replaces it as a whole."""

    parameters: SignalParams
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_SYMBOLS)
    timeframe: Timeframe = "1Min"
    sizing: Sizing
    take_profit_pct: Percent | None = Field(default=None, description="percent above entry")
    stop_loss_pct: Percent | None = Field(default=None, description="percent below entry")
    max_position: Qty | None = Field(default=None, description="max shares held per symbol")
    cooldown_bars: Whole = Field(default=0, ge=0, le=100_000)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        cleaned = [canonical_symbol(s) for s in symbols]
        bad = [s for s in cleaned if not SYMBOL_PATTERN.match(s)]
        if bad:
            raise ValueError(f"not ticker symbols: {', '.join(bad)}")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("symbols must be unique")
        return cleaned

    @model_validator(mode="after")
    def _limits(self) -> Self:
        for name in ("take_profit_pct", "stop_loss_pct"):
            value: Decimal | None = getattr(self, name)
            if value is not None and not Decimal(0) < value < Decimal(100):
                raise ValueError(f"{name} must be between 0 and 100 (exclusive)")
        if self.max_position is not None and self.max_position <= 0:
            raise ValueError("max_position must be positive")
        return self

    @property
    def kind(self) -> str:
        return self.parameters.kind

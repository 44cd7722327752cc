"""Input and output models of the strategies API (the spec itself lives in the domain)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from shared.days import IsoDay
from shared.money import Amount, Cash, Percent, Qty, WholeIn

from trading.strategies.domain.spec import (
    MAX_SYMBOLS,
    SignalParams,
    Sizing,
    StrategySpec,
    Symbol,
    Timeframe,
)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# SQLite hands back naive datetimes; everything stored is UTC.
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class StrategyCreate(StrategySpec):
    name: str = Field(min_length=1, max_length=200)

    def spec(self) -> StrategySpec:
        return StrategySpec.model_validate(self.model_dump(exclude={"name"}))


class StrategyUpdate(BaseModel):
    """Any subset of the spec; the merged result is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parameters: SignalParams | None = None
    symbols: list[Symbol] | None = Field(default=None, min_length=1, max_length=MAX_SYMBOLS)
    timeframe: Timeframe | None = None
    sizing: Sizing | None = None
    take_profit_pct: Percent | None = None
    stop_loss_pct: Percent | None = None
    max_position: Qty | None = None
    cooldown_bars: Annotated[int, WholeIn(ge=0, le=100_000)] | None = None

    def spec_changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"name"})


class StrategyPublic(BaseModel):
    id: str
    name: str
    kind: str
    status: str = Field(description="inactive or active")
    revision: int = Field(description="bumped by every PATCH of the spec")
    parameters: SignalParams
    symbols: list[str]
    timeframe: Timeframe
    sizing: Sizing
    take_profit_pct: Amount | None
    stop_loss_pct: Amount | None
    max_position: Amount | None
    cooldown_bars: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class DeactivateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cancel_open_orders: bool = Field(
        default=False, description="cancel the strategy's open orders (else they stay)"
    )


class SignalPublic(BaseModel):
    id: int
    symbol: str
    timeframe: str
    bar_ts: UtcDatetime
    side: str
    close: Amount
    reason: str
    action: str
    detail: str
    revision: int
    created_at: UtcDatetime


class StrategyOrderPublic(BaseModel):
    id: int
    signal_id: int
    symbol: str
    side: str
    qty: Amount
    client_order_id: str
    order_id: str | None
    order_class: str
    take_profit: Amount | None
    stop_loss: Amount | None
    status: str
    detail: str
    created_at: UtcDatetime


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: IsoDay
    end: IsoDay
    initial_cash: Cash = Field(default=Decimal(100_000))

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.start > self.end:
            raise ValueError("start must not be after end")
        if self.initial_cash <= 0:
            raise ValueError("initial_cash must be positive")
        return self


class TradePublic(BaseModel):
    t: UtcDatetime
    symbol: str
    side: str
    qty: Amount
    price: Amount
    fee: Amount
    reason: str
    realized_pnl: Amount | None


class EquityPointPublic(BaseModel):
    t: UtcDatetime
    equity: Amount
    cash: Amount


class MetricsPublic(BaseModel):
    total_return: float
    cagr: float | None
    annualized_volatility: float | None
    sharpe: float | None
    max_drawdown: float
    win_rate: float | None
    exposure: float
    trades: int
    round_trips: int


class BacktestReport(BaseModel):
    start: IsoDay
    end: IsoDay
    initial_cash: Amount
    final_equity: Amount
    symbols: list[str]
    bars: int
    signals: int
    metrics: MetricsPublic
    trades: list[TradePublic]
    equity_curve: list[EquityPointPublic]


class BacktestJobPublic(BaseModel):
    job_id: str
    strategy_id: str
    status: str
    progress: float
    result: BacktestReport | None = None
    error: str = ""

"""Backtest jobs: fetch daily bars through the port, run the engine in a thread, keep the
report; short runs answer inline, long ones are polled with their progress."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping

from shared.errors import ApiError

from trading.strategies.adapters.repository import find_job, save_job, set_job_progress
from trading.strategies.domain.backtest import Backtester, BacktestResult
from trading.strategies.domain.bars import Bar
from trading.strategies.domain.spec import StrategySpec
from trading.strategies.handlers import get_strategy, load_spec
from trading.strategies.ports import UnavailableError
from trading.strategies.schemas import (
    BacktestJobPublic,
    BacktestReport,
    BacktestRequest,
    EquityPointPublic,
    MetricsPublic,
    TradePublic,
)
from trading.strategies.services import StrategyServices
from trading.strategies.tables import BacktestJobRow

logger = logging.getLogger("trading.strategies.backtests")
PROGRESS_STEP = 0.05


async def start_backtest(
    services: StrategyServices, account_id: str, strategy_id: str, request: BacktestRequest
) -> BacktestJobPublic:
    spec = load_spec(get_strategy(services, account_id, strategy_id))
    job = BacktestJobRow(
        id=str(uuid.uuid4()),
        strategy_id=strategy_id,
        account_id=account_id,
        request=request.model_dump_json(),
        created_at=services.clock.now(),
    )
    await asyncio.to_thread(save_job, services.engine, job)
    task = asyncio.create_task(_run_job(services, job, spec, request))
    services.spawn(task)
    await asyncio.wait({task}, timeout=services.backtest_inline_s)
    return job_status(services, account_id, strategy_id, job.id)


def job_status(
    services: StrategyServices, account_id: str, strategy_id: str, job_id: str
) -> BacktestJobPublic:
    job = find_job(services.engine, account_id, strategy_id, job_id)
    if job is None:
        raise ApiError(404, f"backtest {job_id} not found")
    result = BacktestReport.model_validate_json(job.result) if job.result else None
    return BacktestJobPublic(
        job_id=job.id,
        strategy_id=job.strategy_id,
        status=job.status,
        progress=job.progress,
        result=result,
        error=job.error,
    )


async def _run_job(
    services: StrategyServices, job: BacktestJobRow, spec: StrategySpec, request: BacktestRequest
) -> None:
    try:
        bars = await services.bars.daily_bars(spec.symbols, request.start, request.end)
        report = await asyncio.to_thread(run_report, services, job.id, spec, request, bars)
        job.result, job.status = report.model_dump_json(), "succeeded"
        job.progress = 1.0
    except UnavailableError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:
        logger.exception("backtest %s failed", job.id)
        job.status, job.error = "failed", f"internal error: {type(exc).__name__}"
    job.finished_at = services.clock.now()
    await asyncio.to_thread(save_job, services.engine, job)


def run_report(
    services: StrategyServices,
    job_id: str,
    spec: StrategySpec,
    request: BacktestRequest,
    bars: Mapping[str, list[Bar]],
) -> BacktestReport:
    reported = [0.0]

    def progress(fraction: float) -> None:
        if fraction - reported[0] >= PROGRESS_STEP:
            reported[0] = fraction
            set_job_progress(services.engine, job_id, round(fraction, 3))

    backtester = Backtester(spec, request.initial_cash, services.fill_rules)
    result = backtester.run(bars, progress)
    return to_report(request, spec, result, sum(len(b) for b in bars.values()))


def to_report(
    request: BacktestRequest, spec: StrategySpec, result: BacktestResult, bar_count: int
) -> BacktestReport:
    final = result.equity_curve[-1].equity if result.equity_curve else request.initial_cash
    return BacktestReport(
        start=request.start,
        end=request.end,
        initial_cash=request.initial_cash,
        final_equity=final,
        symbols=spec.symbols,
        bars=bar_count,
        signals=result.signals,
        metrics=MetricsPublic.model_validate(result.metrics, from_attributes=True),
        trades=[
            TradePublic(
                t=t.ts,
                symbol=t.symbol,
                side=t.side,
                qty=t.qty,
                price=t.price,
                fee=t.fee,
                reason=t.reason,
                realized_pnl=t.realized_pnl,
            )
            for t in result.trades
        ],
        equity_curve=[
            EquityPointPublic(t=p.ts, equity=p.equity, cash=p.cash) for p in result.equity_curve
        ],
    )

"""Trading's Prometheus metrics: orders submitted through the API (accepted or refused) in
this process, and order and fill counts read from the database at scrape time (they include
what the worker did: tick fills, expiries, strategies)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import FastAPI, Request
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from shared.db import readonly
from shared.metrics import register_collector, registry_of
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from trading.adapters.tables import fills, orders


class OrderCounts(Collector):
    """Open orders per status, all orders and fills in the database, read before a scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.open_by_status: dict[str, int] = {}
        self.orders: int | None = None
        self.fills: int | None = None

    def read(self) -> tuple[dict[str, int], int, int]:
        # Open orders only: few rows whatever the history, where a GROUP BY over all orders
        # scans the whole table (bench/metrics_scrape.py).
        open_by_status = (
            select(orders.c.status, func.count())
            .where(orders.c.is_open.is_(True))
            .group_by(orders.c.status)
        )
        with readonly(self.engine).connect() as connection:
            rows = connection.execute(open_by_status).all()
            order_count = connection.execute(select(func.count()).select_from(orders)).scalar_one()
            fill_count = connection.execute(select(func.count()).select_from(fills)).scalar_one()
            connection.rollback()
        return {str(status): int(n) for status, n in rows}, int(order_count), int(fill_count)

    async def refresh(self) -> None:
        self.open_by_status, self.orders, self.fills = await asyncio.to_thread(self.read)

    def collect(self) -> Iterator[Metric]:
        open_orders = GaugeMetricFamily(
            "trading_open_orders", "Open orders in the database by status", labels=["status"]
        )
        for status, count in sorted(self.open_by_status.items()):
            open_orders.add_metric([status], count)
        yield open_orders
        if self.orders is not None and self.fills is not None:
            yield CounterMetricFamily("trading_orders", "Orders in the database", self.orders)
            yield CounterMetricFamily("trading_fills", "Fills in the database", self.fills)


def register_trading_metrics(app: FastAPI, engine: Engine) -> None:
    """Call in the lifespan: the DB counts, and the submit counter (kept across lifespans)."""
    if not hasattr(app.state, "order_metrics"):
        app.state.order_metrics = Counter(
            "trading_orders_submitted_total",
            "Orders submitted through this API process, by outcome (accepted or rejected)",
            ["outcome"],
            registry=registry_of(app),
        )
    counts = OrderCounts(engine)
    register_collector(app, "trading-orders", counts, counts.refresh)


def count_order(request: Request, outcome: str) -> None:
    counter: Counter | None = getattr(request.app.state, "order_metrics", None)
    if counter is not None:
        counter.labels(outcome).inc()

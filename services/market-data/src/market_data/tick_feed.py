"""The tick feed: PriceTick events to ``market.ticks`` (published directly, pipelined, with an
approximate MAXLEN) and each symbol's last trade kept in ``last_trades``.

Sources: Finnhub's trades WebSocket when a key is set, else a simulator walking every symbol
from its last stored close, or a replay of stored closes. The simulator follows the store: when an
ingestion changes the data (a real file loaded after the synthetic seed, say), the walk is rebuilt
within ``REFRESH_SECONDS`` so every stored security ticks, each from its own last close, and the
symbols already walking keep their current prices."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from redis.asyncio import Redis
from shared.backoff import TRANSIENT, Backoff, sleep_unless_stopped
from shared.bus import publish_now
from shared.clock import Clock, SystemClock
from shared.events import PriceTick, Streams, make_event
from shared.logs import configure_logging
from shared.market_sessions import MarketSessions, Phase, market_sessions
from shared.redis_conn import service_redis
from shared.runner import run_until_signalled
from shared.settings import load_settings
from sqlalchemy.engine import Engine

from market_data.adapters.queries import data_version, driver, raw_rows
from market_data.bootstrap import open_store
from market_data.domain.price_walk import PriceWalk, Tick
from market_data.domain.scaled import PRICE_DIGITS, decimal_to_scaled
from market_data.settings import MarketDataSettings

logger = logging.getLogger("market_data.ticks")
TICKS_MAXLEN = 200_000
BATCH_SECONDS = 0.1
REFRESH_SECONDS = 5.0
VOL_SESSIONS = 60
# Retention of the recorded ticks: the most recent 2,000,000 (about 11 hours at 50 ticks/s).
TICK_HISTORY_ROWS = 2_000_000
RECORD_TICK = "INSERT INTO tick_history (symbol, ts, price_e8, size, source) VALUES (?, ?, ?, ?, ?)"
PRUNE_TICKS = (
    "DELETE FROM tick_history WHERE tick_id <= (SELECT max(tick_id) FROM tick_history) - ?"
)
UPSERT_TRADE = """
INSERT INTO last_trades (symbol, price_e8, size, ts, source) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (symbol) DO UPDATE SET price_e8 = excluded.price_e8, size = excluded.size,
    ts = excluded.ts, source = excluded.source
"""


def walk_from_store(engine: Engine, *, seed: int, rate: float) -> PriceWalk:
    """Start each symbol at its own last close with the volatility of its own last 60 sessions
    (per symbol: a file that ends earlier than the rest of the store still walks)."""
    rows = raw_rows(
        engine,
        f"""SELECT symbol, day, close_e8, adj_close_e8 FROM (
               SELECT s.symbol, b.day, b.close_e8, b.adj_close_e8, row_number() OVER (
                   PARTITION BY b.security_id ORDER BY b.day DESC) AS age
               FROM bars b JOIN securities s ON s.security_id = b.security_id)
            WHERE age <= {VOL_SESSIONS + 1} ORDER BY symbol, day""",
    )
    frame = pd.DataFrame(rows, columns=["symbol", "date", "close", "adj"])
    if frame.empty:
        raise ValueError("no stored bars: run `market-data ingest` first")
    frame["ret"] = pd.Series(np.log(frame["adj"].astype(float))).groupby(frame["symbol"]).diff()
    stats = frame.groupby("symbol").agg(close=("close", "last"), vol=("ret", "std"))
    vols = stats["vol"].fillna(0.02).clip(0.002, 0.2)
    return PriceWalk(
        list(stats.index), list(stats["close"] / 10**PRICE_DIGITS), list(vols), seed=seed, rate=rate
    )


async def simulated(
    engine: Engine,
    *,
    seed: int,
    rate: float,
    stop: asyncio.Event,
    refresh_seconds: float = REFRESH_SECONDS,
) -> AsyncIterator[list[Tick]]:
    """Random-walk batches over the store's securities, rebuilt when the stored data changes."""
    version = data_version(engine)
    walk = walk_from_store(engine, seed=seed, rate=rate)
    loop = asyncio.get_running_loop()
    checked = loop.time()
    carry = 0.0
    while not stop.is_set():
        carry += rate * BATCH_SECONDS
        count, carry = int(carry), carry - int(carry)
        if count:
            yield walk.next(count)
        await asyncio.sleep(BATCH_SECONDS)
        if loop.time() - checked >= refresh_seconds:
            checked = loop.time()
            latest = await asyncio.to_thread(data_version, engine)
            if latest != version:
                version = latest
                fresh = await asyncio.to_thread(walk_from_store, engine, seed=seed, rate=rate)
                fresh.keep_prices(walk)
                logger.info("tick feed follows the store: %d symbols", len(fresh.symbols))
                walk = fresh


async def replayed(engine: Engine, rate: float, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
    rows = raw_rows(
        engine,
        "SELECT s.symbol, b.close_e8, b.volume FROM bars b"
        " JOIN securities s ON s.security_id = b.security_id ORDER BY b.day, s.symbol",
    )
    batch = max(1, int(rate * BATCH_SECONDS))
    for start in range(0, len(rows), batch):
        if stop.is_set():
            return
        yield [
            Tick(symbol, _price(close), int(volume or 0))
            for symbol, close, volume in rows[start : start + batch]
        ]
        await asyncio.sleep(BATCH_SECONDS)


def _price(scaled: int) -> Any:
    from market_data.domain.scaled import to_decimal

    return to_decimal(scaled, PRICE_DIGITS)


class TickPublisher:
    """Publishes a batch in one pipelined round trip, records every tick in ``tick_history``
    (keeping the newest ``retention`` rows) and each symbol's last trade in ``last_trades``."""

    def __init__(
        self,
        redis: Redis,
        engine: Engine,
        clock: Clock,
        source: str,
        *,
        retention: int = TICK_HISTORY_ROWS,
    ) -> None:
        self.redis, self.engine, self.clock, self.source = redis, engine, clock, source
        self.retention = retention
        self.published = 0
        self.dropped = 0
        self.backoff = Backoff(initial=0.2, ceiling=5.0)

    async def publish(self, ticks: Sequence[Tick], at: datetime | None = None) -> None:
        """Publish a batch; while Redis is away the batch is dropped (the next tick supersedes
        it) and the feed pauses with backoff instead of dying."""
        now = at or self.clock.now()
        envelopes = [
            make_event(PriceTick(symbol=t.symbol, price=t.price, size=t.size, source=self.source),
                       producer="market-data", ts_event=now)
            for t in ticks
        ]  # fmt: skip
        await asyncio.to_thread(self._remember, ticks, now)
        try:
            await publish_now(self.redis, Streams.TICKS, envelopes, maxlen=TICKS_MAXLEN)
        except TRANSIENT as exc:
            self.dropped += len(ticks)
            if not self.backoff.failures:
                logger.warning("tick feed lost Redis (%s); dropping ticks until it is back", exc)
            await self.backoff.wait()
            return
        if self.backoff.failures:
            logger.info("tick feed reconnected to Redis (%d ticks dropped)", self.dropped)
            self.backoff.succeeded()
        self.published += len(ticks)

    def _remember(self, ticks: Sequence[Tick], now: datetime) -> None:
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        latest = {t.symbol: t for t in ticks}
        rows = [
            (t.symbol, stamp, decimal_to_scaled(t.price, PRICE_DIGITS), t.size, self.source)
            for t in ticks
        ]
        with self.engine.begin() as connection:
            raw = driver(connection)
            raw.executemany(RECORD_TICK, rows)
            raw.execute(
                PRUNE_TICKS,
                (self.retention,),
            )
            raw.executemany(
                UPSERT_TRADE,
                [(t.symbol, decimal_to_scaled(t.price, PRICE_DIGITS), t.size, stamp, self.source)
                 for t in latest.values()],
            )  # fmt: skip


CLOSED_MARKET_POLL_SECONDS = 1.0


def market_is_trading(sessions: MarketSessions, clock: Clock, ticks_when_closed: bool) -> bool:
    """Whether the simulated market trades now: from the pre-market open to the post-market
    close of a session (always, with TICKS_WHEN_CLOSED)."""
    return ticks_when_closed or sessions.phase(clock.now()) != Phase.CLOSED


async def until_trading(
    sessions: MarketSessions, clock: Clock, ticks_when_closed: bool, stop: asyncio.Event
) -> bool:
    """Wait while the simulated market is closed, so that the source pauses (a replay drops
    nothing); False when stopped first."""
    while not market_is_trading(sessions, clock, ticks_when_closed):
        if stop.is_set():
            return False
        await sleep_unless_stopped(stop, CLOSED_MARKET_POLL_SECONDS)
    return True


async def run_feed(settings: MarketDataSettings, args: Any, stop: asyncio.Event) -> int:
    store = open_store(settings)
    redis = service_redis(settings)
    key = settings.finnhub_key()
    publisher: TickPublisher | None = None
    try:
        if not await wait_for_bars(store.engine, stop):
            return 0
        if key and not args.simulate and not args.replay:
            from market_data.adapters.finnhub_ws import finnhub_trades, top_symbols

            publisher = TickPublisher(redis, store.engine, SystemClock(), "finnhub")
            symbols = top_symbols(store.engine, 50)
            async for ticks, at in finnhub_trades(settings.finnhub_ws_url, key, symbols, stop):
                await publisher.publish(ticks, at)
        else:
            source = "replay" if args.replay else "simulated"
            clock = settings.clock()
            sessions = market_sessions(settings.market_sessions)
            publisher = TickPublisher(redis, store.engine, clock, source)
            if args.replay:
                batches = replayed(store.engine, args.rate, stop)
            else:
                refresh = getattr(args, "refresh", None) or REFRESH_SECONDS
                batches = simulated(
                    store.engine, seed=args.seed, rate=args.rate, stop=stop, refresh_seconds=refresh
                )
            async for ticks in batches:
                if not await until_trading(sessions, clock, settings.ticks_when_closed, stop):
                    break
                await publisher.publish(ticks)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
        store.engine.dispose()
    logger.info("tick feed stopped after %d ticks", publisher.published if publisher else 0)
    return 0


async def wait_for_bars(engine: Engine, stop: asyncio.Event, poll_seconds: float = 2.0) -> bool:
    """Wait until the store holds bars (a fresh stack starts before its first ingestion)."""
    announced = False
    while not stop.is_set():
        if raw_rows(engine, "SELECT 1 FROM bars LIMIT 1"):
            return True
        if not announced:
            logger.info("no stored bars yet: waiting for `market-data ingest`")
            announced = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_seconds)
    return False


def ticks_main(args: Any) -> int:
    settings = load_settings(MarketDataSettings)
    configure_logging("market-data-ticks", settings.log_level)
    if not (args.rate > 0 and math.isfinite(args.rate)):
        print("error: --rate must be a positive number", file=sys.stderr)
        return 2

    async def run(stop: asyncio.Event) -> int:
        if args.duration:
            asyncio.get_running_loop().call_later(args.duration, stop.set)
        return await run_feed(settings, args, stop)

    return run_until_signalled(run)


def parse_finnhub_message(text: str | bytes) -> list[tuple[Tick, datetime]]:
    """Trades from one Finnhub WebSocket message (``{"type": "trade", "data": [...]}``)."""
    from decimal import Decimal

    document = json.loads(text)
    if document.get("type") != "trade":
        return []
    found = []
    for item in document.get("data") or []:
        at = datetime.fromtimestamp(item["t"] / 1000, UTC)
        found.append((Tick(item["s"], Decimal(repr(item["p"])), int(item.get("v") or 0)), at))
    return found

"""Harness for integration tests: the app under uvicorn and the worker, each in a thread,
sharing one database (SQLite file or PostgreSQL schema) and a real Redis; events are
published as their producers would."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis as sync_redis
import uvicorn
from portfolio.settings import PortfolioSettings
from portfolio.worker import run_worker
from shared.events import AccountOpened, EventPayload, OrderFilled, PriceTick, encode, make_event
from shared.testing.processes import free_port
from shared.testing.waiting import wait_until

# The ``settings_for`` fixture: ``settings_for(**overrides)`` on the test's database.
SettingsFor = Callable[..., PortfolioSettings]


def make_settings(
    var_dir: Path, redis_url: str, *, database_url: str = "", **extra: Any
) -> PortfolioSettings:
    """Fast-cycling settings; an empty ``database_url`` means the SQLite file under var_dir."""
    defaults: dict[str, Any] = {
        "var_dir": var_dir,
        "redis_url": redis_url,
        "database_url": database_url,
        "rules_refresh_s": 0.05,
        "snapshot_interval_s": 0.2,
        "webhook_poll_s": 0.05,
        "webhook_first_delay_s": 0.05,
        "portfolio_fernet_keys_file": var_dir / "no-such-file",
    }
    return PortfolioSettings(**{**defaults, **extra})


class Publisher:
    """Publishes events onto their streams the way the producers' relays do."""

    def __init__(self, redis_url: str) -> None:
        self.redis = sync_redis.Redis.from_url(redis_url)
        self.sequence: dict[str, int] = {}

    def publish(self, payload: EventPayload, at: datetime | None = None) -> str:
        envelope = make_event(payload, producer="test", ts_event=at or datetime.now(UTC))
        self.redis.xadd(payload.stream, {"data": encode(envelope)})
        return str(envelope.event_id)

    def open_account(self, account: str, cash: str = "100000") -> None:
        self.publish(AccountOpened(account_id=account, user_name=account, cash=Decimal(cash)))

    def fill(
        self,
        account: str,
        symbol: str,
        side: str,
        qty: str,
        price: str,
        fee: str = "0",
        *,
        leaves: str = "0",
    ) -> None:
        self.sequence[account] = self.sequence.get(account, 0) + 1
        self.publish(
            OrderFilled(
                account_id=account,
                order_id=str(uuid.uuid4()),
                client_order_id=uuid.uuid4().hex,
                symbol=symbol,
                side=side,  # type: ignore[arg-type]
                status="filled" if leaves == "0" else "partially_filled",
                sequence=self.sequence[account],
                fill_id=uuid.uuid4().hex,
                fill_qty=Decimal(qty),
                fill_price=Decimal(price),
                fee=Decimal(fee),
                cum_qty=Decimal(qty),
                leaves_qty=Decimal(leaves),
            )
        )

    def tick(self, symbol: str, price: str) -> None:
        self.publish(PriceTick(symbol=symbol, price=Decimal(price)))

    def events(self, stream: str) -> list[dict[str, Any]]:
        import orjson

        return [orjson.loads(f[b"data"]) for _, f in self.redis.xrange(stream)]


class WorkerThread:
    def __init__(self, settings: PortfolioSettings) -> None:
        self.settings = settings
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            ready = asyncio.Event()
            task = asyncio.create_task(run_worker(self.settings, self.stop_event, ready=ready))
            await ready.wait()
            self.started.set()
            await task

        asyncio.run(main())

    def __enter__(self) -> WorkerThread:
        self.thread.start()
        assert self.started.wait(15), "worker did not start"
        return self

    def __exit__(self, *_: object) -> None:
        assert self.loop is not None
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``check`` returns a truthy value (the worker is asynchronous)."""
    return wait_until(check, within=timeout, retry_assertions=True)

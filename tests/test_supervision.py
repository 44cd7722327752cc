"""The supervisor of `make up`: a killed process comes back, and a restarted Redis is survived."""

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from tests.stack import ROOT, Stack
from tests.test_trading_e2e import affordable_symbol, eventually, trading_client

# Restarted processes take a while to start on a loaded 2-core machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _pid(stack: Stack, name: str) -> int | None:
    path = stack.var_dir / "run" / f"{name}.pid"
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _restarts(stack: Stack, name: str) -> int:
    state = json.loads((stack.var_dir / "run" / "supervisor.json").read_text())
    return int(state["processes"][name]["restarts"])


def _kill_and_wait_for_return(stack: Stack, name: str) -> None:
    old = _pid(stack, name)
    assert old is not None, name
    restarts = _restarts(stack, name)
    os.killpg(old, signal.SIGKILL)
    eventually(lambda: (new := _pid(stack, name)) is not None and new != old, f"{name} back", 60)
    eventually(lambda: _restarts(stack, name) == restarts + 1, f"{name} restart counted", 10)


def _ticks(stack: Stack) -> int | None:
    """The length of the ticks stream, or None while Redis is still loading its data (a
    restarted Redis answers LOADING until its dataset is back in memory)."""
    reply = stack.redis_cli("XLEN", "market.ticks") or "0"
    return int(reply) if reply.isdigit() else None


def _all_healthy(stack: Stack) -> bool:
    status = subprocess.run(
        [sys.executable, "scripts/stack.py", "status"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    try:
        with httpx.Client(base_url=stack.url, timeout=5) as client:
            answers = all(
                client.get(f"/healthz/{s}").status_code == 200
                for s in ("gateway", "market-data", "index", "trading", "portfolio", "export")
            )
    except httpx.HTTPError:  # nginx itself is still starting
        return False
    return answers and "stopped" not in status.stdout


def test_every_supervised_process_killed_in_turn_comes_back(stack: Stack) -> None:
    names = [p.stem for p in (stack.var_dir / "run").glob("*.pid") if p.stem != "supervisor"]
    assert len(names) >= 14

    for name in sorted(names):
        _kill_and_wait_for_return(stack, name)

    eventually(lambda: _all_healthy(stack), "every process answering again", 120)
    status = subprocess.run(
        [sys.executable, "scripts/stack.py", "status"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "restarts 1" in status


def test_after_a_redis_restart_ticks_flow_and_a_new_order_fills(stack: Stack) -> None:
    _kill_and_wait_for_return(stack, "redis")
    eventually(lambda: _ticks(stack) is not None, "Redis serving its data again", 60)
    before = _ticks(stack) or 0
    eventually(lambda: (_ticks(stack) or 0) > before, "ticks flowing again", 60)

    client = trading_client(stack, "sam")
    order = client.submit_order(
        MarketOrderRequest(
            symbol=affordable_symbol(stack),
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
        )
    )
    eventually(
        lambda: client.get_order_by_id(order.id).status == OrderStatus.FILLED,
        "the order placed after the restart to fill",
        60,
    )
    assert _all_healthy(stack)

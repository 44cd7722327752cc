"""The platform as containers (docker-compose.yml through scripts/compose.sh), tested from the
host through the one published port: readiness at the edge, the June 2025 file loaded with
`run --rm ingest`, an index built and read, a user made with the gateway CLI in its container,
an alpaca-py market order filled, Redis data across `restart redis`, and every volume's data
across `down`/`up` (no -v).

Own project name and own port on 127.0.0.1, so it never meets `make docker-up`'s stack.
`make docker-test` runs it (one line and exit 0 when no engine answers); `make test` leaves
the `docker` marker out.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.models import Order, TradeAccount
from alpaca.trading.requests import MarketOrderRequest
from shared.testing.processes import free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = (ROOT / ".." / "shared" / "data").resolve()
JUNE = "sp500_2025_06.csv.gz"
READY_SECONDS = 900  # cold start of fourteen Python processes on a loaded two-core machine
USER = "dora"


def engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy answer of check() within timeout seconds (exceptions count as no)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            answer = check()
            if answer:
                return answer
            last = answer
        except (httpx.HTTPError, subprocess.SubprocessError, ValueError, KeyError) as error:
            last = error
        time.sleep(2)
    raise AssertionError(f"{what} not reached in {timeout:.0f}s (last: {last!r})")


@dataclass
class ComposeStack:
    project: str
    port: int
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(
        self, *argv: str, check: bool = True, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COMPOSE_PROJECT_NAME": self.project, "PUBLISH_PORT": str(self.port)}
        result = subprocess.run(
            [str(ROOT / "scripts" / "compose.sh"), *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"compose {' '.join(argv)}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def cli(self, service: str, *argv: str) -> str:
        """A service's CLI inside its running container: the last line of its output."""
        return self.compose("exec", "-T", service, *argv).stdout.strip().splitlines()[-1]

    def redis_cli(self, *argv: str) -> str:
        """redis-cli in the redis container as the operators' user (the default user is off);
        the password reaches it in its environment, from the Docker secret."""
        command = (
            "REDISCLI_AUTH=$(cat /run/secrets/redis_ops)"
            ' exec redis-cli --no-auth-warning --user ops "$@"'
        )
        return self.cli("redis", "sh", "-c", command, "redis-cli", *argv)

    def readyz(self) -> httpx.Response:
        return httpx.get(f"{self.url}/readyz", timeout=10)

    def wait_ready(self) -> None:
        eventually(lambda: self.readyz().status_code == 200, READY_SECONDS, "/readyz 200")

    def container_states(self) -> dict[str, str]:
        """service -> health (or state when it has no healthcheck) of each running container."""
        ids = self.compose("ps", "-q").stdout.split()
        if not ids:
            return {}
        listing = subprocess.run(
            ["docker", "inspect", *ids], capture_output=True, text=True, check=True
        ).stdout
        states = {}
        for container in json.loads(listing):
            service = container["Config"]["Labels"]["com.docker.compose.service"]
            state = container["State"]
            states[service] = state.get("Health", {}).get("Status") or state["Status"]
        return states

    def trading(self) -> TradingClient:
        return TradingClient(
            self.keys["key_id"], self.keys["secret"], paper=True, url_override=self.url
        )


def order_of(client: TradingClient, order_id: str) -> Order:
    order = client.get_order_by_id(order_id)
    assert isinstance(order, Order)
    return order


def cash_of(client: TradingClient) -> Decimal:
    account = client.get_account()
    assert isinstance(account, TradeAccount)
    return Decimal(str(account.cash))


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[ComposeStack]:
    if not engine_answers():
        pytest.skip("no Docker engine answers")
    stack = ComposeStack(project=f"mp-test-{secrets.token_hex(3)}", port=free_port())
    subprocess.run(
        [str(ROOT / "scripts" / "make-secrets.sh")], cwd=ROOT, check=True, capture_output=True
    )
    stack.compose("build", "gateway", "nginx", timeout=3600)
    try:
        stack.compose("up", "-d")
        stack.wait_ready()
        yield stack
    finally:
        logs = stack.compose("logs", "--tail", "30", check=False, timeout=120).stdout
        stack.compose("down", "-v", "--remove-orphans", check=False, timeout=600)
        left = subprocess.run(
            [
                "docker",
                "ps",
                "-aq",
                "--filter",
                f"label=com.docker.compose.project={stack.project}",
            ],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert not left, f"containers left after down: {left}\n{logs[-3000:]}"


def test_readyz_at_the_edge_is_200_and_no_container_is_unhealthy(
    compose_stack: ComposeStack,
) -> None:
    answer = compose_stack.readyz()
    assert answer.status_code == 200, answer.text

    # Docker's checks run every 10 s: /readyz can be 200 before they have marked a container.
    def all_healthy() -> dict[str, str] | None:
        states = compose_stack.container_states()
        settled = all(state in {"healthy", "running"} for state in states.values())
        return states if settled else None

    states = eventually(all_healthy, 180, "every container healthy (or running, without a check)")
    services = {
        "nginx",
        "redis",
        "gateway",
        "market-data",
        "index",
        "trading",
        "portfolio",
        "export",
    }
    assert services <= set(states)
    assert all(states[name] == "healthy" for name in services), states
    assert httpx.get(f"{compose_stack.url}/", timeout=10).status_code == 200  # the dashboard


def test_the_june_file_loads_and_the_index_builds(compose_stack: ComposeStack) -> None:
    compose_stack.compose(
        "run", "--rm", "-v", f"{DATA_DIR}:/shared/data:ro",
        "ingest", "--provider", "file", "--path", f"/shared/data/{JUNE}",
    )  # fmt: skip
    window = {"start_date": "2025-06-01", "end_date": "2025-06-30"}

    def built() -> dict[str, Any] | None:
        answer = httpx.post(f"{compose_stack.url}/build-index", json=window, timeout=120)
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and body["sessions"] == 20 else None

    build = eventually(built, 300, "a 20-session June build (Juneteenth closed)")
    performance = httpx.get(f"{compose_stack.url}/index-performance", params=window, timeout=60)
    assert performance.status_code == 200, performance.text
    rows = performance.json()["rows"]
    assert [row["date"] for row in rows][:1] == ["2025-06-02"]
    assert len(rows) == 20
    assert Decimal(str(rows[0]["level"])) > 0
    assert build["sessions"] == 20
    composition = httpx.get(
        f"{compose_stack.url}/index-composition", params={"date": "2025-06-18"}, timeout=60
    )
    assert composition.status_code == 200, composition.text
    assert len(composition.json()["constituents"]) == 100


def test_a_user_made_in_the_container_buys_with_alpaca_py(compose_stack: ComposeStack) -> None:
    compose_stack.cli("gateway", "gateway", "users", "create", USER, "--cash", "100000", "--json")
    created = compose_stack.cli(
        "gateway", "gateway", "keys", "create", "--user", USER, "--scope", "read,trade", "--json"
    )
    compose_stack.keys.update(json.loads(created))
    symbol = httpx.get(f"{compose_stack.url}/securities", params={"limit": 1}, timeout=30).json()
    symbol = symbol["securities"][0]["symbol"]
    client = compose_stack.trading()
    order = client.submit_order(
        MarketOrderRequest(symbol=symbol, qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert isinstance(order, Order)
    order_id = str(order.id)
    filled = eventually(
        lambda: (got := order_of(client, order_id)).status == OrderStatus.FILLED and got,
        180,
        "the market order filled",
    )
    paid = Decimal(str(filled.filled_avg_price)) * 2
    cash = eventually(
        lambda: (c := cash_of(client)) < 100000 and c, 120, "the fill in the account's cash"
    )
    assert cash == Decimal(100000) - paid
    compose_stack.keys["order_id"] = order_id
    compose_stack.keys["cash"] = str(cash)


def test_redis_keeps_its_data_across_a_restart(compose_stack: ComposeStack) -> None:
    compose_stack.redis_cli("SET", "compose-test:marker", "kept")
    before = int(compose_stack.redis_cli("DBSIZE"))
    compose_stack.compose("restart", "redis")
    assert eventually(
        lambda: compose_stack.redis_cli("GET", "compose-test:marker") == "kept",
        120,
        "the marker back after restart",
    )
    assert int(compose_stack.redis_cli("DBSIZE")) >= before > 1
    compose_stack.wait_ready()


def test_the_volumes_keep_orders_cash_keys_and_the_index_across_down_and_up(
    compose_stack: ComposeStack,
) -> None:
    assert "order_id" in compose_stack.keys, "needs the order test's user and order"
    compose_stack.compose("down", "--remove-orphans", timeout=600)
    assert not compose_stack.compose("ps", "-q").stdout.split()
    compose_stack.compose("up", "-d")
    compose_stack.wait_ready()
    client = compose_stack.trading()  # the key survived: the gateway's volume
    assert order_of(client, compose_stack.keys["order_id"]).status == OrderStatus.FILLED
    assert cash_of(client) == Decimal(compose_stack.keys["cash"])
    assert compose_stack.redis_cli("GET", "compose-test:marker") == "kept"
    window = {"start_date": "2025-06-01", "end_date": "2025-06-30"}
    performance = httpx.get(f"{compose_stack.url}/index-performance", params=window, timeout=120)
    assert performance.status_code == 200
    assert len(performance.json()["rows"]) == 20

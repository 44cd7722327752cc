"""The platform's Redis users on a real redis-server loading the ACL file that the native stack
writes: each service does what its streams need and nothing else; the default user is off."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError
from shared.bus import ConsumerConfig, StreamConsumer, per_event, publish_now
from shared.cache import ResponseCache
from shared.events import Envelope, PriceTick, Streams, encode, make_event
from shared.metrics import read_bus_state
from shared.redis_acl import ALL_USERS, USERS, RedisUser, write_acl_file
from shared.redis_conn import service_redis
from shared.settings import ServiceName, ServiceSettings
from shared.testing.processes import find_executable, free_port, running_process
from shared.testing.servers import private_redis

ALL_STREAMS = (
    Streams.TICKS,
    Streams.BARS,
    Streams.INDEX,
    Streams.ORDERS,
    Streams.ACCOUNTS,
    Streams.ALERTS,
    Streams.EXPORTS,
)
ADMIN_COMMANDS = (
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("CONFIG", "GET", "*"),
    ("ACL", "LIST"),
    ("KEYS", "*"),
    ("EVAL", "return redis.call('FLUSHALL')", "0"),
    ("BGSAVE",),
    ("SWAPDB", "0", "1"),
    ("SHUTDOWN", "NOSAVE"),
    ("CLIENT", "KILL", "USER", "ops"),
)
USER_IDS = [user.name for user in USERS]


@dataclass
class AclServer:
    url: str
    var_dir: Path

    def settings(self, service: ServiceName | None) -> ServiceSettings:
        return ServiceSettings(var_dir=self.var_dir, redis_url=self.url, service=service)

    def client(self, user: RedisUser | None = None) -> Redis:
        """Logged in the way a service process is: its settings find its password file."""
        return service_redis(self.settings(ServiceName(user.name) if user else None))


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclServer]:
    var_dir = tmp_path_factory.mktemp("acl") / "var"
    acl_file = write_acl_file(var_dir)
    with private_redis(var_dir / "redis", acl_file=acl_file) as url:
        yield AclServer(url, var_dir)


@pytest.fixture
async def ops(acl_server: AclServer) -> AsyncIterator[Redis]:
    client = acl_server.client()
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def as_user(
    acl_server: AclServer, ops: Redis, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[RedisUser, Redis]]:
    user: RedisUser = request.param
    client = acl_server.client(user)
    yield user, client
    await client.aclose()


def tick(symbol: str = "AAPL") -> Envelope:
    at = datetime(2026, 1, 5, 15, tzinfo=UTC)
    payload = PriceTick(symbol=symbol, price=Decimal("190.5"), size=Decimal("1"))
    return make_event(payload, producer="test", ts_event=at)


per_user = pytest.mark.parametrize("as_user", USERS, ids=USER_IDS, indirect=True)


def test_every_password_and_the_acl_file_are_0600_in_0700_folders(
    acl_server: AclServer,
) -> None:
    secrets = acl_server.var_dir / "secrets"
    files = [secrets / "redis-users.acl", *(secrets / "redis" / user for user in ALL_USERS)]

    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
    folders = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (secrets, secrets / "redis")}

    assert set(modes.values()) == {0o600}, modes
    assert set(folders.values()) == {0o700}, folders
    assert all(len(p.read_text().strip()) >= 40 for p in files[1:])


def test_the_acl_file_holds_password_hashes_never_the_passwords(acl_server: AclServer) -> None:
    secrets = acl_server.var_dir / "secrets"
    text = (secrets / "redis-users.acl").read_text()

    for user in ALL_USERS:
        assert (secrets / "redis" / user).read_text().strip() not in text


def test_writing_the_acl_file_again_keeps_every_password(tmp_path: Path) -> None:
    write_acl_file(tmp_path)
    before = {u: (tmp_path / "secrets" / "redis" / u).read_text() for u in ALL_USERS}

    write_acl_file(tmp_path)

    assert {u: (tmp_path / "secrets" / "redis" / u).read_text() for u in ALL_USERS} == before


async def test_an_unauthenticated_connection_gets_noauth(acl_server: AclServer) -> None:
    port = int(acl_server.url.rsplit(":", 1)[1].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"PING\r\nXADD trading.orders * data forged\r\nFLUSHALL\r\n")
        replies = [await reader.readline() for _ in range(3)]
    finally:
        writer.close()

    assert all(reply.startswith(b"-NOAUTH") for reply in replies), replies


async def test_the_default_user_cannot_log_in_with_any_password(acl_server: AclServer) -> None:
    for password in ("", "nopass", "default"):
        client = Redis.from_url(acl_server.url, username="default", password=password)
        try:
            with pytest.raises(AuthenticationError):
                await client.ping()
        finally:
            await client.aclose()


async def test_a_service_user_with_a_wrong_password_is_refused(acl_server: AclServer) -> None:
    client = Redis.from_url(acl_server.url, username="trading", password="guess")
    try:
        with pytest.raises(AuthenticationError):
            await client.ping()
    finally:
        await client.aclose()


@per_user
async def test_a_service_cannot_xadd_to_a_stream_it_does_not_produce(
    as_user: tuple[RedisUser, Redis],
) -> None:
    user, client = as_user
    foreign = [stream for stream in ALL_STREAMS if stream not in user.produces]
    assert foreign

    for stream in foreign:
        with pytest.raises(NoPermissionError):
            await client.xadd(stream, {"data": encode(tick())})


@per_user
async def test_a_service_cannot_flush_configure_or_list_redis(
    as_user: tuple[RedisUser, Redis],
) -> None:
    _, client = as_user

    for command in ADMIN_COMMANDS:
        with pytest.raises(NoPermissionError):
            await client.execute_command(*command)


@per_user
async def test_a_service_cannot_read_or_write_keys_outside_its_own(
    as_user: tuple[RedisUser, Redis],
) -> None:
    _, client = as_user

    with pytest.raises(NoPermissionError):
        await client.set("trading:balance", "1000000")
    with pytest.raises(NoPermissionError):
        await client.xrange(Streams.dead_letter(Streams.EXPORTS))


@per_user
async def test_a_service_publishes_each_stream_it_produces(
    as_user: tuple[RedisUser, Redis], ops: Redis
) -> None:
    user, client = as_user

    for stream in user.produces:
        await publish_now(client, stream, [tick()])

    assert [await ops.xlen(stream) for stream in user.produces] == [1] * len(user.produces)


@per_user
async def test_a_service_consumes_its_streams_with_groups_dead_letters_and_claims(
    as_user: tuple[RedisUser, Redis], ops: Redis
) -> None:
    user, client = as_user
    for stream in user.consumes:
        await ops.xadd(stream, {"data": encode(tick())})
        await ops.xadd(stream, {"data": encode(tick("FAIL"))})
        await ops.xadd(stream, {"garbage": b"not an event"})

    for stream in user.consumes:
        seen: list[str] = []

        async def handle(envelope: Envelope, seen: list[str] = seen) -> None:
            if envelope.payload["symbol"] == "FAIL":
                raise ValueError("fails once per delivery")
            seen.append(envelope.payload["symbol"])

        config = ConsumerConfig(stream, f"{user.name}-test", "c1", max_deliveries=1)
        consumer = StreamConsumer(client, config, per_event(handle))
        await consumer.ensure_group()
        while await consumer.step():
            pass
        await consumer.step()  # the failed entry again: its one delivery used, dead-lettered
        await consumer.claim_stale()
        await consumer.flush_acks()
        state = await read_bus_state(client, [(stream, config.group)])

        assert seen == ["AAPL"]
        assert await ops.xlen(Streams.dead_letter(stream)) == 2
        assert state.dead_letters[stream] == 2


@per_user
async def test_a_consumer_cannot_write_the_streams_it_reads(
    as_user: tuple[RedisUser, Redis],
) -> None:
    user, client = as_user

    for stream in [*user.consumes, *user.reads]:
        with pytest.raises(NoPermissionError):
            await client.xadd(stream, {"data": b"forged"})
        with pytest.raises(NoPermissionError):
            await client.xtrim(stream, maxlen=0)


async def test_the_gateway_reads_the_fan_out_streams_and_its_revocation_channel(
    acl_server: AclServer, ops: Redis
) -> None:
    (gateway,) = [user for user in USERS if user.name == ServiceName.GATEWAY]
    client = acl_server.client(gateway)
    pubsub = client.pubsub()
    try:
        for stream in gateway.reads:
            await ops.xadd(stream, {"data": encode(tick())})
        read = await client.xread({stream: "0" for stream in gateway.reads}, count=10)
        await client.xrevrange(Streams.TICKS, count=1)
        await pubsub.subscribe("gateway.keys.revoked")
        await client.publish("gateway.keys.revoked", "key-1")
        message = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                break

        assert len(read) == len(gateway.reads)
        assert message is not None
        assert message["data"] == b"key-1"
        with pytest.raises(NoPermissionError):
            await client.publish("trading.commands", "forged")
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def test_the_index_caches_under_its_own_prefix_only(
    acl_server: AclServer, ops: Redis
) -> None:
    (index,) = [user for user in USERS if user.name == ServiceName.INDEX]
    client = acl_server.client(index)
    computed = 0

    async def compute() -> bytes:
        nonlocal computed
        computed += 1
        await asyncio.sleep(0)
        return b"{}"

    try:
        cache = ResponseCache(client, prefix="index", ttl_seconds=60)
        first = await cache.get_or_compute("performance", "2025", compute)
        second = await cache.get_or_compute("performance", "2025", compute)
        bumped = await cache.bump("performance")
        foreign = ResponseCache(client, prefix="portfolio", ttl_seconds=60)

        assert (first.status, second.status, computed, bumped) == ("miss", "hit", 1, 1)
        assert await ops.keys("index:*")
        assert await foreign.bump("performance") == -1  # refused (NOPERM), logged
    finally:
        await client.aclose()


async def test_a_restart_replays_the_consumers_transactions_from_the_aof(tmp_path: Path) -> None:
    """Redis 7.0 re-checks an AOF transaction at EXEC as the ``default`` user: the ACL must not
    make a restart drop the groups' pending entries (XREADGROUP's propagated XCLAIMs)."""
    executable = find_executable("redis-server")
    assert executable is not None
    var_dir, data, port = tmp_path / "var", tmp_path / "data", free_port()
    acl_file = write_acl_file(var_dir)
    data.mkdir()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
    argv += ["--appendonly", "yes", "--save", "", "--aclfile", str(acl_file)]
    server = AclServer(f"redis://127.0.0.1:{port}/0", var_dir)
    (trading,) = [user for user in USERS if user.name == ServiceName.TRADING]
    with running_process(argv, port=port, log_path=tmp_path / "redis.log"):
        client = server.client(trading)
        await server.client().xadd(Streams.TICKS, {"data": encode(tick())})
        await server.client().xadd(Streams.TICKS, {"data": encode(tick("MSFT"))})
        await client.xgroup_create(Streams.TICKS, "trading", "0")
        await client.xreadgroup("trading", "c1", {Streams.TICKS: ">"}, count=10)
        await client.aclose()

    with running_process(argv, port=port, log_path=tmp_path / "redis.log"):
        ops = server.client()
        pending = await ops.xpending(Streams.TICKS, "trading")
        await ops.aclose()

    assert pending["pending"] == 2
    assert "AOF-loading-client" not in (tmp_path / "redis.log").read_text()

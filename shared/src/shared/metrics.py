"""Prometheus metrics beyond HTTP, in the registry each app owns (``app.state.metrics``).

Nothing here is global: every helper takes the app (or a registry) and registers into it.
Values that live outside the process (consumer groups and dead letters in Redis, the outbox
in the database) are read by an async *scrape hook* that ``/metrics`` awaits right before it
renders, so a scrape always sees fresh numbers and nothing polls while nobody scrapes. A hook
that fails or is slow (``SCRAPE_TIMEOUT_S``) keeps its previous values and counts an error in
``metrics_refresh_errors_total{source}``.

Registration is keyed: a lifespan that runs again (tests, reloads) replaces its collector and
hook instead of registering twice.

Use from a service's lifespan::

    register_bus_metrics(app, container.redis, [(Streams.BARS, "index")], store.outbox())
    container.cache.observe = cache_observer(app)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from shared.cache import CacheObserver
from shared.events import Streams

logger = logging.getLogger("shared.metrics")

ScrapeHook = Callable[[], Awaitable[None]]
SCRAPE_TIMEOUT_S = 3.0


class MetricsHost(Protocol):
    """What ``shared.web.HttpMetrics`` gives this module: the registry, collectors, hooks."""

    registry: CollectorRegistry
    collectors: dict[str, Collector]
    scrape_hooks: dict[str, ScrapeHook]
    refresh_errors: Counter


def host_of(app: FastAPI) -> MetricsHost:
    host: MetricsHost = app.state.metrics
    return host


def registry_of(app: FastAPI) -> CollectorRegistry:
    return host_of(app).registry


def add_collector(app: FastAPI, key: str, collector: Collector) -> None:
    """Register ``collector`` in the app's registry, replacing one added under ``key``."""
    host = host_of(app)
    old = host.collectors.pop(key, None)
    if old is not None:
        host.registry.unregister(old)
    host.registry.register(collector)
    host.collectors[key] = collector


def on_scrape(app: FastAPI, key: str, hook: ScrapeHook) -> None:
    """Await ``hook`` before each ``/metrics`` render (replaces a hook under ``key``)."""
    host_of(app).scrape_hooks[key] = hook


async def run_scrape_hooks(host: MetricsHost, timeout_s: float = SCRAPE_TIMEOUT_S) -> None:
    """Run every hook concurrently; a failing or slow one is logged and counted, not raised."""

    async def guarded(key: str, hook: ScrapeHook) -> None:
        try:
            await asyncio.wait_for(hook(), timeout_s)
        except Exception as exc:  # a scrape reports what it can, it never fails
            logger.warning("metrics source %s failed: %s", key, exc or type(exc).__name__)
            host.refresh_errors.labels(key).inc()

    hooks = list(host.scrape_hooks.items())
    if hooks:
        await asyncio.gather(*(guarded(key, hook) for key, hook in hooks))


# --- response cache -------------------------------------------------------------------------


def namespace_family(namespace: str) -> str:
    """``responses:v12`` -> ``responses``: versions in a namespace make no new series."""
    return namespace.partition(":")[0]


def cache_observer(
    app: FastAPI, label_of: Callable[[str], str] = namespace_family
) -> CacheObserver:
    """A callback for ``ResponseCache(observe=...)`` counting ``cache_requests_total``.

    The ``namespace`` label is ``label_of(namespace)``: by default the part before the first
    ``:``, so a namespace that carries a data version keeps one series per family."""
    counter = host_of(app).collectors.get("cache")
    if not isinstance(counter, Counter):
        counter = Counter(
            "cache_requests_total",
            "Response cache lookups by namespace and status (hit, miss, bypass)",
            ["namespace", "status"],
            registry=None,
        )
        add_collector(app, "cache", counter)

    def observe(namespace: str, status: str) -> None:
        counter.labels(label_of(namespace), status).inc()

    return observe


# --- stream bus -----------------------------------------------------------------------------


class BacklogSource(Protocol):
    """An outbox that can count its unsent rows (``SqlOutboxStore``, ``DuckDBOutboxStore``)."""

    def backlog(self) -> int: ...


@dataclass(frozen=True)
class GroupState:
    stream: str
    group: str
    lag: int | None  # entries not yet delivered to the group (None: Redis cannot tell)
    lag_seconds: float  # age gap between the stream's newest entry and the group's last read
    pending: int  # delivered to a consumer, not acknowledged yet
    consumers: int


@dataclass
class BusSnapshot:
    groups: list[GroupState] = field(default_factory=list)
    stream_lengths: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    outbox_backlog: int | None = None


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _id_ms(entry_id: bytes | str | None) -> int:
    head = _text(entry_id).partition("-")[0]
    return int(head) if head.isdigit() else 0


async def read_bus_state(
    redis: Redis,
    streams_groups: Sequence[tuple[str, str]],
    outbox: BacklogSource | None = None,
) -> BusSnapshot:
    """Consumer groups (XINFO GROUPS), lengths, dead letters (XLEN) and the outbox backlog."""
    streams = list(dict.fromkeys(stream for stream, _ in streams_groups))
    async with redis.pipeline(transaction=False) as pipe:
        for stream in streams:
            pipe.xinfo_stream(stream)
            pipe.xinfo_groups(stream)
            pipe.xlen(Streams.dead_letter(stream))
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    snapshot = BusSnapshot()
    wanted = set(streams_groups)
    for index, stream in enumerate(streams):
        info, groups, dead = replies[3 * index : 3 * index + 3]
        if isinstance(dead, Exception):
            raise dead
        snapshot.dead_letters[stream] = int(dead)
        if isinstance(info, Exception) or isinstance(groups, Exception):
            continue  # the stream does not exist yet: no length, no groups
        snapshot.stream_lengths[stream] = int(info.get("length", 0))
        newest_ms = _id_ms(info.get("last-generated-id"))
        for group in groups:
            name = _text(group.get("name"))
            if (stream, name) not in wanted:
                continue
            lag = group.get("lag")
            last_ms = _id_ms(group.get("last-delivered-id"))
            behind = lag is None or int(lag) > 0
            snapshot.groups.append(
                GroupState(
                    stream=stream,
                    group=name,
                    lag=None if lag is None else int(lag),
                    lag_seconds=max(0, newest_ms - last_ms) / 1000 if behind else 0.0,
                    pending=int(group.get("pending", 0)),
                    consumers=int(group.get("consumers", 0)),
                )
            )
    if outbox is not None:
        snapshot.outbox_backlog = await asyncio.to_thread(outbox.backlog)
    return snapshot


class BusCollector(Collector):
    """Renders the last :class:`BusSnapshot`; :meth:`refresh` is the scrape hook."""

    def __init__(
        self,
        redis: Redis,
        streams_groups: Sequence[tuple[str, str]],
        outbox: BacklogSource | None = None,
    ) -> None:
        self.redis = redis
        self.streams_groups = list(streams_groups)
        self.outbox = outbox
        self.snapshot = BusSnapshot()

    async def refresh(self) -> None:
        self.snapshot = await read_bus_state(self.redis, self.streams_groups, self.outbox)

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        lag = GaugeMetricFamily(
            "bus_consumer_lag",
            "Stream entries not yet delivered to the consumer group",
            labels=["stream", "group"],
        )
        lag_seconds = GaugeMetricFamily(
            "bus_consumer_lag_seconds",
            "Time between the stream's newest entry and the group's last delivered one",
            labels=["stream", "group"],
        )
        pending = GaugeMetricFamily(
            "bus_consumer_pending",
            "Entries delivered to a consumer of the group and not acknowledged yet",
            labels=["stream", "group"],
        )
        consumers = GaugeMetricFamily(
            "bus_consumer_group_consumers",
            "Consumers known to the group",
            labels=["stream", "group"],
        )
        for state in snap.groups:
            labels = [state.stream, state.group]
            if state.lag is not None:
                lag.add_metric(labels, state.lag)
            lag_seconds.add_metric(labels, state.lag_seconds)
            pending.add_metric(labels, state.pending)
            consumers.add_metric(labels, state.consumers)
        length = GaugeMetricFamily("bus_stream_length", "Entries in the stream", labels=["stream"])
        for stream, value in snap.stream_lengths.items():
            length.add_metric([stream], value)
        dead = GaugeMetricFamily(
            "bus_dead_letters", "Entries in the stream's dead-letter twin", labels=["stream"]
        )
        for stream, value in snap.dead_letters.items():
            dead.add_metric([stream], value)
        yield from (lag, lag_seconds, pending, consumers, length, dead)
        if snap.outbox_backlog is not None:
            yield GaugeMetricFamily(
                "outbox_backlog",
                "Outbox rows of this service not yet published",
                value=snap.outbox_backlog,
            )


def register_bus_metrics(
    app: FastAPI,
    redis: Redis,
    streams_groups: Sequence[tuple[str, str]] = (),
    outbox: BacklogSource | None = None,
    *,
    dead_letter_streams: Sequence[str] = (),
) -> BusCollector:
    """Expose the service's consumer groups, dead letters and outbox backlog at ``/metrics``.

    ``streams_groups`` lists the ``(stream, group)`` pairs the service's worker reads;
    ``dead_letter_streams`` adds streams whose DLQ length to report without a group.
    Call it in the lifespan, where ``redis`` and the outbox exist.
    """
    pairs = list(streams_groups)
    known = {stream for stream, _ in pairs}
    # A stream without a group of ours only contributes its length and dead letters.
    pairs += [(stream, "") for stream in dead_letter_streams if stream not in known]
    collector = BusCollector(redis, pairs, outbox)
    add_collector(app, "bus", collector)
    on_scrape(app, "bus", collector.refresh)
    app.state.bus = collector  # /readyz reports the same consumer lag
    return collector


def consumer_lag_report(snapshot: BusSnapshot) -> dict[str, Any]:
    """What /readyz shows of the bus: per consumer group, entries not yet delivered (``lag``),
    the age gap behind the stream's newest entry (``lag_seconds``) and entries delivered but
    not acknowledged (``pending``); plus the outbox rows not yet published."""
    return {
        "consumers": [
            {
                "stream": state.stream,
                "group": state.group,
                "lag": state.lag,
                "lag_seconds": state.lag_seconds,
                "pending": state.pending,
            }
            for state in snapshot.groups
        ],
        "outbox_backlog": snapshot.outbox_backlog,
    }


def register_collector(
    app: FastAPI, key: str, collector: Collector, refresh: ScrapeHook | None = None
) -> Collector:
    """A service's own collector (and optional async refresh), registered once under ``key``."""
    add_collector(app, key, collector)
    if refresh is not None:
        on_scrape(app, key, refresh)
    else:
        host_of(app).scrape_hooks.pop(key, None)
    return collector

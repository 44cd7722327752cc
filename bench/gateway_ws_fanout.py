"""WebSocket fan-out through nginx: delivery latency (publication -> receipt) and drops.

Default: 200 clients, 200 ticks/s over 100 symbols, 10 symbols per client, 10 s.
--full: 1,000 clients, 500 ticks/s (the target: p99 <= 100 ms, no drops).

    uv run python bench/gateway_ws_fanout.py [--full] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from gateway_common import bench_stack, percentile

SYMBOLS = [f"S{i:03d}" for i in range(100)]


async def client_group(
    url: str, subscriptions: list[list[str]], ready: Any, stop: Any, results: Any
) -> None:
    import orjson
    import websockets

    latencies: list[float] = []
    received: Counter[int] = Counter()
    frames = 0
    closed_by_server = 0

    connections: list[Any] = []

    async def run_client(index: int, symbols: list[str]) -> None:
        nonlocal closed_by_server, frames
        async with websockets.connect(url, compression=None, max_queue=None) as ws:
            connections.append(ws)
            await ws.recv()  # connected
            await ws.send(orjson.dumps({"action": "subscribe", "trades": symbols}).decode())
            await ws.recv()  # subscription
            ready.put(1)
            # A plain iteration (no timeout per frame: wait_for made a task per frame, and
            # the load generator must not be what saturates the machine).
            try:
                async for frame in ws:
                    now = time.time()
                    document = orjson.loads(frame)
                    if isinstance(document, list):
                        frames += 1
                        for message in document:
                            sent = datetime.fromisoformat(message["ts"]).timestamp()
                            latencies.append(now - sent)
                        received[index] += len(document)
            except websockets.ConnectionClosedError:
                pass
            if not stop.is_set():
                closed_by_server += 1

    async def close_when_stopped() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.5)
        await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)

    await asyncio.gather(
        close_when_stopped(), *(run_client(i, s) for i, s in enumerate(subscriptions))
    )
    results.put((latencies, dict(received), closed_by_server, frames))


def client_process(
    url: str, subscriptions: list[list[str]], ready: Any, stop: Any, results: Any
) -> None:
    import uvloop  # the load generator's own overhead, kept low

    uvloop.run(client_group(url, subscriptions, ready, stop, results))


async def publish(redis_url: str, rate: int, seconds: float) -> Counter[str]:
    from redis.asyncio import Redis
    from shared.bus import publish_now
    from shared.events import PriceTick, Streams, make_event

    redis = Redis.from_url(redis_url)
    published: Counter[str] = Counter()
    tick_interval = 0.01
    per_tick = max(1, round(rate * tick_interval))
    rng = random.Random(7)
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < seconds:
        now = datetime.now(UTC)
        symbols = [rng.choice(SYMBOLS) for _ in range(per_tick)]
        events = [
            make_event(PriceTick(symbol=s, price=Decimal("100.25")), producer="bench", ts_event=now)
            for s in symbols
        ]
        await publish_now(redis, Streams.TICKS, events)
        published.update(symbols)
        step += 1
        await asyncio.sleep(max(0.0, started + step * tick_interval - time.monotonic()))
    await redis.aclose()
    return published


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--rate", type=int, default=None, help="ticks per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    args = parser.parse_args()
    clients = args.clients or (1000 if args.full else 200)
    rate = args.rate or (500 if args.full else 200)
    rng = random.Random(42)
    subscriptions = [rng.sample(SYMBOLS, 10) for _ in range(clients)]

    with tempfile.TemporaryDirectory() as tmp, bench_stack(Path(tmp)) as stack:
        url = stack.nginx.url.replace("http://", "ws://") + "/ws"
        context = mp.get_context("spawn")
        ready, results, stop = context.Queue(), context.Queue(), context.Event()
        groups = [subscriptions[i :: args.processes] for i in range(args.processes)]
        processes = [
            context.Process(target=client_process, args=(url, group, ready, stop, results))
            for group in groups
        ]
        for process in processes:
            process.start()
        for _ in range(clients):
            ready.get(timeout=120)
        print(f"{clients} clients subscribed; publishing {rate} ticks/s for {args.seconds:.0f} s")
        published = asyncio.run(publish(stack.redis_url, rate, args.seconds))
        time.sleep(2.0)
        stop.set()
        latencies: list[float] = []
        received_total = 0
        closed = frames = 0
        for _ in processes:
            group_latencies, received, group_closed, group_frames = results.get(timeout=60)
            latencies += group_latencies
            received_total += sum(received.values())
            closed += group_closed
            frames += group_frames
        for process in processes:
            process.join(10)

    expected = sum(published[s] for symbols in subscriptions for s in symbols)
    ms = [value * 1000 for value in latencies]
    print(f"ticks published: {sum(published.values())}; deliveries expected: {expected}")
    print(f"deliveries received: {received_total}; dropped: {expected - received_total}")
    print(f"clients disconnected by the server: {closed}")
    print(
        f"latency publication->receipt: p50 {percentile(ms, 0.50):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms, default=float('nan')):.1f} ms"
    )
    print(
        f"delivery rate: {received_total / args.seconds:.0f} messages/s in"
        f" {frames / args.seconds:.0f} frames/s ({received_total / max(frames, 1):.1f} per frame)"
    )


if __name__ == "__main__":
    main()

import asyncio

from redis.asyncio import Redis
from shared.cache import ResponseCache


async def test_a_miss_computes_and_stores_then_a_hit_serves_the_same_bytes(
    redis_client: Redis,
) -> None:
    cache = ResponseCache(redis_client)
    calls = 0

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        return b'{"level": 1000}'

    first = await cache.get_or_compute("index", "perf:a", compute)
    second = await cache.get_or_compute("index", "perf:a", compute)

    assert (first.status, second.status) == ("miss", "hit")
    assert first.body == second.body == b'{"level": 1000}'
    assert first.etag == second.etag
    assert calls == 1


async def test_bumping_the_namespace_version_invalidates_without_scanning(
    redis_client: Redis,
) -> None:
    cache = ResponseCache(redis_client)
    values = iter([b"old", b"new"])

    async def compute() -> bytes:
        return next(values)

    await cache.get_or_compute("index", "k", compute)
    await cache.bump("index")
    after = await cache.get_or_compute("index", "k", compute)

    assert (after.status, after.body) == ("miss", b"new")


async def test_concurrent_misses_compute_once(redis_client: Redis) -> None:
    caches = [ResponseCache(redis_client), ResponseCache(redis_client)]  # two "processes"
    calls = 0

    async def slow_compute() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return b"value"

    results = await asyncio.gather(
        *(caches[i % 2].get_or_compute("ns", "k", slow_compute) for i in range(20))
    )

    assert calls == 1
    assert {r.body for r in results} == {b"value"}


async def test_with_redis_down_values_are_computed_and_marked_bypass() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache = ResponseCache(unreachable)

    async def compute() -> bytes:
        return b"fresh"

    result = await cache.get_or_compute("ns", "k", compute)

    assert (result.status, result.body) == ("bypass", b"fresh")
    await unreachable.aclose()


def test_etags_match_weakly_as_nginx_gzip_rewrites_them() -> None:
    from shared.cache import etag_matches

    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches('"x", W/"abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abd"', '"abc"')
    assert not etag_matches(None, '"abc"')

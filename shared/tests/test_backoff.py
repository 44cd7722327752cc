import asyncio
import time

import pytest
from shared.backoff import Backoff


def test_delays_double_up_to_the_ceiling_and_reset_after_a_success() -> None:
    backoff = Backoff(initial=0.1, ceiling=0.5, jitter=0)

    delays = [backoff.failed() for _ in range(5)]
    backoff.succeeded()

    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert backoff.failed() == pytest.approx(0.1)


def test_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(initial=1.0, ceiling=1.0, jitter=0.1)

    assert all(0.9 <= backoff.failed() <= 1.1 for _ in range(100))


def test_waiting_returns_as_soon_as_the_process_is_asked_to_stop() -> None:
    async def wait_stopped() -> float:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stop.set)
        started = time.monotonic()
        await Backoff(initial=10, ceiling=10).wait(stop)
        return time.monotonic() - started

    assert asyncio.run(wait_stopped()) < 5


def test_a_backoff_that_could_never_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0, ceiling=1)

"""Waiting on a condition instead of sleeping: the one helper every suite polls with.

A check returns a truthy value once the condition holds (that value is returned), or a
falsy one meanwhile; an ``AssertionError`` it raises counts as "not yet" when
``retry_assertions`` is set. On timeout the error names what was awaited and the last
answer, so a failure says what never happened.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")


class NotYet(AssertionError):
    """The awaited condition did not hold in time."""


def wait_until(
    check: Callable[[], T | None],
    *,
    what: str = "the condition",
    within: float = 30.0,
    interval: float = 0.05,
    retry_assertions: bool = False,
) -> T:
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except AssertionError as exc:
            if not retry_assertions:
                raise
            last = exc
        if time.monotonic() >= deadline:
            raise NotYet(f"timed out after {within:g} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


async def wait_until_async(
    check: Callable[[], T | Awaitable[T | None] | None],
    *,
    what: str = "the condition",
    within: float = 30.0,
    interval: float = 0.05,
    retry_assertions: bool = False,
) -> T:
    """The same for an event loop; ``check`` may be a plain function or a coroutine function."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            answer = check()
            result = await answer if inspect.isawaitable(answer) else answer
            if result:
                return cast(T, result)
            last = result
        except AssertionError as exc:
            if not retry_assertions:
                raise
            last = exc
        if time.monotonic() >= deadline:
            raise NotYet(f"timed out after {within:g} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)

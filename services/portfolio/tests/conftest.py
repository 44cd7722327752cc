"""Fixtures of the portfolio suite; the harness lives in portfolio_harness.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from portfolio_harness import Publisher


@pytest.fixture
def publisher(redis_url: str) -> Iterator[Publisher]:
    p = Publisher(redis_url)
    yield p
    p.redis.close()

"""Keep the garbage collector's full collections short in long-running workers.

A full (generation 2) collection walks every tracked object. After imports and bootstrap a
worker holds hundreds of thousands of them (modules, pydantic schemas, SQLAlchemy metadata
and compiled statements) that live as long as the process, so each full collection paused
the event loop 80-100 ms (measured in trading's worker: the p99 of tick-to-fill latency).
Freezing them once they exist leaves the collector only what is created afterwards
(measured: 9-15 ms)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move every object alive now to the permanent generation (never scanned again).

    Call it once per process, after bootstrap, from a worker's entry point (not from code
    that tests run in-process: what is frozen is never collected)."""
    gc.collect()
    gc.freeze()

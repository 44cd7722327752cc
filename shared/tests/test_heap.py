"""shared.heap in a process of its own (it changes the collector of the whole process)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, time, weakref
from shared.heap import keep_full_collections_short

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

gc.disable()  # only the freezer's own collections run: the test is deterministic
keep_full_collections_short(freeze_every_s=0.05, full_every_s=0.5)
assert gc.get_freeze_count() > 0, "startup objects were not frozen"
live = [Node() for _ in range(1000)]
time.sleep(0.2)
frozen = gc.get_freeze_count()
assert frozen >= 1000, frozen  # what lives on is frozen again by the thread
garbage = cycle()  # an unreachable cycle: frozen at the next round, so only the periodic
time.sleep(0.1)    # unfreeze and full collection may reclaim it
assert garbage() is not None
deadline = time.monotonic() + 3
while garbage() is not None and time.monotonic() < deadline:
    time.sleep(0.05)
assert garbage() is None, "the full collection never reclaimed the frozen cycle"
print("ok")
"""


def test_long_lived_objects_are_frozen_and_frozen_cycles_reclaimed_by_the_full_collection() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

"""Python's cyclic garbage collector held off while the app builds millions of small objects.

Reading a prediction file (a dict per detection, unpickled) and evaluating one (a dict, a list and a
tuple per detection, for COCOeval) make objects by the million; every few thousand of them the
collector walks all that are alive again. That tripled the time to read the bench file and was a
third of `eval --iou both` at FashionFail-test size (bench/bench_eval.py). Those objects hold no
cycles, so reference counting frees them anyway; the few cycles made meanwhile wait for the
collector's return.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_on = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside the block. Blocks in several threads (the app reads and evaluates in
    workers) may overlap: the collector comes back when the last one ends, and only if it was on
    before the first began."""
    global _pauses, _was_on
    with _lock:
        if _pauses == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_on:
                gc.enable()

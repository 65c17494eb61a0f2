"""Waiting in Pilot tests: let the app run (workers, timers, refreshes) until what a user would see holds."""

from __future__ import annotations

import time
from collections.abc import Callable


async def wait_for(pilot, condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Pause the Pilot until `condition()` is true; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"the app did not get there within {seconds} s"
        await pilot.pause(0.05)

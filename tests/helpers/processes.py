"""Which processes exist, read from /proc: for tests that a runner does not outlive its parent."""

from __future__ import annotations

import os
import time


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, ..."""
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(int(entry))[1]) == pid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def gone(pid: int, within: float = 0.0) -> bool:
    """Whether the process has exited, waiting up to `within` seconds; a zombie (exited, not yet
    reaped by whoever adopted it) counts as gone."""
    deadline = time.monotonic() + within
    while True:
        try:
            if _stat_fields(pid)[0] == "Z":
                return True
        except OSError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)

"""Which GPU processes are the app's: its runners and everything they started, found through /proc."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tui.gpu.snapshot import Snapshot

PROC = Path("/proc")


def _parent_of(stat: str) -> int | None:
    # /proc/PID/stat is "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def children_by_parent(proc: Path = PROC) -> dict[int, list[int]]:
    """Every live process's children, read from /proc (empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = list(proc.iterdir())
    except OSError:
        return children
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            parent = _parent_of((entry / "stat").read_text())
        except OSError:  # the process ended while we looked
            continue
        if parent is not None:
            children.setdefault(parent, []).append(int(entry.name))
    return children


def with_descendants(pids: Iterable[int], proc: Path = PROC) -> frozenset[int]:
    """`pids` and all their children, grandchildren, ..."""
    found = set(pids)
    if not found:
        return frozenset()
    children = children_by_parent(proc)
    pending = list(found)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return frozenset(found)


def flag_ours(snapshot: Snapshot, ours: frozenset[int]) -> Snapshot:
    """The snapshot with `ours` set on the process rows whose pid is in `ours`."""
    gpus = tuple(
        replace(gpu, processes=tuple(replace(p, ours=p.pid in ours) for p in gpu.processes))
        for gpu in snapshot.gpus
    )
    return replace(snapshot, gpus=gpus)

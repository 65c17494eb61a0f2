"""A ring buffer of recent utilisation per GPU, for the pane's sparklines."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from tui.gpu.snapshot import GpuStatus, Snapshot


@dataclass(frozen=True)
class HistoryPoint:
    time: float
    utilization: float | None
    """GPU utilisation, percent."""
    memory: float | None
    """Memory used, percent of total."""


def gpu_key(gpu: GpuStatus) -> str:
    """What identifies a GPU across samples: its uuid, else its index."""
    return gpu.uuid or f"index-{gpu.index}"


class GpuHistory:
    """The last `seconds` of samples per GPU, at most one per `interval` worth of slots."""

    def __init__(self, seconds: float, interval: float):
        self.seconds = seconds
        self.capacity = max(2, math.ceil(seconds / max(interval, 1e-3)) + 1)
        self._points: dict[str, deque[HistoryPoint]] = {}

    def add(self, snapshot: Snapshot) -> None:
        for gpu in snapshot.gpus:
            points = self._points.setdefault(gpu_key(gpu), deque(maxlen=self.capacity))
            points.append(HistoryPoint(snapshot.taken_at, gpu.utilization_gpu, gpu.memory_percent))
            while points and points[0].time < snapshot.taken_at - self.seconds:
                points.popleft()

    def points(self, key: str) -> list[HistoryPoint]:
        return list(self._points.get(key, ()))

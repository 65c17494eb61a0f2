"""One interface over the sources: NVML when its library loads, else nvidia-smi, else a "none" state
that says why. The sampler keeps the history and what each sample cost."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Protocol

from tui.gpu.history import GpuHistory
from tui.gpu.processes import flag_ours, with_descendants
from tui.gpu.smi import NvidiaSmiSource
from tui.gpu.snapshot import Snapshot

NO_GPU = "no NVIDIA GPU or driver"


class Source(Protocol):
    name: str

    def sample(self) -> Snapshot: ...

    def close(self) -> None: ...


class NoGpuSource:
    """What is left when neither NVML nor nvidia-smi answers: always an empty snapshot with the reason."""

    name = "none"

    def __init__(self, reason: str):
        self.reason = reason

    def sample(self) -> Snapshot:
        return Snapshot(source=self.name, taken_at=time.time(), reason=self.reason)

    def close(self) -> None:
        pass


def _load_pynvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def open_source(nvml: ModuleType | None = None, smi_executable: str = "nvidia-smi") -> Source:
    """The first source that works. `nvml` replaces the pynvml module (tests pass a stand-in)."""
    from pynvml import NVMLError

    from tui.gpu.nvml import NvmlSource

    nvml = nvml or _load_pynvml()
    if nvml is None:
        nvml_said = "nvidia-ml-py is not installed"
    else:
        try:
            return NvmlSource(nvml)
        except NVMLError as exc:
            nvml_said = str(exc)

    smi_path = shutil.which(smi_executable)
    if smi_path is None:
        smi_said = "not found on PATH"
    else:
        smi = NvidiaSmiSource(smi_path)
        probe = smi.sample()
        if probe.gpus or not probe.errors:
            return smi
        smi_said = probe.errors[0].removeprefix("nvidia-smi ")
    return NoGpuSource(f"{NO_GPU} (NVML: {nvml_said}; nvidia-smi: {smi_said})")


class GpuSampler:
    """Samples a source on demand, flags the watched processes and keeps history.

    The source is opened on the first sample, so that I/O happens wherever sampling does
    (a worker thread in the app).
    """

    def __init__(self, history_seconds: float = 300.0, interval: float = 1.0,
                 open: Callable[[], Source] = open_source):
        self.history = GpuHistory(history_seconds, interval)
        self._open = open
        self.source: Source | None = None
        self.last_cost_s: float | None = None
        """Wall time the last sample took, /proc walk included."""

    def sample(self, watched_pids: Iterable[int] = ()) -> Snapshot:
        started = time.perf_counter()
        if self.source is None:
            self.source = self._open()
        snapshot = self.source.sample()
        watched = frozenset(watched_pids)
        if watched and snapshot.gpus:
            snapshot = flag_ours(snapshot, with_descendants(watched))
        self.history.add(snapshot)
        self.last_cost_s = time.perf_counter() - started
        return snapshot

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None

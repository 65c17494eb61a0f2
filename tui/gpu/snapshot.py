"""Plain records of one GPU sample. A field the board does not report is None ("absent"), never 0."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class GpuProcess:
    """One process holding memory on a GPU."""

    pid: int
    name: str | None
    memory_used: int | None
    """Bytes of GPU memory the process holds."""
    ours: bool = False
    """The app's runner or one of its children."""


@dataclass(frozen=True)
class GpuStatus:
    """One GPU at one moment."""

    index: int
    name: str | None
    uuid: str | None
    utilization_gpu: float | None
    """Percent of the last sample period a kernel ran."""
    utilization_memory: float | None
    """Percent of the last sample period device memory was read or written."""
    memory_used: int | None
    """Bytes."""
    memory_total: int | None
    """Bytes."""
    temperature: float | None
    """Degrees Celsius."""
    power_draw: float | None
    """Watts."""
    power_limit: float | None
    """Watts."""
    sm_clock: float | None
    """MHz."""
    pstate: str | None
    """Performance state, "P0" (fastest) to "P15"."""
    fan: float | None
    """Percent; absent on passively cooled data-centre boards."""
    processes: tuple[GpuProcess, ...] = ()

    @property
    def memory_percent(self) -> float | None:
        if self.memory_used is None or not self.memory_total:
            return None
        return 100.0 * self.memory_used / self.memory_total


@dataclass(frozen=True)
class Snapshot:
    """Every GPU the source sees at one moment, or why there is none."""

    source: str
    """"nvml", "nvidia-smi" or "none"."""
    gpus: tuple[GpuStatus, ...] = ()
    taken_at: float = 0.0
    """Unix time of the sample."""
    reason: str | None = None
    """Why there is no GPU to show, for the "none" source."""
    errors: tuple[str, ...] = field(default_factory=tuple)
    """Queries that failed in this sample; the fields they fill are absent, the rest stand."""

    def to_dict(self) -> dict:
        return asdict(self)

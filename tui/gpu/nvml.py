"""The NVML source, through nvidia-ml-py. Every query is its own call: one that fails leaves its
field absent and the rest of the sample stands (NotSupported is the board's answer, not an error)."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any, Callable

from pynvml import NVML_CLOCK_SM, NVML_PSTATE_UNKNOWN, NVML_TEMPERATURE_GPU, NVMLError, NVMLError_NotSupported

from tui.gpu.snapshot import GpuProcess, GpuStatus, Snapshot


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class _Queries:
    """Runs NVML calls for one sample, turning failures into None and remembering the unexpected ones."""

    def __init__(self):
        self.errors: list[str] = []

    def __call__(self, label: str | None, call: Callable, *args: Any) -> Any:
        """`call(*args)`, or None when it fails; a failure is noted unless `label` is None."""
        try:
            return call(*args)
        except NVMLError_NotSupported:
            return None
        except NVMLError as exc:
            if label is not None:
                self.errors.append(f"{label}: {exc}")
            return None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value / factor


class NvmlSource:
    """Samples through NVML. Creating one initialises NVML and raises `pynvml.NVMLError` when it cannot
    (no library, no driver); `close()` shuts it down."""

    name = "nvml"

    def __init__(self, nvml: ModuleType):
        self.nvml = nvml
        nvml.nvmlInit()

    def _processes(self, query: _Queries, handle: Any, index: int) -> tuple[GpuProcess, ...]:
        nvml = self.nvml
        found: dict[int, GpuProcess] = {}
        for kind, call in (("compute", nvml.nvmlDeviceGetComputeRunningProcesses),
                           ("graphics", nvml.nvmlDeviceGetGraphicsRunningProcesses)):
            for info in query(f"gpu {index} {kind} processes", call, handle) or ():
                if info.pid not in found:
                    # Names are often hidden (another user's process, another pid namespace): no error.
                    name = query(None, nvml.nvmlSystemGetProcessName, info.pid)
                    found[info.pid] = GpuProcess(pid=info.pid, name=_text(name) if name else None,
                                                 memory_used=info.usedGpuMemory)
        return tuple(found.values())

    def _status(self, query: _Queries, index: int) -> GpuStatus | None:
        nvml = self.nvml
        handle = query(f"gpu {index}", nvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            return None
        name = query(f"gpu {index} name", nvml.nvmlDeviceGetName, handle)
        uuid = query(f"gpu {index} uuid", nvml.nvmlDeviceGetUUID, handle)
        rates = query(f"gpu {index} utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
        memory = query(f"gpu {index} memory", nvml.nvmlDeviceGetMemoryInfo, handle)
        pstate = query(f"gpu {index} performance state", nvml.nvmlDeviceGetPerformanceState, handle)
        return GpuStatus(
            index=index,
            name=_text(name) if name else None,
            uuid=_text(uuid) if uuid else None,
            utilization_gpu=rates.gpu if rates else None,
            utilization_memory=rates.memory if rates else None,
            memory_used=memory.used if memory else None,
            memory_total=memory.total if memory else None,
            temperature=query(f"gpu {index} temperature", nvml.nvmlDeviceGetTemperature, handle, NVML_TEMPERATURE_GPU),
            power_draw=_scaled(query(f"gpu {index} power", nvml.nvmlDeviceGetPowerUsage, handle), 1000),
            power_limit=_scaled(query(f"gpu {index} power limit", nvml.nvmlDeviceGetEnforcedPowerLimit, handle), 1000),
            sm_clock=query(f"gpu {index} SM clock", nvml.nvmlDeviceGetClockInfo, handle, NVML_CLOCK_SM),
            pstate=None if pstate is None or pstate == NVML_PSTATE_UNKNOWN else f"P{pstate}",
            fan=query(f"gpu {index} fan", nvml.nvmlDeviceGetFanSpeed, handle),
            processes=self._processes(query, handle, index),
        )

    def sample(self) -> Snapshot:
        taken_at = time.time()
        query = _Queries()
        count = query("GPU count", self.nvml.nvmlDeviceGetCount) or 0
        gpus = tuple(gpu for gpu in (self._status(query, i) for i in range(count)) if gpu is not None)
        return Snapshot(source=self.name, gpus=gpus, taken_at=taken_at, errors=tuple(query.errors))

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except NVMLError:
            pass

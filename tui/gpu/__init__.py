"""GPU status without Textual: snapshots from NVML or nvidia-smi, history, the app's own processes.

    sampler = GpuSampler()
    snapshot = sampler.sample(watched_pids={runner.pid})
"""

from typing import TYPE_CHECKING

from tui.lazy import exports

if TYPE_CHECKING:
    from tui.gpu.history import GpuHistory, HistoryPoint, gpu_key
    from tui.gpu.processes import flag_ours, with_descendants
    from tui.gpu.sampler import NO_GPU, GpuSampler, NoGpuSource, Source, open_source
    from tui.gpu.smi import NvidiaSmiSource, parse_query_apps, parse_query_gpu
    from tui.gpu.snapshot import GpuProcess, GpuStatus, Snapshot

__getattr__, __all__ = exports(__name__, {
    "history": ("GpuHistory", "HistoryPoint", "gpu_key"),
    "processes": ("flag_ours", "with_descendants"),
    "sampler": ("NO_GPU", "GpuSampler", "NoGpuSource", "Source", "open_source"),
    "smi": ("NvidiaSmiSource", "parse_query_apps", "parse_query_gpu"),
    "snapshot": ("GpuProcess", "GpuStatus", "Snapshot"),
})

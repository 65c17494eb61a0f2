"""GPU status without Textual: snapshots from NVML or nvidia-smi, history, the app's own processes.

    sampler = GpuSampler()
    snapshot = sampler.sample(watched_pids={runner.pid})
"""

from tui.gpu.history import GpuHistory, HistoryPoint, gpu_key
from tui.gpu.processes import flag_ours, with_descendants
from tui.gpu.sampler import NO_GPU, GpuSampler, NoGpuSource, Source, open_source
from tui.gpu.smi import NvidiaSmiSource, parse_query_apps, parse_query_gpu
from tui.gpu.snapshot import GpuProcess, GpuStatus, Snapshot

__all__ = [
    "NO_GPU", "GpuHistory", "GpuProcess", "GpuSampler", "GpuStatus", "HistoryPoint", "NoGpuSource",
    "NvidiaSmiSource", "Snapshot", "Source", "flag_ours", "gpu_key", "open_source", "parse_query_apps",
    "parse_query_gpu", "with_descendants",
]

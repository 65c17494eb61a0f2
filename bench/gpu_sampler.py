"""What one GPU sample costs, per source, on this machine (no GPU needed).

    PYTHONPATH=. python bench/gpu_sampler.py

NVML is the test suite's stand-in pynvml replaying the real H200 load dump, so its figure is the
sampler's own overhead around NVML (the real library's calls come on top). The nvidia-smi rows split
parsing the real CSV output from spawning: the spawn row runs the Python stand-in script, so it is
Python's start-up time twice, an upper bound for the parse-and-spawn overhead, not nvidia-smi's own.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gpu_standins import FIXTURES, install_nvidia_smi, replay_pynvml  # noqa: E402
from tui.gpu import GpuSampler, NvidiaSmiSource, open_source, with_descendants  # noqa: E402
from tui.gpu.nvml import NvmlSource  # noqa: E402
from tui.gpu.smi import attach_processes, parse_query_apps, parse_query_gpu  # noqa: E402


def timed(label: str, call, repeat: int) -> None:
    call()  # warm up
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    print(f"| {label} | {repeat} | {statistics.median(runs) * 1e3:.3f} | {max(runs) * 1e3:.3f} |")


def main() -> None:
    gpu_csv = (FIXTURES / "query-gpu-load-nounits.csv").read_text()
    apps_csv = (FIXTURES / "query-apps-load.csv").read_text()
    fields = tuple("index,uuid,name,driver_version,pci.bus_id,utilization.gpu,utilization.memory,memory.used,"
                   "memory.total,memory.free,temperature.gpu,power.draw,power.limit,fan.speed,clocks.sm,"
                   "clocks.mem,pstate".split(","))
    print("| what | samples | median ms | max ms |\n| --- | --- | --- | --- |")
    nvml = GpuSampler(open=lambda: NvmlSource(replay_pynvml("load", process_names={452: "python3"})))
    timed("NVML stand-in: one sample, history included", nvml.sample, 2000)
    timed("nvidia-smi: parse both CSV outputs", lambda: attach_processes(parse_query_gpu(gpu_csv, fields),
                                                                        parse_query_apps(apps_csv)), 2000)
    timed("/proc walk for the runner's children", lambda: with_descendants({os.getpid()}), 200)
    with tempfile.TemporaryDirectory() as bin_dir:
        install_nvidia_smi(Path(bin_dir))
        smi = NvidiaSmiSource(str(Path(bin_dir) / "nvidia-smi"))
        timed("nvidia-smi stand-in: spawn twice and parse (Python start-up bound)", smi.sample, 20)
    timed("no GPU: open_source() here (NVML load fails, PATH searched)", open_source, 20)


if __name__ == "__main__":
    main()

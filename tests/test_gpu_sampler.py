"""The sampler's three sources. NVML is a STAND-IN pynvml (gpu_standins.replay_pynvml) replaying the
real H200 dumps nvml-idle.json / nvml-load.json and raising the real pynvml error classes; nvidia-smi
is a STAND-IN script on PATH printing the real query-*.csv files. /proc walking uses real processes."""

import os
import signal
import subprocess
import time

import pynvml
import pytest

from gpu_standins import (bin_dir, H200_UUID, SMI_DRIVER_FAILURE, install_nvidia_smi,  # noqa: F401 (bin_dir is a fixture)
                          nvml_samples, replay_pynvml)
from tui.gpu import GpuHistory, GpuSampler, NvidiaSmiSource, Snapshot, flag_ours, open_source, with_descendants
from tui.gpu.nvml import NvmlSource
from tui.gpu.snapshot import GpuProcess, GpuStatus

MIB = 1024 * 1024


def test_nvml_idle_sample_holds_the_recorded_values_and_fan_is_absent():
    snapshot = NvmlSource(replay_pynvml("idle")).sample()
    assert snapshot.source == "nvml" and snapshot.errors == ()
    [gpu] = snapshot.gpus
    assert (gpu.name, gpu.uuid) == ("NVIDIA H200", H200_UUID)
    assert (gpu.utilization_gpu, gpu.utilization_memory) == (0, 0)
    assert (gpu.memory_used, gpu.memory_total) == (644939776, 150754820096)
    assert (gpu.temperature, gpu.power_draw, gpu.power_limit) == (41, pytest.approx(124.789), 700.0)
    assert (gpu.sm_clock, gpu.pstate) == (405, "P0")
    assert gpu.fan is None, "NVMLError_NotSupported means absent, and is not reported as an error"
    assert gpu.processes == ()


def test_nvml_load_sample_has_the_process_with_about_21_gib():
    snapshot = NvmlSource(replay_pynvml("load", process_names={452: "python3"})).sample()
    [gpu] = snapshot.gpus
    assert (gpu.utilization_gpu, gpu.utilization_memory, gpu.temperature) == (98, 24, 62)
    assert gpu.power_draw == pytest.approx(691.945)
    [process] = gpu.processes
    assert (process.pid, process.name, process.memory_used) == (452, "python3", 22487760896)
    assert process.memory_used / 1024 ** 3 == pytest.approx(20.94, abs=0.01)


def test_a_hidden_process_name_is_absent_not_an_error():
    snapshot = NvmlSource(replay_pynvml("load")).sample()
    assert snapshot.gpus[0].processes[0].name is None
    assert snapshot.errors == ()


def test_one_failing_nvml_query_keeps_the_rest_of_the_sample():
    nvml = replay_pynvml("load", failing={"nvmlDeviceGetTemperature": pynvml.NVMLError_GpuIsLost,
                                          "nvmlDeviceGetComputeRunningProcesses": pynvml.NVMLError_NoPermission})
    snapshot = NvmlSource(nvml).sample()
    [gpu] = snapshot.gpus
    assert gpu.temperature is None and gpu.processes == ()
    assert (gpu.name, gpu.utilization_gpu, gpu.memory_used) == ("NVIDIA H200", 98, 23141941248)
    assert snapshot.errors == ("gpu 0 temperature: GPU is lost", "gpu 0 compute processes: Insufficient Permissions")


def test_nvml_losing_the_device_count_gives_an_empty_sample_with_the_error():
    snapshot = NvmlSource(replay_pynvml("load", failing={"nvmlDeviceGetCount": pynvml.NVMLError_DriverNotLoaded})).sample()
    assert snapshot.gpus == () and snapshot.errors == ("GPU count: Driver Not Loaded",)


def test_open_source_prefers_nvml_and_shuts_it_down(bin_dir):
    install_nvidia_smi(bin_dir)
    nvml = replay_pynvml("idle")
    sampler = GpuSampler(open=lambda: open_source(nvml))
    assert sampler.sample().source == "nvml"
    sampler.close()
    assert nvml.state["shutdown"]


def test_nvidia_smi_when_the_nvml_library_is_missing(bin_dir):
    install_nvidia_smi(bin_dir, "load")
    source = open_source(replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))
    assert isinstance(source, NvidiaSmiSource)
    snapshot = source.sample()
    assert snapshot.source == "nvidia-smi" and snapshot.errors == ()
    [gpu] = snapshot.gpus
    assert (gpu.name, gpu.uuid, gpu.utilization_gpu, gpu.memory_used) == ("NVIDIA H200", H200_UUID, 98, 21455 * MIB)
    assert (gpu.power_draw, gpu.power_limit, gpu.sm_clock, gpu.pstate) == (692.12, 700.0, 1455, "P0")
    assert gpu.fan is None
    assert [(p.pid, p.name, p.memory_used) for p in gpu.processes] == [(452, "python3", 21446 * MIB)]


def test_nvidia_smi_idle_has_no_processes(bin_dir):
    install_nvidia_smi(bin_dir, "idle")
    [gpu] = NvidiaSmiSource().sample().gpus
    assert gpu.utilization_gpu == 0 and gpu.processes == ()


def test_a_failing_process_query_keeps_the_gpus(bin_dir):
    install_nvidia_smi(bin_dir, fail_apps=True)
    snapshot = NvidiaSmiSource().sample()
    assert snapshot.gpus[0].name == "NVIDIA H200" and snapshot.gpus[0].processes == ()
    assert snapshot.errors == ("nvidia-smi --query-compute-apps exited 15: Unable to query compute apps",)


def test_a_hanging_nvidia_smi_times_out(bin_dir):
    install_nvidia_smi(bin_dir, sleep_s=5)
    started = time.monotonic()
    snapshot = NvidiaSmiSource(timeout=0.3).sample()
    assert time.monotonic() - started < 3
    assert snapshot.gpus == () and snapshot.errors == ("nvidia-smi --query-gpu timed out after 0.3 s",)


def test_no_library_and_no_nvidia_smi_is_a_clear_none_state(bin_dir):
    snapshot = GpuSampler(open=lambda: open_source(replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))).sample()
    assert (snapshot.source, snapshot.gpus) == ("none", ())
    assert snapshot.reason == ("no NVIDIA GPU or driver (NVML: NVML Shared Library Not Found; "
                               "nvidia-smi: not found on PATH)")


def test_an_nvidia_smi_that_cannot_reach_the_driver_is_the_none_state(bin_dir):
    install_nvidia_smi(bin_dir, fail_gpu=True)
    source = open_source(replay_pynvml(init_error=pynvml.NVMLError_DriverNotLoaded))
    snapshot = source.sample()
    assert snapshot.source == "none"
    assert "NVML: Driver Not Loaded" in snapshot.reason
    assert f"nvidia-smi: --query-gpu exited 9: {SMI_DRIVER_FAILURE}" in snapshot.reason


def test_history_keeps_the_load_samples_in_order():
    sampler = GpuSampler(history_seconds=300, interval=0.5, open=lambda: NvmlSource(replay_pynvml("load")))
    recorded = nvml_samples("load")
    for _ in recorded:
        sampler.sample()
    points = sampler.history.points(H200_UUID)
    assert [p.utilization for p in points] == [s["gpus"][0]["util"]["gpu"] for s in recorded]
    assert points[0].memory == pytest.approx(100 * 23141941248 / 150754820096)
    assert sampler.last_cost_s is not None and sampler.last_cost_s > 0


def gpu_at(util):
    return GpuStatus(0, "g", "GPU-x", util, None, None, None, None, None, None, None, None, None)


def test_history_forgets_what_is_older_than_its_window_and_beyond_its_slots():
    history = GpuHistory(seconds=10, interval=1)
    for t in range(30):
        history.add(Snapshot("nvml", (gpu_at(t),), taken_at=float(t)))
    assert [p.utilization for p in history.points("GPU-x")] == list(range(19, 30))
    fast = GpuHistory(seconds=10, interval=5)
    for t in range(5):
        fast.add(Snapshot("nvml", (gpu_at(t),), taken_at=t / 10))
    assert len(fast.points("GPU-x")) == fast.capacity == 3


def test_descendants_are_found_through_proc():
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(with_descendants({shell.pid})) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        family = with_descendants({shell.pid})
        assert len(family) == 3 and shell.pid in family and os.getpid() not in family
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait()


def test_watched_pids_flag_their_process_rows():
    sampler = GpuSampler(open=lambda: NvmlSource(replay_pynvml("load")))
    assert not sampler.sample().gpus[0].processes[0].ours
    assert sampler.sample(watched_pids={452}).gpus[0].processes[0].ours
    other = Snapshot("nvml", (GpuStatus(0, "g", "u", 1, 1, 1, 2, 1, 1, 1, 1, "P0", None,
                                        (GpuProcess(1, "a", 1), GpuProcess(2, "b", 1))),))
    assert [p.ours for p in flag_ours(other, frozenset({2})).gpus[0].processes] == [False, True]

"""Stand-ins for the GPU tools this machine lacks, fed by real H200 output (tests/fixtures/gpu/).

- `replay_pynvml(...)`: a module with pynvml's functions that replays an `nvml-*.json` dump and
  raises the REAL error classes from the installed `pynvml` (NotSupported for the fan, as the
  board did; any other the test asks for).
- `install_nvidia_smi(...)`: an `nvidia-smi` executable script that answers the two CSV queries
  with the recorded `query-*` files, projecting the recorded columns onto the fields asked for.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pynvml
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gpu"
RECORDED_QUERY_GPU_FIELDS = (
    "index,uuid,name,driver_version,pci.bus_id,utilization.gpu,utilization.memory,memory.used,memory.total,"
    "memory.free,temperature.gpu,power.draw,power.limit,fan.speed,clocks.sm,clocks.mem,pstate"
).split(",")
"""FIELDS of the recorded query-gpu files (their README)."""
H200_UUID = "GPU-b6acdd54-b05c-868c-03ac-9357d0439fb0"
SMI_DRIVER_FAILURE = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                      "Make sure that the latest NVIDIA driver is installed and running.")


@pytest.fixture
def bin_dir(tmp_path, monkeypatch) -> Path:
    """PATH holding only an empty folder: the test may put an nvidia-smi stand-in there, or nothing."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


def nvml_samples(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"nvml-{name}.json").read_text())["samples"]


def replay_pynvml(name: str = "load", *, init_error: type | None = None, process_names: dict | None = None,
                  failing: dict[str, type] | None = None, pids: dict[int, int] | None = None) -> ModuleType:
    """A pynvml stand-in replaying `nvml-{name}.json`, one recorded sample per nvmlDeviceGetCount call
    (the last repeats). `failing` maps function names to the pynvml error class they raise;
    `process_names` answers nvmlSystemGetProcessName (others raise NVMLError_NotFound);
    `pids` renames recorded pids (to make a process of this machine's the one on the GPU)."""
    samples = nvml_samples(name)
    failing = failing or {}
    state = {"sample": -1, "calls": 0, "shutdown": False}
    module = ModuleType("pynvml")
    module.__dict__.update({k: v for k, v in vars(pynvml).items() if k.startswith("NVML")})  # constants, error classes

    def recorded(function_name, handle, key):
        state["calls"] += 1
        if function_name in failing:
            raise failing[function_name]()
        value = samples[state["sample"]]["gpus"][handle][key]
        if isinstance(value, dict) and "error" in value:
            raise getattr(pynvml, value["error"])()
        return value

    def api(function_name, key, convert=lambda value: value):
        def call(handle, *_):
            return convert(recorded(function_name, handle, key))
        module.__dict__[function_name] = call

    def init():
        if init_error is not None:
            raise init_error()

    def count():
        if "nvmlDeviceGetCount" in failing:
            raise failing["nvmlDeviceGetCount"]()
        state["sample"] = min(state["sample"] + 1, len(samples) - 1)
        return len(samples[state["sample"]]["gpus"])

    def process_name(pid):
        if pid in (process_names or {}):
            return process_names[pid].encode()
        raise pynvml.NVMLError_NotFound()

    def processes(record):
        return [SimpleNamespace(pid=(pids or {}).get(p["pid"], p["pid"]), usedGpuMemory=p["usedGpuMemory"])
                for p in record]

    module.nvmlInit = init
    module.nvmlShutdown = lambda: state.update(shutdown=True)
    module.nvmlDeviceGetCount = count
    module.nvmlDeviceGetHandleByIndex = lambda index: index
    module.nvmlSystemGetProcessName = process_name
    api("nvmlDeviceGetName", "name")
    api("nvmlDeviceGetUUID", "uuid")
    api("nvmlDeviceGetUtilizationRates", "util", lambda util: SimpleNamespace(**util))
    api("nvmlDeviceGetMemoryInfo", "mem", lambda mem: SimpleNamespace(**mem))
    api("nvmlDeviceGetTemperature", "temp")
    api("nvmlDeviceGetPowerUsage", "power_mw")
    api("nvmlDeviceGetEnforcedPowerLimit", "power_limit_mw")
    api("nvmlDeviceGetFanSpeed", "fan")
    api("nvmlDeviceGetClockInfo", "sm_clock")
    api("nvmlDeviceGetPerformanceState", "pstate")
    api("nvmlDeviceGetComputeRunningProcesses", "compute_procs", processes)
    api("nvmlDeviceGetGraphicsRunningProcesses", "graphics_procs", processes)
    module.state = state
    return module


def install_nvidia_smi(bin_dir: Path, state: str = "load", *, fail_gpu: bool = False, fail_apps: bool = False,
                       sleep_s: float = 0.0) -> Path:
    """Write an `nvidia-smi` stand-in into `bin_dir` answering from the `state` ("idle"/"load") files."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(f"""\
        import sys, time
        from pathlib import Path
        fixtures = Path({str(FIXTURES)!r})
        time.sleep({sleep_s})
        query = next((a for a in sys.argv[1:] if a.startswith("--query-")), "")
        if query.startswith("--query-gpu=") and {fail_gpu}:
            print({SMI_DRIVER_FAILURE!r}); sys.exit(9)
        if query.startswith("--query-compute-apps=") and {fail_apps}:
            print("Unable to query compute apps", file=sys.stderr); sys.exit(15)
        if query.startswith("--query-gpu="):
            recorded = {RECORDED_QUERY_GPU_FIELDS!r}
            asked = query.split("=", 1)[1].split(",")
            for line in (fixtures / "query-gpu-{state}-nounits.csv").read_text().splitlines():
                cells = dict(zip(recorded, line.split(", ")))
                print(", ".join(cells[field] for field in asked))
        elif query.startswith("--query-compute-apps="):
            sys.stdout.write((fixtures / "query-apps-{state}.csv").read_text())
        else:
            sys.exit("stand-in answers only --query-gpu and --query-compute-apps")
        """))
    script.chmod(0o755)
    return script

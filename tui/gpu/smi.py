"""The nvidia-smi source: two CSV queries run as subprocesses, parsed by pure functions."""

from __future__ import annotations

import csv
import re
import subprocess
import time
from dataclasses import replace

from tui import processes
from tui.gpu.snapshot import GpuProcess, GpuStatus, Snapshot

QUERY_GPU_FIELDS = (
    "index", "uuid", "name", "utilization.gpu", "utilization.memory", "memory.used", "memory.total",
    "temperature.gpu", "power.draw", "power.limit", "fan.speed", "clocks.sm", "pstate",
)
QUERY_APPS_FIELDS = ("pid", "process_name", "used_memory", "gpu_uuid")
TIMEOUT_S = 5.0
MIB = 1024 * 1024

_HEADER_ALIASES = {"clocks.current.sm": "clocks.sm", "clocks.current.memory": "clocks.mem"}
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:%|MiB|W|MHz|C)?$")


def query_gpu_argv(executable: str = "nvidia-smi") -> list[str]:
    return [executable, f"--query-gpu={','.join(QUERY_GPU_FIELDS)}", "--format=csv,noheader,nounits"]


def query_apps_argv(executable: str = "nvidia-smi") -> list[str]:
    return [executable, f"--query-compute-apps={','.join(QUERY_APPS_FIELDS)}", "--format=csv,noheader,nounits"]


def parse_value(text: str) -> str | None:
    """A CSV cell, or None for what the board does not report (`[N/A]`, `[Not Supported]`, ...)."""
    text = text.strip()
    if not text or text.startswith("[") or text == "N/A":
        return None
    return text


def parse_number(text: str | None) -> int | float | None:
    """`98`, `98 %`, `692.12 W` -> the number; absent or unparsable -> None."""
    value = parse_value(text or "")
    match = _NUMBER.match(value) if value else None
    if not match:
        return None
    number = match.group(1)
    return float(number) if "." in number else int(number)


def _mib_to_bytes(text: str | None) -> int | None:
    mib = parse_number(text)
    return None if mib is None else int(mib * MIB)


def _header_fields(header: str) -> tuple[str, ...]:
    names = [re.sub(r"\s*\[.*\]$", "", cell.strip()) for cell in header.split(",")]
    return tuple(_HEADER_ALIASES.get(name, name) for name in names)


def _rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(text.splitlines(), skipinitialspace=True) if row]


def parse_query_gpu(text: str, fields: tuple[str, ...] | None = QUERY_GPU_FIELDS) -> list[GpuStatus]:
    """`nvidia-smi --query-gpu=FIELDS --format=csv[,noheader][,nounits]` output -> one status per GPU.

    `fields` names the columns in order; None reads them from the header line (`--format=csv`).
    Columns are looked up by name, so extra fields are ignored and missing ones are absent.
    """
    rows = _rows(text)
    if fields is None:
        if not rows:
            return []
        fields = _header_fields(",".join(rows[0]))
        rows = rows[1:]
    gpus = []
    for row in rows:
        cell = dict(zip(fields, row))
        index = parse_number(cell.get("index"))
        gpus.append(GpuStatus(
            index=index if isinstance(index, int) else len(gpus),
            name=parse_value(cell.get("name", "")),
            uuid=parse_value(cell.get("uuid", "")),
            utilization_gpu=parse_number(cell.get("utilization.gpu")),
            utilization_memory=parse_number(cell.get("utilization.memory")),
            memory_used=_mib_to_bytes(cell.get("memory.used")),
            memory_total=_mib_to_bytes(cell.get("memory.total")),
            temperature=parse_number(cell.get("temperature.gpu")),
            power_draw=parse_number(cell.get("power.draw")),
            power_limit=parse_number(cell.get("power.limit")),
            sm_clock=parse_number(cell.get("clocks.sm")),
            pstate=parse_value(cell.get("pstate", "")),
            fan=parse_number(cell.get("fan.speed")),
        ))
    return gpus


def parse_query_apps(text: str) -> list[tuple[str | None, GpuProcess]]:
    """`--query-compute-apps=pid,process_name,used_memory,gpu_uuid` output -> (gpu uuid, process) pairs.

    Empty output means no process. A name with commas in it is put back together.
    """
    processes = []
    for row in _rows(text):
        if len(row) < 4:
            continue
        pid = parse_number(row[0])
        if not isinstance(pid, int):
            continue
        name = parse_value(", ".join(row[1:-2]))
        processes.append((parse_value(row[-1]), GpuProcess(pid=pid, name=name, memory_used=_mib_to_bytes(row[-2]))))
    return processes


def attach_processes(gpus: list[GpuStatus], processes: list[tuple[str | None, GpuProcess]]) -> list[GpuStatus]:
    """Give each GPU the processes whose uuid is its own."""
    return [replace(gpu, processes=tuple(p for uuid, p in processes if uuid == gpu.uuid)) for gpu in gpus]


class NvidiaSmiSource:
    """Samples by running nvidia-smi twice (GPUs, then compute processes)."""

    name = "nvidia-smi"

    def __init__(self, executable: str = "nvidia-smi", timeout: float = TIMEOUT_S):
        self.executable = executable
        self.timeout = timeout

    def _run(self, argv: list[str]) -> tuple[str | None, str | None]:
        """(stdout, None) or (None, why it failed)."""
        what = argv[1].split("=")[0]
        try:
            done = processes.run(argv, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, f"nvidia-smi {what} timed out after {self.timeout:g} s"
        except OSError as exc:
            return None, f"nvidia-smi {what} could not run: {exc.strerror or exc}"
        if done.returncode != 0:
            said = (done.stdout.strip() or done.stderr.strip()).splitlines()
            return None, f"nvidia-smi {what} exited {done.returncode}: {said[0] if said else 'no message'}"
        return done.stdout, None

    def sample(self) -> Snapshot:
        taken_at = time.time()
        gpu_text, gpu_error = self._run(query_gpu_argv(self.executable))
        if gpu_text is None:
            return Snapshot(source=self.name, taken_at=taken_at, errors=(gpu_error,))
        gpus = parse_query_gpu(gpu_text)
        apps_text, apps_error = self._run(query_apps_argv(self.executable))
        if apps_text is not None:
            gpus = attach_processes(gpus, parse_query_apps(apps_text))
        return Snapshot(source=self.name, gpus=tuple(gpus), taken_at=taken_at,
                        errors=(apps_error,) if apps_error else ())

    def close(self) -> None:
        pass

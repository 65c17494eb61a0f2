"""`fashionfail-tui gpu`. The pynvml module is replaced by a STAND-IN (gpu_standins.replay_pynvml, real
error classes, real H200 dumps) and PATH holds only what each test puts there (an nvidia-smi STAND-IN
script printing the real CSV files, or nothing)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pynvml
import pytest

from gpu_standins import bin_dir, H200_UUID, install_nvidia_smi, replay_pynvml  # noqa: F401 (bin_dir is a fixture)
from tui.commands import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_nvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))


def run_json(capsys, *args):
    assert main(["gpu", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_once_from_nvml(monkeypatch, bin_dir, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml("load", process_names={452: "python3"}))
    record = run_json(capsys, "--once")
    assert record["source"] == "nvml" and record["reason"] is None and record["errors"] == []
    [gpu] = record["gpus"]
    assert (gpu["name"], gpu["uuid"], gpu["utilization_gpu"], gpu["memory_total"]) == \
        ("NVIDIA H200", H200_UUID, 98, 150754820096)
    assert gpu["fan"] is None
    assert gpu["processes"] == [{"pid": 452, "name": "python3", "memory_used": 22487760896, "ours": False}]
    assert record["sample_ms"] > 0


def test_json_once_from_nvidia_smi(no_nvml, bin_dir, capsys):
    install_nvidia_smi(bin_dir, "idle")
    record = run_json(capsys)
    assert record["source"] == "nvidia-smi"
    [gpu] = record["gpus"]
    assert (gpu["temperature"], gpu["power_draw"], gpu["fan"], gpu["processes"]) == (42, 130.58, None, [])


def test_json_once_without_any_gpu(no_nvml, bin_dir, capsys):
    record = run_json(capsys, "--once")
    assert (record["source"], record["gpus"]) == ("none", [])
    assert record["reason"].startswith("no NVIDIA GPU or driver")


def test_table_shows_the_gpu_the_process_and_absent_fan(no_nvml, bin_dir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    install_nvidia_smi(bin_dir, "load")
    assert main(["gpu"]) == 0
    out = capsys.readouterr().out
    gpu_row = next(line for line in out.splitlines() if "NVIDIA H200" in line)
    assert gpu_row.split() == ["0", "NVIDIA", "H200", "98%", "23%", "21.0/140.4", "GiB", "61", "C", "692/700", "W",
                               "1455", "P0", "n/a"], "the fan column says n/a"
    assert any("452" in line and "python3" in line and "20.9 GiB" in line for line in out.splitlines())


def test_table_without_gpu_says_why(no_nvml, bin_dir, capsys):
    assert main(["gpu", "--once"]) == 0
    assert "none: no NVIDIA GPU or driver" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--watch", "0"], ["--watch", "-1"], ["--watch", "nan"], ["--watch", "inf"], ["--watch", "1e308"]])
def test_bad_watch_interval_is_one_line(argv, capsys):
    assert main(["gpu", "--json", *argv]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["event"] == "error"
    assert captured.err.strip().startswith("fashionfail-tui: error: --watch needs a positive")


def _as_from_a_terminal() -> None:
    """SIGINT as a terminal leaves it to a program. Tests started in the background (`cmd &`, nohup)
    inherit SIGINT ignored, and Python then keeps ignoring it, as it should: Ctrl-C cannot reach such
    a program anyway."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_prints_json_lines_until_ctrl_c(tmp_path):
    """The real command in a subprocess (whatever GPU this machine has): SIGINT ends it with exit 0."""
    process = subprocess.Popen([sys.executable, "-m", "tui", "gpu", "--json", "--watch", "0.1"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_as_from_a_terminal)
    lines = [process.stdout.readline() for _ in range(2)]
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert all(json.loads(line)["source"] in ("nvml", "nvidia-smi", "none") for line in lines)
    assert "Traceback" not in err

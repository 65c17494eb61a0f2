"""Timeouts kill the whole process group: a program the app runs with a time limit (an external
interpreter's probe and check, nvidia-smi, SLURM's commands, conda's `env list`) runs in its own
session, and when its time is up every process it started goes with it.

The hanging programs are shell scripts standing in for an interpreter (or nvidia-smi) that starts a
child and then hangs: they write the process ids they start, and the tests check that none survives.
"""

import time
from pathlib import Path

import pytest

from tui import processes
from tui.commands import main
from tui.environments import external
from tui.gpu import smi

from test_env_external import config_file, executable, one_error_line  # noqa: F401  (config_file is a fixture)


def hanging_program(where: Path, pids: Path) -> Path:
    """A program that starts two children (one in the background, one in the foreground), notes their ids
    and its own, and hangs; its stdout stays open in every one of them, as an interpreter's would."""
    return executable(where, f"#!/bin/sh\nsleep 300 &\necho $! >> {pids}\necho $$ >> {pids}\n"
                             f"sh -c 'echo $$ >> {pids}; exec sleep 300'\n")


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def noted(pids: Path, count: int) -> list[int]:
    for _ in range(100):
        if pids.exists() and len(pids.read_text().split()) >= count:
            break
        time.sleep(0.05)
    return [int(p) for p in pids.read_text().split()]


def assert_none_survives(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "processes left running after the timeout"


def test_env_use_with_an_interpreter_that_hangs_is_one_line_and_leaves_no_process(config_file, tmp_path,  # noqa: F811
                                                                                     monkeypatch, capsys):
    monkeypatch.setattr(external, "PROBE_SECONDS", 1)
    pids = tmp_path / "pids"
    python = hanging_program(tmp_path / "python", pids)
    started = time.monotonic()
    assert main(["env", "use", "amrcnn", str(python)]) == 2
    assert time.monotonic() - started < 30
    assert "did not finish its check within 1 s" in one_error_line(capsys)
    assert_none_survives(noted(pids, 3))


def test_nvidia_smi_that_hangs_leaves_no_process(tmp_path):
    pids = tmp_path / "pids"
    program = hanging_program(tmp_path / "nvidia-smi", pids)
    stdout, problem = smi.NvidiaSmiSource(str(program), timeout=1)._run([str(program), "--query-gpu=name"])
    assert stdout is None and "timed out after 1 s" in problem
    assert_none_survives(noted(pids, 3))


def test_run_returns_what_a_quick_program_printed_and_its_status(tmp_path):
    done = processes.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_a_timeout_raises_timeout_expired_with_what_was_printed_and_kills_the_group(tmp_path):
    pids = tmp_path / "pids"
    program = executable(tmp_path / "talker", f"#!/bin/sh\necho started\nsleep 300 &\necho $! >> {pids}\nsleep 300\n")
    started = time.monotonic()
    with pytest.raises(processes.subprocess.TimeoutExpired) as raised:
        processes.run([str(program)], timeout=1, capture_output=True, text=True)
    assert time.monotonic() - started < 10
    assert "started" in (raised.value.stdout or "")
    assert_none_survives(noted(pids, 1))


def test_every_subprocess_with_a_timeout_goes_through_the_one_helper():
    """No module calls subprocess.run/check_output with a timeout of its own: they use processes.run."""
    root = Path(processes.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "processes.py":
            continue
        text = path.read_text()
        for call in ("subprocess.run(", "subprocess.check_output(", "subprocess.call(", "subprocess.check_call("):
            start = 0
            while (at := text.find(call, start)) >= 0:
                start = at + 1
                if "timeout" in text[at:text.find(")\n", at)]:
                    offenders.append(f"{path.relative_to(root)}: {call}")
    assert offenders == []

"""Running a program with a time limit: when the time is up, the program and every process it
started are killed, not only the program (a hung interpreter's children would otherwise live on)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence

_DRAIN_SECONDS = 2
"""After the kill, how long to wait for the output pipes to close (a process that left the group
by starting its own session may hold them open)."""


def run(argv: Sequence[str], *, timeout: float, capture_output: bool = False, input: str | bytes | None = None,
        **popen_kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(argv, timeout=...) with the program in a session of its own: on the timeout (or
    any exception, Ctrl-C included) its whole process group is killed with SIGKILL and
    subprocess.TimeoutExpired is raised with what it had printed."""
    if capture_output:
        popen_kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        popen_kwargs["stdin"] = subprocess.PIPE
    process = subprocess.Popen(list(argv), start_new_session=True, **popen_kwargs)
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        stdout, stderr = _drain(process)
        raise subprocess.TimeoutExpired(process.args, timeout, output=stdout, stderr=stderr) from None
    except BaseException:
        kill_group(process)
        _drain(process)
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process group `process` leads (it was started with start_new_session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _drain(process: subprocess.Popen):
    """What the killed program had printed, and the program reaped; bounded in time."""
    try:
        return process.communicate(timeout=_DRAIN_SECONDS)
    except (subprocess.TimeoutExpired, ValueError):
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe:
                pipe.close()
        process.wait()
        return None, None

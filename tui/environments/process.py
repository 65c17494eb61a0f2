"""Run a program and hand each line of its output to a callback as it is printed.

conda draws its download progress only when it writes to a terminal, so `terminal=True` runs the
program under a pseudo-terminal. Carriage returns (progress bars redrawing) and NULs (conda's
JSON progress records) end a line just like newlines.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from tui.processes import kill_group

_LINE_END = re.compile(rb"[\r\n\0]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def stream(argv: Sequence[str], on_line: Callable[[str], None], *, terminal: bool = False,
           cwd: Path | None = None, env: dict | None = None) -> int:
    """Run `argv`, call `on_line` for every non-empty output line (stdout and stderr together),
    return the exit status. OSError when the program cannot be started."""
    if terminal:
        reader, writer = pty.openpty()
    else:
        reader, writer = os.pipe()
    try:
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=writer, stderr=writer,
                                   cwd=cwd, env=env, close_fds=True, start_new_session=True)
    except OSError:
        os.close(reader)
        raise
    finally:
        os.close(writer)
    with _running_lock:
        _running.add(process)
    pending = b""
    try:
        while True:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # EIO: the terminal's other side closed
                chunk = b""
            if not chunk:
                break
            *lines, pending = _LINE_END.split(pending + chunk)
            for line in lines:
                _deliver(line, on_line)
        _deliver(pending, on_line)
    except BaseException:
        # the caller stopped listening (an app closing mid-build, Ctrl-C): stop the program too
        kill_group(process)
        process.wait()
        raise
    finally:
        os.close(reader)
        with _running_lock:
            _running.discard(process)
    return process.wait()


def python_environment(user_site: bool = False) -> dict[str, str]:
    """The app's environment minus what would leak its Python setup (PYTHONPATH, PYTHONHOME,
    PYTHONSTARTUP) into another interpreter; that interpreter also ignores the user's
    site-packages unless `user_site`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    if not user_site:
        env["PYTHONNOUSERSITE"] = "1"
    return env


def stop_all() -> None:
    """Kill every program `stream` is running, with its children, for a caller going away (the app
    closing while a silent step runs would otherwise wait for the step to end); `stream` returns."""
    with _running_lock:
        for process in _running:
            kill_group(process)


def _deliver(raw: bytes, on_line: Callable[[str], None]) -> None:
    text = _ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip()
    if text.strip():
        on_line(text)

"""The CLI in this test's process: `tui.commands.main(argv)` with its stdout, stderr and exit status
captured, for tests where the process boundary is not what is tested (about 1 s less per call than
a subprocess, which imports Python, numpy and the rest again).

    result = cli_in_process("inspect", file, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["images"] == 3

Use a subprocess instead (tests/helpers/runs.py `cli(..., in_process=False)`) where the test is about
the process: signals (Ctrl+C, SIGTERM), exit when stdout's reader goes away, a memory limit
(`confined_cli`), what is left running afterwards, or a terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Captured(io.StringIO):
    """A text stream that is not a terminal, with no file descriptor (as a pipe, but in memory)."""

    def isatty(self) -> bool:
        return False


def cli_in_process(*args, columns: int = 200) -> subprocess.CompletedProcess:
    """`fashionfail-tui ARGS...` run by `tui.commands.main` here: run from the repository root (as
    the subprocess helper runs it), `COLUMNS` set so rich tables keep one line per row, and the
    signal handlers and working folder as they were afterwards, whatever the command did."""
    from tui.commands import main

    assert threading.current_thread() is threading.main_thread(), "commands set signal handlers: main thread only"
    argv = [str(arg) for arg in args]
    stdout, stderr = _Captured(), _Captured()
    handlers = {number: signal.getsignal(number) for number in _SIGNALS}
    folder, width = os.getcwd(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                returncode = main(argv)
            except SystemExit as exc:  # argparse's --help and --version
                returncode = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(folder)
        if width is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = width
        for number, handler in handlers.items():
            signal.signal(number, handler)
    sys.stdout.flush()
    return subprocess.CompletedProcess([sys.executable, "-m", "tui", *argv], returncode, stdout.getvalue(),
                                       stderr.getvalue())

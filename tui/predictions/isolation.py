"""Reading untrusted files in a forked child process, so that what a file does to the reader ends there.

The checks in `tui.predictions` refuse every hostile file the tests know; this is the floor under
them for what they cannot see coming: a crash in C code (CPython's own unpickler and hashing,
numpy, pycocotools) or memory exhaustion kills the child, and the app or command gets one line and
keeps running. The child's address space is limited (RLIMIT_AS) to what it maps at the fork plus
an allowance the caller sizes from the file, and it reports progress and its result as JSON lines
on a pipe. Where there is no fork (Windows) the work runs in-process.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable

from tui.errors import UserError, described
from tui.files import json_text

Report = Callable[[float, str], None]
"""report(fraction 0..1, stage)."""


def run(work: Callable[[Report], str], *, what: str, allowance: int, on_progress: Report) -> str:
    """`work(report)` in a child limited to `allowance` more bytes of address space; its result.

    Raises UserError with the child's own one-line message, or one saying how it died.
    """
    if not hasattr(os, "fork"):
        return work(on_progress)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that fork in a threaded process can deadlock the child on a lock another
        # thread held; the child here only reads a file with our code and leaves with os._exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _serve(work, write_end, what, allowance)
    os.close(write_end)
    outcome, status = {}, None
    try:
        with os.fdopen(read_end, "r", encoding="utf-8", errors="replace") as messages:
            for line in messages:
                try:
                    message = json.loads(line)
                except ValueError:  # cut short by the child's death: its exit status tells
                    continue
                if "progress" in message:
                    on_progress(float(message["progress"]), str(message["stage"]))
                else:
                    outcome = message
        status = os.waitpid(pid, 0)[1]
    finally:
        if status is None:  # interrupted: the child must not outlive the read it was doing
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if "result" in outcome and os.waitstatus_to_exitcode(status) == 0:
        return str(outcome["result"])
    if "error" in outcome:
        raise UserError(str(outcome["error"]), hint=str(outcome.get("hint") or ""))
    raise UserError(f"{what}: {_death(status)}; the file may be malformed or hostile")


def _death(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"reading it crashed the reader ({signal.Signals(-code).name})"
    return f"the reader ended without a result (exit status {code})"


def _serve(work: Callable[[Report], str], write_end: int, what: str, allowance: int) -> None:
    """The child: do the work, send what came of it, leave without running the parent's exit handlers."""
    status = 70
    try:
        faulthandler.disable()  # a crash here is reported by the parent, not dumped on its terminal
        silence = os.open(os.devnull, os.O_WRONLY)
        os.dup2(silence, 1)
        os.dup2(silence, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child never closes it
        _limit_address_space(allowance)
        with os.fdopen(write_end, "w", encoding="utf-8") as out:
            def report(fraction: float, stage: str) -> None:
                out.write(json_text({"progress": fraction, "stage": stage}) + "\n")
                out.flush()

            try:
                message = {"result": work(report)}
            except UserError as exc:
                message = {"error": str(exc), "hint": exc.hint}
            except MemoryError:
                message = {"error": f"{what}: reading it needs more memory than a file of its size may take "
                                    "(the file may be hostile)"}
            except RecursionError:
                message = {"error": f"{what} holds structures nested too deeply to read (the file may be hostile)"}
            except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen file: one line, not a traceback
                message = {"error": f"{what}: reading it failed ({described(exc)})"}
            out.write(json_text(message) + "\n")
            out.flush()
            status = 0
    finally:
        os._exit(status)


def _limit_address_space(allowance: int) -> None:
    """RLIMIT_AS: what the process maps now plus `allowance`, never above a limit already set."""
    import resource  # POSIX only, like fork

    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc (macOS, whose kernel does not enforce RLIMIT_AS anyway)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = min(v for v in (mapped + allowance, soft, hard) if v != resource.RLIM_INFINITY)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

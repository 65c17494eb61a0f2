"""A deterministic gate for tests that act while a run is going (cancel it, quit, look at the screen):
the model's real runner, held after its first images until the test opens the gate, instead of a
model slow enough that the test usually catches it mid-run.

    gate = hold_runner(monkeypatch, tmp_path, "facere+", after=1)
    ...  # the run reports 1 image done and waits there, however fast or loaded the machine is
    job.cancel()  # or the screen's Cancel: SIGINT reaches the waiting runner
    gate.open()   # it finishes as cancelled (exit 130), its journal kept
    gate.close()  # a run started now (a resumed one) waits after its next image again

A command started as a process gets the same gate through its environment:

    gate, gated = hold_runner_in_commands(tmp_path, "facere")
    process = subprocess.Popen([..., "run", "facere", ...], env={**os.environ, **gated})
    process.send_signal(signal.SIGINT)  # the command passes it on to its runner
    gate.wait_signalled()  # the runner has handled it (its stop flag is set)
    gate.open()            # it stops where it was held

The runner program is the catalog's own (runners/facere.py ...), run unchanged by a wrapper that
wraps `protocol.emit`: after the `progress` event of image `after` it waits, in the runner's main
thread, until the gate file exists. A signal that arrives meanwhile is handled at once (the runner
sets its stop flag), so cancelling before opening the gate always stops the run there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from tui.runs import request

_WRAPPER = '''\
import os, runpy, signal, sys, time

import protocol

GATE, AFTER, REAL = {gate!r}, {after!r}, {real!r}
_emit, _install = protocol.emit, signal.signal


def emit(event, **fields):
    _emit(event, **fields)
    if event == "progress" and fields.get("done", 0) >= AFTER:
        while not os.path.exists(GATE):
            time.sleep(0.02)


def install(number, handler):
    """The runner's own SIGINT/SIGTERM handler, then a note that it ran (Gate.wait_signalled)."""
    if not callable(handler):
        return _install(number, handler)

    def noted(signalled, frame):
        handler(signalled, frame)
        open(GATE + ".signalled", "w").close()

    return _install(number, noted)


protocol.emit, signal.signal = emit, install
sys.argv[0] = REAL
runpy.run_path(REAL, run_name="__main__")
'''


@dataclass
class Gate:
    file: Path

    def open(self) -> None:
        self.file.touch()

    def close(self) -> None:
        """Hold the next run (or the rest of this one) again after its next image."""
        self.file.unlink(missing_ok=True)

    def wait_signalled(self, timeout: float = 60) -> None:
        """Until the held runner has handled a SIGINT or SIGTERM (sent to it, or passed on by the
        command that started it): opening the gate after that, the run stops where it was held."""
        noted = self.file.with_name(self.file.name + ".signalled")
        deadline = time.monotonic() + timeout
        while not noted.exists():
            assert time.monotonic() < deadline, f"the held runner got no signal within {timeout} s"
            time.sleep(0.02)


def hold_runner(monkeypatch, folder: Path, model: str, after: int = 1) -> Gate:
    """Runs of `model` (a catalog name) started in this process wait after `after` images until the
    returned gate is opened; other models run as usual."""
    gate = Gate(folder / f"gate-{model}")
    monkeypatch.setattr(request, "runner_script", _gated(request.runner_script, gate, folder, model, after))
    return gate


def hold_runner_in_commands(folder: Path, model: str, after: int = 1) -> tuple[Gate, dict[str, str]]:
    """The same for commands started as processes: the gate, and the environment to start them with
    (a `sitecustomize` that gates runs of `model` in that interpreter, then the repository)."""
    site = folder / f"gate-site-{model}"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "from tests.helpers.gate import _hold_this_process\n"
        f"_hold_this_process({str(folder)!r}, {model!r}, {after!r})\n")
    root = Path(__file__).resolve().parents[2]
    return Gate(folder / f"gate-{model}"), {"PYTHONPATH": os.pathsep.join([str(site), str(root)])}


def _hold_this_process(folder: str, model: str, after: int) -> None:
    gate = Gate(Path(folder) / f"gate-{model}")
    request.runner_script = _gated(request.runner_script, gate, Path(folder), model, after)


def _gated(real_script, gate: Gate, folder: Path, model: str, after: int):
    """runner_script, with `model`'s runner wrapped so that it waits at the gate."""
    def script(chosen):
        real = real_script(chosen)
        if chosen.name != model:
            return real
        wrapper = folder / f"gated-{chosen.name}.py"
        wrapper.write_text(_WRAPPER.format(gate=str(gate.file), after=after, real=str(real)))
        return wrapper

    return script

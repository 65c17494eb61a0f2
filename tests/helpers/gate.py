"""A deterministic gate for tests that act while a run is going (cancel it, quit, look at the screen):
the model's real runner, held after its first images until the test opens the gate, instead of a
model slow enough that the test usually catches it mid-run.

    gate = hold_runner(monkeypatch, tmp_path, "facere+", after=1)
    ...  # the run reports 1 image done and waits there, however fast or loaded the machine is
    job.cancel()  # or the screen's Cancel: SIGINT reaches the waiting runner
    gate.open()   # it finishes as cancelled (exit 130), its journal kept
    gate.close()  # a run started now (a resumed one) waits after its next image again

The runner program is the catalog's own (runners/facere.py ...), run unchanged by a wrapper that
wraps `protocol.emit`: after the `progress` event of image `after` it waits, in the runner's main
thread, until the gate file exists. A signal that arrives meanwhile is handled at once (the runner
sets its stop flag), so cancelling before opening the gate always stops the run there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui.runs import request

_WRAPPER = '''\
import os, runpy, sys, time

import protocol

GATE, AFTER, REAL = {gate!r}, {after!r}, {real!r}
_emit = protocol.emit


def emit(event, **fields):
    _emit(event, **fields)
    if event == "progress" and fields.get("done", 0) >= AFTER:
        while not os.path.exists(GATE):
            time.sleep(0.02)


protocol.emit = emit
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


def hold_runner(monkeypatch, folder: Path, model: str, after: int = 1) -> Gate:
    """Runs of `model` (a catalog name) wait after `after` images until the returned gate is opened;
    other models run as usual."""
    gate = Gate(folder / f"gate-{model}")
    real_script = request.runner_script

    def script(chosen):
        real = real_script(chosen)
        if chosen.name != model:
            return real
        wrapper = folder / f"gated-{chosen.name}.py"
        wrapper.write_text(_WRAPPER.format(gate=str(gate.file), after=after, real=str(real)))
        return wrapper

    monkeypatch.setattr(request, "runner_script", script)
    return gate

"""Running a model: a runner subprocess, its event stream as typed events, cancelling it.

Both the CLI (`fashionfail-tui run`) and the app drive runs only through this module:

    job = Job.start(RunRequest(model, images, out_dir), config)
    for event in job.events():      # ends with exactly one Finished or Failed
        ...
    job.cancel()                    # from any thread: SIGINT, then SIGTERM, then SIGKILL

The runner runs in its own process group (so a terminal's Ctrl+C reaches only us, and cancelling
reaches everything it started) with a sanitized environment. A runner that dies without a `done`
or `error` event becomes a Failed event saying how it ended.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tui import environments, facere_fast, paths
from tui.catalog import Model
from tui.config import Config
from tui.errors import UserError, require_file, require_folder
from tui.downloads.imports import checkpoint_format
from tui.downloads.sources import tree_path
from tui.downloads.state import checkpoint_file
from tui.environments.process import python_environment
from tui.predictions.formats import parse_meta
from tui.runner_common import runners_common
from tui.shards import Shard, list_images

SIGINT_GRACE = 30.0
"""Seconds a runner gets to finish its image in flight after SIGINT before SIGTERM."""
SIGTERM_GRACE = 5.0
"""Seconds after SIGTERM before SIGKILL."""
STDERR_TAIL = 20


# ---- events --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    raw: dict
    """The event as a protocol line (what `--json` prints)."""


@dataclass(frozen=True)
class Started(Event):
    model: str
    total: int
    providers: tuple[str, ...]
    resumed: int


@dataclass(frozen=True)
class Progress(Event):
    done: int
    total: int
    image: str
    detections: int
    seconds: float


@dataclass(frozen=True)
class LogLine(Event):
    message: str
    source: str
    """runner: a `log` event; stdout: a non-JSON stdout line; stderr: the runner's human-readable text."""


@dataclass(frozen=True)
class Warned(Event):
    message: str
    image: str | None


@dataclass(frozen=True)
class Finished(Event):
    output: Path
    images: int
    detections: int
    skipped: int
    seconds: float


@dataclass(frozen=True)
class Failed(Event):
    message: str
    returncode: int | None = None
    cancelled: bool = False


def parse_line(line: str) -> Event:
    """One stdout line as an event; anything that is not a protocol event becomes a LogLine."""
    text = line.rstrip("\r\n")
    try:
        raw = json.loads(text)
    except ValueError:
        raw = None
    try:
        return _typed(raw)
    except (KeyError, TypeError, ValueError, AttributeError):
        return LogLine({"event": "log", "message": text}, text, "stdout")


def _typed(raw) -> Event:
    kind = raw["event"]
    if kind == "start":
        return Started(raw, str(raw["model"]), int(raw["total"]), tuple(raw.get("providers") or ()),
                       int(raw.get("resumed", 0)))
    if kind == "progress":
        return Progress(raw, int(raw["done"]), int(raw["total"]), str(raw.get("image", "")),
                        int(raw.get("detections", 0)), float(raw.get("seconds", 0.0)))
    if kind == "log":
        return LogLine(raw, str(raw["message"]), "runner")
    if kind == "warning":
        return Warned(raw, str(raw["message"]), raw.get("image"))
    if kind == "done":
        return Finished(raw, Path(raw["output"]), int(raw["images"]), int(raw["detections"]),
                        int(raw.get("skipped", 0)), float(raw.get("seconds", 0.0)))
    if kind == "error":
        return Failed(raw, str(raw["message"]))
    raise ValueError(kind)


def failed(message: str, returncode: int | None = None, cancelled: bool = False) -> Failed:
    return Failed({"event": "error", "message": message}, message, returncode, cancelled)


# ---- what to run ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRequest:
    model: Model
    images: Path
    out_dir: Path
    model_file: Path | None = None
    """None: the catalog's checkpoint (or the config's local file)."""
    device: str = "auto"
    score_threshold: float | None = None
    """None: the catalog's default for the model."""
    shard: Shard | None = None
    """Only this part of the sorted image list, into its own file (`run --shard I/N`)."""
    original_masks: bool = False
    """Facere: keep the graph's own mask pasting even where `tui.facere_fast` can cut it out."""

    @property
    def output(self) -> Path:
        if self.shard:
            return self.out_dir / self.shard.file_name(self.model.name)
        return self.out_dir / f"{self.model.name}.npz"


class SetupNeeded(UserError):
    """What a run lacks that the app's Setup (an environment) or Models (a checkpoint, a source
    tree) screen provides; `area` names which: "setup" or "models"."""

    def __init__(self, message: str, area: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.area = area


def runner_script(model: Model) -> Path:
    return paths.runners_dir() / model.runner


def interpreter_for(model: Model, config: Config) -> Path:
    """The Python that runs a model's runner: its environment's (built, or the external one the config
    names) when that is ready, the app's own for Facere without its optional environment; UserError
    naming the fix otherwise."""
    python = environments.python_for(model, config)
    if python is not None:
        return python
    if model.environment is None:
        return Path(sys.executable)
    status = environments.status_for(model, config)
    if status and status.backend == environments.external.BACKEND:
        raise SetupNeeded(f"{model.name} runs in {status.python} (the config's [envs.{status.family}] python), which "
                          f"cannot run it: {status.detail}", "setup",
                          hint=f"after fixing that environment, check it again with "
                               f"`fashionfail-tui env use {status.family} {status.python}`")
    name = status.family if status else model.environment
    raise SetupNeeded(f"{model.name} needs the '{name}' environment", "setup",
                      hint=f"run `fashionfail-tui env create {name}`")


def runner_environment(interpreter: Path) -> dict[str, str]:
    """The app's environment minus what would leak its Python setup into a model environment.

    PYTHONPATH is the runners dir only. A model environment's interpreter also ignores the user's
    site-packages; the app's own interpreter keeps them (the app may be installed there)."""
    env = python_environment(user_site=Path(interpreter) == Path(sys.executable))
    env["PYTHONPATH"] = str(paths.runners_dir())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def runner_model_file(model: Model, model_file: Path) -> Path:
    """The file a runner is given and a run checks for. A TensorFlow checkpoint is named by its
    prefix (`.../model.ckpt`): its `.index` file stands for it."""
    if model.weights.kind == "tar" and model_file.suffix != ".index":
        return model_file.with_name(model_file.name + ".index")
    return model_file


def runner_argv(request: RunRequest, config: Config) -> list[str]:
    model = request.model
    threshold = model.score_threshold if request.score_threshold is None else request.score_threshold
    model_file = runner_model_file(model, request.model_file or checkpoint_file(model, config)).absolute()
    argv = [
        str(interpreter_for(model, config)), "-u", str(runner_script(model)),
        "--model", model.name, "--family", model.family, "--box-format", model.box_format,
        "--class-ids", model.class_ids.name, "--model-file", str(model_file),
        "--images", str(request.images.absolute()), "--output", str(request.output.absolute()),
        "--score-threshold", repr(float(threshold)),
    ]
    if model.source is not None:
        argv += ["--source", str(tree_path(model.source)), "--config", model.config]
    if model.family in ("facere", "fformer"):
        argv += ["--device", request.device]
    if request.shard:
        argv += ["--shard", str(request.shard)]
    note = environments.note_for(model, config) if model.environment else ""
    if note:  # e.g. a variant environment with another TensorFlow: the output's meta says so
        argv += ["--environment-note", note]
    if model.family == "facere":
        argv += facere_fast.runner_arguments(model_file, request.original_masks)
    return argv


# ---- the running job -----------------------------------------------------------------------

_active: set[Job] = set()
_active_lock = threading.Lock()


@dataclass(eq=False)
class Job:
    request: RunRequest
    process: subprocess.Popen
    stderr_tail: list[str] = field(default_factory=list)
    _queue: queue.Queue = field(default_factory=queue.Queue)
    _cancel_requested: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, request: RunRequest, config: Config) -> Job:
        argv = runner_argv(request, config)
        if not Path(argv[0]).exists():
            raise UserError(f"{request.model.name} needs the Python at {argv[0]}, which does not exist")
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=runner_environment(Path(argv[0])), cwd=str(paths.runners_dir()),
                text=True, encoding="utf-8", errors="replace", bufsize=1, start_new_session=True,
            )
        except OSError as exc:
            raise UserError(f"cannot start the {request.model.name} runner: {exc}") from None
        job = cls(request, process)
        with _active_lock:
            _active.add(job)
        threading.Thread(target=job._read_stdout, name=f"runner-stdout-{process.pid}", daemon=True).start()
        threading.Thread(target=job._read_stderr, name=f"runner-stderr-{process.pid}", daemon=True).start()
        return job

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self._queue.put(parse_line(line))
        self._queue.put(_STDOUT_CLOSED)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            text = line.rstrip("\r\n")
            self.stderr_tail[:] = (self.stderr_tail + [text])[-STDERR_TAIL:]
            self._queue.put(LogLine({"event": "log", "message": text}, text, "stderr"))
        self._queue.put(_STDERR_CLOSED)

    def events(self) -> Iterator[Event]:
        """Every event as it comes; the last one is the single Finished or Failed of the run."""
        open_streams = 2
        ending: Event | None = None
        while open_streams:
            event = self._queue.get()
            if event is _STDOUT_CLOSED or event is _STDERR_CLOSED:
                open_streams -= 1
            elif isinstance(event, (Finished, Failed)):
                ending = ending or event
            else:
                yield event
        returncode = self.process.wait()
        with _active_lock:
            _active.discard(self)
        yield self._ending(ending, returncode)

    def _ending(self, ending: Event | None, returncode: int) -> Event:
        cancelled = self._cancel_requested.is_set()
        if isinstance(ending, Finished) and returncode == 0:
            return ending
        if isinstance(ending, Failed):
            return Failed(ending.raw, ending.message, returncode, cancelled or returncode == 130)
        if cancelled:
            return failed("cancelled; rerun the same command to resume", returncode, cancelled=True)
        if returncode < 0:
            how = f"was killed by {signal.Signals(-returncode).name}"
        else:
            how = f"exited with code {returncode}"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        return failed(f"the {self.request.model.name} runner {how} without finishing"
                      + (f" (last output: {last.strip()})" if last else ""), returncode)

    def cancel(self) -> None:
        """Ask the runner to stop after the image in flight; escalate if it does not. Non-blocking."""
        if self._cancel_requested.is_set():
            self._signal(signal.SIGKILL if self._alive_after(0) else None)
            return
        self._cancel_requested.set()
        self._signal(signal.SIGINT)
        threading.Thread(target=self._escalate, name=f"runner-cancel-{self.pid}", daemon=True).start()

    def stop(self, sigint_grace: float = 2.0, sigterm_grace: float = 2.0) -> None:
        """Cancel and wait until the process is gone (for quitting)."""
        self._cancel_requested.set()
        self._signal(signal.SIGINT)
        self._escalate(sigint_grace, sigterm_grace)

    def _escalate(self, sigint_grace: float = SIGINT_GRACE, sigterm_grace: float = SIGTERM_GRACE) -> None:
        if self._alive_after(sigint_grace):
            self._signal(signal.SIGTERM)
            if self._alive_after(sigterm_grace):
                self._signal(signal.SIGKILL)
                self.process.wait()

    def _alive_after(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
            return False
        except subprocess.TimeoutExpired:
            return True

    def _signal(self, number: signal.Signals | None) -> None:
        """Signal the runner's whole process group."""
        if number is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


_STDOUT_CLOSED = object()
_STDERR_CLOSED = object()


def active_jobs() -> list[Job]:
    with _active_lock:
        return list(_active)


def stop_all(grace: float = 2.0) -> None:
    """Stop every runner this process started and wait until they are gone (app quit, CLI exit)."""
    jobs = active_jobs()
    threads = [threading.Thread(target=job.stop, args=(grace, grace)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


atexit.register(stop_all)


# ---- checks before starting ----------------------------------------------------------------

def validate_model_file(model: Model, path: Path) -> None:
    """UserError unless `path` exists and (for ONNX models) loads as an ONNX model with Facere's I/O."""
    require_file(path, "model file")
    if model.weights.kind == "manual":
        checkpoint_format(path)  # a PyTorch checkpoint by its structure, never unpickled
        return
    if model.family != "facere":
        return
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError, or others, for a non-ONNX file
        raise UserError(f"model file {path} is not a valid ONNX model ({type(exc).__name__})") from None
    inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(inputs) != 1 or len(proto.graph.output) < 4:
        raise UserError(f"model file {path} does not look like a Facere model: it needs one image input "
                        f"and four outputs (boxes, labels, scores, masks), it has {len(inputs)} and "
                        f"{len(proto.graph.output)}")


def prepare_output_folder(out_dir: Path) -> None:
    """Create the output folder; UserError if it cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output folder {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".fashionfail-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to output folder {out_dir}: {exc.strerror or exc}") from None


def check_request(request: RunRequest, config: Config) -> None:
    """Everything the user can fix before a run starts, as one UserError."""
    model = request.model
    require_folder(request.images, "image folder")
    model_file = runner_model_file(model, request.model_file or checkpoint_file(model, config))
    if request.model_file is None and not model_file.exists():
        if config.override_for(model.name).file is not None:  # fetching would not help: the config names it
            raise UserError(f"{model.name}'s model file {model_file} (the [models.{model.name}] file of "
                            f"{config.source}) does not exist", hint="fix it there or pass --model-file")
        how = f"fashionfail-tui fetch {model.name}" + (" --from FILE" if model.weights.kind == "manual" else "")
        raise SetupNeeded(f"{model.name}'s checkpoint {model_file} is missing", "models",
                          hint=f"run `{how}` or pass --model-file")
    validate_model_file(model, model_file)
    if model.source is not None and not tree_path(model.source).is_dir():
        raise SetupNeeded(f"{model.name} needs the {model.source.name} source tree", "models",
                          hint=f"run `fashionfail-tui fetch {model.name}`")
    interpreter_for(model, config)  # raises when the model's environment is not ready
    prepare_output_folder(request.out_dir)


def replaced_result(request: RunRequest, config: Config) -> str | None:
    """What this run would replace without the user having asked for it: the output file of another
    run (over other images, or with another model file), or a file that is no run's output. None
    when there is nothing there, or it is this run's own earlier result (rerunning redoes it in
    place, as an interrupted run resumes). The caller asks (the app) or refuses (the CLI)."""
    output = request.output
    if not output.exists():
        return None
    meta = _output_meta(output)
    if meta is None:
        return f"{output} exists and is not a prediction file of this app's runs"
    model_file = runner_model_file(request.model, request.model_file or checkpoint_file(request.model, config))
    other = []
    if not _same_path(meta.get("image_dir"), request.images):
        other.append(f"over other images ({meta.get('image_dir')})")
    elif meta.get("image_set") not in (None, runners_common().image_set(list_images(request.images))):
        other.append(f"over the images {meta.get('image_dir')} held then")
    if not _same_path(meta.get("model_file"), model_file):
        other.append(f"with another model file ({meta.get('model_file')})")
    if not other:
        return None
    return f"{output} holds another run's predictions for {meta.get('images', '?')} images: {' and '.join(other)}"


def _output_meta(path: Path) -> dict | None:
    """An output file's `meta`, read without unpickling anything; None when it has none."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return parse_meta(archive["meta"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, AttributeError):
        return None


def _same_path(recorded, path: Path) -> bool:
    return isinstance(recorded, str) and os.path.realpath(recorded) == os.path.realpath(path)

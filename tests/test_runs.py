"""tui/runs/: launching runners, their event stream, crashes, cancelling, the environment they get."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import catalog, paths
from tui.config import Config
from tui.runs.events import Failed, Finished, LogLine, Progress, Started, parse_line
from tui.runs.process import Job, active_jobs
from tui.runs.request import RunRequest, SetupNeeded, interpreter_for, runner_argv, runner_environment

FACERE = catalog.get("facere")


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes only once reaped; check its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def fake_runners(tmp_path, monkeypatch):
    """A runners dir holding scripts the test writes, each standing in for a misbehaving runner."""
    folder = tmp_path / "runners"
    folder.mkdir()
    monkeypatch.setattr(paths, "runners_dir", lambda: folder)

    def add(name: str, body: str) -> catalog.Model:
        (folder / name).write_text(textwrap.dedent(body))
        return dataclasses.replace(FACERE, runner=name)

    return add


def request_for(model, tmp_path) -> RunRequest:
    (tmp_path / "images").mkdir(exist_ok=True)
    return RunRequest(model, tmp_path / "images", tmp_path / "out", model_file=tmp_path / "m.onnx")


def test_parse_line_types_protocol_events_and_keeps_anything_else_as_a_log_line():
    progress = parse_line('{"event": "progress", "done": 2, "total": 5, "image": "a.jpg", "detections": 3, "seconds": 0.5}\n')
    assert isinstance(progress, Progress) and (progress.done, progress.total, progress.image) == (2, 5, "a.jpg")
    done = parse_line('{"event": "done", "output": "/o/facere.npz", "images": 4, "detections": 9, "seconds": 1}')
    assert isinstance(done, Finished) and done.output == Path("/o/facere.npz") and done.detections == 9
    for line in ["Loading weights...", '{"no": "event"}', '{"event": "progress"}', "[1, 2]", '{"event": "bogus"}']:
        event = parse_line(line)
        assert isinstance(event, LogLine) and event.source == "stdout" and event.message == line
        assert event.raw == {"event": "log", "message": line}


def test_argv_uses_the_apps_interpreter_for_facere_and_the_environment_python_otherwise(tmp_path):
    argv = runner_argv(request_for(FACERE, tmp_path), Config())
    assert argv[:3] == [sys.executable, "-u", str(paths.runners_dir() / "facere.py")]
    assert argv[argv.index("--output") + 1] == str(tmp_path / "out" / "facere.npz")
    assert argv[argv.index("--class-ids") + 1] == "fashionpedia-1based" and "--device" in argv
    amrcnn = catalog.get("amrcnn-r50-fpn")  # its ready environment's python: tests/test_runner_environments.py
    with pytest.raises(SetupNeeded, match="^amrcnn-r50-fpn needs the 'amrcnn' environment$") as needed:
        interpreter_for(amrcnn, Config())
    assert needed.value.area == "setup" and needed.value.hint == "run `fashionfail-tui env create amrcnn`"
    assert needed.value.for_command_line.endswith("environment; run `fashionfail-tui env create amrcnn`")
    plus = runner_argv(request_for(catalog.get("facere-plus"), tmp_path), Config())
    assert plus[plus.index("--output") + 1].endswith("facere+.npz")


def test_environment_is_sanitized(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    monkeypatch.setenv("PYTHONHOME", "/bad/home")
    own = runner_environment(Path(sys.executable))
    assert own["PYTHONPATH"] == str(paths.runners_dir()) and "PYTHONHOME" not in own
    assert "PYTHONNOUSERSITE" not in own  # the app itself may live in the user site
    other = runner_environment(Path("/envs/amrcnn/bin/python"))
    assert other["PYTHONNOUSERSITE"] == "1" and other["PYTHONPATH"] == str(paths.runners_dir())


def test_a_real_run_streams_typed_events_ending_in_finished(tmp_path):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=2)
    request = request_for(FACERE, tmp_path)
    for index in range(3):
        write_image(request.images / f"{index}.jpg", seed=index)
    request.out_dir.mkdir()
    events = list(Job.start(request, Config()).events())
    started = next(e for e in events if isinstance(e, Started))
    assert started.total == 3 and started.providers
    assert [e.done for e in events if isinstance(e, Progress)] == [1, 2, 3]
    assert any(isinstance(e, LogLine) and e.source == "stderr" and "wrote" in e.message for e in events)
    assert isinstance(events[-1], Finished) and events[-1].output == request.output and request.output.exists()
    assert not active_jobs()


def test_runner_sees_the_sanitized_environment(tmp_path, fake_runners, monkeypatch):
    monkeypatch.setenv("PYTHONHOME", sys.base_prefix)  # harmless for the child, but must not reach it
    model = fake_runners("envprobe.py", """
        import json, os, sys
        print(json.dumps({"event": "log", "message": json.dumps({k: os.environ.get(k) for k in ("PYTHONPATH", "PYTHONHOME")})}))
        print(json.dumps({"event": "done", "output": "x.npz", "images": 0, "detections": 0, "seconds": 0}))
    """)
    events = list(Job.start(request_for(model, tmp_path), Config()).events())
    seen = json.loads(next(e.message for e in events if isinstance(e, LogLine) and e.source == "runner"))
    assert seen == {"PYTHONPATH": str(paths.runners_dir()), "PYTHONHOME": None}


@pytest.mark.parametrize("ending, expected", [
    ("sys.exit(3)", "exited with code 3 without finishing (last output: loading the model)"),
    ("os.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL without finishing"),
])
def test_a_runner_that_dies_without_a_final_event_becomes_a_clear_error(tmp_path, fake_runners, ending, expected):
    model = fake_runners("crash.py", f"""
        import json, os, signal, sys
        print(json.dumps({{"event": "start", "model": "facere", "total": 3, "providers": []}}), flush=True)
        print("loading the model", file=sys.stderr, flush=True)
        {ending}
    """)
    events = list(Job.start(request_for(model, tmp_path), Config()).events())
    # stdout and stderr are read by two threads: the stderr line may come first
    assert any(isinstance(e, Started) for e in events[:-1])
    last = events[-1]
    assert isinstance(last, Failed) and not last.cancelled
    assert expected in last.message and last.raw == {"event": "error", "message": last.message}


def test_the_runners_own_error_event_is_the_one_reported(tmp_path, fake_runners):
    model = fake_runners("fails.py", """
        import json, sys
        print(json.dumps({"event": "error", "message": "no images in /x"}))
        sys.exit(1)
    """)
    events = list(Job.start(request_for(model, tmp_path), Config()).events())
    assert [type(e) for e in events] == [Failed]
    assert events[0].message == "no images in /x" and events[0].returncode == 1


def test_stop_escalates_to_sigkill_and_takes_the_whole_process_group(tmp_path, fake_runners):
    model = fake_runners("stubborn.py", """
        import json, signal, subprocess, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "60"])
        print(json.dumps({"event": "log", "message": str(child.pid)}), flush=True)
        time.sleep(60)
    """)
    job = Job.start(request_for(model, tmp_path), Config())
    events = job.events()
    child_pid = int(next(e.message for e in events if isinstance(e, LogLine) and e.source == "runner"))
    started = time.monotonic()
    job.stop(sigint_grace=0.3, sigterm_grace=0.3)
    remaining = list(events)
    assert time.monotonic() - started < 10
    assert isinstance(remaining[-1], Failed) and remaining[-1].cancelled
    assert remaining[-1].returncode == -9
    deadline = time.monotonic() + 5
    while pid_exists(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_exists(job.pid) and not pid_exists(child_pid)


def test_cancel_stops_a_real_runner_after_the_image_in_flight(tmp_path):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=3, backbone_layers=6, backbone_channels=48)
    request = request_for(FACERE, tmp_path)
    for index in range(12):
        write_image(request.images / f"{index:02}.jpg", size=(320, 240), seed=index)
    request.out_dir.mkdir()
    job = Job.start(request, Config())
    seen = []
    for event in job.events():
        seen.append(event)
        if isinstance(event, Progress) and event.done == 1:
            job.cancel()
    last = seen[-1]
    assert isinstance(last, Failed) and last.cancelled and last.returncode == 130
    assert "rerun the same command to resume" in last.message
    assert sum(isinstance(e, Progress) for e in seen) < 12
    assert not request.output.exists() and not pid_exists(job.pid)

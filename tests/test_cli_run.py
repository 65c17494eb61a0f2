"""`fashionfail-tui run`: exit codes, one-line messages, --json, the output file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.helpers.gate import Gate, hold_runner_in_commands
from tests.helpers.images import write_corrupt_image, write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tests.helpers.processes import children, gone
from tui import paths
from tui.commands import main


@pytest.fixture
def workspace(tmp_path):
    build_maskrcnn_like(tmp_path / "m.onnx", detections=3)
    for index in range(3):
        write_image(tmp_path / "images" / f"{index}.jpg", seed=index)
    (tmp_path / "empty").mkdir()
    return tmp_path


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fashionfail-tui: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


def test_json_prints_the_runners_events_and_writes_model_npz(workspace, capsys):
    code, out, err = run_cli(capsys, "facere", "--images", workspace / "images", "--out", workspace / "out",
                             "--model-file", workspace / "m.onnx", "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert [e["done"] for e in events if e["event"] == "progress"] == [1, 2, 3]
    assert events[-1]["output"] == str(workspace / "out" / "facere.npz")
    with np.load(workspace / "out" / "facere.npz") as archive:
        assert json.loads(str(archive["meta"]))["images"] == 3


def test_without_json_one_summary_line(workspace, capsys):
    code, out, _ = run_cli(capsys, "facere-plus", "--images", workspace / "images", "--out", workspace / "new" / "dir",
                           "--model-file", workspace / "m.onnx", "--device", "cpu", "--score-threshold", "0.2")
    assert code == 0
    output = workspace / "new" / "dir" / "facere+.npz"
    assert out.strip().splitlines() == [out.strip()]
    assert out.startswith("facere+: 3 images, ") and out.strip().endswith(f"-> {output}")
    with np.load(output) as archive:
        assert json.loads(str(archive["meta"]))["score_threshold"] == 0.2


def test_the_config_file_names_the_checkpoint_when_no_model_file_is_given(workspace, capsys):
    paths.config_file().write_text(f'[models.facere]\nfile = "{workspace / "m.onnx"}"\n')
    code, out, _ = run_cli(capsys, "facere", "--images", workspace / "images", "--out", workspace / "out", "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["event"] == "done"


@pytest.mark.parametrize("argv, code, fragments", [
    (["nope", "--images", "{ws}/images", "--out", "{ws}/out"], 2, ["unknown model 'nope'", "facere+"]),
    (["facere", "--images", "{ws}/missing", "--out", "{ws}/out", "--model-file", "{ws}/m.onnx"], 2,
     ["image folder", "missing does not exist"]),
    (["facere", "--images", "{ws}/empty", "--out", "{ws}/out", "--model-file", "{ws}/m.onnx"], 2,
     ["no images (.jpg, .jpeg, .png, .webp, .bmp) in", "empty"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/out", "--model-file", "{ws}/nothing.onnx"], 2,
     ["model file", "nothing.onnx does not exist"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/out", "--model-file", "{ws}/images/0.jpg"], 2,
     ["0.jpg is not a valid ONNX model"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/out", "--model-file", "{ws}/identity.onnx"], 2,
     ["does not look like a Facere model", "four outputs"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/m.onnx/sub", "--model-file", "{ws}/m.onnx"], 2,
     ["cannot write to output folder", "m.onnx/sub"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/m.onnx", "--model-file", "{ws}/m.onnx"], 2,
     ["output folder", "m.onnx is a file, not a folder"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/out"], 2,
     ["facere's checkpoint", "facere_base.onnx is missing", "--model-file"]),
    (["amrcnn-spine", "--images", "{ws}/images", "--out", "{ws}/out"], 2,
     ["amrcnn-spine's checkpoint", "model.ckpt.index is missing", "run `fashionfail-tui fetch amrcnn-spine`"]),
    (["facere", "--images", "{ws}/images", "--out", "{ws}/out", "--model-file", "{ws}/m.onnx",
      "--score-threshold", "1.5"], 2, ["--score-threshold must be between 0 and 1"]),
])
def test_bad_input_is_one_line_and_an_exit_code(workspace, capsys, argv, code, fragments):
    identity = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(identity), str(workspace / "identity.onnx"))
    result, out, err = run_cli(capsys, *(a.format(ws=workspace) for a in argv))
    assert result == code
    assert_one_line_error(err, *fragments)
    assert "Traceback" not in out + err
    assert not (workspace / "out").exists() or not list((workspace / "out").glob("*.npz"))


def test_json_errors_end_the_stream_with_an_error_event(workspace, capsys):
    for images in ("missing", "empty"):
        code, out, _ = run_cli(capsys, "facere", "--images", workspace / images, "--out", workspace / "out",
                               "--model-file", workspace / "m.onnx", "--json")
        assert code != 0
        last = json.loads(out.strip().splitlines()[-1])
        assert last["event"] == "error" and images in last["message"]


def test_the_installed_entry_point_runs_headless(workspace):
    """The real command line, as a user types it (through `python -m tui`)."""
    done = subprocess.run([sys.executable, "-m", "tui", "run", "facere", "--images", str(workspace / "images"),
                           "--out", str(workspace / "out"), "--model-file", str(workspace / "m.onnx")],
                          capture_output=True, text=True, timeout=120, cwd=paths.runners_dir().parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("facere: 3 images, 9 detections in ")
    help_text = subprocess.run([sys.executable, "-m", "tui", "run", "--help"], capture_output=True, text=True,
                               cwd=paths.runners_dir().parent).stdout
    assert "<out>/<model-name>.npz" in help_text


def start_held_json_run(workspace) -> tuple[subprocess.Popen, Gate]:
    """`fashionfail-tui run ... --json` over 12 images, its runner held after the first until the gate opens."""
    for index in range(3, 12):
        write_image(workspace / "images" / f"{index}.jpg", size=(320, 240), seed=index)
    gate, gated = hold_runner_in_commands(workspace, "facere", after=1)
    process = subprocess.Popen([sys.executable, "-m", "tui", "run", "facere", "--images", str(workspace / "images"),
                                "--out", str(workspace / "out"), "--model-file", str(workspace / "m.onnx"), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=paths.runners_dir().parent, env={**os.environ, **gated})
    return process, gate


def test_json_reader_going_away_stops_the_runner_without_a_traceback(workspace):
    """`... --json | head -1`: the runner is cancelled, what it finished is kept for a rerun."""
    process, gate = start_held_json_run(workspace)
    assert json.loads(process.stdout.readline())["event"] == "start"
    process.stdout.close()  # the command finds out when it writes image 1's progress, and cancels its runner
    gate.wait_signalled()
    gate.open()
    stderr = process.stderr.read()
    code = process.wait(timeout=60)
    assert "Traceback" not in stderr
    assert code == 130 and "rerun the same command to resume" in stderr.strip().splitlines()[-1]
    assert (workspace / "out" / "facere.npz.journal").exists()


def test_ctrl_c_cancels_keeps_what_is_done_and_ends_the_json_stream_with_an_error(workspace):
    """Ctrl+C on the command (SIGINT to the CLI, not the runner): a clean `error` event, exit 130."""
    process, gate = start_held_json_run(workspace)
    while json.loads(process.stdout.readline())["event"] != "progress":
        pass
    process.send_signal(signal.SIGINT)
    gate.wait_signalled()
    gate.open()
    rest = process.stdout.read()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert "Traceback" not in stderr
    last = json.loads(rest.strip().splitlines()[-1])
    assert last["event"] == "error" and "rerun the same command to resume" in last["message"]
    assert (workspace / "out" / "facere.npz.journal").exists()


def test_a_folder_whose_only_image_cannot_be_read_is_input_to_fix_not_done(workspace, capsys):
    """Not "facere: 0 images (1 skipped)" and exit 0: nothing was done, and no empty output passes for a result."""
    write_corrupt_image(workspace / "broken" / "photo.jpg")
    code, out, err = run_cli(capsys, "facere", "--images", workspace / "broken", "--out", workspace / "out",
                             "--model-file", workspace / "m.onnx")
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("fashionfail-tui: error: no image could be read: photo.jpg (")
    assert last.endswith("); replace or remove it and rerun")
    assert not (workspace / "out" / "facere.npz").exists()
    code, out, _ = run_cli(capsys, "facere", "--images", workspace / "broken", "--out", workspace / "out",
                           "--model-file", workspace / "m.onnx", "--json")
    assert code == 2 and json.loads(out.splitlines()[-1])["event"] == "error"
    write_image(workspace / "broken" / "good.jpg")  # one readable image: done, the broken one skipped
    code, out, _ = run_cli(capsys, "facere", "--images", workspace / "broken", "--out", workspace / "out",
                           "--model-file", workspace / "m.onnx")
    assert code == 0 and out.startswith("facere: 1 image, 3 detections, 1 skipped in ")


def test_another_run_writing_the_output_is_its_own_status(workspace, capsys):
    """75 (sysexits' EX_TEMPFAIL): nothing is wrong with the input; try again once the other run has ended."""
    import fcntl

    (workspace / "out").mkdir()
    with open(workspace / "out" / "facere.npz.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli(capsys, "facere", "--images", workspace / "images", "--out", workspace / "out",
                               "--model-file", workspace / "m.onnx")
    assert code == 75
    assert err.strip().splitlines()[-1] == (f"fashionfail-tui: error: another run is writing {workspace / 'out' / 'facere.npz'}"
                                            " right now; wait for it to end or cancel it")


def test_a_missing_config_file_override_points_at_the_config_not_at_fetch(workspace, capsys):
    paths.config_file().write_text(f'[models.facere]\nfile = "{workspace / "gone.onnx"}"\n')
    result, _, err = run_cli(capsys, "facere", "--images", workspace / "images", "--out", workspace / "out")
    assert result == 2
    assert_one_line_error(err, f"facere's model file {workspace / 'gone.onnx'} (the [models.facere] file of "
                               f"{paths.config_file()}) does not exist; fix it there or pass --model-file")


def test_an_output_of_another_run_is_kept_unless_overwrite_says_otherwise(workspace, capsys):
    """The 8-image result replaced by a 1-image one, silently, in issue 16: now one line and exit 2,
    the file byte for byte as it was; the same images with the same model file go on as before."""
    build_maskrcnn_like(workspace / "other.onnx", detections=2)
    write_image(workspace / "one" / "z.jpg", seed=9)
    output = workspace / "out" / "facere.npz"
    first = ["facere", "--images", workspace / "images", "--out", workspace / "out", "--model-file", workspace / "m.onnx"]
    assert run_cli(capsys, *first)[0] == 0
    kept = output.read_bytes()

    def refused(*argv, because):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == ""
        assert_one_line_error(err, str(output), "3 images", because, "; pass --overwrite to replace it")
        assert output.read_bytes() == kept
        assert sorted(p.name for p in output.parent.iterdir()) == ["facere.npz"]  # no journal, no lock: never started

    refused("facere", "--images", workspace / "one", "--out", workspace / "out", "--model-file", workspace / "m.onnx",
            because=f"over other images ({workspace / 'images'})")
    refused(*first[:-1], workspace / "other.onnx", because=f"with another model file ({workspace / 'm.onnx'})")
    write_image(workspace / "images" / "3.jpg", seed=3)  # the same folder, other images in it
    refused(*first, because=f"over the images {workspace / 'images'} held then")
    (workspace / "images" / "3.jpg").unlink()

    assert run_cli(capsys, *first)[0] == 0  # the same run again: redone in place, no question

    code, _, _ = run_cli(capsys, "facere", "--images", workspace / "one", "--out", workspace / "out",
                         "--model-file", workspace / "m.onnx", "--overwrite")
    assert code == 0
    with np.load(output) as archive:
        assert json.loads(str(archive["meta"]))["images"] == 1

    output.write_bytes(b"my own notes")  # not a prediction file at all
    code, _, err = run_cli(capsys, *first)
    assert code == 2 and output.read_bytes() == b"my own notes"
    assert_one_line_error(err, "is not a prediction file of this app's runs", "--overwrite")


# ---- the command stopped by a signal: its runner must not outlive it -------------------------

def _runner_of_a_run_in_progress(workspace) -> tuple[subprocess.Popen, int, Gate]:
    process, gate = start_held_json_run(workspace)
    while json.loads(process.stdout.readline())["event"] != "progress":
        pass
    runners = children(process.pid)
    assert len(runners) == 1
    return process, runners[0], gate


def _rerun_finishes(workspace) -> None:
    """The same command at once: the output's lock is free, the journal resumes, all 12 images land."""
    done = subprocess.run([sys.executable, "-m", "tui", "run", "facere", "--images", str(workspace / "images"),
                           "--out", str(workspace / "out"), "--model-file", str(workspace / "m.onnx")],
                          capture_output=True, text=True, timeout=120, cwd=paths.runners_dir().parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("facere: 12 images")


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_cancels_like_ctrl_c_and_waits_for_the_runner(workspace, number):
    process, runner, gate = _runner_of_a_run_in_progress(workspace)
    process.send_signal(number)
    gate.wait_signalled()
    gate.open()
    rest = process.stdout.read()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert gone(runner), "the command exited before its runner"
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("fashionfail-tui: error: ")
    last = json.loads(rest.strip().splitlines()[-1])
    assert last["event"] == "error" and "rerun the same command to resume" in last["message"]
    _rerun_finishes(workspace)


def test_sigkill_of_the_command_stops_its_runner_and_frees_the_output(workspace):
    process, runner, gate = _runner_of_a_run_in_progress(workspace)
    process.kill()
    gate.open()  # no signal reaches the runner: it sees its parent gone and stops after the image it holds
    process.wait(timeout=10)
    assert gone(runner, within=15)
    _rerun_finishes(workspace)


@pytest.mark.parametrize("command", [["run", "facere"], ["compare", "--models", "facere"],
                                     ["cluster", "submit", "facere", "--shards", "2", "--dry-run"]])
def test_an_empty_image_folder_is_input_to_fix_for_every_command_that_runs(workspace, capsys, command):
    paths.config_file().write_text(f'[models.facere]\nfile = "{workspace / "m.onnx"}"\n')
    code = main([*command, "--images", str(workspace / "empty"), "--out", str(workspace / "out")])
    assert code == 2
    assert_one_line_error(capsys.readouterr().err, f"no images (.jpg, .jpeg, .png, .webp, .bmp) in {workspace / 'empty'}")

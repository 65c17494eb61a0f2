"""`fashionfail-tui compare`: two real ONNX models (facere and facere+ named in the config) in one queue,
the paper's table equal to `eval`'s, comparison.json and report.html, unready models skipped, reruns
reusing outputs, and Ctrl+C / SIGTERM mid-queue keeping what is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from evaluation_data import write_annotations
from tests.helpers.comparison import IMAGE_SIZE, annotations_from, make_workspace, slow_facere_plus
from tests.helpers.gate import hold_runner_in_commands
from tests.helpers.images import write_image
from tui import paths
from tui.commands import main
from tui.evaluation.report import paper_table, paper_table_text
from tui.predictions import load_predictions


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path)


def compare(capsys, *argv) -> tuple[int, str, str]:
    code = main(["compare", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def events_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fashionfail-tui: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_without_annotations_the_models_run_and_it_says_how_to_evaluate_later(workspace, capsys):
    code, out, _ = compare(capsys, "--images", workspace / "images", "--out", workspace / "out", "--json")
    assert code == 0
    events = events_of(out)
    queue = events[0]
    assert queue["event"] == "queue"
    assert [(m["model"], m["state"]) for m in queue["models"]] == [("facere", "run"), ("facere+", "run")]
    skipped = {s["model"]: s["missing"] for s in queue["skipped"]}
    assert set(skipped) == {"amrcnn-spine", "amrcnn-r50-fpn", "fformer-swin", "fformer-r50-fpn"}
    assert {"what": "checkpoint (fashionpedia-spinenet-143.tar.gz)", "fix": "fashionfail-tui fetch amrcnn-spine"} \
        in skipped["amrcnn-spine"]
    runs = [(e["model"], e["event"]) for e in events if e["event"] in ("start", "done")]
    assert runs == [("facere", "start"), ("facere", "done"), ("facere+", "start"), ("facere+", "done")]
    assert [e["model"] for e in events if e["event"] == "progress"] == ["facere"] * 4 + ["facere+"] * 4
    assert events[-2]["event"] == "queue_end" and not events[-2]["cancelled"]
    final = events[-1]
    assert final["event"] == "comparison" and final["annotations"] is None
    assert "fashionfail-tui dataset fetch --split test" in final["message"]
    assert [(m["model"], m["file"]) for m in final["models"]] == [
        ("facere", str(workspace / "out" / "facere.npz")), ("facere+", str(workspace / "out" / "facere+.npz"))]
    assert not (workspace / "out" / "comparison.json").exists()


def test_the_table_equals_eval_per_file_and_a_rerun_reuses_the_outputs(workspace, capsys, monkeypatch):
    out_dir = workspace / "out"
    assert compare(capsys, "--images", workspace / "images", "--out", out_dir, "--models", "facere,facere+")[0] == 0
    anns = annotations_from(out_dir / "facere.npz", workspace / "anns.json")
    outputs = [out_dir / "facere.npz", out_dir / "facere+.npz"]
    stamps = [o.stat().st_mtime_ns for o in outputs]

    code, out, _ = compare(capsys, "--images", workspace / "images", "--out", out_dir, "--anns", anns,
                           "--models", "ready", "--json")
    assert code == 0
    events = events_of(out)
    assert events[0]["skipped"] == []  # `ready` leaves the unready out quietly
    assert [(e["event"], e.get("model")) for e in events[1:3]] == [("reused", "facere"), ("reused", "facere+")]
    assert not [e for e in events if e["event"] in ("start", "progress")]
    assert [o.stat().st_mtime_ns for o in outputs] == stamps

    written = json.loads((out_dir / "comparison.json").read_text())
    assert events[-1] == {"event": "comparison", **written, "comparison_file": str(out_dir / "comparison.json"),
                          "report_file": str(out_dir / "report.html")}
    assert written["annotations"] == str(anns)
    assert [(m["model"], m["file"]) for m in written["models"]] == [("facere", str(outputs[0])),
                                                                      ("facere+", str(outputs[1]))]
    assert main(["eval", *map(str, outputs), "--anns", str(anns), "--json"]) == 0
    by_eval = json.loads(capsys.readouterr().out)["results"]
    compared = [result for model in written["models"] for result in model["results"]]
    assert [{k: v for k, v in r.items() if k != "from_cache"} for r in compared] == \
        [{k: v for k, v in r.items() if k != "from_cache"} for r in by_eval]
    assert compared[0]["mAP_w50"] == pytest.approx(1.0) and compared[2]["mAP_w50"] < 0.5  # facere drew the answers

    report = (out_dir / "report.html").read_text()
    assert "The paper&#x27;s table" in report or "The paper's table" in report
    assert report.count("data:image/jpeg;base64,") >= 3  # failure cases drawn: ground truth and both models

    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = compare(capsys, "--images", workspace / "images", "--out", out_dir, "--anns", anns)
    assert code == 0
    assert f"facere: reusing {outputs[0]}" in out and f"facere+: reusing {outputs[1]}" in out
    assert paper_table_text(paper_table(written)) in out
    assert f"wrote {out_dir / 'comparison.json'} and {out_dir / 'report.html'}" in out
    assert "skipped amrcnn-spine: needs " in err and "fix: fashionfail-tui env create amrcnn" in err


def test_an_output_of_other_images_is_kept_unless_overwrite_says_otherwise(workspace, capsys):
    out_dir = workspace / "out"
    assert compare(capsys, "--images", workspace / "images", "--out", out_dir, "--models", "facere")[0] == 0
    before = (out_dir / "facere.npz").read_bytes()
    write_image(workspace / "images" / "4.jpg", size=IMAGE_SIZE, seed=4)
    code, _, err = compare(capsys, "--images", workspace / "images", "--out", out_dir, "--models", "facere")
    assert code == 2 and (out_dir / "facere.npz").read_bytes() == before
    assert_one_line_error(err, "facere.npz holds another run's predictions for 4 images", "--overwrite")
    code, out, _ = compare(capsys, "--images", workspace / "images", "--out", out_dir, "--models", "facere",
                           "--overwrite", "--json")
    assert code == 0
    assert events_of(out)[0]["models"] == [{"model": "facere", "output": str(out_dir / "facere.npz"), "state": "run"}]
    assert len(load_predictions(out_dir / "facere.npz").images) == 5


def test_an_unready_model_named_is_listed_with_its_fix_and_skipped(workspace, capsys):
    (workspace / "facere-plus.onnx").unlink()
    code, out, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out",
                             "--models", "facere+,facere,amrcnn-spine")
    assert code == 0
    assert out.startswith("facere: 4 images, 16 detections in ")
    assert f"skipped facere+: needs checkpoint ({workspace / 'facere-plus.onnx'}); fix: put the file there or fix " \
           f"[models.facere+] file in {paths.config_file()}" in err
    assert "skipped amrcnn-spine: needs environment 'amrcnn' (missing), checkpoint (fashionpedia-spinenet-143.tar.gz)" \
        in err and "fix: fashionfail-tui env create amrcnn, then fashionfail-tui fetch amrcnn-spine" in err
    assert not (workspace / "out" / "facere+.npz").exists()


def test_a_model_file_that_is_not_a_facere_model_is_skipped_with_the_reason(workspace, capsys):
    (workspace / "facere-plus.onnx").write_bytes(b"not onnx")
    code, out, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out",
                             "--models", "facere,facere+", "--json")
    assert code == 0
    skipped = events_of(out)[0]["skipped"]
    assert skipped == [{"model": "facere+", "missing": [
        {"what": f"model file {workspace / 'facere-plus.onnx'} is not a valid ONNX model (DecodeError)", "fix": ""}]}]


@pytest.mark.parametrize("argv, fragments", [
    (["--models", "amrcnn-spine"], ["no chosen model can run: amrcnn-spine needs environment 'amrcnn' (missing)",
                                    "fix: fashionfail-tui env create amrcnn, then fashionfail-tui fetch amrcnn-spine"]),
    (["--models", "nope"], ["unknown model 'nope'"]),
    (["--models", " , "], ["--models needs all, ready or model names separated by commas"]),
    (["--anns", "{ws}/missing.json"], ["annotation file", "missing.json: does not exist"]),
    (["--anns", "{ws}/images/0.jpg"], ["0.jpg"]),
    (["--out", "{ws}/facere.onnx"], ["output folder", "facere.onnx is a file, not a folder"]),
])
def test_bad_input_is_one_line_exit_2_and_nothing_runs(workspace, capsys, argv, fragments):
    code, out, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out",
                             *(a.format(ws=workspace) for a in argv))
    assert code == 2
    assert_one_line_error(err, *fragments)
    assert not list(workspace.glob("out/*.npz"))


@pytest.mark.parametrize("images, fragment", [("missing", "image folder {ws}/missing does not exist"),
                                              ("empty", "no images (.jpg, .jpeg, .png, .webp, .bmp) in {ws}/empty")])
def test_an_image_folder_without_images_is_one_line(workspace, capsys, images, fragment):
    (workspace / "empty").mkdir()
    code, out, err = compare(capsys, "--images", workspace / images, "--out", workspace / "out", "--json")
    assert code == 2
    assert_one_line_error(err, fragment.format(ws=workspace))
    assert events_of(out) == [{"event": "error", "message": err.strip().removeprefix("fashionfail-tui: error: ")}]


def test_no_model_ready_at_all_says_where_to_look(workspace, capsys):
    paths.config_file().unlink()
    code, _, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out", "--models", "ready")
    assert code == 2
    assert_one_line_error(err, "no model is ready to run; `fashionfail-tui doctor` says what each needs")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_queue_keeps_finished_outputs_exits_130_and_a_rerun_resumes(workspace, number):
    """facere finishes; facere+ is cancelled after its first image (held there); nothing is evaluated."""
    slow_facere_plus(workspace)
    anns = write_annotations(workspace / "anns.json", {f"{i}.jpg": [(0, (1, 1, 20, 20))] for i in range(4)},
                             size=IMAGE_SIZE[::-1])
    argv = [sys.executable, "-m", "tui", "compare", "--images", str(workspace / "images"), "--out",
            str(workspace / "out"), "--models", "facere,facere+", "--anns", str(anns), "--json"]
    gate, gated = hold_runner_in_commands(workspace, "facere+", after=1)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=paths.runners_dir().parent, env={**os.environ, **gated})
    while (event := json.loads(process.stdout.readline()))["event"] != "progress" or event["model"] != "facere+":
        pass
    process.send_signal(number)
    gate.wait_signalled()
    gate.open()
    rest = events_of(process.stdout.read())
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert "Traceback" not in stderr
    assert rest[-2]["event"] == "queue_end" and rest[-2]["cancelled"]
    assert rest[-2]["finished"] == [{"model": "facere", "output": str(workspace / "out" / "facere.npz")}]
    assert rest[-2]["not_run"] == ["facere+"]
    assert rest[-1]["event"] == "error" and "rerun the same command to resume" in rest[-1]["message"]
    assert (workspace / "out" / "facere.npz").is_file() and (workspace / "out" / "facere+.npz.journal").is_file()
    assert not (workspace / "out" / "comparison.json").exists()

    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=paths.runners_dir().parent)
    assert rerun.returncode == 0, rerun.stderr
    events = events_of(rerun.stdout)
    assert events[1] == {"event": "reused", "model": "facere", "output": str(workspace / "out" / "facere.npz")}
    start = next(e for e in events if e["event"] == "start")
    assert start["model"] == "facere+" and start["resumed"] >= 1
    assert events[-1]["event"] == "comparison" and (workspace / "out" / "comparison.json").is_file()


def test_a_damaged_output_in_the_folder_is_run_over_only_with_overwrite(workspace, capsys):
    (workspace / "out").mkdir()
    (workspace / "out" / "facere.npz").write_bytes(b"PK\x03\x04 not a whole zip")
    argv = ["--images", workspace / "images", "--out", workspace / "out", "--models", "facere", "--json"]
    code, out, _ = compare(capsys, *argv)
    assert code == 2 and events_of(out)[-1]["event"] == "error" and "--overwrite" in events_of(out)[-1]["message"]
    assert (workspace / "out" / "facere.npz").read_bytes() == b"PK\x03\x04 not a whole zip"
    code, out, _ = compare(capsys, *argv, "--overwrite")
    assert code == 0
    assert events_of(out)[0]["models"][0]["state"] == "run"
    assert len(load_predictions(workspace / "out" / "facere.npz").images) == 4


def test_a_comparison_file_that_cannot_be_written_is_one_line_and_the_outputs_stay(workspace, capsys):
    anns = write_annotations(workspace / "anns.json", {"0.jpg": [(0, (1, 1, 20, 20))]}, size=IMAGE_SIZE[::-1])
    (workspace / "out" / "comparison.json").mkdir(parents=True)
    code, _, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out", "--anns", anns)
    assert code == 2
    assert_one_line_error(err.splitlines()[-1], f"cannot write {workspace / 'out' / 'comparison.json'}")
    assert (workspace / "out" / "facere.npz").is_file() and (workspace / "out" / "facere+.npz").is_file()


def test_a_folder_of_images_no_model_can_read_exits_2_naming_them(workspace, capsys):
    """Each model fails alike (input to fix), so the command exits as `run` would: 2, not 1."""
    from tests.helpers.images import write_corrupt_image

    write_corrupt_image(workspace / "unreadable" / "photo.jpg")
    code, _, err = compare(capsys, "--images", workspace / "unreadable", "--out", workspace / "out", "--models", "ready")
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("fashionfail-tui: error: facere failed: no image could be read: photo.jpg (")
    assert "; facere+ failed: no image could be read: photo.jpg (" in last
    (workspace / "empty-folder").mkdir()
    code, _, err = compare(capsys, "--images", workspace / "empty-folder", "--out", workspace / "out")
    assert code == 2 and err.strip().endswith(f"no images (.jpg, .jpeg, .png, .webp, .bmp) in {workspace / 'empty-folder'}")

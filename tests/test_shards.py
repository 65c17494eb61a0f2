"""`run --shard I/N` and `merge`, for real: the Facere runner on generated ONNX models, through the CLI."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.gate import hold_runner_in_commands
from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tests.helpers.runs import ROOT, assert_same_records, cli, load_predictions as load, single_run_workload
from tui.commands import main
RUN_SPECIFIC = ("started", "finished", "host")
"""Meta fields that differ between any two runs, sharded or not."""








@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    root = single_run_workload(tmp_path_factory.mktemp("workload"), images=10, detections=4)
    model = root / "model.onnx"
    for index in range(3):
        cli("run", "facere", "--images", root / "images", "--out", root / "shards", "--model-file", model,
            "--shard", f"{index}/3")
    return root


def shard_files(root: Path) -> list[Path]:
    return sorted((root / "shards").glob("facere.shard-*-of-003.npz"))


def test_shards_split_the_sorted_images_and_merge_to_the_single_run(workload, tmp_path):
    files = shard_files(workload)
    assert [f.name for f in files] == [f"facere.shard-00{i}-of-003.npz" for i in range(3)]
    assert [[r["image_file"] for r in load(f)[0]] for f in files] == [
        ["img00.jpg", "img01.jpg", "img02.jpg"], ["img03.jpg", "img04.jpg", "img05.jpg"],
        ["img06.jpg", "img07.jpg", "img08.jpg", "img09.jpg"]]

    merged = tmp_path / "facere.npz"
    result = cli("merge", *reversed(files), "--out", merged)  # any order
    assert result.stdout.strip() == f"merged 3 shards into {merged}"
    records, meta = load(merged)
    single_records, single_meta = load(workload / "single" / "facere.npz")
    assert_same_records(records, single_records)
    for key in single_meta.keys() - {*RUN_SPECIFIC, "timings"}:
        assert meta[key] == single_meta[key], key
    assert list(meta["timings"]) == list(single_meta["timings"])
    assert [s["shard"] for s in meta["shards"]] == [{"index": i, "count": 3} for i in range(3)]
    assert [s["images"] for s in meta["shards"]] == [3, 3, 4]
    assert meta["started"] == min(s["started"] for s in meta["shards"])


def test_merge_refuses_missing_and_duplicate_shards(workload, tmp_path):
    first, second, third = shard_files(workload)
    missing = cli("merge", first, third, "--out", tmp_path / "m.npz", check=False)
    assert missing.returncode == 2
    assert missing.stderr == "fashionfail-tui: error: missing 1 of 3 shards: facere.shard-001-of-003.npz\n"
    copy = tmp_path / "copy.npz"
    copy.write_bytes(second.read_bytes())
    duplicate = cli("merge", first, second, copy, third, "--out", tmp_path / "m.npz", check=False)
    assert duplicate.returncode == 2
    assert "shard 1/3 given twice: facere.shard-001-of-003.npz and copy.npz" in duplicate.stderr
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("change, field", [
    ("threshold", "score_threshold"), ("model", "model_file"), ("images", "image_set"), ("count", "shard counts")])
def test_merge_refuses_a_shard_of_another_run(workload, tmp_path, change, field):
    """A shard 1 made with one setting changed cannot replace the real shard 1."""
    images, model, shard = workload / "images", workload / "model.onnx", "1/3"
    extra: list = []
    if change == "threshold":
        extra = ["--score-threshold", "0.5"]
    elif change == "model":
        model = build_maskrcnn_like(tmp_path / "other.onnx", detections=4)
    elif change == "images":
        images = tmp_path / "images"
        images.mkdir()
        for picture in (workload / "images").iterdir():
            (images / picture.name).symlink_to(picture)
        write_image(images / "img10.jpg", seed=10)
    else:
        shard = "1/2"
    cli("run", "facere", "--images", images, "--out", tmp_path / "other", "--model-file", model, "--shard", shard,
        *extra)
    (stranger,) = (tmp_path / "other").glob("facere.shard-*.npz")
    first, _, third = shard_files(workload)
    result = cli("merge", first, stranger, third, "--out", tmp_path / "m.npz", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert field in result.stderr and stranger.name in result.stderr


def test_merge_refuses_a_hostile_pickle_without_running_it(workload, tmp_path):
    """A 'shard' whose data pickle would call os.system: refused by name, nothing executed."""
    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    payload = io.BytesIO()
    np.lib.format.write_array_header_1_0(payload, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    pickle.dump([Hostile()], payload, protocol=3)
    hostile = tmp_path / "facere.shard-001-of-003.npz"
    meta = io.BytesIO()
    np.save(meta, np.array(json.dumps({"model": "facere", "shard": {"index": 1, "count": 3}})))
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("meta.npy", meta.getvalue())
        archive.writestr("data.npy", payload.getvalue())
    first, _, third = shard_files(workload)
    result = cli("merge", first, hostile, third, "--out", tmp_path / "m.npz", check=False)
    assert result.returncode == 2 and "refused to load" in result.stderr and "system" in result.stderr
    assert not marker.exists()


def runner_of(cli_pid: int) -> int:
    """The runner the CLI started: its child process (found in /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == cli_pid:
            return int(stat.parent.name)
    raise AssertionError(f"process {cli_pid} has no child")


def test_a_shard_resumes_on_its_own(tmp_path):
    """Cancelling the runner of shard 1/3 keeps its finished images (in its own journal, beside its own progress
    file); running that shard again does only the rest and ends equal to an uninterrupted shard."""
    model = build_maskrcnn_like(tmp_path / "slow.onnx", detections=4, backbone_layers=6, backbone_channels=48)
    for index in range(12):
        write_image(tmp_path / "images" / f"{index:02}.jpg", size=(320, 240), seed=index)
    args = ["run", "facere", "--images", tmp_path / "images", "--model-file", model, "--shard", "1/3", "--json"]
    gate, gated = hold_runner_in_commands(tmp_path, "facere", after=1)  # image 1 done, the runner waits
    process = subprocess.Popen([sys.executable, "-m", "tui", *map(str, args), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **gated}, cwd=ROOT)
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and events[-1]["done"] == 1:
            os.kill(runner_of(process.pid), signal.SIGINT)
            gate.wait_signalled()
            gate.open()
    assert process.wait(timeout=60) == 130, process.stderr.read()
    assert events[0]["total"] == 4
    shard_output = tmp_path / "out" / "facere.shard-001-of-003.npz"
    progress = json.loads(Path(f"{shard_output}.progress.json").read_text())
    assert progress["total"] == 4 and progress["resumed_from"] == 0
    assert Path(f"{shard_output}.journal").exists() and not shard_output.exists()

    resumed = [json.loads(line) for line in cli(*args, "--out", tmp_path / "out").stdout.splitlines()]
    assert resumed[0]["event"] == "start" and resumed[0]["resumed"] >= 1
    cli(*args, "--out", tmp_path / "clean")
    assert_same_records(load(shard_output)[0], load(tmp_path / "clean" / shard_output.name)[0])
    assert sorted(p.name for p in shard_output.parent.iterdir()) == [shard_output.name]


def test_shard_arguments_are_checked(workload, tmp_path):
    bad = cli("run", "facere", "--images", workload / "images", "--out", tmp_path, "--shard", "3/3", check=False)
    assert bad.returncode == 2
    assert bad.stderr == "fashionfail-tui: error: shard 3/3 does not exist: shards are numbered 0..N-1\n"
    too_many = cli("run", "facere", "--images", workload / "images", "--out", tmp_path, "--model-file",
                   workload / "model.onnx", "--shard", "0/11", check=False)
    assert too_many.returncode == 2  # input to fix, as every other shard argument
    assert too_many.stderr.strip().endswith("10 images cannot make 11 shards: use at most 10")


def test_merge_given_a_folder_says_to_pass_the_shard_files(tmp_path, capsys):
    assert main(["merge", str(tmp_path), "--out", str(tmp_path / "merged.npz")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"fashionfail-tui: error: {tmp_path} is a folder: pass its shard files, e.g. {tmp_path}/*.shard-*.npz")

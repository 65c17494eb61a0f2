"""Piped output (`eval | cat`, `models > file`): every table whole, each row on one line, as wide as its
content; COLUMNS, when set, is the width. (pytest's captured stdout is not a terminal, as a pipe is not.)"""

import os
import subprocess
import sys
from pathlib import Path

import pynvml
import pytest

import prediction_files as pf
from evaluation_data import perfect, write_annotations, write_facere_file
from failure_case import write_case
from gpu_standins import bin_dir, install_nvidia_smi, replay_pynvml  # noqa: F401 (bin_dir is a fixture)
from tui.commands import main

ROOT = Path(__file__).resolve().parents[1]
BOX = (10, 10, 50, 50)


@pytest.fixture(autouse=True)
def no_columns(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)


def printed(capsys, *argv, status=0) -> str:
    assert main(list(map(str, argv))) == status
    out = capsys.readouterr().out
    assert "…" not in out, "a cell was cut short"
    tables_are_whole(out)
    return out


def tables_are_whole(out: str) -> None:
    """Every row of every table starts and ends with its border and is as long as the table's top
    edge: no row is wrapped onto a second line."""
    width = None
    for line in out.splitlines():
        if line.startswith(("┏", "┌")):
            width = len(line)
        if line.startswith(("┃", "│", "┡", "├", "└")):
            assert len(line) == width and line.endswith(("┃", "│", "┩", "┤", "┘")), line


def row(out: str, first_cell: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(("│ ", "┃ ")) and
                line.split("│" if line.startswith("│") else "┃")[1].strip() == first_cell)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("│┃").split("│" if line.startswith("│") else "┃")]


def test_models_rows_say_every_gap_on_one_line(capsys):
    out = printed(capsys, "models")
    assert cells(row(out, "fformer-swin"))[-1] == \
        "missing: checkpoint (fashionformer_swin_b_3x.pth); environment 'fformer' (missing); source tree 'FashionFormer'"
    assert len(row(out, "fformer-swin")) > 100


def test_env_list_prefixes_and_notes_whole(capsys):
    out = printed(capsys, "env", "list")
    amrcnn_tf215 = cells(row(out, "amrcnn-tf215"))
    assert amrcnn_tf215[4] == "- (TensorFlow 2.15, not the paper's TensorFlow (2.11))"
    assert amrcnn_tf215[5] == os.path.join(os.environ["FASHIONFAIL_TUI_DATA_DIR"], "envs", "amrcnn-tf215")


def test_cache_and_dataset_status_name_their_folders_whole(tmp_path, capsys, monkeypatch):
    """Titles too: a long cache folder is wider than the tables, and once wrapped onto three lines."""
    monkeypatch.setenv("FASHIONFAIL_TUI_CACHE_DIR", str(tmp_path / ("a-cache-folder-with-a-long-name-" * 4)))
    out = printed(capsys, "cache")
    assert out.splitlines()[0].strip() == f"cache: {os.environ['FASHIONFAIL_TUI_CACHE_DIR']}"
    assert cells(row(out, "fformer-swin"))[1] == "fashionformer_swin_b_3x.pth"
    out = printed(capsys, "dataset", "status")
    assert out.splitlines()[0].strip() == f"FashionFail in {os.environ['FASHIONFAIL_TUI_CACHE_DIR']}"
    assert cells(row(out, "test"))[:2] == ["test", "missing"]


def test_eval_headings_and_numbers_whole(tmp_path, capsys):
    objects = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)]}
    anns = write_annotations(tmp_path / "anns.json", objects)
    long_name = write_facere_file(tmp_path / "facere.with-a-long-descriptive-name.npz", perfect(objects))
    out = printed(capsys, "eval", long_name, "--anns", anns, "--family", "facere", "--per-category")
    header = row(out, "model")
    assert cells(header) == ["model", "file", "mAP_w", "mAP_w@.50", "mAP_w@.75", "mAR_w top-1", "mAR_w top-100"]
    line = row(out, "facere")
    assert cells(line)[1] == "facere.with-a-long-descriptive-name.npz" and cells(line)[2:] == ["100.0 | 100.0"] * 5
    shirts = cells(row(out, "0"))  # --per-category's table
    assert shirts[1] == "shirt, blouse" and shirts[3:] == ["100.0", "100.0", "100.0", "2", "0", "0"]


def test_failures_tables_whole_with_a_column_per_model(tmp_path, capsys):
    anns, files = write_case(tmp_path)
    out = printed(capsys, "failures", *files, "--anns", anns, "--top", "1")
    captions = [line.strip() for line in out.splitlines() if line.strip().startswith("... and ")]
    assert "... and 3 more (--top N shows more, --json lists all)" in captions  # the caption, whole
    heading = row(out, "id")
    assert cells(heading)[5:] == ["facere", "fformer-swin", "amrcnn-spine"]
    assert "Per category; per model: objects found · false positives" in out


def test_inspect_summary_and_categories_whole(tmp_path, capsys):
    path = pf.write_npz(tmp_path / "a-prediction-file-with-a-name-longer-than-eighty-columns-of-any-terminal.npz", pf.facere_records())
    out = printed(capsys, "inspect", path)
    assert out.splitlines()[0] == str(path)
    assert cells(row(out, "category")) == ["category", "detections"]


def test_gpu_table_whole(monkeypatch, bin_dir, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", replay_pynvml(init_error=pynvml.NVMLError_LibraryNotFound))
    install_nvidia_smi(bin_dir, "load")
    out = printed(capsys, "gpu")
    gpu = next(line for line in out.splitlines() if "NVIDIA H200" in line)
    assert gpu.split() == ["0", "NVIDIA", "H200", "98%", "23%", "21.0/140.4", "GiB", "61", "C", "692/700", "W",
                           "1455", "P0", "n/a"]


def test_doctor_lines_are_not_wrapped(capsys):
    out = printed(capsys, "doctor", "fformer-swin", status=1)
    assert "    fix: fashionfail-tui fetch fformer-swin --from PATH/fashionformer_swin_b_3x.pth (from " in out
    assert all(line.startswith(("fformer-swin: ", "  ")) for line in out.splitlines())


def test_a_real_pipe_gets_whole_rows_and_columns_is_respected():
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped = subprocess.run([sys.executable, "-m", "tui", "models"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert piped.returncode == 0
    tables_are_whole(piped.stdout)
    assert "source tree 'FashionFormer' │" in row(piped.stdout, "fformer-swin")
    narrow = subprocess.run([sys.executable, "-m", "tui", "models"], cwd=ROOT, env={**env, "COLUMNS": "70"},
                            capture_output=True, text=True)
    assert max(map(len, narrow.stdout.splitlines())) == 70, "COLUMNS is the width asked for"


def test_cluster_status_tables_whole(tmp_path, capsys):
    """Every shard finished, so SLURM is not asked: the tables as a shared file system shows them."""
    from tui.cluster.operations import SubmitRequest, prepare
    from tui.cluster.record import Submission
    from tui.runs.shards import Shard

    (tmp_path / "images").mkdir()
    out = tmp_path / "an-output-folder-on-the-shared-file-system-with-a-long-descriptive-name"
    job = prepare(SubmitRequest("facere", tmp_path / "images", out, shards=2), 10)
    job.submissions.append(Submission("118", [0, 1], 1795750000.0))
    job.save()
    for index in (0, 1):
        job.shard_file(Shard(index, 2)).write_bytes(b"")
    listed = printed(capsys, "cluster", "status")
    assert cells(row(listed, "118")) == ["118", "facere", "2", "10/10 images; 2 done", "-", str(out)]
    shards = printed(capsys, "cluster", "status", "118")
    assert shards.splitlines()[0] == f"job 118: facere -> {out}"
    assert cells(row(shards, "1"))[:4] == ["1", "118", "done", "5/5"]

"""Masks that crash or corrupt pycocotools' C code are refused in Python first, on every path.

The files are plain `np.savez` files (no pickle tricks); the commands run as subprocesses under a
3 GiB address-space limit, so heap corruption, a SIGFPE or a segfault fails the test, not the run.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import hostile_predictions as hp
import prediction_files as pf
from evaluation_data import write_annotations
from tests.helpers.runs import ROOT, assert_one_line_error, cli, confined_cli
from tui.errors import UserError
from tui.evaluation.ground_truth import load_ground_truth
from tui.predictions import rle

CRASHERS = ("ends-inside-a-number", "height-zero")
"""The two the issue reproduced: heap corruption in rleFrString, a division by zero in rleToBbox."""


@pytest.mark.parametrize("name", sorted(hp.hostile_masks()))
def test_the_validator_refuses_every_hostile_rle(name):
    with pytest.raises(rle.InvalidMask, match="mask 0 is not a valid RLE: "):
        rle.checked([hp.hostile_masks()[name]])


def test_valid_masks_pass_and_decode_as_pycocotools_decodes_them():
    rng = np.random.default_rng(7)
    masks = [rng.random((h, w)) < rng.random() for h, w in rng.integers(1, 90, size=(60, 2))]
    masks.append(np.ones((3, 5), dtype=bool))
    masks.append(np.zeros((4, 2), dtype=bool))
    encoded = [mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]
    for mask, normalized in zip(masks, rle.checked(encoded)):
        runs = rle.runs_of(normalized)
        assert runs.sum() == mask.size
        np.testing.assert_array_equal(np.repeat(np.arange(runs.size) % 2 == 1, runs), mask.T.reshape(-1))


def test_uncompressed_runs_are_checked_then_compressed():
    (normalized,) = rle.checked([{"size": [2, 3], "counts": [1, 4, 1]}])
    assert normalized["counts"] == mask_utils.frPyObjects({"size": [2, 3], "counts": [1, 4, 1]}, 2, 3)["counts"]


def test_the_columns_check_names_the_first_bad_mask_of_many():
    good = pf.rle(*pf.RECTANGLES[0])
    masks = [good] * 5 + [hp.hostile_masks()["ends-inside-a-number"]] + [good] * 3
    counts = [m["counts"] for m in masks]
    offsets = np.concatenate(([0], np.cumsum([len(c) for c in counts])))
    with pytest.raises(rle.InvalidMask, match="mask 5 is not a valid RLE: its counts end inside a number"):
        rle.check_masks(np.array([m["size"] for m in masks]), offsets, np.frombuffer(b"".join(counts), np.uint8))


def _facere_with(name: str, path):
    return pf.write_npz(path, hp.with_mask(pf.facere_records(), 0, hp.hostile_masks()[name]))


WRITERS = {
    "facere.npz": lambda name, path: _facere_with(name, path),
    "fformer.npz": lambda name, path: pf.write_npz(path, hp.with_mask(pf.fformer_records(), 0, hp.hostile_masks()[name])),
    "amrcnn.npy": lambda name, path: pf.write_amrcnn(path, hp.with_mask(pf.amrcnn_records(), 0, hp.hostile_masks()[name])),
}


@pytest.mark.parametrize("name", sorted(hp.hostile_masks()))
def test_inspect_refuses_each_hostile_mask(tmp_path, name):
    result = confined_cli("inspect", _facere_with(name, tmp_path / "p.npz"))
    assert_one_line_error(result, "image record 0: (mask 0 is not a valid RLE|masks are not pycocotools RLEs)")


@pytest.mark.parametrize("file", ["fformer.npz", "amrcnn.npy"])
@pytest.mark.parametrize("name", CRASHERS)
def test_inspect_refuses_them_in_every_family(tmp_path, file, name):
    result = confined_cli("inspect", WRITERS[file](name, tmp_path / file))
    assert_one_line_error(result, "image record 0: mask 0 is not a valid RLE")


@pytest.mark.parametrize("name, message", [
    *((name, "image record 0: mask 1 is not a valid RLE") for name in CRASHERS),  # refused when read
    ("runs-beyond-its-size", "shirt.jpg: detection 1's mask is not a valid RLE: a run is negative or longer"),
])
def test_eval_refuses_them(tmp_path, name, message):
    """Detection 1 (pants) is in the evaluated categories; its runs are checked just before COCOeval."""
    anns = write_annotations(tmp_path / "anns.json", {"shirt.jpg": [(0, (10, 10, 50, 50))]}, size=(pf.HEIGHT, pf.WIDTH))
    predictions = pf.write_npz(tmp_path / "p.npz", hp.with_mask(pf.facere_records(), 1, hp.hostile_masks()[name]))
    result = confined_cli("eval", predictions, "--anns", anns, "--family", "facere")
    assert_one_line_error(result, message)


@pytest.mark.parametrize("name", [*CRASHERS, "runs-past-the-mask"])
def test_merge_refuses_a_shard_holding_them(tmp_path, name):
    from tui.runs.runner_files import run_files

    meta = {"model": "facere", "family": "facere", "started": 0, "finished": 1, "images": 2, "detections": 2}
    shards = []
    for index, records in enumerate([pf.facere_records(), hp.with_mask(pf.facere_records(), 0, hp.hostile_masks()[name])]):
        shards.append(tmp_path / f"facere.shard-{index:03}-of-002.npz")
        run_files().write_npz_atomically(str(shards[-1]), records, {**meta, "shard": {"index": index, "count": 2}})
    result = confined_cli("merge", *shards, "--out", tmp_path / "merged.npz")
    assert_one_line_error(result, f"{shards[1].name}: image record 0: mask 0 is not a valid RLE")
    assert not (tmp_path / "merged.npz").exists()


RENDER_EACH = """
import json, sys
sys.path.insert(0, "tests")
import numpy as np
import hostile_predictions as hp
from tui.errors import UserError
from tui.predictions import ImagePredictions
from tui.predictions.render import render
from tui.predictions.view import detection_rows

outcomes = {}
for name, mask in hp.hostile_masks().items():
    image = ImagePredictions("x.jpg", np.array([[1, 1, 9, 9]], np.float32), np.array([3]), np.array([0.9], np.float32), [mask])
    for step, call in (("render", lambda: render(image)), ("rows", lambda: detection_rows(image, np.ones(1, bool))),
                       ("decode", lambda: image.mask(0))):
        try:
            call()
            outcomes[f"{name} {step}"] = "drawn"
        except UserError as exc:
            outcomes[f"{name} {step}"] = str(exc)
print(json.dumps(outcomes))
"""


def test_browse_drawing_and_detection_rows_refuse_them_without_crashing():
    """ImagePredictions built by hand (not through the loader, which refuses them first)."""
    result = subprocess.run([sys.executable, "-c", RENDER_EACH], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == 3 * len(hp.hostile_masks())
    assert all("is not a valid RLE" in outcome for outcome in outcomes.values()), outcomes


def _annotations_with(tmp_path, segmentation=None, height=pf.HEIGHT):
    path = write_annotations(tmp_path / "anns.json", {"shirt.jpg": [(0, (10, 10, 50, 50))]}, size=(pf.HEIGHT, pf.WIDTH))
    dataset = json.loads(path.read_text())
    dataset["images"][0]["height"] = height
    if segmentation is not None:
        dataset["annotations"][0]["segmentation"] = segmentation
    path.write_text(json.dumps(dataset))
    return path


def _text(mask: dict) -> dict:
    counts = mask["counts"]
    return {"size": mask["size"], "counts": counts.decode("latin-1") if isinstance(counts, bytes) else counts}


SQUARE = [10.0, 10.0, 50.0, 10.0, 50.0, 50.0, 10.0, 50.0]


@pytest.mark.parametrize("segmentation, height, message", [
    (_text(hp.hostile_masks()["ends-inside-a-number"]), pf.HEIGHT, "not a valid RLE: its counts end inside a number"),
    (_text(hp.hostile_masks()["height-zero"]), pf.HEIGHT, "not a valid RLE: its size 0x80"),
    (_text(hp.hostile_masks()["uncompressed-negative"]), pf.HEIGHT, "not a valid RLE: its runs do not add up"),
    ([SQUARE], 0, r"images\[0\] has a height and width that are not two positive integers"),
    ([SQUARE[:4]], pf.HEIGHT, "not lists of at least three x, y points"),
    ([], pf.HEIGHT, "are an empty list"),
    ([SQUARE[:-1] + [float("nan")]], pf.HEIGHT, "not a finite number"),
    ([[1e9, 0.0, 0.0, 1e9, 1e9, 1e9]], pf.HEIGHT, "reach beyond"),
    ([[0.0, 0.0, 1e6, 0.0] * 50], pf.HEIGHT, "outline longer than any image's"),
], ids=["rle-ends-inside-a-number", "rle-height-zero", "rle-uncompressed-negative", "image-height-zero",
        "polygon-two-points", "polygons-empty", "polygon-nan", "polygon-huge", "polygon-long-outline"])
def test_annotation_files_are_checked_before_pycocotools_reads_them(tmp_path, segmentation, height, message):
    path = _annotations_with(tmp_path, segmentation, height)
    with pytest.raises(UserError, match=message) as caught:
        load_ground_truth(path)
    assert str(path) in str(caught.value)


def test_eval_with_a_hostile_annotation_file_is_one_line(tmp_path):
    anns = _annotations_with(tmp_path, _text(hp.hostile_masks()["ends-inside-a-number"]))
    predictions = pf.write_npz(tmp_path / "p.npz", pf.facere_records())
    result = confined_cli("eval", predictions, "--anns", anns, "--family", "facere")
    assert_one_line_error(result, r"annotation file .*annotations\[0\] has a segmentation that is not a valid RLE")


def test_good_annotation_polygons_still_evaluate(tmp_path):
    anns = _annotations_with(tmp_path, [SQUARE])
    result = cli("eval", pf.write_npz(tmp_path / "p.npz", pf.facere_records()), "--anns", anns, "--family", "facere",
                 "--json")
    assert json.loads(result.stdout)["results"]

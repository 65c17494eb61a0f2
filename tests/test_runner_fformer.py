"""runners/fformer.py end to end, with STAND-INS for torch 1.9, mmcv-full 1.3.18 and mmdet 2.18.

Those cannot be installed here (Python 3.8, CUDA 11.1 wheels), so tests/standins/ provides fakes
returning what FashionFormer returns (always 100 detections in 46 per-class lists, all-zero
boxes, masks as numpy arrays or tensors) computed from the image's pixels, and a fake source
tree whose config has FashionFormer's local custom imports and SyncBN. What these tests prove
is the runner's own work, against the original `predict_fformer.py`'s post-processing.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_api

from tests.helpers.interpreters import runner_python_params, runner_pythons  # noqa: F401 (a fixture)
from tests.helpers.standin_runs import (STANDINS, assert_one_error_event, break_input, run_standin_runner,
                                        standin_tree)

CONFIG = "configs/fashionformer/fashionpedia/fashionformer_r50_mlvl_feat_3x.py"


@pytest.fixture
def tree(tmp_path):
    return standin_tree("FashionFormer", tmp_path)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "fashionformer_r50_3x.pth"
    path.write_bytes(b"stand-in")
    return path


def make_images(folder):
    folder.mkdir()
    rng = np.random.RandomState(1)
    Image.fromarray(rng.randint(0, 255, (50, 40, 3), np.uint8)).save(folder / "x1.jpg")
    Image.fromarray(rng.randint(0, 255, (30, 60), np.uint8), "L").save(folder / "x2.png")
    (folder / "x3.jpg").write_bytes(b"")
    # GIF data named .jpg: Pillow reads it, OpenCV (which mmdet reads images with) cannot
    Image.fromarray(rng.randint(0, 255, (20, 30), np.uint8), "L").save(folder / "x4.jpg", format="GIF")
    return folder


def run_runner(tree, checkpoint, images, output, threshold="0.05", **options):
    return run_standin_runner("fformer-r50-fpn", checkpoint, images, output, tree,
                              "--device", "cpu", "--score-threshold", threshold, **options)


def original_record(path, threshold):
    """predict_fformer.py's post-processing of the same (stand-in) model output."""
    sys.path.insert(0, str(STANDINS))
    try:
        from mmdet.apis import fake_result

        bbox_result, segm_result, _ = fake_result(np.asarray(Image.open(path).convert("RGB")))
    finally:
        sys.path.remove(str(STANDINS))
        for name in [m for m in sys.modules if m.split(".")[0] in ("mmdet", "torch")]:
            del sys.modules[name]
    labels = np.concatenate([np.full(b.shape[0], i, dtype=np.int32) for i, b in enumerate(bbox_result)])
    segms = np.stack([m.numpy() if hasattr(m, "numpy") else m for per in segm_result for m in per])
    scores = np.vstack(bbox_result)[:, -1]
    if threshold:
        inds = scores > threshold
        scores, labels, segms = scores[inds], labels[inds], segms[inds, ...]
    boxes = np.zeros((len(segms), 4), np.float32)
    for i, mask in enumerate(segms):  # fashionfail.utils.masks_to_boxes
        y, x = np.where(mask != 0)
        if len(x):
            boxes[i] = [x.min(), y.min(), x.max(), y.max()]
    masks = [mask_api.encode(np.asfortranarray(m.astype(np.uint8))) for m in segms]
    return {"image_file": path.name, "boxes": boxes, "classes": labels, "scores": scores, "masks": masks}


@pytest.mark.parametrize("python", runner_python_params())
@pytest.mark.parametrize("threshold", [0.05, 0.0])
def test_records_match_the_original_scripts_layout(tmp_path, tree, checkpoint, threshold, runner_pythons, python):
    """Under the app's Python and under 3.8 and 3.9 (the paper's environments' Pythons) alike."""
    images = make_images(tmp_path / "images")
    output = tmp_path / "fformer-r50-fpn.npz"
    result, events = run_runner(tree, checkpoint, images, output, str(threshold), python=runner_pythons(python))
    assert result.returncode == 0, result.stderr
    assert events[0]["providers"] == ["cpu"]
    warnings = {e["image"]: e["message"] for e in events if e["event"] == "warning"}
    assert sorted(warnings) == ["x3.jpg", "x4.jpg"]
    assert warnings["x4.jpg"] == "skipped x4.jpg: OpenCV cannot decode it (mmdet reads images with OpenCV)"
    with np.load(output, allow_pickle=True) as stored:  # our own test output: trusted
        data = list(stored["data"])
        meta = json.loads(str(stored["meta"]))
    assert [r["image_file"] for r in data] == ["x1.jpg", "x2.png"]
    for ours in data:
        theirs = original_record(images / ours["image_file"], threshold)
        assert set(ours) == {"image_file", "boxes", "classes", "scores", "masks"}
        assert ours["classes"].dtype == np.int32 and ours["boxes"].dtype == np.float32
        np.testing.assert_array_equal(ours["classes"], theirs["classes"])
        np.testing.assert_array_equal(ours["scores"], theirs["scores"])
        np.testing.assert_array_equal(ours["boxes"], theirs["boxes"])
        assert ours["masks"] == theirs["masks"]
        if threshold:
            assert len(ours["scores"]) < 100 and (ours["scores"] > threshold).all()
        else:
            assert len(ours["scores"]) == 100  # FashionFormer always returns 100
        assert ours["boxes"].any(), "boxes come from the masks, not the model's zeros"
    assert meta["family"] == "fformer" and meta["box_format"] == "xyxy"
    assert meta["versions"]["mmdet"] == "2.18.0-standin"
    assert sorted(meta["skipped"]) == ["x3.jpg", "x4.jpg"]


def test_a_failure_on_a_readable_image_still_ends_the_run(tmp_path, tree, checkpoint):
    """Only images OpenCV cannot decode are skipped: any other inference failure is the run's."""
    images = make_images(tmp_path / "images")
    output = tmp_path / "o.npz"
    result, events = run_runner(tree, checkpoint, images, output, env={"MMDET_STANDIN_FAIL_ON": "x2.png"})
    assert_one_error_event(result, events, "CUDA out of memory (stand-in)", output)


def test_relative_paths_are_taken_from_where_the_runner_starts(tmp_path, tree, checkpoint):
    make_images(tmp_path / "images")
    result, events = run_standin_runner("fformer-r50-fpn", Path(checkpoint.name), Path("images"), Path("o.npz"),
                                        Path("FashionFormer"), "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert events[-1]["event"] == "done" and events[-1]["output"] == str(tmp_path / "o.npz")


def test_syncbn_is_replaced_on_cpu_and_local_packages_import(tmp_path, tree, checkpoint):
    """The stand-in init_detector fails on SyncBN under CPU and imports the config's custom_imports."""
    images = make_images(tmp_path / "images")
    result, events = run_runner(tree, checkpoint, images, tmp_path / "o.npz")
    assert result.returncode == 0, result.stderr
    (tree / "datasets" / "__init__.py").unlink()
    shutil.rmtree(tree / "datasets")
    result, events = run_runner(tree, checkpoint, images, tmp_path / "p.npz")
    assert result.returncode == 1 and "No module named 'datasets'" in events[-1]["message"]


@pytest.mark.parametrize("missing, message", [
    ("tree", "FashionFormer source tree not found"),
    ("config", "model config not found"),
    ("checkpoint", "checkpoint not found"),
])
def test_missing_inputs_are_one_error_event(tmp_path, tree, checkpoint, missing, message):
    images = make_images(tmp_path / "images")
    break_input(missing, tree, CONFIG, checkpoint)
    result, events = run_runner(tree, checkpoint, images, tmp_path / "x.npz")
    assert_one_error_event(result, events, message, tmp_path / "x.npz")

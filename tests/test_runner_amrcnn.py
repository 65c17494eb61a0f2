"""runners/amrcnn.py end to end, with STAND-INS for TensorFlow 2.11 and the jangop/tpu tree.

TensorFlow 2.11 (Python 3.9) cannot be installed here, so tests/standins/ provides a fake
`tensorflow.compat.v1` (lazy graph nodes evaluated by Session.run) and a fake source tree whose
"model" computes detections from the image's pixels. What these tests prove is the runner's own
work: the graph it builds, the original script's post-processing (scaling boxes back to the
original image, classes as int32, attributes kept, masks pasted by the tree's function and
RLE-encoded), the record layout, skipping, resuming and errors. They say nothing of TensorFlow.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_api

from tests.helpers.standin_runs import (STANDINS, assert_one_error_event, break_input, run_standin_runner,
                                        standin_tree)

CONFIG = "models/official/detection/projects/fashionpedia/configs/yaml/r50fpn_amrcnn.yaml"


@pytest.fixture
def tree(tmp_path):
    return standin_tree("tpu", tmp_path)


@pytest.fixture
def checkpoint(tmp_path):
    folder = tmp_path / "fashionpedia-r50-fpn"
    folder.mkdir()
    for name in ("checkpoint", "model.ckpt.index", "model.ckpt.meta", "model.ckpt.data-00000-of-00001"):
        (folder / name).write_bytes(b"stand-in")
    return folder / "model.ckpt"


def make_images(folder):
    folder.mkdir()
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 255, (120, 90, 3), np.uint8)).save(folder / "a.jpg", quality=95)
    Image.fromarray(rng.randint(0, 255, (64, 128), np.uint8), "L").save(folder / "b_gray.png")
    Image.fromarray(rng.randint(0, 255, (70, 70, 4), np.uint8), "RGBA").save(folder / "c_rgba.png")
    (folder / "d_corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def run_runner(tree, checkpoint, images, output):
    return run_standin_runner("amrcnn-r50-fpn", Path(str(checkpoint) + ".index"), images, output, tree,
                              "--score-threshold", "0.05")


def original_records(tree, images):
    """What the original inference.py computes for these images with the same (stand-in) graph."""
    detection = str(tree / "models/official/detection")
    sys.path[:0] = [str(STANDINS), detection, str(tree / "models")]
    try:
        import tensorflow.compat.v1 as tf
        from projects.fashionpedia.modeling.factory import fake_outputs
        from utils import box_utils, input_utils, mask_utils

        records = []
        for path in sorted(images.iterdir()):
            try:
                width, height = Image.open(path).size
            except OSError:
                continue
            data = path.read_bytes()
            feed_node = tf.placeholder()
            image = input_utils.normalize_image(tf.io.decode_image(feed_node, channels=3))
            resized, info = input_utils.resize_and_crop_image(image, [640, 640], [640, 640])
            pixels, image_info = resized.evaluate({feed_node: data}), info.evaluate({feed_node: data})
            out = fake_outputs(pixels[None], image_info[None], True)
            n = int(out["num_detections"][0])
            boxes = (out["detection_boxes"] / np.tile(image_info[None, 2:3, :], [1, 1, 2]))[0, :n]
            masks = mask_utils.paste_instance_masks(out["detection_masks"][0, :n], box_utils.yxyx_to_xywh(boxes),
                                                    height, width)
            records.append({
                "image_file": path.name,
                "boxes": boxes,
                "classes": out["detection_classes"][0, :n].astype(np.int32),
                "scores": out["detection_scores"][0, :n],
                "attributes": out["detection_attributes"][0, :n, :],
                "masks": [mask_api.encode(np.asfortranarray(m)) for m in masks],
            })
        return records
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] in
                     ("tensorflow", "projects", "utils", "hyperparameters", "dataloader")]:
            del sys.modules[name]
        del sys.path[:3]


def test_records_match_the_original_scripts_layout(tmp_path, tree, checkpoint):
    images = make_images(tmp_path / "images")
    output = tmp_path / "out" / "amrcnn-r50-fpn.npz"
    output.parent.mkdir()
    result, events = run_runner(tree, checkpoint, images, output)
    assert result.returncode == 0, result.stderr
    assert events[0]["event"] == "start" and events[0]["total"] == 4 and events[0]["providers"] == ["CPU"]
    assert events[-1]["event"] == "done" and events[-1]["images"] == 3
    warnings = [e for e in events if e["event"] == "warning"]
    assert [w["image"] for w in warnings] == ["d_corrupt.jpg"]

    with np.load(output, allow_pickle=True) as stored:  # our own test output: trusted
        data = list(stored["data"])
        meta = json.loads(str(stored["meta"]))
    expected = original_records(tree, images)
    assert [r["image_file"] for r in data] == ["a.jpg", "b_gray.png", "c_rgba.png"]
    for ours, theirs in zip(data, expected):
        assert set(ours) == {"image_file", "boxes", "classes", "scores", "attributes", "masks"}
        assert ours["boxes"].dtype == np.float32 and ours["classes"].dtype == np.int32
        np.testing.assert_array_equal(ours["boxes"], theirs["boxes"])
        np.testing.assert_array_equal(ours["classes"], theirs["classes"])
        np.testing.assert_array_equal(ours["scores"], theirs["scores"])
        np.testing.assert_array_equal(ours["attributes"], theirs["attributes"])
        assert ours["attributes"].shape[1] == 294
        assert ours["masks"] == theirs["masks"]
        assert all(1 <= c <= 46 for c in ours["classes"])
    assert meta["family"] == "amrcnn" and meta["box_format"] == "yxyx" and meta["path"] == "tf-graph"
    assert meta["versions"]["tensorflow"] == "unknown"  # the stand-in has no version


def test_a_model_without_masks_still_writes_records(tmp_path, tree, checkpoint):
    (tree / CONFIG).write_text("masks: false\n")
    images = make_images(tmp_path / "images")
    output = tmp_path / "amrcnn.npz"
    result, events = run_runner(tree, checkpoint, images, output)
    assert result.returncode == 0, result.stderr
    assert any("no masks" in e["message"] for e in events if e["event"] == "warning")
    with np.load(output, allow_pickle=True) as stored:
        data = list(stored["data"])
    assert len(data) == 3 and all(r["masks"] == [] and len(r["boxes"]) > 0 for r in data)


@pytest.mark.parametrize("missing, message", [
    ("tree", "tpu source tree not found"),
    ("config", "model config not found"),
    ("checkpoint", "checkpoint not found"),
])
def test_missing_inputs_are_one_error_event(tmp_path, tree, checkpoint, missing, message):
    images = make_images(tmp_path / "images")
    break_input(missing, tree, CONFIG, checkpoint.parent / "model.ckpt.index")
    result, events = run_runner(tree, checkpoint, images, tmp_path / "x.npz")
    assert_one_error_event(result, events, message, tmp_path / "x.npz")

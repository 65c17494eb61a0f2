"""runners/amrcnn.py end to end, with STAND-INS for TensorFlow 2.11 and the jangop/tpu tree.

TensorFlow 2.11 (Python 3.9) cannot be installed here, so tests/standins/ provides a fake
`tensorflow.compat.v1` (lazy graph nodes evaluated by Session.run) and a fake source tree whose
"model" computes detections from the image's pixels. What these tests prove is the runner's own
work: the graph it builds, the original script's post-processing (scaling boxes back to the
original image, classes as int32, attributes kept, masks pasted by the tree's function and
RLE-encoded), the record layout, skipping, resuming and errors. They say nothing of TensorFlow.
"""

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_api

from tests.helpers.interpreters import runner_python_params, runner_pythons  # noqa: F401 (a fixture)
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


READABLE = ["a.jpg", "b_gray.png", "c_rgba.png", "e_palette.bmp", "f.webp"]
BROKEN = ["d_corrupt.jpg", "g_truncated.jpg"]


def make_images(folder):
    """A JPEG, a grayscale PNG, an RGBA PNG, a palette BMP, a WebP, and two broken JPEGs."""
    folder.mkdir()
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 255, (120, 90, 3), np.uint8)).save(folder / "a.jpg", quality=95)
    Image.fromarray(rng.randint(0, 255, (64, 128), np.uint8), "L").save(folder / "b_gray.png")
    Image.fromarray(rng.randint(0, 255, (70, 70, 4), np.uint8), "RGBA").save(folder / "c_rgba.png")
    (folder / "d_corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    palette = Image.fromarray(rng.randint(0, 16, (40, 50), np.uint8), "P")
    palette.putpalette(rng.randint(0, 255, 48).tolist())
    palette.save(folder / "e_palette.bmp")
    Image.fromarray(rng.randint(0, 255, (60, 80, 3), np.uint8)).save(folder / "f.webp", quality=90)
    whole = io.BytesIO()
    Image.fromarray(rng.randint(0, 255, (80, 80, 3), np.uint8)).save(whole, "JPEG")
    (folder / "g_truncated.jpg").write_bytes(whole.getvalue()[:len(whole.getvalue()) // 2])
    return folder


def run_runner(tree, checkpoint, images, output, **options):
    return run_standin_runner("amrcnn-r50-fpn", Path(str(checkpoint) + ".index"), images, output, tree,
                              "--score-threshold", "0.05", **options)


def original_records(tree, images):
    """What the original inference_fashion.py computes over a tar of these images with the same
    (stand-in) graph: Pillow opens each image and saves it as PNG, TensorFlow decodes that PNG; its
    size is that of Pillow's RGB conversion. It stops at an image Pillow cannot read: those are left out."""
    detection = str(tree / "models/official/detection")
    sys.path[:0] = [str(STANDINS), detection, str(tree / "models")]
    try:
        import tensorflow.compat.v1 as tf
        from projects.fashionpedia.modeling.factory import fake_outputs
        from utils import box_utils, input_utils, mask_utils

        records = []
        for path in sorted(images.iterdir()):
            try:
                image = Image.open(path)
                as_png = io.BytesIO()
                image.save(as_png, format="PNG")
            except OSError:
                continue
            width, height = image.convert("RGB").size
            data = as_png.getvalue()
            feed_node = tf.placeholder()
            decoded = input_utils.normalize_image(tf.io.decode_image(feed_node, channels=3))
            resized, info = input_utils.resize_and_crop_image(decoded, [640, 640], [640, 640])
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


def stored(output):
    with np.load(output, allow_pickle=True) as npz:  # our own test output: trusted
        return list(npz["data"]), json.loads(str(npz["meta"]))


@pytest.mark.parametrize("python", runner_python_params())
def test_records_match_the_original_procedure(tmp_path, tree, checkpoint, runner_pythons, python):
    """Under the app's Python and under 3.8 and 3.9 (the paper's environments' Pythons) alike."""
    images = make_images(tmp_path / "images")
    output = tmp_path / "out" / "amrcnn-r50-fpn.npz"
    output.parent.mkdir()
    result, events = run_runner(tree, checkpoint, images, output, python=runner_pythons(python))
    assert result.returncode == 0, result.stderr
    assert events[0]["event"] == "start" and events[0]["total"] == 7 and events[0]["providers"] == ["CPU"]
    assert events[-1]["event"] == "done" and events[-1]["images"] == 5 and events[-1]["skipped"] == 2
    warnings = [e for e in events if e["event"] == "warning"]
    assert [w["image"] for w in warnings] == BROKEN
    assert all(w["message"].startswith("skipped " + w["image"]) for w in warnings)

    data, meta = stored(output)
    expected = original_records(tree, images)
    assert [r["image_file"] for r in data] == [r["image_file"] for r in expected] == READABLE
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
    assert meta["family"] == "amrcnn" and meta["box_format"] == "yxyx" and meta["path"] == "tf-graph-pillow-png"
    assert meta["versions"]["tensorflow"] == "unknown"  # the stand-in has no version
    assert sorted(meta["skipped"]) == BROKEN


def test_the_graph_is_handed_pillows_rgb_decode_of_every_image(tmp_path, tree, checkpoint):
    """Not TensorFlow's own JPEG decode (off by a few levels), nor its palette-blind BMP decode, nor
    nothing at all for WebP: the stand-in graph records the pixels it decodes."""
    images = make_images(tmp_path / "images")
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    result, _ = run_runner(tree, checkpoint, images, tmp_path / "o.npz",
                           env={"TENSORFLOW_STANDIN_DECODED": str(decoded)})
    assert result.returncode == 0, result.stderr
    assert len(os.listdir(decoded)) == len(READABLE)
    for index, name in enumerate(READABLE):
        seen = np.load(decoded / f"{index}.npy")
        np.testing.assert_array_equal(seen, np.asarray(Image.open(images / name).convert("RGB")), err_msg=name)


def test_an_image_session_run_rejects_is_skipped_and_the_run_goes_on(tmp_path, tree, checkpoint):
    images = make_images(tmp_path / "images")
    output = tmp_path / "o.npz"
    # the stand-in graph rejects images over 5000 pixels: a.jpg (90x120) and b_gray.png (128x64)
    result, events = run_runner(tree, checkpoint, images, output, env={"TENSORFLOW_STANDIN_MAX_PIXELS": "5000"})
    assert result.returncode == 0, result.stderr
    warnings = {e["image"]: e["message"] for e in events if e["event"] == "warning"}
    assert sorted(warnings) == ["a.jpg", "b_gray.png", *BROKEN]
    assert warnings["a.jpg"] == "skipped a.jpg: TensorFlow rejected it (image of 90x120 pixels is too large)"
    data, meta = stored(output)
    assert [r["image_file"] for r in data] == ["c_rgba.png", "e_palette.bmp", "f.webp"]
    assert "too large" in meta["skipped"]["b_gray.png"]


def test_a_model_without_masks_still_writes_records(tmp_path, tree, checkpoint):
    (tree / CONFIG).write_text("masks: false\n")
    images = make_images(tmp_path / "images")
    output = tmp_path / "amrcnn.npz"
    result, events = run_runner(tree, checkpoint, images, output)
    assert result.returncode == 0, result.stderr
    assert any("no masks" in e["message"] for e in events if e["event"] == "warning")
    data, _ = stored(output)
    assert len(data) == len(READABLE) and all(r["masks"] == [] and len(r["boxes"]) > 0 for r in data)


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


def test_relative_paths_are_taken_from_where_the_runner_starts(tmp_path, tree, checkpoint):
    """The runner changes into the tree to load it: relative --images, --output, --model-file and
    --source must still mean what they meant where it started."""
    make_images(tmp_path / "images")
    (tmp_path / "out").mkdir()
    result, events = run_standin_runner("amrcnn-r50-fpn", Path("fashionpedia-r50-fpn/model.ckpt"), Path("images"),
                                        Path("out/o.npz"), Path("tpu"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert events[-1]["event"] == "done" and events[-1]["output"] == str(tmp_path / "out" / "o.npz")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["o.npz"]  # no journal, lock or progress left
    _, meta = stored(tmp_path / "out" / "o.npz")
    assert meta["image_dir"] == str(tmp_path / "images")
    assert meta["model_file"] == str(tmp_path / "fashionpedia-r50-fpn" / "model.ckpt.index")


@pytest.mark.parametrize("form", ["model.ckpt", "model.ckpt.index", "model.ckpt.data-00000-of-00001", "folder"])
def test_every_form_of_naming_a_checkpoint_runs_it(tmp_path, tree, checkpoint, form):
    folder = checkpoint.parent
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt"\n'
                                       'all_model_checkpoint_paths: "model.ckpt"\n')
    model_file = folder if form == "folder" else folder / form
    images = make_images(tmp_path / "images")
    result, events = run_standin_runner("amrcnn-r50-fpn", model_file, images, tmp_path / "o.npz", tree)
    assert result.returncode == 0, result.stderr
    _, meta = stored(tmp_path / "o.npz")
    assert meta["model_file"] == str(folder / "model.ckpt.index")  # one name for all forms: one journal


@pytest.mark.parametrize("damage, message", [
    ("no data file", "has no model.ckpt.data-* file"),
    ("a missing shard", "model.ckpt.data-00001-of-00002 is missing"),
    ("a folder without its state file", "holds no `checkpoint` file"),
    ("a state file naming nothing", "names no model_checkpoint_path"),
])
def test_a_checkpoint_that_cannot_load_is_refused_before_loading(tmp_path, tree, checkpoint, damage, message):
    folder = checkpoint.parent
    model_file = checkpoint
    if damage == "no data file":
        (folder / "model.ckpt.data-00000-of-00001").unlink()
    elif damage == "a missing shard":
        (folder / "model.ckpt.data-00000-of-00001").rename(folder / "model.ckpt.data-00000-of-00002")
    else:
        (folder / "checkpoint").unlink()
        if damage == "a state file naming nothing":
            (folder / "checkpoint").write_text("# written by hand\n")
        model_file = folder
    images = make_images(tmp_path / "images")
    output = tmp_path / "x.npz"
    result, events = run_standin_runner("amrcnn-r50-fpn", model_file, images, output, tree)
    assert_one_error_event(result, events, message, output)
    assert len(events) == 1 and not Path(str(output) + ".lock").exists()  # refused before the model loads

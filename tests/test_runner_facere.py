"""runners/facere.py end to end, as a real subprocess, on ONNX models the tests build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from PIL import Image
from pycocotools import mask as mask_api

from tests.helpers.images import write_corrupt_image, write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tests.helpers.processes import gone
from tui import paths

RUNNER = paths.runners_dir() / "facere.py"


def runner_argv(model_file: Path, images: Path, output: Path, *extra: str, model: str = "facere") -> list[str]:
    return [sys.executable, "-u", str(RUNNER), "--model", model, "--family", "facere", "--box-format", "yxyx",
            "--class-ids", "fashionpedia-1based", "--model-file", str(model_file), "--images", str(images),
            "--output", str(output), *extra]


def run_runner(*args, **kwargs) -> tuple[int, list[dict], str]:
    done = subprocess.run(runner_argv(*args, **kwargs), capture_output=True, text=True, timeout=120)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def load_output(path: Path) -> tuple[list[dict], dict]:
    """What the original evaluation code does to read a prediction file (pickle is fine in a test)."""
    with np.load(path, allow_pickle=True) as archive:
        return list(archive["data"]), json.loads(str(archive["meta"]))


def original_reference(model_file: Path, image_dir: Path) -> list[dict]:
    """predict_models.py's predict_with_onnx, step by step, without torch: read every *.jpg (RGB),
    scale to float32 0..1 (ConvertImageDtype divides by 255 in float32), run, take the outputs by
    position, encode each `mask > 0.5` as uint8 Fortran array, turn boxes xyxy into yxyx."""
    session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    predictions = []
    for image in sorted(image_dir.glob("*.jpg")):
        pixels = np.asarray(Image.open(image))
        tensor = pixels.transpose(2, 0, 1)[None].astype(np.float32) / 255
        boxes, labels, scores, masks = session.run(None, {session.get_inputs()[0].name: tensor})
        encoded = [mask_api.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks.squeeze(1) > 0.5]
        x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
        predictions.append({"image_file": image.name, "boxes": np.stack((y1, x1, y2, x2), axis=-1),
                            "classes": labels, "scores": scores, "masks": encoded})
    return predictions


def assert_same_predictions(ours: list[dict], reference: list[dict]) -> None:
    assert [p["image_file"] for p in ours] == [p["image_file"] for p in reference]
    for mine, theirs in zip(ours, reference):
        assert set(mine) == set(theirs)
        assert mine["boxes"].dtype == np.float32 and mine["boxes"].shape == theirs["boxes"].shape
        np.testing.assert_allclose(mine["boxes"], theirs["boxes"], rtol=1e-6)
        assert mine["classes"].dtype == np.int64
        np.testing.assert_array_equal(mine["classes"], theirs["classes"])
        assert mine["scores"].dtype == np.float32
        np.testing.assert_allclose(mine["scores"], theirs["scores"], rtol=1e-6)
        assert mine["masks"] == theirs["masks"]  # same sizes, byte-identical RLE counts


@pytest.fixture(scope="module")
def facere_model(tmp_path_factory) -> Path:
    return build_maskrcnn_like(tmp_path_factory.mktemp("models") / "facere.onnx", detections=6)


@pytest.mark.parametrize("detections, classes", [(6, (1, 46)), (3, (1, 22)), (0, (1, 46))])
def test_output_equals_what_the_original_script_writes(tmp_path, detections, classes):
    model_file = build_maskrcnn_like(tmp_path / "m.onnx", detections=detections, classes=classes)
    for seed, size in enumerate([(64, 48), (40, 72), (33, 33)]):
        write_image(tmp_path / "images" / f"img{seed}.jpg", size=size, seed=seed)
    code, events, _ = run_runner(model_file, tmp_path / "images", tmp_path / "out.npz")
    assert code == 0 and events[-1]["event"] == "done"
    ours, _ = load_output(tmp_path / "out.npz")
    reference = original_reference(model_file, tmp_path / "images")
    assert_same_predictions(ours, reference)
    assert sum(len(p["scores"]) for p in ours) == 3 * detections == events[-1]["detections"]
    if detections:
        assert all(classes[0] <= c <= classes[1] for p in ours for c in p["classes"])
        assert any(m["counts"] != ours[0]["masks"][0]["counts"] for p in ours[1:] for m in p["masks"][:1]), \
            "masks should differ between images"


def test_grayscale_rgba_and_palette_images_run_as_rgb(tmp_path, facere_model):
    images = tmp_path / "images"
    for mode, name in [("L", "gray.png"), ("RGBA", "alpha.png"), ("P", "palette.bmp"), ("RGB", "plain.webp")]:
        write_image(images / name, mode=mode, seed=len(name))
    # the reference sees each picture after PIL's RGB conversion, as a lossless RGB file
    as_rgb = tmp_path / "as_rgb"
    as_rgb.mkdir()
    for path in images.iterdir():
        Image.open(path).convert("RGB").save(as_rgb / (path.stem + ".jpg"), quality=100)
    code, events, _ = run_runner(facere_model, images, tmp_path / "out.npz")
    assert code == 0, events
    ours, _ = load_output(tmp_path / "out.npz")
    assert [p["image_file"] for p in ours] == ["alpha.png", "gray.png", "palette.bmp", "plain.webp"]
    session = onnxruntime.InferenceSession(str(facere_model), providers=["CPUExecutionProvider"])
    for prediction in ours:
        rgb = np.asarray(Image.open(images / prediction["image_file"]).convert("RGB"))
        boxes, labels, scores, masks = session.run(None, {"input": rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255})
        np.testing.assert_array_equal(prediction["classes"], labels)
        np.testing.assert_array_equal(prediction["scores"], scores)
        assert prediction["masks"][0]["size"] == list(rgb.shape[:2])


def test_corrupt_images_are_skipped_with_a_warning(tmp_path, facere_model):
    images = tmp_path / "images"
    write_image(images / "a.jpg")
    write_corrupt_image(images / "b.jpg")
    (images / "c.png").write_bytes(b"")
    write_image(images / "d.jpg", seed=3)
    (images / "notes.txt").write_text("not an image, not listed")
    code, events, stderr = run_runner(facere_model, images, tmp_path / "out.npz")
    assert code == 0
    warnings = [e for e in events if e["event"] == "warning"]
    assert sorted(w["image"] for w in warnings) == ["b.jpg", "c.png"]
    assert "skipped b.jpg" in stderr
    assert events[0]["total"] == 4 and events[-1]["skipped"] == 2 and events[-1]["images"] == 2
    ours, meta = load_output(tmp_path / "out.npz")
    assert [p["image_file"] for p in ours] == ["a.jpg", "d.jpg"]
    assert sorted(meta["skipped"]) == ["b.jpg", "c.png"]


def test_links_that_lead_nowhere_and_folders_named_like_images_are_not_images(tmp_path, facere_model):
    images = tmp_path / "images"
    write_image(images / "a.jpg")
    (images / "loop.jpg").symlink_to("loop.jpg")  # resolving it fails with ELOOP
    (images / "dangling.png").symlink_to(tmp_path / "gone.png")
    (images / "folder.jpg").mkdir()
    code, events, stderr = run_runner(facere_model, images, tmp_path / "out.npz")
    assert code == 0, stderr
    assert events[0]["total"] == 1 and events[-1]["event"] == "done" and events[-1]["images"] == 1


def test_a_run_that_reads_no_image_is_an_error_and_writes_nothing(tmp_path, facere_model):
    images = tmp_path / "images"
    write_corrupt_image(images / "b.jpg")
    (images / "c.png").write_bytes(b"")
    code, events, stderr = run_runner(facere_model, images, tmp_path / "out.npz")
    assert code == 2 and "Traceback" not in stderr
    assert sorted(e["image"] for e in events if e["event"] == "warning") == ["b.jpg", "c.png"]
    message = events[-1]["message"]
    assert events[-1]["event"] == "error" and message.startswith("no image could be read: b.jpg (")
    assert "; c.png (" in message and message.endswith("); replace or remove them and rerun")
    assert not (tmp_path / "out.npz").exists()


def test_empty_or_missing_folder_is_an_error_event(tmp_path, facere_model):
    (tmp_path / "empty").mkdir()
    for folder, expected in [(tmp_path / "empty", "no images"), (tmp_path / "missing", "does not exist")]:
        code, events, stderr = run_runner(facere_model, folder, tmp_path / "out.npz")
        assert code == 2  # input the user can fix
        assert events == [{"event": "error", "message": events[0]["message"]}]
        assert expected in events[0]["message"] and "Traceback" not in stderr
    assert not (tmp_path / "out.npz").exists()


def test_score_threshold_drops_low_scores(tmp_path, facere_model):
    write_image(tmp_path / "images" / "a.jpg")
    run_runner(facere_model, tmp_path / "images", tmp_path / "all.npz")
    run_runner(facere_model, tmp_path / "images", tmp_path / "some.npz", "--score-threshold", "0.3")
    (everything,), _ = load_output(tmp_path / "all.npz")
    (kept,), meta = load_output(tmp_path / "some.npz")
    keep = everything["scores"] >= 0.3
    assert 0 < keep.sum() < len(keep)
    np.testing.assert_array_equal(kept["scores"], everything["scores"][keep])
    assert kept["masks"] == [m for m, k in zip(everything["masks"], keep) if k]
    assert meta["score_threshold"] == 0.3


def test_threads_beside_inference_give_the_same_output(tmp_path, facere_model):
    """The overlapped pipeline (the default) against the serial one (--overlap off)."""
    images = tmp_path / "images"
    for index in range(7):
        write_image(images / f"{index}.jpg", seed=index)
    write_corrupt_image(images / "3b.jpg")
    outputs = {}
    for mode in ("on", "off"):
        code, events, _ = run_runner(facere_model, images, tmp_path / f"{mode}.npz", "--overlap", mode)
        assert code == 0
        assert [e["image"] for e in events if e["event"] == "progress"] == sorted(p.name for p in images.iterdir())
        outputs[mode] = load_output(tmp_path / f"{mode}.npz")
    assert outputs["on"][1]["overlap"] is True and outputs["off"][1]["overlap"] is False
    assert_same_predictions(outputs["on"][0], outputs["off"][0])
    assert len(outputs["on"][0]) == 7


def test_meta_describes_the_run(tmp_path, facere_model):
    for index in range(2):
        write_image(tmp_path / "images" / f"{index}.jpg", seed=index)
    run_runner(facere_model, tmp_path / "images", tmp_path / "out.npz", "--device", "cpu", model="facere+")
    with np.load(tmp_path / "out.npz") as archive:  # meta reads without pickle
        meta = json.loads(str(archive["meta"]))
    assert meta["model"] == "facere+" and meta["family"] == "facere" and meta["box_format"] == "yxyx"
    assert meta["class_ids"] == "fashionpedia-1based"
    assert meta["image_dir"] == str(tmp_path / "images") and meta["model_file"] == str(facere_model)
    assert meta["providers"] == ["CPUExecutionProvider"] and meta["path"] == "onnx-full-masks"
    assert meta["overlap"] is True  # decoding and postprocessing run in threads beside inference
    assert meta["versions"]["onnxruntime"] == onnxruntime.__version__ and "pycocotools" in meta["versions"]
    assert meta["started"] <= meta["finished"]
    assert set(meta["timings"]) == {"0.jpg", "1.jpg"}
    assert {"decode", "preprocess", "infer", "masks"} <= set(meta["timings"]["0.jpg"])


def slow_workload(tmp_path, images=12):
    """The model with a stack of convolutions (slow enough to interrupt) over `images` 320x240
    images; returns (model file, image folder, output in an empty folder)."""
    model_file = build_maskrcnn_like(tmp_path / "slow.onnx", detections=4, backbone_layers=6, backbone_channels=48)
    folder = tmp_path / "images"
    for index in range(images):
        write_image(folder / f"{index:02}.jpg", size=(320, 240), seed=index)
    output = tmp_path / "out" / "facere.npz"
    output.parent.mkdir()
    return model_file, folder, output


def run_interrupted(model_file, images, output, after=2):
    """The runner, sent SIGINT once `after` images are done: its events (it must exit 130)."""
    process = subprocess.Popen(runner_argv(model_file, images, output), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and events[-1]["done"] == after:
            process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    return events


def test_cancel_keeps_finished_images_and_rerun_resumes(tmp_path):
    """SIGINT to the real runner mid-run: it stops after the image in flight, keeps the old output
    untouched, and the same command then runs only the images not yet done."""
    model_file, images, output = slow_workload(tmp_path)
    output.write_bytes(b"an older result")
    first_run = run_interrupted(model_file, images, output)
    assert first_run[-1]["event"] == "error" and "cancelled" in first_run[-1]["message"]
    finished_first = [e["image"] for e in first_run if e["event"] == "progress"]
    assert 2 <= len(finished_first) < 12
    assert output.read_bytes() == b"an older result"
    journal = Path(str(output) + ".journal")
    assert journal.exists()
    with journal.open("a") as handle:  # as if killed while writing the next line
        handle.write('{"image_file": "11.jpg", "rec')

    code, second_run, _ = run_runner(model_file, images, output)
    assert code == 0
    assert second_run[0]["resumed"] == len(finished_first)
    finished_second = [e["image"] for e in second_run if e["event"] == "progress"]
    assert not set(finished_first) & set(finished_second)
    assert sorted(finished_first + finished_second) == [f"{i:02}.jpg" for i in range(12)]
    ours, meta = load_output(output)
    assert_same_predictions(ours, original_reference(model_file, images))
    assert sorted(p.name for p in output.parent.iterdir()) == ["facere.npz"]  # no journal or temp file left


def test_a_journal_from_other_settings_is_discarded(tmp_path, facere_model):
    images = tmp_path / "images"
    for index in range(3):
        write_image(images / f"{index}.jpg", seed=index)
    output = tmp_path / "out.npz"
    other = {"model": "facere", "model_file": "/elsewhere.onnx", "images": str(images), "score_threshold": 0.0}
    Path(str(output) + ".journal").write_text(
        json.dumps({"journal": 1, "started": "2026-01-01T00:00:00+00:00", "settings": other}) + "\n"
        + json.dumps({"image_file": "0.jpg", "record": {}, "timings": {}}) + "\n")
    code, events, _ = run_runner(facere_model, images, output)
    assert code == 0
    assert any("starting over" in e["message"] for e in events if e["event"] == "log")
    start = next(e for e in events if e["event"] == "start")
    assert start["resumed"] == 0 and events[-1]["images"] == 3
    assert_same_predictions(load_output(output)[0], original_reference(facere_model, images))


def test_a_second_run_into_the_same_output_is_refused_while_the_first_goes_on(tmp_path, facere_model):
    """Two runs sharing one journal would each redo every image: while one holds the output's lock
    (as a running runner does, taken here by the test), another stops at once."""
    import fcntl

    write_image(tmp_path / "images" / "0.jpg", seed=0)
    output = tmp_path / "facere.npz"
    with open(str(output) + ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, events, stderr = run_runner(facere_model, tmp_path / "images", output)
    assert code == 75 and "Traceback" not in stderr  # sysexits' EX_TEMPFAIL: try again later
    assert events[-1]["event"] == "error" and "another run is writing" in events[-1]["message"]
    assert not output.exists()
    code, events, _ = run_runner(facere_model, tmp_path / "images", output)  # once it is free
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("facere")) == ["facere.npz"]


def test_masks_empty_outside_their_box_are_encoded_from_the_box_alone_and_identically():
    """Mask R-CNN's masks are zero outside their box, so the runner thresholds only the box; masks
    with any pixel over 0.5 beyond the box's margin (or NaN there, or a NaN box) are encoded whole.
    Every RLE equals pycocotools' encoding of the full `mask > 0.5`, whichever way it went."""
    sys.path.insert(0, str(paths.runners_dir()))
    import facere

    rng = np.random.default_rng(3)
    for height, width in [(48, 64), (97, 31), (5, 200), (1, 1)]:
        count = 24
        masks = np.zeros((count, 1, height, width), dtype=np.float32)
        corners = rng.uniform(-0.2, 1.2, size=(count, 2, 2)) * [width, height]
        boxes = np.concatenate([corners.min(1), corners.max(1)], axis=1).astype(np.float32)
        kinds = ["confined", "spilled", "faint outside", "nan outside", "empty", "nan box"] * 4
        for index, kind in enumerate(kinds):
            x1, y1, x2, y2 = boxes[index]
            rows = slice(max(int(y1), 0), max(int(np.ceil(y2)), 0))
            cols = slice(max(int(x1), 0), max(int(np.ceil(x2)), 0))
            if kind != "empty":
                masks[index, 0, rows, cols] = rng.random(masks[index, 0, rows, cols].shape)
            outside = (rng.integers(height), rng.integers(width))
            inside_margin = rows.start <= outside[0] < rows.stop and cols.start <= outside[1] < cols.stop
            if kind == "spilled" and not inside_margin:
                masks[index, 0, outside[0], outside[1]] = 0.9
            if kind == "faint outside":
                masks[index, 0] = np.maximum(masks[index, 0], 0.5)  # 0.5 is not over the threshold
            if kind == "nan outside" and not inside_margin:
                masks[index, 0, outside[0], outside[1]] = np.nan
            if kind == "nan box":
                boxes[index, 0] = np.nan
        for indices in (np.arange(count), np.flatnonzero(rng.random(count) < 0.5), np.arange(0)):
            expected = [mask_api.encode(np.asfortranarray((masks[i, 0] > 0.5).astype(np.uint8))) for i in indices]
            assert facere.encode_masks(masks, boxes, indices) == expected
        confined = [facere.confined_region(masks[i, 0], boxes[i]) is not None for i in range(count)]
        assert confined[kinds.index("confined")] and not confined[kinds.index("nan box")]
        if height > 1:
            assert not all(confined), "some masks should have needed the whole-mask encoding"


def test_masks_confined_to_their_boxes_equal_what_the_original_script_writes(tmp_path):
    """A model whose masks are zero outside their boxes, as Mask R-CNN's are: the runner encodes
    them from their boxes, and the file still equals the original script's."""
    model_file = build_maskrcnn_like(tmp_path / "m.onnx", detections=8, masks_in_boxes=True)
    for seed, size in enumerate([(64, 48), (40, 72), (33, 33)]):
        write_image(tmp_path / "images" / f"img{seed}.jpg", size=size, seed=seed)
    for overlap in ("on", "off"):
        code, events, _ = run_runner(model_file, tmp_path / "images", tmp_path / f"{overlap}.npz", "--overlap", overlap)
        assert code == 0 and events[-1]["event"] == "done"
        ours, _ = load_output(tmp_path / f"{overlap}.npz")
        assert_same_predictions(ours, original_reference(model_file, tmp_path / "images"))
        assert any(mask_api.area(m) > 0 for p in ours for m in p["masks"]), "some masks should be non-empty"


# ---- names that are not UTF-8, images replaced between runs ---------------------------------

def test_an_image_whose_name_is_not_utf8_is_skipped_with_a_warning_and_the_rest_is_written(tmp_path, facere_model):
    """`caf\\xe9.jpg` in Latin-1: the name cannot be stored as text, so the image is skipped
    (named with the byte escaped) instead of failing the whole run when the output is written."""
    images = tmp_path / "images"
    write_image(images / "a.jpg")
    write_image(images / "b.jpg", seed=1)
    os.rename(images / "b.jpg", os.fsencode(images) + b"/caf\xe9.jpg")
    code, events, stderr = run_runner(facere_model, images, tmp_path / "out.npz")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    warnings = [e for e in events if e["event"] == "warning"]
    assert [w["image"] for w in warnings] == ["caf\\xe9.jpg"] and "not valid UTF-8" in warnings[0]["message"]
    ours, meta = load_output(tmp_path / "out.npz")
    assert [p["image_file"] for p in ours] == ["a.jpg"]
    assert list(meta["skipped"]) == ["caf\\xe9.jpg"] and meta["image_set"]["count"] == 2
    code, events, _ = run_runner(facere_model, images, tmp_path / "out.npz")  # and a rerun
    assert code == 0 and events[-1]["skipped"] == 1


def _cancelled_run(tmp_path):
    """12 images, the run stopped by SIGINT after two: the journal holds 2..11 of them."""
    model_file, images, output = slow_workload(tmp_path)
    done = [e["image"] for e in run_interrupted(model_file, images, output) if e["event"] == "progress"]
    return model_file, images, output, done


def test_an_image_replaced_after_a_cancelled_run_is_done_again(tmp_path):
    model_file, images, output, done = _cancelled_run(tmp_path)
    write_image(images / done[0], size=(320, 240), seed=99)  # same name, other picture
    code, events, _ = run_runner(model_file, images, output)
    assert code == 0
    assert next(e for e in events if e["event"] == "start")["resumed"] == len(done) - 1
    assert any("1 image changed since" in e["message"] for e in events if e["event"] == "log")
    assert done[0] in [e["image"] for e in events if e["event"] == "progress"]
    assert_same_predictions(load_output(output)[0], original_reference(model_file, images))


def test_a_journal_from_before_file_identities_still_resumes(tmp_path):
    """Journals written before size and mtime were recorded have no `file`: their images count as done."""
    model_file, images, output, done = _cancelled_run(tmp_path)
    journal = Path(str(output) + ".journal")
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert all("file" in entry for entry in lines[1:])
    journal.write_text("".join(json.dumps({k: v for k, v in entry.items() if k != "file"}) + "\n" for entry in lines))
    code, events, _ = run_runner(model_file, images, output)
    assert code == 0 and next(e for e in events if e["event"] == "start")["resumed"] == len(done)
    assert not set(done) & {e["image"] for e in events if e["event"] == "progress"}
    assert_same_predictions(load_output(output)[0], original_reference(model_file, images))


_PARENT = """
import json, subprocess, sys
with open(sys.argv[2], "w") as events:
    runner = subprocess.Popen(json.loads(sys.argv[1]), stdout=events, stderr=subprocess.DEVNULL,
                              start_new_session=True)
print(runner.pid, flush=True)
runner.wait()
"""


def test_a_runner_whose_parent_is_killed_stops_after_the_image_in_flight(tmp_path):
    """SIGKILL to the process that started the runner. Its events go to a file, so no broken pipe
    stops it: only its watch on its parent does. It must not go on to write the output (holding the
    output's lock meanwhile); the journal keeps what was done, and the rerun resumes from it."""
    # enough images that the runner, at ~30 ms an image on a quiet machine, cannot finish them all in the
    # half second its parent watch may take
    IMAGES = 240
    model_file, images, output = slow_workload(tmp_path, images=IMAGES)
    events = tmp_path / "events.jsonl"
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, json.dumps(runner_argv(model_file, images, output)),
                               str(events)], stdout=subprocess.PIPE, text=True)
    runner = int(parent.stdout.readline())
    deadline = time.monotonic() + 60
    while '"progress"' not in events.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    parent.kill()
    parent.wait(timeout=10)
    assert gone(runner, within=45)
    assert not output.exists() and Path(str(output) + ".journal").exists()
    code, rerun, _ = run_runner(model_file, images, output)
    assert code == 0 and rerun[0]["resumed"] >= 1 and rerun[-1]["images"] == IMAGES

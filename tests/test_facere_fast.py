"""Facere's fast mask path: the Loop cut out of a real torchvision export, masks pasted on the host.

The fixtures are a small Mask R-CNN exported by torch's TorchScript-based exporter exactly as
FashionFail exported Facere (tests/fixtures/export_tiny_maskrcnn.py says how), at opsets 17 and 11.
Every comparison is against what the original graph itself outputs through ONNX Runtime.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from pycocotools import mask as mask_utils

from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import paths
from tui.commands import main
from tui.errors import UserError
from tui.files import sha256_of
from tui.runs import facere_fast

sys.path.insert(0, str(paths.runners_dir()))  # the runner's modules import each other by name
import facere  # noqa: E402
import facere_paste  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
EXPORTS = [FIXTURES / "tiny_maskrcnn.onnx", FIXTURES / "tiny_maskrcnn_opset11.onnx"]
SIZES = [(120, 160), (200, 97), (64, 64), (33, 250), (181, 23)]


def images():
    rng = np.random.default_rng(7)
    for height, width in SIZES:
        yield rng.random((1, 3, height, width), dtype=np.float32)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Each export prepared once into a module-wide cache (the autouse fixture isolates per test)."""
    cache = tmp_path_factory.mktemp("facere-fast-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FASHIONFAIL_TUI_CACHE_DIR", str(cache))
        return {path: facere_fast.prepare(path) for path in EXPORTS}


def test_surgery_finds_the_paste_loop_and_removes_it(prepared):
    for path in EXPORTS:
        analysis = prepared[path]
        assert analysis.fast is not None, analysis.reason
        cut = onnx.load(str(analysis.fast.cut_model))
        assert "Loop" not in {n.op_type for n in cut.graph.node}
        original = onnx.load(str(path))
        assert [i.name for i in cut.graph.input] == ["input"]
        # boxes, labels, scores stay first and in order; the masks output is gone
        assert [o.name for o in cut.graph.output[:3]] == [o.name for o in original.graph.output[:3]]
        assert original.graph.output[3].name not in {o.name for o in cut.graph.output}
        paste = onnx.load(str(analysis.fast.paste_model))
        assert {n.op_type for n in paste.graph.node} >= {"Resize", "Slice"}
        assert [o.name for o in paste.graph.output] == list(facere_paste.PASTE_OUTPUTS)
        assert paste.graph.input[0].name == facere_paste.INDEX_INPUT
        assert [i.name for i in paste.graph.input[1:]] == [o.name for o in cut.graph.output[3:]]


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.stem)
def test_fast_path_output_is_identical_to_the_original_graph(prepared, path):
    """The runner's two predictors on the same inputs; masks also against the plain reference
    `pycocotools.mask.encode(np.asfortranarray((mask > 0.5).astype(np.uint8)))`."""
    original = facere.FacerePredictor(str(path), "cpu", 0.0)
    fast = facere.FacereHostPastePredictor(str(prepared[path].fast.cut_model), str(prepared[path].fast.paste_model), "cpu", 0.0)
    seen = {"border": 0, "empty": 0, "overlap": 0, "partial": 0}
    for image in images():
        outputs = original.infer(image)
        masks = outputs[3]
        assert masks.shape[-2:] == image.shape[-2:]
        reference = [mask_utils.encode(np.asfortranarray((m[0] > 0.5).astype(np.uint8))) for m in masks]
        expected = original.finish("x.jpg", image, outputs, {})
        got = fast.finish("x.jpg", image, fast.infer(image), {})
        assert_same_record(got, expected)
        assert got["masks"] == reference
        _count_cases(masks[:, 0] > 0.5, seen)
    # the cases that matter for pasting all occurred
    assert all(seen.values()), seen


def test_a_score_threshold_pastes_the_kept_detections(prepared):
    path = EXPORTS[0]
    threshold = 0.8
    original = facere.FacerePredictor(str(path), "cpu", threshold)
    fast = facere.FacereHostPastePredictor(str(prepared[path].fast.cut_model), str(prepared[path].fast.paste_model), "cpu", threshold)
    image = next(images())
    expected = original.finish("x.jpg", image, original.infer(image), {})
    assert 0 < len(expected["scores"]) < 100 and expected["scores"].min() >= threshold
    assert_same_record(fast.finish("x.jpg", image, fast.infer(image), {}), expected)


def assert_same_record(got, expected):
    assert set(got) == set(expected)
    for key in ("boxes", "classes", "scores"):
        assert got[key].dtype == expected[key].dtype
        np.testing.assert_array_equal(got[key], expected[key])
    assert [r["size"] for r in got["masks"]] == [r["size"] for r in expected["masks"]]
    assert [r["counts"] for r in got["masks"]] == [r["counts"] for r in expected["masks"]]


def _count_cases(binary, seen):
    areas = binary.reshape(len(binary), -1).sum(1)
    seen["empty"] += int((areas == 0).sum())
    seen["partial"] += int(((areas > 0) & (areas < binary[0].size)).sum())
    edges = binary[:, 0].any(1) | binary[:, -1].any(1) | binary[:, :, 0].any(1) | binary[:, :, -1].any(1)
    seen["border"] += int(edges.sum())
    flat = binary.reshape(len(binary), -1).astype(np.int32)
    seen["overlap"] += int(((flat @ flat.T) > 0).sum() - (areas > 0).sum())


@pytest.mark.parametrize("seed", range(4))
def test_crop_rle_equals_encoding_the_full_mask(seed):
    """Crops anywhere: at corners, past the edges, spanning full columns (runs joining across columns)."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        height, width = rng.integers(1, 40, size=2)
        rows, cols = rng.integers(0, 45, size=2)
        top, left = rng.integers(0, height + 1), rng.integers(0, width + 1)
        if rng.random() < 0.3:
            top, rows = 0, height  # full-height crops: a run may go on into the next column
        crop = rng.random((rows, cols)) < rng.choice([0.0, 0.3, 0.9, 1.0])
        full = np.zeros((height, width), dtype=np.uint8)
        placed = crop[: height - top, : width - left]
        full[top:top + placed.shape[0], left:left + placed.shape[1]] = placed
        expected = mask_utils.encode(np.asfortranarray(full))
        assert facere_paste.crop_rle(crop, int(top), int(left), int(height), int(width)) == expected


def _save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_graph_without_a_loop_keeps_the_original_path(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])], "plain",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, None, None])],
    )
    analysis = facere_fast.prepare(_save(graph, tmp_path / "plain.onnx"))
    assert analysis.fast is None
    assert "no Loop" in analysis.reason


def test_a_loop_that_does_not_paste_masks_keeps_the_original_path(tmp_path):
    """A Loop summing a tensor N times: a Loop, but no Resize and no canvas."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["sum_in", "input"], ["sum_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("sum_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("sum_out", TensorProto.FLOAT, None)],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "", "input"], ["output"], body=body)], "summing",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [2])],
        initializer=[helper.make_tensor("trips", TensorProto.INT64, [], [3])],
    )
    analysis = facere_fast.prepare(_save(graph, tmp_path / "summing.onnx"))
    assert analysis.fast is None
    assert "Resize" in analysis.reason


def test_a_file_that_is_not_onnx_is_a_user_error(tmp_path):
    broken = tmp_path / "facere_base.onnx"
    broken.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(UserError, match="not an ONNX model"):
        facere_fast.prepare(broken)
    with pytest.raises(UserError, match="cannot read"):
        facere_fast.prepare(tmp_path / "missing.onnx")


def test_the_cache_is_keyed_by_the_model_files_hash(tmp_path, monkeypatch):
    first = facere_fast.prepare(EXPORTS[0])
    assert first.fast.cut_model.parent == facere_fast.cache_dir_for(sha256_of(EXPORTS[0]))
    other = facere_fast.prepare(EXPORTS[1])
    assert other.fast.cut_model.parent != first.fast.cut_model.parent
    built = first.fast.cut_model.stat().st_mtime_ns

    def no_loading(*_args, **_kwargs):
        raise AssertionError("the cached split was rebuilt")

    monkeypatch.setattr(facere_fast.onnx, "load", no_loading)
    copy = tmp_path / "renamed.onnx"
    copy.write_bytes(EXPORTS[0].read_bytes())
    again = facere_fast.prepare(copy)  # same bytes under another name: the same cache entry
    assert again == first
    assert again.fast.cut_model.stat().st_mtime_ns == built


@pytest.mark.parametrize("damaged", ["cut.onnx", "paste.onnx"])
def test_a_damaged_cached_model_is_rebuilt_and_the_run_still_succeeds(tmp_path, capsys, damaged):
    first = facere_fast.prepare(EXPORTS[0])
    intact = (first.fast.cut_model.read_bytes(), first.fast.paste_model.read_bytes())
    (first.fast.cut_model.parent / damaged).write_bytes(b"garbage")
    again = facere_fast.prepare(EXPORTS[0])
    assert again == first
    assert (again.fast.cut_model.read_bytes(), again.fast.paste_model.read_bytes()) == intact
    (first.fast.cut_model.parent / damaged).write_bytes(b"")
    write_image(tmp_path / "images" / "0.jpg", size=(50, 30))
    code, events = run_cli(capsys, "facere", "--images", tmp_path / "images", "--model-file", EXPORTS[0],
                           "--device", "cpu", "--out", tmp_path / "out")
    assert code == 0 and events[0]["path"] == "onnx-host-paste" and events[-1]["event"] == "done"


def run_cli(capsys, *argv):
    code = main(["run", *map(str, argv), "--json"])
    out, _ = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()]


def read_output(path):
    """As the original evaluation code reads it (pickle is fine in a test)."""
    with np.load(path, allow_pickle=True) as archive:
        return list(archive["data"]), json.loads(str(archive["meta"]))


def test_run_pastes_on_the_host_by_default_and_the_graph_with_original_masks(tmp_path, capsys):
    for index, size in enumerate([(90, 60), (41, 77)]):
        write_image(tmp_path / "images" / f"{index}.jpg", size=size, seed=index)
    common = ("facere", "--images", tmp_path / "images", "--model-file", EXPORTS[0], "--device", "cpu")
    code, fast_events = run_cli(capsys, *common, "--out", tmp_path / "fast")
    assert code == 0
    assert fast_events[0]["path"] == "onnx-host-paste"
    assert any("Loop cut out" in e.get("message", "") for e in fast_events if e["event"] == "log")
    code, original_events = run_cli(capsys, *common, "--out", tmp_path / "original", "--original-masks")
    assert code == 0 and original_events[0]["path"] == "onnx-full-masks"
    fast, fast_meta = read_output(tmp_path / "fast" / "facere.npz")
    original, original_meta = read_output(tmp_path / "original" / "facere.npz")
    assert (fast_meta["path"], original_meta["path"]) == ("onnx-host-paste", "onnx-full-masks")
    assert fast_meta["model_file"] == original_meta["model_file"] == str(EXPORTS[0].resolve())
    assert len(fast) == 2 and sum(len(r["masks"]) for r in fast) == 200
    for mine, theirs in zip(fast, original):
        assert mine["image_file"] == theirs["image_file"]
        assert_same_record(mine, theirs)


def test_run_on_a_graph_without_the_loop_keeps_the_original_path_and_says_why(tmp_path, capsys):
    model = build_maskrcnn_like(tmp_path / "m.onnx", detections=3)
    write_image(tmp_path / "images" / "0.jpg")
    code, events = run_cli(capsys, "facere", "--images", tmp_path / "images", "--out", tmp_path / "out",
                           "--model-file", model)
    assert code == 0 and events[0]["path"] == "onnx-full-masks"
    assert any("no Loop" in e.get("message", "") for e in events if e["event"] == "log")
    assert read_output(tmp_path / "out" / "facere.npz")[1]["path"] == "onnx-full-masks"


def test_runner_arguments_fall_back_to_the_graph_when_asked_or_when_the_cache_cannot_be_written(tmp_path, monkeypatch):
    fast = facere_fast.runner_arguments(EXPORTS[0])
    assert fast[fast.index("--fast-model") + 1].endswith("cut.onnx")
    asked = facere_fast.runner_arguments(EXPORTS[0], original_masks=True)
    assert "--fast-model" not in asked and "--original-masks" in asked[asked.index("--masks-note") + 1]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(paths.CACHE_ENV, str(blocker / "cache"))
    unwritable = facere_fast.runner_arguments(EXPORTS[0])
    assert "--fast-model" not in unwritable and "cannot write" in unwritable[-1]

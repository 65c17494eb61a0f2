"""Facere's fast mask path: the Loop cut out of a real torchvision export, masks pasted on the host.

The fixtures are a small Mask R-CNN exported by torch's TorchScript-based exporter exactly as
FashionFail exported Facere (tests/fixtures/export_tiny_maskrcnn.py says how), at opsets 17 and 11.
Every comparison is against what the original graph itself outputs through ONNX Runtime.
"""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from pycocotools import mask as mask_utils

from runners import facere_paste
from tui import facere_fast
from tui.errors import UserError

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
        assert analysis.mask_path == "fast", analysis.reason
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
    original = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fast = facere_paste.FastMasks(prepared[path].fast.cut_model, prepared[path].fast.paste_model)
    seen = {"border": 0, "empty": 0, "overlap": 0, "partial": 0}
    for image in images():
        height, width = image.shape[-2:]
        boxes, labels, scores, masks = original.run(None, {"input": image})
        assert masks.shape[-2:] == (height, width)
        expected = facere_paste.encode_full_masks(masks)
        got_boxes, got_labels, got_scores, got = fast.predict(image)
        np.testing.assert_array_equal(got_boxes, boxes)
        np.testing.assert_array_equal(got_labels, labels)
        np.testing.assert_array_equal(got_scores, scores)
        assert [r["size"] for r in got] == [r["size"] for r in expected]
        assert [r["counts"] for r in got] == [r["counts"] for r in expected]
        _count_cases(masks[:, 0] > 0.5, seen)
    # the cases that matter for pasting all occurred
    assert all(seen.values()), seen


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
    assert analysis.meta()["masks"] == "original"
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
    assert first.fast.cut_model.parent == facere_fast.cache_dir_for(facere_fast.file_sha256(EXPORTS[0]))
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


def test_meta_records_which_path_pasted_the_masks(prepared):
    meta = prepared[EXPORTS[0]].meta()
    assert meta["masks"] == "fast"
    assert meta["model_sha256"] == facere_fast.file_sha256(EXPORTS[0])

"""Small ONNX models shaped like Facere's Mask R-CNN export, built with the `onnx` package.

    from tests.helpers.onnx_models import build_maskrcnn_like
    model_file = build_maskrcnn_like(tmp_path / "m.onnx", detections=5, classes=(1, 46))

The model has Facere's I/O: one input `input`, float32 [1, 3, H, W] (H and W dynamic), and four
outputs taken by position (only the first is named `output`, as in the published export):

    boxes   float32 [N, 4]        xyxy in input pixels, inside the image
    labels  int64   [N]           in `classes` (inclusive range)
    scores  float32 [N]           in (0, 1), sorted descending
    masks   float32 [N, 1, H, W]  probabilities at the input size

Everything depends on the image content, deterministically: `s`, the mean of the input, shifts the
scores, labels and boxes; mask i is `sigmoid(8 * (channel_mean - t_i))` with thresholds t_i spread
over 0..1, so masks follow the image's brightness. Same image and model, same outputs.

`detections=0` gives empty outputs ([0, 4], [0], [0], [0, 1, H, W]). `backbone_layers` adds a
stack of 3x3 convolutions (stride-4 stem, `backbone_channels` wide) whose mean feeds the scores, so
a benchmark can give the model Mask R-CNN-like compute; 0 keeps tests fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _const(name: str, value) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))


def _backbone(nodes: list, initializers: list, layers: int, channels: int, seed: int) -> str:
    """A conv stack on the input; returns the name of its scalar mean, shaped [1, 1, 1, 1]."""
    rng = np.random.default_rng(seed)
    current, in_channels = "input", 3
    for index in range(layers):
        weight = rng.normal(0, (2.0 / (9 * in_channels)) ** 0.5, (channels, in_channels, 3, 3)).astype(np.float32)
        initializers.append(numpy_helper.from_array(weight, f"conv{index}_w"))
        initializers.append(numpy_helper.from_array(np.zeros(channels, np.float32), f"conv{index}_b"))
        stride = 4 if index == 0 else 1
        nodes.append(helper.make_node("Conv", [current, f"conv{index}_w", f"conv{index}_b"], [f"conv{index}"],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride]))
        nodes.append(helper.make_node("Relu", [f"conv{index}"], [f"relu{index}"]))
        current, in_channels = f"relu{index}", channels
    nodes.append(helper.make_node("Tanh", [current], ["feature_tanh"]))
    nodes.append(helper.make_node("ReduceMean", ["feature_tanh"], ["feature_mean"], keepdims=1))
    nodes.append(_const("feature_weight", np.float32(1e-3)))
    nodes.append(helper.make_node("Mul", ["feature_mean", "feature_weight"], ["feature_term"]))
    return "feature_term"


def _confine_to_boxes(nodes: list, masks: str, boxes: str, result: str) -> None:
    """result = masks [N, 1, H, W] times 1 where x1 <= column < x2 and y1 <= row < y2 of the xyxy box."""
    nodes.append(helper.make_node("Shape", [masks], ["mask_shape"]))
    nodes.append(helper.make_node("Split", [boxes], ["box_x1", "box_y1", "box_x2", "box_y2"], axis=1, num_outputs=4)
                 if OPSET >= 18 else helper.make_node("Split", [boxes], ["box_x1", "box_y1", "box_x2", "box_y2"], axis=1))
    nodes.append(_const("box_edge_shape", np.array([-1, 1, 1, 1], np.int64)))
    for axis, shape, first, last in ((2, [1, 1, -1, 1], "box_y1", "box_y2"), (3, [1, 1, 1, -1], "box_x1", "box_x2")):
        nodes.append(_const(f"axis{axis}", np.array(axis, np.int64)))
        nodes.append(helper.make_node("Gather", ["mask_shape", f"axis{axis}"], [f"extent{axis}_int"], axis=0))
        nodes.append(helper.make_node("Cast", [f"extent{axis}_int"], [f"extent{axis}"], to=TensorProto.FLOAT))
        nodes.append(helper.make_node("Range", ["zero", f"extent{axis}", "one"], [f"position{axis}_flat"]))
        nodes.append(_const(f"position{axis}_shape", np.array(shape, np.int64)))
        nodes.append(helper.make_node("Reshape", [f"position{axis}_flat", f"position{axis}_shape"], [f"position{axis}"]))
        for edge in (first, last):
            nodes.append(helper.make_node("Reshape", [edge, "box_edge_shape"], [edge + "_4d"]))
        nodes.append(helper.make_node("Less", [f"position{axis}", first + "_4d"], [f"before{axis}"]))
        nodes.append(helper.make_node("Not", [f"before{axis}"], [f"from{axis}"]))
        nodes.append(helper.make_node("Less", [f"position{axis}", last + "_4d"], [f"upto{axis}"]))
        nodes.append(helper.make_node("And", [f"from{axis}", f"upto{axis}"], [f"inside{axis}"]))
    nodes.append(helper.make_node("And", ["inside2", "inside3"], ["inside"]))
    nodes.append(helper.make_node("Cast", ["inside"], ["inside_float"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Mul", [masks, "inside_float"], [result]))


def build_maskrcnn_like(path: Path, detections: int = 5, classes: tuple[int, int] = (1, 46),
                        backbone_layers: int = 0, backbone_channels: int = 32, seed: int = 0,
                        masks_in_boxes: bool = False) -> Path:
    """Write the model to `path` and return `path`.

    detections: N, the number of detections every image gets (0 allowed).
    classes: the inclusive label range, (1, 46) for Facere, (1, 22) for Facere+.
    backbone_layers/backbone_channels: extra compute for benchmarks (see the module docstring).
    masks_in_boxes: zero each mask outside its box, as Mask R-CNN's pasted masks are.
    """
    n = int(detections)
    low, high = classes
    rng = np.random.default_rng(seed)
    nodes: list = []
    initializers: list = []

    # s: the mean of the image (plus the backbone's tiny contribution), shaped [1, 1, 1, 1]
    nodes.append(helper.make_node("ReduceMean", ["input"], ["image_mean"], keepdims=1))
    s = "image_mean"
    if backbone_layers:
        term = _backbone(nodes, initializers, backbone_layers, backbone_channels, seed)
        nodes.append(helper.make_node("Add", [s, term], ["s"]))
        s = "s"
    nodes.append(_const("flat", np.array([1], np.int64)))
    nodes.append(helper.make_node("Reshape", [s, "flat"], ["s1"]))  # [1]

    # scores: (N - i) / (N + 1) * (0.5 + 0.4 s): descending, in (0, 1)
    base = (np.arange(n, 0, -1, dtype=np.float32) / np.float32(n + 1)).astype(np.float32)
    nodes.append(_const("score_base", base))
    nodes.append(_const("half", np.float32(0.5)))
    nodes.append(_const("score_gain", np.float32(0.4)))
    nodes.append(helper.make_node("Mul", ["s1", "score_gain"], ["s_gain"]))
    nodes.append(helper.make_node("Add", ["s_gain", "half"], ["score_scale"]))
    nodes.append(helper.make_node("Mul", ["score_base", "score_scale"], ["scores"]))

    # labels: low + (floor(1000 s) + 7 i) mod (high - low + 1)
    nodes.append(_const("thousand", np.float32(1000)))
    nodes.append(helper.make_node("Mul", ["s1", "thousand"], ["s1000"]))
    nodes.append(helper.make_node("Floor", ["s1000"], ["s_floor"]))
    nodes.append(_const("label_steps", (7 * np.arange(n)).astype(np.float32)))
    nodes.append(helper.make_node("Add", ["label_steps", "s_floor"], ["label_raw"]))
    nodes.append(_const("label_count", np.float32(high - low + 1)))
    nodes.append(helper.make_node("Mod", ["label_raw", "label_count"], ["label_mod"], fmod=1))
    nodes.append(_const("label_low", np.float32(low)))
    nodes.append(helper.make_node("Add", ["label_mod", "label_low"], ["label_float"]))
    nodes.append(helper.make_node("Cast", ["label_float"], ["labels"], to=TensorProto.INT64))

    # boxes: fractions of (W, H, W, H), shifted by 0.2 s and clipped to the image
    x1y1 = rng.uniform(0.0, 0.5, (n, 2))
    x2y2 = x1y1 + rng.uniform(0.1, 0.45, (n, 2))
    fractions = np.concatenate([x1y1, x2y2], axis=1).astype(np.float32).reshape(n, 4)
    nodes.append(_const("box_fractions", fractions))
    nodes.append(_const("box_shift_gain", np.float32(0.2)))
    nodes.append(helper.make_node("Mul", ["s1", "box_shift_gain"], ["box_shift"]))
    nodes.append(helper.make_node("Add", ["box_fractions", "box_shift"], ["box_shifted"]))
    nodes.append(_const("zero", np.float32(0)))
    nodes.append(_const("one", np.float32(1)))
    nodes.append(helper.make_node("Clip", ["box_shifted", "zero", "one"], ["box_clipped"]))
    nodes.append(helper.make_node("Shape", ["input"], ["input_shape"]))
    nodes.append(_const("hw_index", np.array([3, 2, 3, 2], np.int64)))
    nodes.append(helper.make_node("Gather", ["input_shape", "hw_index"], ["whwh_int"], axis=0))
    nodes.append(helper.make_node("Cast", ["whwh_int"], ["whwh"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Mul", ["box_clipped", "whwh"], ["output"]))

    # masks: sigmoid(8 (channel mean - t_i)), [N, 1, H, W]
    nodes.append(helper.make_node("ReduceMean", ["input"], ["gray"], axes=[1], keepdims=1))
    thresholds = np.linspace(0.15, 0.85, n, dtype=np.float32).reshape(n, 1, 1, 1)
    nodes.append(_const("mask_thresholds", thresholds))
    nodes.append(helper.make_node("Sub", ["gray", "mask_thresholds"], ["mask_logit_raw"]))
    nodes.append(_const("mask_gain", np.float32(8)))
    nodes.append(helper.make_node("Mul", ["mask_logit_raw", "mask_gain"], ["mask_logit"]))
    nodes.append(helper.make_node("Sigmoid", ["mask_logit"], ["masks_dense" if masks_in_boxes else "masks"]))
    if masks_in_boxes:
        _confine_to_boxes(nodes, "masks_dense", "output", "masks")

    graph = helper.make_graph(
        nodes, "maskrcnn_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [n, 4]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, [n]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [n]),
         helper.make_tensor_value_info("masks", TensorProto.FLOAT, [n, 1, "height", "width"])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path
